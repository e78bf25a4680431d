// Package pgstate keeps a payctl state in PostgreSQL, for teams whose CI
// runners, watchers and people on several hosts share one set of payouts.
// It is a state.Backend: the generic state package does the folding, hash
// chaining and group commit, and this package stores what it is given with
// the same guarantees as the local file backend.
//
// # Model
//
// One database can hold many states, each a row of payctl_states named by
// payctl.yaml's state.name:
//
//	payctl_states   lineage; the journal's head (record, bytes, hash); the
//	                snapshot's header (version, serial, offset, hash)
//	payctl_journal  one row per journal record: sequence, kind, hash, the
//	                byte offset just past it, and the record's exact line
//	payctl_segments one row per batch: the batch's segment file, byte for
//	                byte, keyed by its digest
//	payctl_account_indexes
//	                the account index file, likewise
//	payctl_payouts  a snapshot of payctl before segments, one row per payout
//	                address: the address's line of the single-file snapshot
//	payctl_groups   its provider payouts (batch providers), likewise
//	payctl_locks    who holds a state's writer lock
//
// The snapshot is segmented (format 2, see segments.go): payctl_states
// holds its root file, which names each batch's segment and the account
// index by digest, so a command reads the root and the batches it works
// on, and a checkpoint writes only the batches it changed. A state created
// before schema version 2 keeps the rows of payctl_payouts and
// payctl_groups until `payctl state migrate` converts it.
//
// Journal lines are stored byte for byte as the local journal file holds
// them, so the hash chain and `payctl state verify` work the same on both,
// and a state moves between backends unchanged (Push, Pull). The journal
// table is append-only: a trigger refuses updates and deletes (only a
// forced push, replacing a whole state, lifts it for its transaction).
//
// # The journal offset
//
// A snapshot records how far the journal is folded into it as a byte offset
// (state.JournalMark). Here the offset is the byte length the journal would
// have as a local file up to and including the last folded record: the sum
// of the lengths of its lines, which each journal row also records
// cumulatively as end_offset. So a state pulled to a file has exactly the
// snapshot bytes the local backend would have written, and a file pushed
// here keeps its own.
//
// # Durability: the write-ahead rule
//
// Append commits a group commit's records in one transaction (the records,
// and the state's journal head advanced); Record returns only after the
// COMMIT, with synchronous_commit forced on for payctl's sessions, so an
// intent is durable before its request leaves, and an outcome before the
// payout counts as done, exactly where the local backend fsyncs. Concurrent
// payouts share transactions as they share fsyncs. The snapshot is written
// at the end of a command: a segmented one in the steps segments.go
// describes, one held as rows in one transaction, rows that changed only. A
// transaction commits whole or not at all, so the database never holds a
// torn record.
//
// # Locking and fencing
//
// The writer lock is a session advisory lock keyed by a hash of the state's
// name, held on a dedicated connection for the length of a command. The
// holder records who it is (host, pid, operation, since, its session) in
// payctl_locks; a second writer fails fast (or waits -lock-timeout) with a
// state.LockedError naming it. A crashed holder's lock ends with its
// session: the server sees the connection close, and keepalives set by
// payctl make a vanished host's session end within about a minute.
//
// Every write of a writer runs on the session that holds the lock, and
// each checks that the journal's head is where this writer left it. A
// writer that lost its session therefore cannot write at all, and two
// writers can never interleave records. Connect to PostgreSQL directly or
// through a session-mode pooler: transaction-mode pooling cannot hold a
// session lock.
//
// # Schema
//
// The tables are created and upgraded by `payctl state migrate-schema` from
// the versioned SQL files embedded in this package (migrations/), in one
// transaction, recorded in payctl_schema_migrations. payctl never changes
// the schema implicitly: a command finding no schema or an older one says
// to run migrate-schema, and one finding a newer schema than it knows
// refuses to touch it.
//
// # Secrets
//
// The DSN, with its password, comes only from the environment variable
// named in payctl.yaml; it is never printed: errors name the state as
// postgres:NAME and are scrubbed of the DSN and its password.
package pgstate
