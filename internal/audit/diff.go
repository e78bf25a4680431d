package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// FormatVersion is the version of the JSON that Diff, Report and the
// history's JSON lines are written in.
const FormatVersion = 1

// Diff is what changed between two snapshots of one state.
type Diff struct {
	FormatVersion int  `json:"format_version"`
	Old           Side `json:"old"`
	New           Side `json:"new"`
	// Findings are changes no legitimate history makes; any makes the
	// diff fail.
	Findings []*Finding `json:"findings"`
	// Added are payouts in the new snapshot only.
	Added []*PayoutChange `json:"added"`
	// Changed are payouts whose status or attempt changed.
	Changed []*PayoutChange `json:"changed"`
	// Resolved are the attempts a person decided in the interval.
	Resolved []*Resolution `json:"resolved"`
	// Differing are the provider answers recorded in the interval that
	// differ from the plan (fee, fee payer, total, the bank's name). They
	// changed no status; a person looks at each. Absent when there are
	// none.
	Differing []*Differing `json:"differing_answers,omitempty"`
	Totals    []*Total     `json:"totals"`
	// Journal says whether journal events were attached, and why not.
	Journal JournalUse `json:"journal"`
}

// Side describes one of the compared snapshots.
type Side struct {
	Name    string `json:"name"`
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
	Payouts int    `json:"payouts"`
}

// JournalUse says which journal the events came from.
type JournalUse struct {
	Source string `json:"source,omitempty"`
	// Events is how many journal records lie in the interval.
	Events int `json:"events"`
	// Note says why events are missing, when they are.
	Note string `json:"note,omitempty"`
}

// PayoutChange is a payout added or whose status changed.
type PayoutChange struct {
	Address  string       `json:"address"`
	Provider string       `json:"provider"`
	Currency string       `json:"currency"`
	Amount   money.Amount `json:"amount"`
	// From is absent for added payouts.
	From *StatusAt `json:"from,omitempty"`
	To   StatusAt  `json:"to"`
	// Events are the journal records behind the change, when available.
	Events []*EventRef `json:"events,omitempty"`
}

// StatusAt is a payout's status and the attempt it belongs to.
type StatusAt struct {
	Attempt int              `json:"attempt"`
	Status  providers.Status `json:"status"`
}

func (s StatusAt) String() string {
	if s.Attempt <= 1 {
		return string(s.Status)
	}
	return fmt.Sprintf("%s (attempt %d)", s.Status, s.Attempt)
}

// Resolution is a person's decision about an attempt.
type Resolution struct {
	Address string           `json:"address"`
	Attempt int              `json:"attempt"`
	Status  providers.Status `json:"status"`
	By      string           `json:"by"`
	Reason  string           `json:"reason"`
	At      *time.Time       `json:"at,omitempty"`
}

// Differing is a provider answer about an attempt that differs from the
// plan: a state.Finding first seen in the interval.
type Differing struct {
	Address string           `json:"address"`
	Attempt int              `json:"attempt"`
	Status  providers.Status `json:"status"`
	state.Finding
}

// differing are the findings on n's attempts that o's did not have.
func differing(o, n *state.Payout) []*Differing {
	var out []*Differing
	for i, na := range n.Attempts {
		var had []state.Finding
		if o != nil && i < len(o.Attempts) {
			had = o.Attempts[i].Findings
		}
	next:
		for _, f := range na.Findings {
			for _, h := range had {
				if h == f {
					continue next
				}
			}
			out = append(out, &Differing{Address: n.Address, Attempt: na.N, Status: na.Status, Finding: f})
		}
	}
	return out
}

// EventRef is a journal record as it concerns one payout.
type EventRef struct {
	Seq     uint64            `json:"seq"`
	Time    time.Time         `json:"time"`
	Kind    state.Kind        `json:"kind"`
	Op      string            `json:"op,omitempty"`
	By      string            `json:"by,omitempty"`
	Attempt int               `json:"attempt"`
	Status  providers.Status  `json:"status"`
	IDs     map[string]string `json:"ids,omitempty"`
	Fee     *money.Amount     `json:"fee,omitempty"`
	// ProviderStatus is the provider's own word for the status, if it
	// gave one.
	ProviderStatus string `json:"provider_status,omitempty"`
	Reason         string `json:"reason,omitempty"`
	// Findings are where the answer differed from the plan.
	Findings []state.Finding `json:"findings,omitempty"`
}

