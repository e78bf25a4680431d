// Package apply is the "pay these manifests" use case: it pays the
// payouts a plan says to pay, through the providers, recording everything
// in the state so that no crash, retry, re-run or concurrent run pays one
// address twice.
//
// A Session is one apply from start to end, and `payctl apply`, `watch`,
// `serve`, `refresh` and `plan` all go through it: open the state (locked
// for writers), look up payouts whose outcome an earlier run could not
// learn (Recover), load and plan manifests (PlanPaths, Plan), check a
// saved plan as a claim (Reviewed), pay (Run, with an Engine per state),
// and write the snapshot once (Close).
//
// # Protocol
//
// For each payout (or provider payout of a batch provider):
//
//  1. The intent (address, attempt, idempotency key, the exact request, and
//     for batch providers the quote's token) is recorded and fsynced.
//  2. The request is sent, with a context that Ctrl-C does not cancel: a
//     request in flight is finished, not abandoned half-way.
//  3. The outcome is recorded and fsynced before the payout counts as done.
//
// Before anything new is sent, Recover looks up every attempt whose outcome
// is not known (an intent without an outcome from a crashed run, or an
// unknown answer): found at the provider, its status is recorded; proven
// absent (and older than the provider's lookup grace, so a request still
// being committed is not mistaken for a lost one), it becomes not-sent and
// may be sent again under the same key; otherwise it stays unknown, is
// never re-sent, and waits for `payctl state resolve`.
//
// The state refuses, at the level of its fold, any intent for an attempt
// that is not failed or not-sent: even a bug here cannot journal a second
// send of an unknown payout.
//
// # Concurrency
//
// Each provider has its own worker pool (Settings.Concurrency payouts in
// flight) and rate limit. Journal appends of concurrent payouts share
// fsyncs through the state's group commit. A worker keeps one intent
// ahead: while its request is in flight, the intent of its next payout is
// being made durable, so an fsync overlaps a provider's answer instead of
// adding to it; a request is still never sent before its own intent is
// durable. When a run stops, an intent written ahead and not sent is
// recorded as not-sent, which is certain. Outcomes are queued for the next
// group commit and a payout counts as done once its outcome is durable.
// Batch providers' provider payouts are sent one at a time, so that an
// answer that looks wrong stops the run before another irreversible
// request.
package apply
