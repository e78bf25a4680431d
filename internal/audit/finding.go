package audit

import (
	"fmt"
	"strings"
)

// Kind names what a finding is about, for tools that read -json output.
type Kind string

// The kinds of finding. Those of Compare are things a legitimate history
// never does; those of Verify are reasons not to trust a state.
const (
	// A snapshot the strict parser refuses (digest mismatch, bad key, ...).
	KindInvalidSnapshot Kind = "invalid-snapshot"

	KindLineageChanged   Kind = "lineage-changed"
	KindSerialBackwards  Kind = "serial-backwards"
	KindSerialUnchanged  Kind = "serial-unchanged"
	KindPayoutRemoved    Kind = "payout-removed"
	KindAmountChanged    Kind = "amount-changed"
	KindCurrencyChanged  Kind = "currency-changed"
	KindRecipientChanged Kind = "recipient-changed"
	// KindMemoChanged: a payout's reference or metadata changed.
	KindMemoChanged      Kind = "reference-or-metadata-changed"
	KindProviderChanged  Kind = "provider-changed"
	KindAttemptRemoved   Kind = "attempt-removed"
	KindKeyChanged       Kind = "key-changed"
	KindProviderIDChange Kind = "provider-id-changed"
	KindGroupChanged     Kind = "provider-payout-changed"
	KindNotAncestor      Kind = "not-an-earlier-version"

	KindJournalDamaged  Kind = "journal-damaged"
	KindJournalTorn     Kind = "journal-torn"
	KindChainBroken     Kind = "chain-broken"
	KindFoldFailed      Kind = "fold-failed"
	KindSnapshotAhead   Kind = "snapshot-ahead"
	KindSnapshotDiffers Kind = "snapshot-differs"
	KindJournalMark     Kind = "journal-mark"
	KindUnreadable      Kind = "unreadable"
	KindPermissions     Kind = "permissions"
	KindPaidWithoutIDs  Kind = "paid-without-ids"
)

// Finding is one thing wrong with a state or between two states. It says
// where (a file with a JSON pointer, or a journal line, which is the
// record's sequence number) and, in Hint, what to do.
type Finding struct {
	Kind    Kind   `json:"kind"`
	File    string `json:"file,omitempty"`
	Pointer string `json:"pointer,omitempty"`
	Line    uint64 `json:"line,omitempty"`
	Address string `json:"address,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

// Where is the finding's position: file:line or file:pointer.
func (f *Finding) Where() string {
	var b strings.Builder
	b.WriteString(f.File)
	switch {
	case f.Line > 0:
		fmt.Fprintf(&b, ":%d", f.Line)
	case f.Pointer != "":
		b.WriteString(":" + f.Pointer)
	}
	return b.String()
}

func (f *Finding) Error() string {
	if w := f.Where(); w != "" {
		return w + ": " + f.Message
	}
	return f.Message
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// pointerEscape escapes a JSON pointer token (RFC 6901).
func pointerEscape(s string) string { return pointerEscaper.Replace(s) }
