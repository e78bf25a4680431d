package providers

import (
	"context"
	"log/slog"
	"net/http"
)

// Hint is what a provider's callback claims about one attempt. Callbacks
// are not trusted (anyone can send one): a Hint says which attempt to
// Check, never what to record.
type Hint struct {
	// Reference is the attempt's idempotency key, as payctl sent it.
	Reference string
	// ID is the provider's id of the attempt, as claimed.
	ID string
	// Status is the claimed status; StatusUnknown for a status payctl
	// does not know.
	Status Status
}

// CallbackHandler returns the HTTP handler of a provider type that calls
// payctl back. It passes each valid callback to onHint, which confirms it
// with Check before anything is recorded, and answers so that the provider
// sends the callback again when onHint fails.
type CallbackHandler func(onHint func(context.Context, Hint) error, logger *slog.Logger) http.Handler