// Total sums the interval for one provider and currency.
type Total struct {
	Provider string `json:"provider"`
	Currency string `json:"currency"`
	// Paid: payouts that became paid in the interval.
	Paid      money.Amount `json:"paid"`
	PaidCount int          `json:"paid_count"`
	// Fees: fees the provider reported charging in the interval.
	Fees money.Amount `json:"fees_charged"`
	// Returned: payouts paid at the start and no longer paid at the end.
	Returned      money.Amount `json:"returned"`
	ReturnedCount int          `json:"returned_count"`
	// Pending and Unknown: payouts not final at the end.
	Pending      money.Amount `json:"still_pending"`
	PendingCount int          `json:"still_pending_count"`
	Unknown      money.Amount `json:"unknown"`
	UnknownCount int          `json:"unknown_count"`
}

// OK reports whether the diff has no findings.
func (d *Diff) OK() bool { return len(d.Findings) == 0 }

// forbiddenHint is what to do about a change no legitimate history makes.
const forbiddenHint = "payctl never makes this change: the newer file was edited by hand or is not a later version of the older one; `payctl state verify` checks it against its journal, and a good copy comes from version control or the journal"

// Compare reports what changed from old to new. It never fails: whatever
// cannot be compared is a finding.
func Compare(old, new *Snapshot) *Diff {
	d := &Diff{
		FormatVersion: FormatVersion,
		Old:           side(old), New: side(new),
		Findings: []*Finding{}, Added: []*PayoutChange{}, Changed: []*PayoutChange{},
		Resolved: []*Resolution{}, Totals: []*Total{},
	}
	d.Findings = append(d.Findings, old.Problems...)
	d.Findings = append(d.Findings, new.Problems...)
	if old.Lineage != new.Lineage {
		d.Findings = append(d.Findings, &Finding{
			Kind: KindLineageChanged, File: new.Name, Pointer: "/lineage",
			Message: fmt.Sprintf("lineage %s differs from %s's %s: these are two different states, not two versions of one", new.Lineage, old.Name, old.Lineage),
			Hint:    "a state's lineage is fixed when it is created; compare versions of the same state file",
		})
		return d
	}
	switch {
	case new.Serial < old.Serial:
		d.Findings = append(d.Findings, &Finding{
			Kind: KindSerialBackwards, File: new.Name, Pointer: "/serial",
			Message: fmt.Sprintf("serial %d is lower than %s's %d: the state went back in time, losing records", new.Serial, old.Name, old.Serial),
			Hint:    "give the older snapshot first (payctl state diff OLD NEW); if that is the order, the newer file was replaced by an old copy: restore it from its journal or version control",
		})
	case new.Serial == old.Serial && !bytes.Equal(statefile.SnapshotBytes(old.Snapshot), statefile.SnapshotBytes(new.Snapshot)):
		d.Findings = append(d.Findings, &Finding{
			Kind: KindSerialUnchanged, File: new.Name, Pointer: "/serial",
			Message: fmt.Sprintf("the content differs from %s but the serial is %d in both: every change payctl makes is a journal record that raises the serial", old.Name, new.Serial),
			Hint:    forbiddenHint,
		})
	}
	tot := totals{}
	for _, addr := range old.Addresses() {
		if new.Payouts[addr] == nil {
			o := old.Payouts[addr]
			d.Findings = append(d.Findings, &Finding{
				Kind: KindPayoutRemoved, File: old.payoutIn(addr), Pointer: old.payoutPointer(addr), Address: addr,
				Message: fmt.Sprintf("%s (%s %s, %s) is missing from %s: payouts are never removed from a state", addr, amountText(o.Amount, o.Currency), o.Currency, o.Status, new.Name),
				Hint:    forbiddenHint,
			})
			tot.removed(o)
		}
	}
	for _, addr := range new.Addresses() {
		n, o := new.Payouts[addr], old.Payouts[addr]
		if o == nil {
			d.Added = append(d.Added, &PayoutChange{
				Address: addr, Provider: n.Provider, Currency: n.Currency, Amount: n.Amount, To: statusAt(n),
			})
		} else {
			d.Findings = append(d.Findings, comparePayout(old, new, o, n)...)
			if from, to := statusAt(o), statusAt(n); from != to {
				d.Changed = append(d.Changed, &PayoutChange{
					Address: addr, Provider: n.Provider, Currency: n.Currency, Amount: n.Amount, From: &from, To: to,
				})
			}
		}
		d.Resolved = append(d.Resolved, resolutions(o, n)...)
		d.Differing = append(d.Differing, differing(o, n)...)
		tot.payout(o, n)
	}
	for _, id := range groupIDs(old.Snapshot) {
		d.Findings = append(d.Findings, compareGroup(old, new, id)...)
	}
	for _, id := range groupIDs(new.Snapshot) {
		tot.group(old.Groups[id], new.Groups[id])
	}
	d.Totals = tot.list()
	return d
}

