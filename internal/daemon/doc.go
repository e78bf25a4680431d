// Package daemon is what payctl's long-running commands (`payctl serve` and
// `payctl watch -listen`) share: turn-taking on the state, the HTTP side
// (/healthz, Prometheus /metrics, provider callbacks) and their metrics.
//
// # The state
//
// A long-running payctl must not hold the state's lock for its lifetime: a
// person's `payctl apply`, a `payctl refresh` or a second watcher on another
// host must be able to get in between. A Gate hands out short Sessions: one
// at a time within the process (the local backend is one open journal), each
// taking the state's lock with a bounded wait and releasing it, after a
// checkpoint, when the session closes. A state that stays locked longer
// than the wait is ErrBusy: callers queue their work and retry later; they
// never drop it and never fail it for that reason. Providers are opened once
// per Gate, not per session, so a built-in emulator or an HTTP client's
// connections outlive sessions.
//
// # Callbacks
//
// Callbacks (Cronos sends them) are unauthenticated hints. The handler of
// each provider whose type has one (providers.Type.Callbacks) is mounted at the path of that provider's callbackURL, which
// should carry a long random segment chosen by the user: the path is the
// only thing keeping strangers from making payctl look payouts up. A hint
// never says what to record; it names a reference, and the daemon:
//
//  1. queues the hint (hints for one reference are merged);
//  2. takes a session, finds the address whose latest attempt has that
//     reference as its idempotency key, and asks the provider about it with
//     a signed lookup (apply.Engine.CheckAddresses), which records a change
//     as a journal event and nothing otherwise;
//  3. answers the callback 200 once the lookup is done, or once the hint
//     has waited ReplyWait in the queue (it stays queued and is retried
//     until the lookup succeeds or MaxTries lookups failed, which is
//     logged as an error naming `payctl refresh`).
//
// So a duplicate, late or forged callback costs one lookup and changes
// nothing the provider does not confirm; a reference payctl does not know is
// logged and answered 200 (so the provider stops resending it) without
// touching the state. The provider's handler caps bodies (Cronos: 64 KiB).
//
// Queued hints live in memory: a daemon killed with hints queued loses them,
// and `payctl refresh` (or the next callback) catches up.
package daemon
