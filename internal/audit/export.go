package audit

import (
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
)

// Row is one payout attempt as an accountant reads it. Amounts are exact
// decimal strings with the currency's places (a fee quoted in finer units
// keeps its own); times are RFC 3339 in UTC; the account shows only its
// last four digits.
//
// Fee is what the provider returned as charged. A batch provider charges
// one fee per provider payout, not per payout: that fee is on the row of the
// provider payout's first payout, and its other rows leave Fee empty and
// name the same ProviderPayout, so that the column adds up to what was
// charged.
type Row struct {
	Batch          string            `json:"batch"`
	ID             string            `json:"id"`
	Attempt        int               `json:"attempt"`
	RecipientName  string            `json:"recipient_name"`
	Account        string            `json:"account"`
	Bank           string            `json:"bank"`
	Country        string            `json:"country"`
	Currency       string            `json:"currency"`
	Amount         string            `json:"amount"`
	Fee            string            `json:"fee"`
	FeeBearer      string            `json:"fee_bearer"`
	Provider       string            `json:"provider"`
	ProviderType   string            `json:"provider_type"`
	ProviderIDs    map[string]string `json:"provider_ids"`
	ProviderPayout string            `json:"provider_payout"`
	Status         string            `json:"status"`
	SentAt         string            `json:"sent_at"`
	FinalAt        string            `json:"final_at"`
	ResolvedBy     string            `json:"resolved_by"`
	ApprovedBy     string            `json:"approved_by"`
	Key            string            `json:"idempotency_key"`
	// Reference and Metadata are the payout's own, as its manifest had
	// them; absent from the JSON when the payout has none.
	Reference string            `json:"reference,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// Columns are the CSV header, in order; the JSON keys are the same. An
// export whose payouts have references or metadata has more columns after
// these (see Header).
var Columns = []string{
	"batch", "id", "attempt", "recipient_name", "account", "bank", "country",
	"currency", "amount", "fee", "fee_bearer", "provider", "provider_type",
	"provider_ids", "provider_payout", "status", "sent_at", "final_at",
	"resolved_by", "approved_by", "idempotency_key",
}

// RowFilter selects rows; zero fields select everything.
type RowFilter struct {
	Batches  []string
	Provider string
	// Status matches the attempt's status.
	Status providers.Status
}

// Rows returns one row per attempt, by address and attempt.
func Rows(s *state.Snapshot, f RowFilter) []*Row {
	batches := map[string]bool{}
	for _, b := range f.Batches {
		batches[b] = true
	}
	out := []*Row{}
	for _, addr := range s.Addresses() {
		p := s.Payouts[addr]
		if len(batches) > 0 && !batches[p.Batch()] {
			continue
		}
		if f.Provider != "" && p.Provider != f.Provider {
			continue
		}
		for _, a := range p.Attempts {
			if f.Status != "" && a.Status != f.Status {
				continue
			}
			out = append(out, row(s, p, a))
		}
	}
	return out
}

func row(s *state.Snapshot, p *state.Payout, a *state.Attempt) *Row {
	bank := p.Recipient.Bank
	if bank == "" {
		bank = p.Recipient.BankCode
	}
	r := &Row{
		Batch: p.Batch(), ID: p.ID(), Attempt: a.N,
		RecipientName: p.Recipient.Name, Account: plan.MaskAccount(p.Recipient.Account),
		Bank: bank, Country: p.Recipient.Country,
		Currency: p.Currency, Amount: amountText(p.Amount, p.Currency),
		FeeBearer: string(p.FeePayer), Provider: p.Provider, ProviderType: p.Type,
		ProviderIDs: a.IDs.Map(), ProviderPayout: a.Group, Status: string(a.Status),
		SentAt: timeText(&a.SentAt), FinalAt: timeText(a.FinalAt),
		ResolvedBy: a.ResolvedBy, ApprovedBy: approverNames(a.ApprovedBy), Key: a.Key,
		Reference: p.Reference, Metadata: p.Metadata.Map(),
	}
	if r.ProviderIDs == nil {
		r.ProviderIDs = map[string]string{}
	}
	switch g := s.Groups[a.Group]; {
	case a.Group == "":
		if a.Fee != nil {
			r.Fee = amountText(*a.Fee, p.Currency)
		}
	case g != nil && g.Fee != nil && len(g.Addresses) > 0 && g.Addresses[0] == p.Address:
		r.Fee = amountText(*g.Fee, g.Currency)
	}
	return r
}

func timeText(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Header is the CSV header of rows: Columns, then "reference" if any row
// has one, then "metadata.KEY" for each metadata key any row has, sorted.
// A spreadsheet gets a column per key (invoice, costCentre) to sort and
// filter on; an export of payouts without either has exactly Columns, as
// before they existed.
func Header(rows []*Row) []string {
	ref := false
	keys := map[string]bool{}
	for _, r := range rows {
		ref = ref || r.Reference != ""
		for k := range r.Metadata {
			keys[k] = true
		}
	}
	h := slices.Clone(Columns)
	if ref {
		h = append(h, "reference")
	}
	for _, k := range sortedKeys(keys) {
		h = append(h, "metadata."+k)
	}
	return h
}

// cells is the row in Columns order, as CSV text, then its reference and
// metadata values for the extra columns of header.
func (r *Row) cells(header []string) []string {
	c := r.plainCells()
	for _, col := range header[len(Columns):] {
		if k, ok := strings.CutPrefix(col, "metadata."); ok {
			c = append(c, text(r.Metadata[k]))
		} else {
			c = append(c, text(r.Reference))
		}
	}
	return c
}

func (r *Row) plainCells() []string {
	return r.values(text)
}

// values is the row in Columns order, each value of outside text passed
// through outside (the state's own values, such as amounts, statuses and
// times, are never outside text).
func (r *Row) values(outside func(string) string) []string {
	var ids []string
	for _, k := range sortedKeys(r.ProviderIDs) {
		ids = append(ids, k+"="+r.ProviderIDs[k])
	}
	return []string{
		outside(r.Batch), outside(r.ID), strconv.Itoa(r.Attempt), outside(r.RecipientName), outside(r.Account),
		outside(r.Bank), outside(r.Country), r.Currency, r.Amount, r.Fee, outside(r.FeeBearer),
		outside(r.Provider), outside(r.ProviderType), outside(strings.Join(ids, " ")), outside(r.ProviderPayout),
		r.Status, r.SentAt, r.FinalAt, outside(r.ResolvedBy), outside(r.ApprovedBy), r.Key,
	}
}

// text makes a cell of outside text safe to open: unsafe characters
// (controls, bidirectional and invisible ones) become \uXXXX escapes as
// everywhere else payctl shows outside text, since a CSV file is read in
// terminals and spreadsheets, where they would reorder or hide what a
// person sees; and a cell a spreadsheet would run as a formula (a
// recipient named "=HYPERLINK(...)") is defused by the usual leading
// apostrophe. Amounts never need either; the JSON export keeps every value
// as it is (only escaped as JSON).
func text(s string) string {
	s = safetext.Escape(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// BOM is the UTF-8 byte order mark: Excel reads a CSV file that starts
// with it as UTF-8, and one that does not in the system's legacy code page
// (a name such as "Ñandú" then shows as "Ã‘andÃº").
const BOM = "\uFEFF"

// CSVOptions shape a CSV export.
type CSVOptions struct {
	// BOM starts the file with the UTF-8 byte order mark, for Excel.
	BOM bool
}

// WriteCSV writes the rows as CSV (RFC 4180: CRLF line ends, quoting as
// needed) with a header row (see Header).
func WriteCSV(w io.Writer, rows []*Row, opts ...CSVOptions) error {
	var o CSVOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.BOM {
		if _, err := io.WriteString(w, BOM); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	header := Header(rows)
	hc := make([]string, len(header))
	for i, h := range header {
		hc[i] = text(h) // metadata keys come from the state file
	}
	if err := cw.Write(hc); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write(r.cells(header)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteRowsJSON writes the rows as one indented JSON array.
func WriteRowsJSON(w io.Writer, rows []*Row) error {
	if rows == nil {
		rows = []*Row{}
	}
	return writeJSON(w, rows)
}
