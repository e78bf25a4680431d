// Package state is payctl's record of what was paid: the model (a snapshot
// of payouts, attempts and provider payouts, and the journal events folded
// into it) and the runtime that opens a state on a Backend and records
// events in it.
//
// # Guarantees
//
// The journal is the write-ahead log and the audit trail. The apply engine
// records an intent (address, attempt, idempotency key, the exact request)
// and waits until it is durable before sending anything that can move
// money, and records the provider's answer the same way before a payout
// counts as done. Record returns only once the events are durable.
//
// Concurrent Records share commits (group commit): one Append (one write
// and one fsync for the local backend) carries every event that arrived
// while the previous one ran.
//
// Each journal record carries its sequence number, the hash of the record
// before it, and its own hash, so any edit, deletion or reordering is
// detectable. Damage stops payctl with an error naming the record; nothing
// is ever repaired silently.
//
// The snapshot is the journal folded: one entry per payout address. It is
// replaced once at the end of a command (Checkpoint) rather than once per
// payout. A segmented snapshot (SegmentedVersion) keeps each batch apart
// and reads a batch only when a command needs it (LoadBatches): a state's
// cost follows the batches at hand, not its whole history; its account
// index (Accepted) stands for the history in the review of new and
// changed accounts. It records how much of the journal it has folded (serial, journal
// mark), and opening a state folds whatever the journal holds beyond that,
// so a crash between a journal append and a snapshot rewrite loses nothing.
// A checkpoint record after each rewrite carries the digest of the
// snapshot, so that a backend can prove on every load that the snapshot is
// the one payctl wrote for its journal.
//
// # Serial
//
// The serial is the sequence number of the last journal event folded in: it
// grows with every change and is what saved plans pin.
//
// # Packages
//
// The state is split the way its dependencies run, one way only:
//
//	state             the model and the runtime (Open, Record, Checkpoint);
//	                  the Backend interface
//	state/statefile   the bytes: journal records and their hash chain, the
//	                  canonical snapshot file and its strict parser
//	state/localstate  the backend on local files (journal, snapshot, lock)
//	state/pgstate     the backend in PostgreSQL
//
// statefile imports state for the types it encodes; the backends import
// both. So this package never encodes anything itself: the runtime chains
// each event to the hash of the record before it, and takes the encoder
// for that from its Backend (Backend.Encode), which every backend
// implements with statefile.Encode. Snapshots reach the backends as values
// and are written by them, in statefile's canonical bytes.
package state
