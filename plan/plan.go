package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
)

// FormatVersion is the version of the plan's JSON (saved plans and -json).
const FormatVersion = 1

// Action is what apply will do with a payout.
type Action string

// The actions, in the order plans list them.
const (
	// Pay sends a payout for the first time, or sends again an attempt
	// proven never to have reached the provider.
	Pay Action = "pay"
	// Retry sends a new attempt (new idempotency key) after the provider
	// said the last one failed.
	Retry Action = "retry"
	// Pending: sent and accepted, not final yet; nothing to do.
	Pending Action = "pending"
	// Unknown: the outcome of the last attempt is not known; apply looks
	// it up first and never re-sends it; a person may have to resolve it.
	Unknown Action = "unknown"
	// Unchanged: paid already.
	Unchanged Action = "unchanged"
)

// Sends reports whether the action sends money.
func (a Action) Sends() bool { return a == Pay || a == Retry }

// Provider is what the plan needs to know of a configured provider.
type Provider struct {
	Name     string
	Type     string
	Batch    bool // a batch provider: payouts go in provider payouts
	MaxBatch int  // payouts per provider payout (batch providers)
	Currency money.Currency
	Fees     fee.Schedule
}

// Plan is a computed plan.
type Plan struct {
	FormatVersion int           `json:"format_version"`
	State         StateRef      `json:"state"`
	Config        FileRef       `json:"config"`
	Manifests     []ManifestRef `json:"manifests"`
	Payouts       []*Item       `json:"payouts"`
	Groups        []*Group      `json:"groups"`
	Gone          []*Gone       `json:"gone"`
	Totals        []*Total      `json:"totals"`
	Errors        diag.List     `json:"errors"`
	// AccountChecks and Balances are what the providers said when the
	// plan was shown (plan -verify-accounts; plan -json with credentials).
	// They describe that moment, not the payments: Save leaves them out.
	AccountChecks []*AccountCheck `json:"account_checks,omitempty"`
	Balances      []*BalanceCheck `json:"balances,omitempty"`

	raw []byte // a saved plan's bytes, as read
	// strs holds the strings Make makes per payout, while it runs.
	strs *strs
}

// StateRef pins the state a plan was made against.
type StateRef struct {
	Location string `json:"location"`
	Lineage  string `json:"lineage"` // "" for a state not created yet
	Serial   uint64 `json:"serial"`
}

// FileRef pins a file by digest.
type FileRef struct {
	File   string `json:"file"`
	Digest string `json:"digest"`
}

// ManifestRef pins a manifest.
type ManifestRef struct {
	File     string `json:"file"`
	Digest   string `json:"digest"`
	Batch    string `json:"batch"`
	Provider string `json:"provider"`
	Currency string `json:"currency"`
	Payouts  int    `json:"payouts"`
	// Description is the manifest's metadata.description, shown with the
	// plan so that reviewers see what the batch is for.
	Description string `json:"description,omitempty"`
}