func side(s *Snapshot) Side {
	return Side{Name: s.Name, Lineage: s.Lineage, Serial: s.Serial, Payouts: len(s.Payouts)}
}

func statusAt(p *state.Payout) StatusAt {
	n := 0
	if a := p.Latest(); a != nil {
		n = a.N
	}
	return StatusAt{Attempt: n, Status: p.Status}
}

// comparePayout reports the changes to one payout that only hand edits
// make: its details, its attempts' keys and provider ids.
func comparePayout(old, new *Snapshot, o, n *state.Payout) []*Finding {
	var out []*Finding
	ptr := new.payoutPointer(n.Address)
	add := func(kind Kind, field, format string, args ...any) {
		out = append(out, &Finding{
			Kind: kind, File: new.payoutIn(n.Address), Pointer: ptr + field, Address: n.Address,
			Message: n.Address + ": " + fmt.Sprintf(format, args...), Hint: forbiddenHint,
		})
	}
	if o.Provider != n.Provider || o.Type != n.Type {
		add(KindProviderChanged, "/provider", "provider changed from %s (%s) to %s (%s); a payout is paid by the provider it was sent to", o.Provider, o.Type, n.Provider, n.Type)
	}
	if o.Currency != n.Currency {
		add(KindCurrencyChanged, "/currency", "currency changed from %s to %s", o.Currency, n.Currency)
	}
	if !o.Amount.Equal(n.Amount) {
		add(KindAmountChanged, "/amount", "amount changed from %s to %s %s; a payment's amount never changes: a different amount needs a new payout id", amountText(o.Amount, o.Currency), amountText(n.Amount, n.Currency), n.Currency)
	}
	for _, f := range recipientFields {
		ov, nv := f.get(o.Recipient), f.get(n.Recipient)
		if ov == nv {
			continue
		}
		if f.name == "account" {
			ov, nv = plan.MaskAccount(ov), plan.MaskAccount(nv)
		}
		add(KindRecipientChanged, "/recipient/"+f.name, "recipient %s changed from %q to %q; a payment's recipient never changes", f.label, ov, nv)
	}
	if o.Reference != n.Reference {
		add(KindMemoChanged, "/reference", "reference changed from %q to %q; a sent payout's reference never changes", o.Reference, n.Reference)
	}
	om, nm := o.Metadata.Map(), n.Metadata.Map()
	for _, k := range sortedKeys(om) {
		if nv, ok := nm[k]; !ok {
			add(KindMemoChanged, "/metadata", "metadata %s=%q was removed; a sent payout's metadata never changes", k, om[k])
		} else if nv != om[k] {
			add(KindMemoChanged, "/metadata/"+pointerEscape(k), "metadata %s changed from %q to %q; a sent payout's metadata never changes", k, om[k], nv)
		}
	}
	for _, k := range sortedKeys(nm) {
		if _, ok := om[k]; !ok {
			add(KindMemoChanged, "/metadata/"+pointerEscape(k), "metadata %s=%q was added; a sent payout's metadata never changes", k, nm[k])
		}
	}
	for i, oa := range o.Attempts {
		aptr := fmt.Sprintf("/attempts/%d", i)
		if i >= len(n.Attempts) {
			add(KindAttemptRemoved, "/attempts", "attempt %d (%s, key %s) was removed; attempts are never removed", oa.N, oa.Status, oa.Key)
			continue
		}
		na := n.Attempts[i]
		if oa.Key != na.Key {
			add(KindKeyChanged, aptr+"/key", "attempt %d's idempotency key changed from %s to %s", oa.N, oa.Key, na.Key)
		}
		oids, nids := oa.IDs.Map(), na.IDs.Map()
		for _, k := range sortedKeys(oids) {
			switch nv, ok := nids[k]; {
			case !ok:
				add(KindProviderIDChange, aptr+"/ids", "attempt %d's provider id %s=%s was removed", oa.N, k, oids[k])
			case nv != oids[k]:
				add(KindProviderIDChange, aptr+"/ids/"+pointerEscape(k), "attempt %d's provider id %s changed from %s to %s", oa.N, k, oids[k], nv)
			}
		}
		// A not-sent attempt may be sent again in a new provider payout;
		// any other attempt stays in the one it was sent in.
		if oa.Group != "" && oa.Group != na.Group && oa.Status != providers.StatusNotSent {
			add(KindGroupChanged, aptr+"/group", "attempt %d moved from provider payout %s to %q", oa.N, oa.Group, na.Group)
		}
	}
	return out
}

