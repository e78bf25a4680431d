// Package localstate keeps a payctl state in local files: a state.Backend
// for state.Open.
//
// # Files
//
// For a state at payctl.state.json:
//
//	payctl.state.json          snapshot (statefile's canonical JSON)
//	payctl.state.json.journal  journal (statefile's records, one a line)
//	payctl.state.json.backup   the previous snapshot
//	payctl.state.json.lock     lock file; holds who has the lock while held
//
// All are created 0600.
//
// # Durability
//
// Append writes a group commit's records in one write and returns after
// the fsync that follows it. The snapshot is rewritten atomically
// (temporary file, fsync, rename, fsync of the directory), with the
// previous one kept as the backup.
//
// # Damage
//
// A torn final record (a crash in the middle of a write: a prefix of a
// record, without its newline) was never durable, so nothing it announced
// was sent; a writer discards it when it opens the state. Damage anywhere
// else stops payctl with an error naming the record. Every load proves
// that the snapshot is the one payctl wrote for the journal, by the
// checkpoint record that follows its mark, or else by folding the journal
// up to it (see Backend.Load).
//
// # Lock
//
// The writer lock is a flock on the lock file, which names its holder. A
// lock left by a dead process on this host is taken over; one left on
// another host needs `payctl state unlock`.
package localstate
