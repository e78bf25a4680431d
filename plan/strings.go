package plan

import "strings"

// strs holds the strings a plan makes per payout (addresses, digests,
// idempotency keys) in large blocks: a million plans' worth of small
// strings costs a header and a size class's rounding each, and the
// collector scans them one by one.
type strs struct {
	b strings.Builder
}

const strsBlock = 64 << 10

// concat returns the concatenation of parts, held in the current block
// (a nil *strs holds nothing: each string is its own).
func (a *strs) concat(parts ...string) string {
	n := 0
	for _, s := range parts {
		n += len(s)
	}
	if a == nil || n > strsBlock/8 {
		return strings.Join(parts, "")
	}
	if a.b.Cap()-a.b.Len() < n {
		// A new block; strings already handed out keep the old one.
		a.b = strings.Builder{}
		a.b.Grow(strsBlock)
	}
	// The builder never grows past the capacity it was given, so the
	// bytes written before stay where they are.
	start := a.b.Len()
	for _, s := range parts {
		a.b.WriteString(s)
	}
	return a.b.String()[start:]
}
