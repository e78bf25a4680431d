package providers

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/fee"
)

// Type describes a provider type to the rest of payctl: everything payctl
// needs of it, so that nothing outside providers/ names a provider. Each
// provider package exports one (its client, rules, defaults, credentials
// and callbacks); providers/registry lists them, each with its emulator.
type Type struct {
	Name string
	// Title is how messages to people name the provider, e.g. "Cronos".
	Title string
	// Hidden types are for testing payctl itself: nothing offers them to
	// users (the sandbox skips them).
	Hidden bool
	// Batch is true for batch providers (Open returns a Batch).
	Batch bool
	// KeyedLookup is true when the provider can find a payout by payctl's
	// idempotency key (and so refuses or reveals a repeat): a state that
	// lost its record of a payout cannot make it pay twice. Without it,
	// the state is the only memory of what was paid, and payctl.yaml must
	// pin the state's lineage before payctl pays through the provider.
	KeyedLookup bool
	Rules       Rules
	// DefaultFees is the schedule used when payctl.yaml sets none; it
	// matches the provider's public facts.
	DefaultFees fee.Schedule
	// DefaultMaxBatch is a batch provider's payouts per provider payout
	// when payctl.yaml sets no maxBatch: the plan groups by it and the
	// client is opened with it, so the two always agree.
	DefaultMaxBatch int
	// Credentials are the config fields naming environment variables the
	// provider needs, e.g. "keyEnv"; Optional ones may be absent.
	Credentials []Credential
	// Open returns a client for a configured provider.
	Open func(o Options) (Provider, error)
	// NewEmulator returns the built-in emulator of this type; nil for a
	// type without one. providers/registry sets it, so that a provider's
	// client never imports its emulator.
	NewEmulator func(o EmulatorOptions) (Emulator, error)
	// Callbacks, if set, receives the provider's callbacks: each configured
	// provider of the type gets one at the path of its callbackURL.
	Callbacks CallbackHandler
}

// Credential is one config field naming an environment variable.
type Credential struct {
	Field    string // "keyEnv"
	Optional bool
}

// Options configure a provider client.
type Options struct {
	Name    string
	BaseURL string
	// Credentials holds values by config field ("keyEnv" -> the key). They
	// must never be logged, journaled or put in an error message.
	Credentials map[string]string
	CallbackURL string
	Timeout     time.Duration
	MaxBatch    int
	// HTTPClient is the underlying client (tests inject transports);
	// nil means a default one.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// EmulatorOptions configure a built-in emulator.
type EmulatorOptions struct {
	// LedgerPath is where the emulator persists what it received and paid;
	// empty keeps it in memory.
	LedgerPath string
	Now        func() time.Time
	Logger     *slog.Logger
	// Faults names injected faults (see the provider's emulator docs), each
	// "name" or "name=N" (ParseFaultSpec).
	Faults []string
	// Seed makes randomized behaviour (fault timing, final status) repeatable.
	Seed int64
}

// ParseFaultSpec splits an emulator fault spec: "name", or "name=N" to arm
// it for N requests ("name:N" is read the same way). count is 0 when the
// spec gives none, for the emulator's own default; ok is false when the
// count is not a positive whole number, which each emulator reports with
// its own bounds.
func ParseFaultSpec(spec string) (name string, count int, ok bool) {
	spec = strings.TrimSpace(spec)
	i := strings.IndexAny(spec, "=:")
	if i < 0 {
		return spec, 0, true
	}
	count, err := strconv.Atoi(spec[i+1:])
	return spec[:i], count, err == nil && count >= 1
}

// Emulator is a running emulator of a provider's HTTP API.
type Emulator interface {
	http.Handler
	// Credentials are credential values that the emulator accepts, by
	// config field, so an emulated provider needs no environment.
	Credentials() map[string]string
	// Close persists the ledger and releases resources.
	Close() error
}

// Clip makes text from a provider fit for an error, a log line or the
// state: control characters become spaces (no terminal escapes or forged
// log lines), invalid UTF-8 becomes "?", and text longer than max bytes
// is cut at a character boundary and marked with "...".
func Clip(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return s
}