type recipientField struct {
	name, label string
	get         func(providers.Recipient) string
}

var recipientFields = []recipientField{
	{"name", "name", func(r providers.Recipient) string { return r.Name }},
	{"bankCode", "bank code", func(r providers.Recipient) string { return r.BankCode }},
	{"bank", "bank", func(r providers.Recipient) string { return r.Bank }},
	{"account", "account", func(r providers.Recipient) string { return r.Account }},
	{"country", "country", func(r providers.Recipient) string { return r.Country }},
}

func compareGroup(old, new *Snapshot, id string) []*Finding {
	o, n := old.Groups[id], new.Groups[id]
	if n == nil {
		return []*Finding{{
			Kind: KindGroupChanged, File: old.groupIn(id), Pointer: old.groupPointer(id),
			Message: fmt.Sprintf("provider payout %s (%s, %d payouts) is missing from %s: provider payouts are never removed", id, o.Provider, len(o.Addresses), new.Name),
			Hint:    forbiddenHint,
		}}
	}
	var out []*Finding
	add := func(field, format string, args ...any) {
		out = append(out, &Finding{
			Kind: KindGroupChanged, File: new.groupIn(id), Pointer: new.groupPointer(id) + field,
			Message: fmt.Sprintf("provider payout %s: ", id) + fmt.Sprintf(format, args...), Hint: forbiddenHint,
		})
	}
	if o.Provider != n.Provider {
		add("/provider", "provider changed from %s to %s", o.Provider, n.Provider)
	}
	if o.Currency != n.Currency || !o.Total.Equal(n.Total) {
		add("/total", "total changed from %s %s to %s %s", amountText(o.Total, o.Currency), o.Currency, amountText(n.Total, n.Currency), n.Currency)
	}
	if strings.Join(o.Addresses, "\n") != strings.Join(n.Addresses, "\n") {
		add("/addresses", "its payouts changed from %s to %s", strings.Join(o.Addresses, ", "), strings.Join(n.Addresses, ", "))
	}
	if o.Token != n.Token {
		add("/token", "token changed from %q to %q", o.Token, n.Token)
	}
	oids, nids := o.IDs.Map(), n.IDs.Map()
	for _, k := range sortedKeys(oids) {
		if nids[k] != oids[k] {
			add("/ids", "provider id %s changed from %s to %q", k, oids[k], nids[k])
		}
	}
	return out
}

// resolutions are the attempts of n a person decided since o.
func resolutions(o, n *state.Payout) []*Resolution {
	var out []*Resolution
	for i, na := range n.Attempts {
		if na.ResolvedBy == "" {
			continue
		}
		if o != nil && i < len(o.Attempts) {
			oa := o.Attempts[i]
			if oa.ResolvedBy == na.ResolvedBy && oa.Status == na.Status && oa.Reason == na.Reason {
				continue
			}
		}
		out = append(out, &Resolution{
			Address: n.Address, Attempt: na.N, Status: na.Status, By: na.ResolvedBy,
			Reason: strings.TrimPrefix(na.Reason, "resolved by a person: "), At: na.FinalAt,
		})
	}
	return out
}

