// Package providers defines what payctl needs from a payout provider, once,
// for every provider type. Each provider type lives in its own package under
// providers/ and imports this one, never the reverse; it describes itself
// with a Type. Its emulator lives in providers/<name>/emulator, which the
// client never imports, and providers/registry pairs the two: nothing else
// in payctl names a provider.
//
// Two shapes of provider exist:
//
//   - A Single provider pays one payout per request (Cronos Engine). Its
//     request is prepared without network I/O, so the apply engine can write
//     the exact request into the journal before sending it.
//   - A Batch provider pays many payouts with one irreversible request after
//     a quote step that moves no money (Dinar Dragon). The quote carries the
//     exact request Execute will send.
//
// Every provider can Check attempts: the same call serves refresh (what is
// the status now?) and recovery (what became of a request whose answer was
// lost?).
//
// The contract every implementation keeps, because the apply engine's
// exactly-once guarantee rests on it:
//
//   - Send and Execute return StatusUnknown whenever the request may have
//     reached the provider and no trustworthy answer came back (timeout,
//     reset, 5xx, an answer that does not parse or does not match the
//     request). They return StatusNotSent only when the request cannot have
//     reached the provider (connection refused, DNS, TLS handshake, context
//     cancelled before the request was written).
//   - Clients retry only what cannot have reached the provider, and rate
//     limits (429); never anything after the request may have been written.
//   - Check returns StatusNotFound only when the provider's answer proves no
//     payment exists for the attempt; StatusUnknown when it cannot tell.
package providers
