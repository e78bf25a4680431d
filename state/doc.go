// Package state is payctl's record of what was paid: a canonical JSON
// snapshot, an append-only hash-chained journal beside it, and a lock.
//
// # Guarantees
//
// The journal is the write-ahead log and the audit trail. The apply engine
// records an intent (address, attempt, idempotency key, the exact request)
// and waits until it is fsynced before sending anything that can move money,
// and records the provider's answer the same way before a payout counts as
// done. Record returns only once the events are durable.
//
// Concurrent Records share fsyncs (group commit): one write and one fsync
// carry every event that arrived while the previous fsync ran.
//
// Each journal line carries its sequence number, the hash of the line before
// it, and its own hash, so any edit, deletion or reordering is detectable. A
// torn final line (a crash in the middle of a write) is discarded when a
// writer opens the state; damage anywhere else stops payctl with an error
// naming the line; nothing is ever repaired silently.
//
// The snapshot is the journal folded: one record per payout address. It is
// rewritten atomically (temporary file, fsync, rename, fsync of the
// directory), with the previous one kept as a ".backup", once at the end of
// a command rather than once per payout. It records how much of the journal
// it has folded (serial, byte offset, hash), and loading folds whatever the
// journal holds beyond that, so a crash between a journal append and a
// snapshot rewrite loses nothing.
//
// # Files
//
// For a state at payctl.state.json:
//
//	payctl.state.json          snapshot (canonical JSON, one payout per line)
//	payctl.state.json.journal  journal (JSON lines)
//	payctl.state.json.backup   the previous snapshot
//	payctl.state.json.lock     lock file; holds who has the lock while held
//
// All are created 0600.
//
// # Serial
//
// The serial is the sequence number of the last journal event folded in: it
// grows with every change and is what saved plans pin.
package state
