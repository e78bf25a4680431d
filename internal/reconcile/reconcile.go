// Package reconcile compares a state with what the providers' own records
// say over a window of time: the question an operator or an auditor asks
// once money moves, "did the provider pay anything we did not ask for, or
// differently?".
//
// Guarantees:
//
//   - It reads: Run never writes the state and never asks a provider to
//     move money. Recording what it learns is the caller's choice, through
//     the same lookup path as payctl refresh.
//   - Every finding names the provider's ids and, when the state has one,
//     the payout address, and says what it means and what to do.
//   - A missing field is never a difference: a provider that does not
//     report amounts (Dinar Dragon's /status) is compared on what it
//     reports.
//   - "The provider does not know it" is only said of an attempt sent
//     inside the window, older than the provider's lookup grace, and only
//     from a listing that could be read completely (or, for a provider
//     asked by id, from an answer about the attempt's own provider payout).
//
// Three kinds of finding:
//
//	unexplained  a payment at the provider that no attempt in the state
//	             explains: paid outside payctl, or by another state with
//	             the same keys
//	differs      a payment whose amount, account, fee or status is not
//	             what the state records
//	missing      an attempt the state records that the provider does not
//	             know after the lookup grace
package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// FormatVersion is the version of the -json output.
const FormatVersion = 1

// Kind is what a finding is about.
type Kind string

// The kinds of finding (see the package doc).
const (
	Unexplained Kind = "unexplained"
	Differs     Kind = "differs"
	Missing     Kind = "missing"
)

