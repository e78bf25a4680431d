package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/plan"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

func openFixture(t *testing.T, h *history) *state.Snapshot {
	t.Helper()
	st, err := state.Open(context.Background(), h.sb.backend(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st.Snapshot()
}

// parseCSV reads an export back into rows, as a spreadsheet import would.
func parseCSV(t *testing.T, b []byte) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], audit.Columns) {
		t.Fatalf("got header %q, want %q", recs[0], audit.Columns)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, c := range audit.Columns {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// TestExportRoundTrip exports a real state as CSV and JSON, reads the
// files back and compares every amount, fee and time with the state,
// exactly.
func TestExportRoundTrip(t *testing.T) {
	h := fixture(t)
	snap := openFixture(t, h)
	rows := audit.Rows(snap, audit.RowFilter{})
	var csvOut, jsonOut bytes.Buffer
	if err := audit.WriteCSV(&csvOut, rows); err != nil {
		t.Fatal(err)
	}
	if err := audit.WriteRowsJSON(&jsonOut, rows); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(csvOut.Bytes(), []byte("\r\n")) {
		t.Error("the CSV does not end lines with CRLF (RFC 4180)")
	}
	var fromJSON []map[string]any
	if err := json.Unmarshal(jsonOut.Bytes(), &fromJSON); err != nil {
		t.Fatal(err)
	}
	fromCSV := parseCSV(t, csvOut.Bytes())
	if len(fromCSV) != 6 || len(fromJSON) != 6 {
		t.Fatalf("got %d CSV and %d JSON rows, want one per attempt: 6", len(fromCSV), len(fromJSON))
	}
	groupFees := map[string]money.Amount{}
	for i, r := range fromCSV {
		j := fromJSON[i]
		p := snap.Payouts[r["batch"]+"/"+r["id"]]
		if p == nil {
			t.Fatalf("row %d names %s/%s, which is not in the state", i+1, r["batch"], r["id"])
		}
		n, _ := strconv.Atoi(r["attempt"])
		a := p.Attempts[n-1]
		amount, err := money.Parse(r["amount"])
		if err != nil || !amount.Equal(p.Amount) || j["amount"] != r["amount"] {
			t.Errorf("%s: got amount %q (JSON %q), want %s exactly", p.Address, r["amount"], j["amount"], p.Amount)
		}
		if c, _ := money.LookupCurrency(p.Currency); r["amount"] != p.Amount.Format(c) {
			t.Errorf("%s: got %q, want %q, with the currency's places", p.Address, r["amount"], p.Amount.Format(c))
		}
		if r["account"] != plan.MaskAccount(p.Recipient.Account) {
			t.Errorf("%s: got account %q, want it masked", p.Address, r["account"])
		}
		sent, err := time.Parse(time.RFC3339, r["sent_at"])
		if err != nil || !sent.Equal(a.SentAt) {
			t.Errorf("%s: got sent at %q, want %s", p.Address, r["sent_at"], a.SentAt)
		}
		if a.FinalAt != nil {
			final, err := time.Parse(time.RFC3339, r["final_at"])
			if err != nil || !final.Equal(*a.FinalAt) {
				t.Errorf("%s: got final at %q, want %s", p.Address, r["final_at"], a.FinalAt)
			}
		}
		if r["status"] != string(a.Status) || r["provider"] != p.Provider || r["idempotency_key"] != a.Key {
			t.Errorf("%s: got %q %q %q", p.Address, r["status"], r["provider"], r["idempotency_key"])
		}
		switch {
		case a.Group == "":
			f, err := money.Parse(r["fee"])
			if err != nil || a.Fee == nil || !f.Equal(*a.Fee) {
				t.Errorf("%s: got fee %q, want the attempt's %v", p.Address, r["fee"], a.Fee)
			}
		case r["fee"] != "":
			f, err := money.Parse(r["fee"])
			if err != nil {
				t.Fatalf("%s: fee %q: %v", p.Address, r["fee"], err)
			}
			groupFees[r["provider_payout"]] = groupFees[r["provider_payout"]].Add(f)
		}
	}
	if len(snap.Groups) != 1 {
		t.Fatalf("got %d provider payouts in the fixture, want 1", len(snap.Groups))
	}
	for id, g := range snap.Groups {
		if got := groupFees[id]; !got.Equal(*g.Fee) || got.String() != g.Fee.String() {
			t.Errorf("provider payout %s: the fee column adds up to %s, want the fee charged, %s", id, got, g.Fee)
		}
	}
}

func TestExportFilters(t *testing.T) {
	h := fixture(t)
	snap := openFixture(t, h)
	tests := []struct {
		name string
		f    audit.RowFilter
		want []string
	}{
		{"batch", audit.RowFilter{Batches: []string{"vendors-2026-11"}}, []string{"acme", "bob", "riyadh-trading"}},
		{"provider", audit.RowFilter{Provider: "idr-main"}, []string{"alice", "budi", "citra"}},
		{"status", audit.RowFilter{Status: providers.StatusPending}, nil},
		{"nothing", audit.RowFilter{Batches: []string{"no-such-batch"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range audit.Rows(snap, tt.f) {
				got = append(got, r.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExportQuoting: names with commas, quotes and formula starts survive
// CSV quoting; only the CSV defuses formulas and escapes control and
// bidirectional characters, the JSON keeps the name.
func TestExportQuoting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	st, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: true, Op: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{`=HYPERLINK("http://x"), Inc`, `Budi "B" Santoso`, "Line\nBreak", "-5 Trading", "\u202eevil\x1b[2J"}
	for i, name := range names {
		addr := "b/p" + strconv.Itoa(i)
		amt := money.MustParse("1000.5")
		r := providers.Recipient{Name: name, Bank: "Bank, Ltd", Account: "12345678", Country: "US"}
		e := &state.Event{Kind: state.KindIntent, Provider: "usd", Payouts: []state.EventPayout{{
			Address: addr, Attempt: 1, Key: state.Key("usd", addr, 1), Status: providers.StatusSending,
			Type: "fake", Currency: "USD", Amount: &amt, Recipient: &r, FeePayer: fee.Recipient,
			Digest: state.Details{Provider: "usd", Currency: "USD", Amount: amt, Recipient: r}.Digest(),
		}}}
		if err := st.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	rows := audit.Rows(st.Snapshot(), audit.RowFilter{})
	st.Close()
	var c, j bytes.Buffer
	if err := audit.WriteCSV(&c, rows); err != nil {
		t.Fatal(err)
	}
	if err := audit.WriteRowsJSON(&j, rows); err != nil {
		t.Fatal(err)
	}
	var back []audit.Row
	if err := json.Unmarshal(j.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	wantCSV := []string{`'=HYPERLINK("http://x"), Inc`, `Budi "B" Santoso`, `Line\u000ABreak`, "'-5 Trading", `\u202Eevil\u001B[2J`}
	for i, r := range parseCSV(t, c.Bytes()) {
		if r["recipient_name"] != wantCSV[i] {
			t.Errorf("CSV row %d: got name %q, want %q", i+1, r["recipient_name"], wantCSV[i])
		}
		if back[i].RecipientName != names[i] {
			t.Errorf("JSON row %d: got name %q, want %q unchanged", i+1, back[i].RecipientName, names[i])
		}
		if r["bank"] != "Bank, Ltd" || r["amount"] != "1000.50" || r["fee_bearer"] != "recipient" {
			t.Errorf("CSV row %d: got bank %q, amount %q, fee bearer %q", i+1, r["bank"], r["amount"], r["fee_bearer"])
		}
	}
}
