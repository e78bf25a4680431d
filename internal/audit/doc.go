// Package audit answers an auditor's questions about a payctl state: what
// changed between two snapshots (Compare), whether a state can be trusted
// (Verify), what happened when and by whom (History), and what was paid, one
// row per attempt, for a spreadsheet (Rows, WriteCSV).
//
// It reads states; it never writes one and never contacts a provider.
//
// # Guarantees
//
//   - Nothing that cannot happen in a legitimate history goes unreported. A
//     legitimate history only appends: a payout once in a state stays, its
//     amount, currency, recipient and provider never change, an attempt keeps
//     its idempotency key and the provider ids it was given, the serial only
//     grows and the lineage never changes. Compare reports every violation as
//     a Finding; Verify proves the snapshot is the journal folded and that the
//     journal's hash chain is whole.
//   - A snapshot the strict parser refuses (statefile.ParseSnapshot, which every
//     command that pays uses) is still read here, leniently, so that an edited
//     file can be reported rather than merely fail to load: ReadSnapshot
//     returns the strict parser's objections as findings. Nothing in this
//     package hands a leniently read snapshot to code that pays.
//   - The journal is streamed (state.Backend.ReadJournal), never loaded
//     whole: History and Verify hold one record at a time, plus what the
//     folded state holds.
//   - Amounts stay exact decimals from the files to the reports.
//
// Everything works on any state.Backend; checks that only make sense for
// files (permissions, the snapshot's byte offset into the journal) apply to
// *localstate.Backend.
//
// # Interval totals
//
// Compare's totals describe the interval between the two snapshots, per
// provider and currency: paid is the amount of payouts that became paid in
// it; fees charged is what providers reported charging in it (Cronos reports
// its fee when it accepts a disbursement, Dinar Dragon when it executes a
// provider payout), as the difference between the fees recorded at the end
// and at the start, so that the totals of consecutive intervals add up;
// returned is the amount of payouts paid at the start and no longer paid at
// the end (a bank returned the funds); still pending and unknown are the
// payouts not final at the end of the interval.
package audit