// Finding is one disagreement between the state and a provider.
type Finding struct {
	Kind     Kind   `json:"kind"`
	Provider string `json:"provider"`
	// Address and Attempt are the state's payout, when one is concerned.
	Address string `json:"address,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	// IDs are the provider's ids of the payment (as listed, or as the
	// state recorded them for a missing one).
	IDs       map[string]string `json:"provider_ids,omitempty"`
	Reference string            `json:"reference,omitempty"`
	// Field is what differs: amount, account, fee or status.
	Field string `json:"field,omitempty"`
	// State and Reported are the values of Field, or for an unexplained
	// payment, what the provider reports of it.
	State    string `json:"state,omitempty"`
	Reported string `json:"provider_says,omitempty"`
	// Meaning says what the finding means and what to do.
	Meaning string `json:"meaning"`
}

// Provider is what was asked of one provider.
type Provider struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Since is the start of this provider's window (the report's, or later
	// when the provider's retention cuts it).
	Since time.Time `json:"since"`
	// Listed is how many payments the provider reported.
	Listed int `json:"listed"`
	// Attempts is how many of the state's attempts were sent in the window.
	Attempts int `json:"attempts"`
	// Complete is false when the provider could only be asked about
	// provider payouts the state knows (Dinar Dragon).
	Complete bool `json:"complete"`
	// Unanswered are the days or provider payouts that could not be read.
	Unanswered map[string]string `json:"unanswered,omitempty"`
	// Skipped says why the provider was not reconciled, if it was not.
	Skipped string `json:"skipped,omitempty"`
}

// Report is the result of a reconciliation.
type Report struct {
	FormatVersion int        `json:"format_version"`
	Since         time.Time  `json:"since"`
	Until         time.Time  `json:"until"`
	Providers     []Provider `json:"providers"`
	Findings      []Finding  `json:"findings"`
	// Recorded is how many state events a -record run recorded; nil when
	// nothing was to be recorded.
	Recorded *int `json:"events_recorded,omitempty"`
}

// Input is what Run needs.
type Input struct {
	// Snapshot is the state, every batch loaded. Run only reads it.
	Snapshot *state.Snapshot
	// Providers are the configured provider names to reconcile.
	Providers []string
	// Open opens a provider by name.
	Open func(name string) (providers.Provider, error)
	// Grace is a provider's lookup grace: an attempt younger than it may
	// not be listed yet.
	Grace func(name string) time.Duration
	Now   time.Time
	// Since starts the window; zero for the default (see Window).
	Since time.Time
	// Groups are more provider payout ids to ask about, by provider (ids a
	// person read on a dashboard or a statement).
	Groups map[string][]string
}

// DefaultWindow is the window when no payout is open and no -since is
// given.
const DefaultWindow = 7 * 24 * time.Hour

// retentionMargin keeps the window's start this far inside a provider's
// retention: a payment at the very edge may already be forgotten, and
// must not be reported missing.
const retentionMargin = time.Hour

// Window is the default start of the window: the send time of the oldest
// attempt not yet final (sending, pending or unknown), or DefaultWindow
// before now when none is open.
func Window(snap *state.Snapshot, now time.Time) time.Time {
	since := now.Add(-DefaultWindow)
	open := false
	for _, p := range snap.Payouts {
		a := p.Latest()
		if a == nil || !a.Status.Open() || a.SentAt.IsZero() {
			continue
		}
		if !open || a.SentAt.Before(since) {
			since, open = a.SentAt, true
		}
	}
	return since
}

// ref is one attempt of the state.
type ref struct {
	payout  *state.Payout
	attempt *state.Attempt
}

// Run reconciles each provider of in. The error is for what stops the
// whole run (ctx ended); a provider that cannot be asked is reported as
// Skipped or with Unanswered parts.
func Run(ctx context.Context, in Input) (*Report, error) {
	since := in.Since
	if since.IsZero() {
		since = Window(in.Snapshot, in.Now)
	}
	if since.After(in.Now) {
		since = in.Now // a clock that stepped back; the window is empty
	}
	rep := &Report{FormatVersion: FormatVersion, Since: since.UTC(), Until: in.Now.UTC(), Findings: []Finding{}}
	names := slices.Clone(in.Providers)
	sort.Strings(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		sum, fs := reconcileOne(ctx, in, name, since)
		rep.Providers = append(rep.Providers, sum)
		rep.Findings = append(rep.Findings, fs...)
	}
	return rep, ctx.Err()
}

func reconcileOne(ctx context.Context, in Input, name string, since time.Time) (Provider, []Finding) {
	sum := Provider{Name: name, Since: since.UTC()}
	prov, err := in.Open(name)
	if err != nil {
		sum.Skipped = fmt.Sprintf("cannot be used: %v", err)
		return sum, nil
	}
	sum.Type = prov.Type()
	lister, ok := prov.(providers.Lister)
	if !ok {
		sum.Skipped = "its provider type cannot list payments"
		return sum, nil
	}
	if r := lister.Retention(); r > 0 {
		if edge := in.Now.Add(-r + retentionMargin); since.Before(edge) {
			since = edge
			sum.Since = edge.UTC()
		}
	}

	// The state's attempts with this provider: all of them explain a
	// listed payment, those sent in the window must be listed.
	byKey := map[string]ref{}
	byID := map[string]ref{}
	var window []ref
	groups := map[string]bool{}
	for _, g := range in.Groups[name] {
		groups[g] = true
	}
	for _, addr := range sortedAddresses(in.Snapshot) {
		p := in.Snapshot.Payouts[addr]
		if p.Provider != name {
			continue
		}
		for _, a := range p.Attempts {
			r := ref{p, a}
			if a.Key != "" {
				byKey[a.Key] = r
			}
			for _, f := range a.IDs {
				if f.Name != providers.IDGroup {
					byID[f.Name+"="+f.Value] = r
				}
			}
			if a.SentAt.IsZero() || a.SentAt.Before(since) || a.Status == providers.StatusNotSent {
				continue
			}
			window = append(window, r)
			if g := a.IDs.Get(providers.IDGroup); g != "" {
				groups[g] = true
			}
		}
	}
	sum.Attempts = len(window)

	listing, err := lister.List(ctx, providers.ListQuery{Since: since, Until: in.Now, Groups: slices.Sorted(maps.Keys(groups))})
	sum.Listed = len(listing.Payments)
	sum.Complete = listing.Complete
	if len(listing.Unanswered) > 0 {
		sum.Unanswered = listing.Unanswered
	}
	if err != nil {
		sum.Skipped = fmt.Sprintf("stopped: %v", err)
		return sum, nil
	}

	var out []Finding
	matched := map[*state.Attempt]bool{}
	for _, l := range listing.Payments {
		r, ok := match(l, byID, byKey)
		if !ok {
			out = append(out, unexplained(name, l))
			continue
		}
		matched[r.attempt] = true
		out = append(out, differences(name, l, r)...)
	}

	grace := in.Grace(name)
	for _, r := range window {
		if matched[r.attempt] || in.Now.Sub(r.attempt.SentAt) < grace {
			continue
		}
		a := r.attempt
		if len(a.IDs) == 0 && a.Status == providers.StatusFailed {
			continue // refused at creation: the provider never kept it
		}
		if !listing.Complete {
			// Asked by provider payout: only an attempt whose own
			// provider payout was answered can be missing from it.
			g := a.IDs.Get(providers.IDGroup)
			if g == "" || a.IDs.Get("uniqueid") == "" || listing.Unanswered[g] != "" {
				continue
			}
		} else if len(listing.Unanswered) > 0 {
			continue // a day that could not be read may hold it
		}
		out = append(out, Finding{
			Kind: Missing, Provider: name, Address: r.payout.Address, Attempt: a.N,
			IDs: a.IDs.Map(), Reference: a.Key, State: string(a.Status),
			Meaning: fmt.Sprintf("the state records attempt %d (%s, sent %s) but %s does not list it: if the state says it was paid, check the provider's dashboard or statement; `payctl reconcile -record` (or `payctl refresh`) looks it up and records what the provider says",
				a.N, a.Status, a.SentAt.UTC().Format(time.RFC3339), name),
		})
	}
	return sum, out
}

// match finds the attempt a listed payment belongs to: by the provider's
// own ids first, then by the reference payctl sent.
func match(l providers.Listed, byID, byKey map[string]ref) (ref, bool) {
	for _, k := range slices.Sorted(maps.Keys(l.IDs)) {
		if k == providers.IDGroup {
			continue // shared by every payment of a provider payout
		}
		if r, ok := byID[k+"="+l.IDs[k]]; ok {
			return r, true
		}
	}
	if l.Reference != "" {
		r, ok := byKey[l.Reference]
		return r, ok
	}
	return ref{}, false
}

func unexplained(name string, l providers.Listed) Finding {
	what := string(l.Status)
	if l.Amount != nil {
		what = l.Amount.String() + " " + what
	}
	if l.Account != "" {
		what += " to account " + l.Account
		if l.BankCode != "" {
			what += " (bank " + l.BankCode + ")"
		}
	}
	if l.Date != "" {
		what += " on " + l.Date
	}
	return Finding{
		Kind: Unexplained, Provider: name, IDs: l.IDs, Reference: l.Reference, Reported: what,
		Meaning: fmt.Sprintf("no attempt in the state explains this payment at %s: it was paid outside payctl, or by another state with the same provider keys; find who made it before paying anything else", name),
	}
}

// differences compares a listed payment with the attempt it belongs to.
func differences(name string, l providers.Listed, r ref) []Finding {
	p, a := r.payout, r.attempt
	var out []Finding
	add := func(field, have, got, meaning string) {
		out = append(out, Finding{
			Kind: Differs, Provider: name, Address: p.Address, Attempt: a.N, IDs: l.IDs, Reference: l.Reference,
			Field: field, State: have, Reported: got, Meaning: meaning,
		})
	}
	if l.Amount != nil && !l.Amount.Equal(p.Amount) {
		add("amount", p.Amount.String(), l.Amount.String(),
			fmt.Sprintf("%s paid another amount than payctl sent for %s: ask the provider why; the state keeps what was sent", name, p.Address))
	}
	if l.Account != "" && l.Account != p.Recipient.Account {
		add("account", p.Recipient.Account, l.Account,
			fmt.Sprintf("%s paid another account than payctl sent for %s: ask the provider at once, the money may have gone to someone else", name, p.Address))
	}
	if l.Fee != nil && a.Fee != nil && !l.Fee.Equal(*a.Fee) {
		add("fee", a.Fee.String(), l.Fee.String(),
			fmt.Sprintf("%s now reports another fee than it answered for %s: compare with the provider's statement", name, p.Address))
	}
	if l.Status != "" && l.Status != a.Status {
		add("status", string(a.Status), statusWords(l), statusMeaning(name, p.Address, a.Status, l.Status))
	}
	return out
}

func statusWords(l providers.Listed) string {
	if l.RawStatus != "" && l.RawStatus != string(l.Status) {
		return fmt.Sprintf("%s (%s)", l.Status, l.RawStatus)
	}
	return string(l.Status)
}

func statusMeaning(name, addr string, have, got providers.Status) string {
	switch {
	case have == providers.StatusNotSent || (have == providers.StatusFailed && got != providers.StatusFailed):
		return fmt.Sprintf("the state says this attempt paid nothing, but %s has it %s: a retry may pay %s twice; do not apply it until `payctl reconcile -record` (or `payctl refresh -all`) has recorded the provider's word", name, got, addr)
	case have == providers.StatusPaid && got == providers.StatusFailed:
		return fmt.Sprintf("%s reports the payment failed after the state recorded it paid (returned funds): `payctl reconcile -record` (or `payctl refresh -all`) records it, and the next plan retries %s", name, addr)
	default:
		return fmt.Sprintf("the state is behind %s: `payctl reconcile -record` (or `payctl refresh`) records the provider's status", name)
	}
}

// sortedAddresses lists the snapshot's addresses in order, so findings
// come out the same way every time.
func sortedAddresses(s *state.Snapshot) []string {
	return slices.Sorted(maps.Keys(s.Payouts))
}

// Recordable are the addresses whose findings a lookup can settle (status
// differences and missing attempts): what -record asks the providers
// about again, through refresh's path.
func (r *Report) Recordable() []string {
	set := map[string]bool{}
	for _, f := range r.Findings {
		if f.Address != "" && (f.Kind == Missing || f.Field == "status") {
			set[f.Address] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
