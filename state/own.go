package state

import (
	"unsafe"

	"github.com/payctl/payctl/providers"
)

// A decoded journal record's strings share one copy of the record's text
// (the decoder allocates once per record). A payout folded from it keeps
// some of them for the life of the snapshot, and with them the whole
// record: about 600 bytes per record a payout came from, which a verify
// or a rebuild of a long history folds millions of times. So what a fold
// keeps is copied out, a payout's strings in one allocation.

// own gives the strings ptrs point at storage of their own, in one
// allocation.
func own(ptrs ...*string) {
	n := 0
	for _, p := range ptrs {
		n += len(*p)
	}
	if n == 0 {
		return
	}
	buf := make([]byte, 0, n)
	for _, p := range ptrs {
		buf = append(buf, *p...)
	}
	// buf is never written again: its bytes are the strings'.
	all := unsafe.String(unsafe.SliceData(buf), n)
	off := 0
	for _, p := range ptrs {
		l := len(*p)
		*p = all[off : off+l]
		off += l
	}
}

// ownFields returns a copy of f whose strings are its own.
func ownFields(f Fields) Fields {
	if len(f) == 0 {
		return f
	}
	out := append(Fields(nil), f...)
	ptrs := make([]*string, 0, 2*len(out))
	for i := range out {
		ptrs = append(ptrs, &out[i].Name, &out[i].Value)
	}
	own(ptrs...)
	return out
}

// canonicalStatus returns the status constant equal to s, which shares
// nothing with the record s was decoded from.
func canonicalStatus(s providers.Status) providers.Status {
	for _, c := range [...]providers.Status{providers.StatusSending, providers.StatusPending, providers.StatusPaid,
		providers.StatusFailed, providers.StatusUnknown, providers.StatusNotSent, providers.StatusNotFound} {
		if s == c {
			return c
		}
	}
	return s
}

// ownApprovers returns a copy of as whose strings are its own.
func ownApprovers(as []Approver) []Approver {
	if len(as) == 0 {
		return as
	}
	out := append([]Approver(nil), as...)
	ptrs := make([]*string, 0, 2*len(out))
	for i := range out {
		ptrs = append(ptrs, &out[i].Principal, &out[i].Key)
	}
	own(ptrs...)
	return out
}
