package cronos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/payctl/payctl/providers"
)

// MaxCallbackSize caps a callback body. A callback describes one
// disbursement; a few KiB is typical.
const MaxCallbackSize = 64 << 10

// ErrCallbackTooLarge is a callback body over MaxCallbackSize.
var ErrCallbackTooLarge = errors.New("callback body is larger than 64 KiB")

// ParseCallback reads a callback body: the same envelope as API answers
// (which is how working receivers treat it), with responseData naming
// id, merchantRef and status (all required here). Callbacks are not signed (no public source
// shows a signature), so anyone can send one: the Hint says which attempt
// to Check, never what to record. Its Status is mapped like answers.
func ParseCallback(r io.Reader) (providers.Hint, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxCallbackSize+1))
	if err != nil {
		return providers.Hint{}, fmt.Errorf("read callback: %w", err)
	}
	if len(body) > MaxCallbackSize {
		return providers.Hint{}, ErrCallbackTooLarge
	}
	env, err := parseEnvelope(body)
	if err != nil {
		return providers.Hint{}, fmt.Errorf("callback: %w", err)
	}
	_, head, err := parseHead(env.Data)
	if err != nil {
		return providers.Hint{}, fmt.Errorf("callback: %w", err)
	}
	// Answers may leave merchantRef out, but a callback is matched to an
	// attempt by it (as working receivers do): without it there is
	// nothing to check.
	if head.MerchantRef == "" {
		return providers.Hint{}, errors.New("callback: responseData has no merchantRef")
	}
	h := providers.Hint{ID: head.ID, Reference: head.MerchantRef}
	h.Status, _ = mapStatus(head.Status)
	return h, nil
}

// CallbackHandler receives Cronos callbacks and passes each valid one to
// onHint, which must confirm it with Check before recording anything. It
// answers 200 to every valid callback (a reference payctl does not know
// included: Cronos must not keep retrying it), 400 to bodies that are not
// callbacks, 413 to oversized ones, 405 to other methods, and 500 when
// onHint fails, so that Cronos sends the callback again.
func CallbackHandler(onHint func(context.Context, providers.Hint) error, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "callbacks are POSTed", http.StatusMethodNotAllowed)
			return
		}
		h, err := ParseCallback(http.MaxBytesReader(w, r.Body, MaxCallbackSize))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.Is(err, ErrCallbackTooLarge) || errors.As(err, &tooLarge):
			logger.Warn("cronos callback rejected", "remote", r.RemoteAddr, "error", ErrCallbackTooLarge)
			http.Error(w, "callback too large", http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			logger.Warn("cronos callback rejected", "remote", r.RemoteAddr, "error", err)
			http.Error(w, "not a cronos callback", http.StatusBadRequest)
			return
		}
		if err := onHint(r.Context(), h); err != nil {
			logger.Error("cronos callback not handled", "reference", h.Reference, "id", h.ID, "error", err)
			http.Error(w, "callback not handled; send it again", http.StatusInternalServerError)
			return
		}
		logger.Debug("cronos callback", "reference", h.Reference, "id", h.ID, "status", h.Status)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"responseCode":200,"responseMessage":"ok"}`)
	})
}