// Item is one payout of the plan.
type Item struct {
	Address  string `json:"address"`
	Action   Action `json:"action"`
	Provider string `json:"provider"`
	Type     string `json:"type"`
	// Attempt is the attempt apply sends (pay, retry) or the latest one.
	Attempt int `json:"attempt,omitempty"`
	// Key is the idempotency key apply sends (pay, retry).
	Key       string              `json:"key,omitempty"`
	Currency  money.Currency      `json:"currency"`
	Amount    money.Amount        `json:"amount"`
	Fee       *money.Amount       `json:"fee,omitempty"` // nil: charged per provider payout or batch, see Group
	FeePayer  fee.Payer           `json:"fee_payer"`
	Receives  money.Amount        `json:"receives"`
	Recipient providers.Recipient `json:"recipient"`
	// Reference and Metadata are the manifest's, kept with the payout
	// and covered by its digest; no provider is sent them.
	Reference string            `json:"reference,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Digest    string            `json:"digest"`
	// Status is the state's status of the payout ("" for a new payout).
	Status providers.Status `json:"status,omitempty"`
	// Group is the index in Plan.Groups of the provider payout or batch
	// fee this payout belongs to, or -1.
	Group int    `json:"group"`
	Note  string `json:"note,omitempty"`
	// Review is NewAccount or AccountChanged for a payout the plan sends
	// to an account this state never paid, or never paid to this
	// recipient; Previous says where an AccountChanged recipient was paid.
	Review   string    `json:"review,omitempty"`
	Previous *Previous `json:"previous,omitempty"`
	File     string    `json:"file"`
	Line     int       `json:"line"`
}

// Payout is the item as a provider pays it: what apply sends.
func (it *Item) Payout() providers.Payout {
	return providers.Payout{
		Address: it.Address, Attempt: it.Attempt, Key: it.Key,
		Amount: it.Amount, Currency: it.Currency, Recipient: it.Recipient,
	}
}

// Group is a set of payouts charged one fee: a batch provider's provider
// payout, or a batch under a per-batch fee schedule.
type Group struct {
	Provider  string         `json:"provider"`
	Batch     string         `json:"batch"`
	Index     int            `json:"index"` // 1-based within the batch
	Addresses []string       `json:"addresses"`
	Currency  money.Currency `json:"currency"`
	Total     money.Amount   `json:"total"`
	Fee       money.Amount   `json:"fee"`
	FeeRule   string         `json:"fee_rule"`
	FeePayer  fee.Payer      `json:"fee_payer"`
	Request   bool           `json:"provider_payout"` // one request pays all (batch provider)
	fees      *fee.Schedule  `json:"-"`
}

// Gone is a payout in the state but missing from its batch's manifest.
type Gone struct {
	Address  string           `json:"address"`
	Provider string           `json:"provider"`
	Currency string           `json:"currency"`
	Amount   money.Amount     `json:"amount"`
	Status   providers.Status `json:"status"`
}

// Total sums a provider's payouts in one currency.
type Total struct {
	Provider string `json:"provider"`
	Currency string `json:"currency"`
	// Counts by action.
	Pay       int `json:"pay"`
	Retry     int `json:"retry"`
	Pending   int `json:"pending"`
	Unknown   int `json:"unknown"`
	Unchanged int `json:"unchanged"`
	// Sums over what apply sends.
	Amount        money.Amount `json:"amount"`
	Fees          money.Amount `json:"fees"`
	FeesSender    money.Amount `json:"fees_sender"`
	FeesRecipient money.Amount `json:"fees_recipient"`
	Receive       money.Amount `json:"recipients_receive"`
	// Charged is what the provider balance is charged: the amounts plus
	// the fees the sender bears.
	Charged money.Amount `json:"balance_charged"`
}

// Changes reports whether applying the plan sends anything.
func (p *Plan) Changes() bool {
	for _, it := range p.Payouts {
		if it.Action.Sends() {
			return true
		}
	}
	return false
}

// Input is what Make compares.
type Input struct {
	Batches   []*schema.Batch
	Config    *config.Config
	Providers map[string]*Provider
	State     *state.Snapshot
	// StateLocation names the state for the plan (a path or a database name).
	StateLocation string
}

// Make computes the plan. Errors (payouts that may not change, fees that
// exceed what the recipient bears) are in Plan.Errors; a plan with errors
// cannot be applied.
func Make(in Input) *Plan {
	p := &Plan{
		FormatVersion: FormatVersion,
		State:         StateRef{Location: in.StateLocation},
		Payouts:       []*Item{},
		Groups:        []*Group{},
		Gone:          []*Gone{},
		Totals:        []*Total{},
		Errors:        diag.List{},
		strs:          &strs{},
	}
	defer func() { p.strs = nil }()
	if in.State != nil {
		p.State.Lineage, p.State.Serial = in.State.Lineage, in.State.Serial
	}
	if in.Config != nil {
		p.Config = FileRef{File: in.Config.File, Digest: in.Config.Digest}
	}
	var maxPayout map[string]money.Amount
	if in.Config != nil {
		maxPayout = in.Config.Policy.MaxPayout
	}
	batches := append([]*schema.Batch(nil), in.Batches...)
	sort.Slice(batches, func(i, j int) bool { return batches[i].Name < batches[j].Name })
	n := 0
	for _, b := range batches {
		n += len(b.Payouts)
	}
	// Sized once: appending a million pointers copies them over and over.
	p.Payouts = make([]*Item, 0, n)
	for _, b := range batches {
		p.Manifests = append(p.Manifests, ManifestRef{
			File: b.File, Digest: b.Digest, Batch: b.Name,
			Provider: b.Provider, Currency: b.Currency, Payouts: len(b.Payouts),
			Description: b.Description,
		})
		if prov := in.Providers[b.Provider]; prov == nil {
			p.Errors.Add(b.File, b.Pos.Provider, "provider %q is not in payctl.yaml", b.Provider)
		} else {
			p.addBatch(b, prov, in.State, maxPayout)
		}
		if b.Once {
			// The items hold what they need of the payouts (their strings
			// are the batch's, not the payouts' own).
			b.Payouts = nil
		}
	}
	if err := p.review(in.State); err != nil {
		p.Errors = append(p.Errors, &diag.Error{Msg: err.Error()})
	}
	p.totals()
	p.Errors.Sort()
	return p
}

// addBatch plans one batch. maxPayout is policy.maxPayout: manifest
// validation applies it too, but a plan never sends above it whatever its
// caller checked.
func (p *Plan) addBatch(b *schema.Batch, prov *Provider, snap *state.Snapshot, maxPayout map[string]money.Amount) {
	cur := money.CurrencyOf(b.Currency)
	sends := make([]*Item, 0, len(b.Payouts))
	// One block for the batch's items: a million small objects cost the
	// collector more, and each is rounded up to its size class.
	items := make([]Item, len(b.Payouts))
	for i := range b.Payouts {
		mp := &b.Payouts[i]
		addr := p.strs.concat(b.Name, "/", mp.ID) // schema.Address
		it := &items[i]
		*it = Item{
			Address: addr, Provider: prov.Name, Type: prov.Type,
			Currency: cur, Amount: mp.Amount, Recipient: mp.Recipient,
			Reference: mp.Reference, Metadata: mp.Metadata,
			FeePayer: prov.Fees.Payer, Group: -1,
			File: b.File, Line: mp.Pos.Item.Line,
		}
		d := it.Details()
		it.Digest = p.strs.concat(d.Digest())
		var sp *state.Payout
		if snap != nil {
			sp = snap.Payouts[addr]
		}
		if sp != nil {
			it.Status = sp.Status
			if sp.Digest != it.Digest {
				p.Errors.Add(b.File, mp.Pos.Item, "payout %s was already sent (attempt %d is %s) with different details: %s; a payment cannot change: restore the original details, or make the new payment under a new id",
					addr, sp.Latest().N, sp.Status, describeChange(sp, d))
				continue
			}
		}
		p.classify(it, sp)
		if max, ok := maxPayout[b.Currency]; ok && it.Action.Sends() && it.Amount.Cmp(max) > 0 {
			p.Errors.Add(b.File, mp.Pos.Amount, "payout %s: amount %s %s is above the policy maximum %s %s; it is never sent",
				addr, mp.Amount, b.Currency, max, b.Currency)
		}
		p.Payouts = append(p.Payouts, it)
		if it.Action.Sends() {
			sends = append(sends, it)
		} else {
			it.Receives = it.Amount
		}
	}
	p.charge(b, prov, sends)
	if snap == nil {
		return
	}
	if known := snap.BatchAddresses(b.Name); len(known) > 0 {
		// Only a batch the state holds can have payouts gone from it.
		seen := make(map[string]bool, len(items))
		for i := range items {
			seen[items[i].Address] = true
		}
		for _, addr := range known {
			if seen[addr] {
				continue
			}
			sp := snap.Payouts[addr]
			p.Gone = append(p.Gone, &Gone{Address: addr, Provider: sp.Provider, Currency: sp.Currency, Amount: sp.Amount, Status: sp.Status})
		}
	}
}

// classify sets the action from the state's record of the payout.
func (p *Plan) classify(it *Item, sp *state.Payout) {
	if sp == nil {
		it.Action, it.Attempt = Pay, 1
		it.Key = p.strs.concat(state.Key(it.Provider, it.Address, 1))
		return
	}
	last := sp.Latest()
	it.Attempt = last.N
	switch last.Status {
	case providers.StatusPaid:
		it.Action = Unchanged
	case providers.StatusPending:
		it.Action = Pending
	case providers.StatusFailed:
		it.Action, it.Attempt = Retry, last.N+1
		it.Key = p.strs.concat(state.Key(it.Provider, it.Address, it.Attempt))
		it.Note = fmt.Sprintf("attempt %d failed", last.N)
		if last.Reason != "" {
			it.Note += ": " + last.Reason
		}
		if last.ResolvedBy != "" {
			it.Note += " (resolved by " + last.ResolvedBy + ")"
		}
	case providers.StatusNotSent:
		it.Action, it.Key = Pay, last.Key
		it.Note = fmt.Sprintf("attempt %d never reached the provider; sending it again with the same key", last.N)
	default: // sending, unknown
		it.Action = Unknown
		it.Note = fmt.Sprintf("attempt %d's outcome is unknown; apply looks it up first and never re-sends it", last.N)
		if last.Reason != "" {
			it.Note += ": " + last.Reason
		}
	}
}

// charge computes fees of one batch's payouts that send: per payout, per
// batch, and the provider payouts of batch providers.
func (p *Plan) charge(b *schema.Batch, prov *Provider, sends []*Item) {
	s := prov.Fees
	var chunks [][]*Item
	switch {
	case prov.Batch:
		n := prov.MaxBatch
		if n <= 0 {
			n = len(sends)
		}
		for rest := sends; len(rest) > 0; {
			k := min(n, len(rest))
			chunks = append(chunks, rest[:k])
			rest = rest[k:]
		}
	case s.Basis == fee.PerBatch && len(sends) > 0:
		chunks = [][]*Item{sends}
	}
	if s.Basis != fee.PerBatch {
		fees := make([]money.Amount, len(sends))
		for i, it := range sends {
			fees[i] = s.Compute(it.Amount)
			it.Fee = &fees[i]
		}
	}
	for i, ch := range chunks {
		g := &Group{
			Provider: prov.Name, Batch: b.Name, Index: i + 1, Currency: money.CurrencyOf(b.Currency),
			Total: money.FromInt64(0), FeePayer: s.Payer, Request: prov.Batch,
			FeeRule: s.Describe(prov.Currency), fees: &s,
		}
		for _, it := range ch {
			g.Addresses = append(g.Addresses, it.Address)
			g.Total = g.Total.Add(it.Amount)
			it.Group = len(p.Groups)
		}
		if s.Basis == fee.PerBatch {
			g.Fee = s.Compute(g.Total)
		} else {
			g.Fee = money.FromInt64(0)
			for _, it := range ch {
				g.Fee = g.Fee.Add(*it.Fee)
			}
		}
		p.Groups = append(p.Groups, g)
	}
	for _, it := range sends {
		it.Receives = it.Amount
		if it.Fee != nil && s.Payer == fee.Recipient {
			it.Receives = it.Amount.Sub(*it.Fee)
			if it.Receives.Sign() <= 0 {
				p.Errors = append(p.Errors, feeError(b, payoutOf(b, it.Address), *it.Fee, prov.Currency))
			}
		}
	}
}

// CheckFees refuses every payout of batches whose fee the recipient bears
// and is not less than its amount: the recipient would receive nothing.
// It needs no state, so validate runs it on every payout; Make refuses
// the same of the payouts it sends, with the same error.
func CheckFees(batches []*schema.Batch, provs map[string]*Provider) diag.List {
	var errs diag.List
	for _, b := range batches {
		prov := provs[b.Provider]
		if prov == nil || prov.Fees.Payer != fee.Recipient || prov.Fees.Basis == fee.PerBatch {
			continue
		}
		for i := range b.Payouts {
			mp := &b.Payouts[i]
			if f := prov.Fees.Compute(mp.Amount); mp.Amount.Sub(f).Sign() <= 0 {
				errs = append(errs, feeError(b, mp, f, prov.Currency))
			}
		}
	}
	return errs
}

// feeError is the error for a payout whose fee f, borne by the recipient,
// leaves them nothing; it points at the payout's amount.
func feeError(b *schema.Batch, mp *schema.Payout, f money.Amount, c money.Currency) *diag.Error {
	return diag.Errorf(b.File, mp.Pos.Amount, "payout %s: the fee %s %s is not less than the amount %s %s, and the recipient bears it: the recipient would receive nothing; raise the amount or change fees.payer in payctl.yaml",
		schema.Address(b.Name, mp.ID), f.Format(c), b.Currency, mp.Amount.Format(c), b.Currency)
}

// payoutOf is the payout of b at addr (Make's items all come from one).
func payoutOf(b *schema.Batch, addr string) *schema.Payout {
	for i := range b.Payouts {
		if schema.Address(b.Name, b.Payouts[i].ID) == addr {
			return &b.Payouts[i]
		}
	}
	return &schema.Payout{ID: strings.TrimPrefix(addr, b.Name+"/"), Pos: schema.PayoutPos{Amount: b.Pos.Payouts}}
}

func (p *Plan) totals() {
	byKey := map[string]*Total{}
	get := func(prov, cur string) *Total {
		k := prov + "\x00" + cur
		t := byKey[k]
		if t == nil {
			z := money.FromInt64(0)
			t = &Total{Provider: prov, Currency: cur, Amount: z, Fees: z, FeesSender: z, FeesRecipient: z, Receive: z, Charged: z}
			byKey[k] = t
			p.Totals = append(p.Totals, t)
		}
		return t
	}
	for _, it := range p.Payouts {
		t := get(it.Provider, it.Currency.Code)
		switch it.Action {
		case Pay:
			t.Pay++
		case Retry:
			t.Retry++
		case Pending:
			t.Pending++
		case Unknown:
			t.Unknown++
		case Unchanged:
			t.Unchanged++
		}
		if !it.Action.Sends() {
			continue
		}
		t.Amount = t.Amount.Add(it.Amount)
		t.Receive = t.Receive.Add(it.Receives)
		if it.Fee != nil {
			t.addFee(*it.Fee, it.FeePayer)
		}
	}
	for _, g := range p.Groups {
		if g.fees != nil && g.fees.Basis == fee.PerBatch {
			get(g.Provider, g.Currency.Code).addFee(g.Fee, g.FeePayer)
		}
	}
	for _, t := range p.Totals {
		t.Charged = t.Amount.Add(t.FeesSender)
	}
	sort.Slice(p.Totals, func(i, j int) bool {
		a, b := p.Totals[i], p.Totals[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.Currency < b.Currency
	})
}

func (t *Total) addFee(f money.Amount, payer fee.Payer) {
	t.Fees = t.Fees.Add(f)
	if payer == fee.Recipient {
		t.FeesRecipient = t.FeesRecipient.Add(f)
	} else {
		t.FeesSender = t.FeesSender.Add(f)
	}
}

// Details are the item's details, as its digest covers them.
func (it *Item) Details() state.Details {
	return state.Details{Provider: it.Provider, Currency: it.Currency.Code, Amount: it.Amount, Recipient: it.Recipient,
		Reference: it.Reference, Metadata: state.FieldsOf(it.Metadata)}
}

// describeChange names what differs between a recorded payout and new
// details, e.g. "amount 150000 -> 160000".
func describeChange(sp *state.Payout, d state.Details) string {
	var out []string
	add := func(field, was, now string) {
		if was != now {
			out = append(out, fmt.Sprintf("%s %q -> %q", field, was, now))
		}
	}
	if !sp.Amount.Equal(d.Amount) {
		out = append(out, fmt.Sprintf("amount %s -> %s", sp.Amount, d.Amount))
	}
	add("provider", sp.Provider, d.Provider)
	add("currency", sp.Currency, d.Currency)
	add("recipient.id", sp.Recipient.ID, d.Recipient.ID)
	add("recipient.name", sp.Recipient.Name, d.Recipient.Name)
	add("recipient.bankCode", sp.Recipient.BankCode, d.Recipient.BankCode)
	add("recipient.bank", sp.Recipient.Bank, d.Recipient.Bank)
	add("recipient.account", sp.Recipient.Account, d.Recipient.Account)
	add("recipient.country", sp.Recipient.Country, d.Recipient.Country)
	add("reference", sp.Reference, d.Reference)
	// Fields are sorted: walk both lists of metadata together.
	was, now := sp.Metadata, d.Metadata
	for len(was) > 0 || len(now) > 0 {
		switch {
		case len(now) == 0 || (len(was) > 0 && was[0].Name < now[0].Name):
			out = append(out, fmt.Sprintf("metadata.%s %q removed", was[0].Name, was[0].Value))
			was = was[1:]
		case len(was) == 0 || now[0].Name < was[0].Name:
			out = append(out, fmt.Sprintf("metadata.%s %q added", now[0].Name, now[0].Value))
			now = now[1:]
		default:
			add("metadata."+was[0].Name, was[0].Value, now[0].Value)
			was, now = was[1:], now[1:]
		}
	}
	if len(out) == 0 {
		return "details differ"
	}
	s := out[0]
	for _, o := range out[1:] {
		s += ", " + o
	}
	return s
}
