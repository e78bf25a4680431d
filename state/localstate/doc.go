// Package localstate keeps a payctl state in local files: a state.Backend
// for state.Open.
//
// # Files
//
// For a state at payctl.state.json:
//
//	payctl.state.json            root (statefile's canonical JSON): lineage,
//	                             serial, journal mark, the account index's
//	                             and every batch segment's digest, the open
//	                             payouts
//	payctl.state.json.batches/   one segment per batch (statefile.SegmentFile)
//	payctl.state.json.accounts   the account index (state.Accepted)
//	payctl.state.json.journal    journal (statefile's records, one a line)
//	payctl.state.json.backup     the previous root
//	payctl.state.json.lock       lock file; holds who has the lock while held
//
// All are created 0600. A state written before segments is one snapshot
// file (format 1) and stays so until Segment (`payctl state migrate`).
//
// # Durability
//
// Append writes a group commit's records in one write and returns after
// the fsync that follows it. A checkpoint writes the batches that changed
// (and the account index, when it is rewritten) beside the files in place
// (FILE.next), then the root to a temporary file; once all are durable it
// appends the checkpoint record carrying the root's digest, and only then
// renames the root (keeping the previous one as the backup) and the new
// files into place. A load that finds a file beside its predecessor with
// the digest the root names uses it, and a writer finishes the rename.
//
// # Damage
//
// A torn final record (a crash in the middle of a write: a prefix of a
// record, without its newline) was never durable, so nothing it announced
// was sent; a writer discards it when it opens the state. Damage anywhere
// else stops payctl with an error naming the record. Every load proves
// that the root is the one payctl wrote for the journal, by the checkpoint
// record that follows its mark, and every segment and the account index
// by the digests the root gives, when they are read (see Backend.Load).
//
// # Lock
//
// The writer lock is a flock on the lock file, which names its holder. A
// lock left by a dead process on this host is taken over; one left on
// another host needs `payctl state unlock`.
package localstate
