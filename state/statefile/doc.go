// Package statefile is the byte format of a payctl state: journal records
// and their hash chain, and the canonical snapshot file. Every backend
// stores these bytes (the local backend as files, the database backend as
// rows), so a state moves between backends, and is verified, unchanged.
//
// # Journal records
//
// A record is one line of JSON: the event's fields followed by its own
// hash, SHA-256 of every byte of the line before it (Encode, Decode). The
// event carries the previous record's hash, so the records form a chain:
// editing, dropping or reordering any record breaks it.
//
// # Snapshot
//
// The snapshot file is canonical JSON (WriteSnapshot, SnapshotBytes): fixed
// key order, one provider payout and one payout per line sorted by id and
// address, trailing newline. The same content always gives the same bytes,
// `git diff` of two snapshots shows one line per changed payout, and a
// checkpoint record can prove a snapshot unedited by its digest
// (SnapshotDigest).
//
// ParseSnapshot is the strict parser: it refuses unknown fields, invalid
// UTF-8 and any payout that payctl would not have written (a digest or key
// that does not match), with every problem positioned; a snapshot written
// by a newer payctl is refused with ErrNewerVersion. It is the only reader
// whose result may be used to pay. ParseLenient reads what ParseSnapshot
// refuses for its content, with the refusal beside it, for audits that
// must report an edited file rather than merely fail to load it.
package statefile