// totals accumulates Totals by provider and currency.
type totals map[[2]string]*Total

func (t totals) of(provider, currency string) *Total {
	k := [2]string{provider, currency}
	if t[k] == nil {
		t[k] = &Total{Provider: provider, Currency: currency}
	}
	return t[k]
}

func (t totals) payout(o, n *state.Payout) {
	tt := t.of(n.Provider, n.Currency)
	wasPaid := o != nil && o.Status == providers.StatusPaid
	switch {
	case n.Status == providers.StatusPaid && !wasPaid:
		tt.Paid = tt.Paid.Add(n.Amount)
		tt.PaidCount++
	case n.Status != providers.StatusPaid && wasPaid:
		tt.Returned = tt.Returned.Add(n.Amount)
		tt.ReturnedCount++
	}
	switch n.Status {
	case providers.StatusPending:
		tt.Pending = tt.Pending.Add(n.Amount)
		tt.PendingCount++
	case providers.StatusUnknown, providers.StatusSending:
		tt.Unknown = tt.Unknown.Add(n.Amount)
		tt.UnknownCount++
	}
	for i, na := range n.Attempts {
		var was *money.Amount
		if o != nil && i < len(o.Attempts) {
			was = o.Attempts[i].Fee
		}
		tt.Fees = tt.Fees.Add(feeDelta(was, na.Fee))
	}
}

// removed takes a removed payout's paid amount and fees back, so that the
// totals still add up; the removal itself is a finding.
func (t totals) removed(o *state.Payout) {
	tt := t.of(o.Provider, o.Currency)
	if o.Status == providers.StatusPaid {
		tt.Returned = tt.Returned.Add(o.Amount)
		tt.ReturnedCount++
	}
	for _, a := range o.Attempts {
		tt.Fees = tt.Fees.Add(feeDelta(a.Fee, nil))
	}
}

func (t totals) group(o, n *state.Group) {
	var was *money.Amount
	if o != nil {
		was = o.Fee
	}
	if delta := feeDelta(was, n.Fee); !delta.IsZero() {
		tt := t.of(n.Provider, n.Currency)
		tt.Fees = tt.Fees.Add(delta)
	}
}

func feeDelta(was, is *money.Amount) money.Amount {
	d := money.FromInt64(0)
	if is != nil {
		d = d.Add(*is)
	}
	if was != nil {
		d = d.Sub(*was)
	}
	return d
}

func (t totals) list() []*Total {
	out := []*Total{}
	for _, tt := range t {
		if tt.PaidCount+tt.ReturnedCount+tt.PendingCount+tt.UnknownCount == 0 && tt.Fees.IsZero() {
			continue
		}
		out = append(out, tt)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Currency < out[j].Currency
	})
	return out
}

func groupIDs(s *state.Snapshot) []string { return sortedKeys(s.Groups) }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// amountText formats an amount with its currency's places (more if it has
// them: fees quoted in mills keep theirs).
func amountText(a money.Amount, currency string) string { return a.Format(money.CurrencyOf(currency)) }

// Journal is where journal records come from: every state.Backend is one.
type Journal interface {
	ReadJournal(ctx context.Context, fn func(*state.Event) error) (*state.Torn, error)
}

// errEnough ends a journal read early.
var errEnough = errors.New("enough")

// AttachEvents reads the journal of the newer snapshot and attaches to
// each added, changed and resolved payout the records of the interval that
// concern it. It also checks that the older snapshot is an earlier version
// of that journal: its serial's record must carry the hash it recorded.
//
// The journal is streamed; only the records about the payouts the diff
// reports are kept. A journal that does not match the newer snapshot is not
// used, and Journal.Note says why; only an I/O error fails.
func (d *Diff) AttachEvents(ctx context.Context, source string, j Journal, old, new *Snapshot) error {
	d.Journal = JournalUse{Source: source}
	if d.Old.Lineage != d.New.Lineage {
		d.Journal.Note = "not read: the snapshots are of different states"
		return nil
	}
	wanted := map[string]bool{}
	for _, list := range [][]*PayoutChange{d.Added, d.Changed} {
		for _, c := range list {
			wanted[c.Address] = true
		}
	}
	// Gathered aside and attached only once the journal proved to be
	// the newer snapshot's.
	found := map[string][]*EventRef{}
	resolvedAt := map[string]time.Time{}
	var count int
	var lastSeq uint64
	var oldHash, mismatch string
	_, err := j.ReadJournal(ctx, func(e *state.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		lastSeq = e.Seq
		if e.Seq == 1 && e.Lineage != new.Lineage {
			mismatch = fmt.Sprintf("not used: it belongs to lineage %s, not %s", e.Lineage, new.Lineage)
			return errEnough
		}
		if e.Seq == old.Serial {
			oldHash = e.Hash
		}
		if e.Seq == new.Serial && new.Journal.Hash != "" && e.Hash != new.Journal.Hash {
			mismatch = fmt.Sprintf("not used: its record %d is not the one %s folded (run `payctl state verify`)", e.Seq, new.Name)
			return errEnough
		}
		if e.Seq > old.Serial && e.Seq <= new.Serial {
			count++
			for _, ep := range e.Payouts {
				if wanted[ep.Address] {
					found[ep.Address] = append(found[ep.Address], eventRef(e, ep))
				}
				if e.Kind == state.KindResolve {
					resolvedAt[fmt.Sprintf("%s#%d", ep.Address, ep.Attempt)] = e.Time.UTC()
				}
			}
		}
		if e.Seq >= new.Serial {
			return errEnough
		}
		return nil
	})
	var damage *state.DamageError
	switch {
	case errors.Is(err, errEnough):
	case errors.As(err, &damage):
		d.Journal.Note = fmt.Sprintf("not used: %v", err)
		return nil
	case err != nil:
		return err
	}
	switch {
	case mismatch != "":
		d.Journal.Note = mismatch
		return nil
	case lastSeq < new.Serial:
		d.Journal.Note = fmt.Sprintf("not used: it ends at record %d, before %s's serial %d", lastSeq, new.Name, new.Serial)
		return nil
	}
	if old.Serial > 0 && old.Journal.Hash != "" && oldHash != old.Journal.Hash && old.Serial <= new.Serial {
		d.Findings = append(d.Findings, &Finding{
			Kind: KindNotAncestor, File: old.Name, Pointer: "/journal/hash",
			Message: fmt.Sprintf("%s folded a record %d with hash %s, but record %d of %s's journal has hash %s: the older snapshot is not an earlier version of this history", old.Name, old.Serial, short(old.Journal.Hash), old.Serial, new.Name, short(oldHash)),
			Hint:    "one of the two histories was rewritten: compare both with `payctl state verify` and their version control history",
		})
	}
	d.Journal.Events = count
	for _, list := range [][]*PayoutChange{d.Added, d.Changed} {
		for _, c := range list {
			c.Events = found[c.Address]
		}
	}
	for _, r := range d.Resolved {
		if t, ok := resolvedAt[fmt.Sprintf("%s#%d", r.Address, r.Attempt)]; ok {
			r.At = &t
		}
	}
	return nil
}

func eventRef(e *state.Event, ep state.EventPayout) *EventRef {
	r := &EventRef{
		Seq: e.Seq, Time: e.Time.UTC(), Kind: e.Kind, Op: e.Op, By: e.By,
		Attempt: ep.Attempt, Status: ep.Status, IDs: ep.IDs, Fee: ep.Fee,
		ProviderStatus: ep.Answer["status"], Reason: ep.Reason, Findings: ep.Findings,
	}
	if r.Reason == "" && e.Kind == state.KindQuote {
		r.Reason = e.Reason
	}
	return r
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "(none)"
	}
	return h
}

// humanAmount is amountText grouped by thousands, for text and Markdown
// people read; JSON, CSV and finding messages keep amountText.
func humanAmount(a money.Amount, currency string) string {
	return a.Human(money.CurrencyOf(currency))
}
