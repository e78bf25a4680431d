package plan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
)

// paid records a payout of the month before with its latest status.
func paid(s *state.Snapshot, addr string, r providers.Recipient, st providers.Status, at time.Time) {
	amt := money.FromInt64(1000)
	d := state.Details{Provider: "idr", Currency: "IDR", Amount: amt, Recipient: r}
	s.Add(&state.Payout{Address: addr, Provider: "idr", Type: "cronos", Currency: "IDR", Amount: amt, Recipient: r,
		Digest: d.Digest(), Status: st, Attempts: []*state.Attempt{{N: 1, Key: state.Key("idr", addr, 1), Status: st, SentAt: at}}})
}

func TestNewAndChangedAccounts(t *testing.T) {
	nov := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	s := state.New()
	alice := providers.Recipient{Name: "Alice Tan", BankCode: "014", Account: "1234567890"}
	paid(s, "nov/1", alice, providers.StatusPaid, nov)
	// Alice was also paid to an older account, earlier: the newest is the
	// one a change is compared with.
	paid(s, "oct/1", providers.Recipient{Name: "Alice Tan", BankCode: "009", Account: "5555"}, providers.StatusPaid, nov.AddDate(0, -1, 0))
	paid(s, "nov/2", providers.Recipient{Name: "Bob", BankCode: "014", Account: "2222"}, providers.StatusFailed, nov)
	paid(s, "nov/3", providers.Recipient{ID: "V-7", Name: "Carol Ltd", BankCode: "014", Account: "3333"}, providers.StatusPending, nov)
	paid(s, "nov/4", providers.Recipient{Name: "Dan", BankCode: "014", Account: "4444"}, providers.StatusUnknown, nov)

	rows := []struct {
		id    string
		r     providers.Recipient
		want  string
		prior string // Previous.Address
	}{
		{"same", alice, "", ""},
		// Case, spacing and compatibility forms do not make a new
		// recipient; the account with spaces is the same account.
		{"renamed", providers.Recipient{Name: "  ALICE   tan ", BankCode: "014", Account: "12345 67890"}, "", ""},
		{"older-account", providers.Recipient{Name: "Alice Tan", BankCode: "009", Account: "5555"}, "", ""},
		{"changed", providers.Recipient{Name: "alice tan", BankCode: "008", Account: "9999000011"}, AccountChanged, "nov/1"},
		// A failed payout never makes an account known, nor an unknown one.
		{"bob", providers.Recipient{Name: "Bob", BankCode: "014", Account: "2222"}, NewAccount, ""},
		{"dan", providers.Recipient{Name: "Dan", BankCode: "014", Account: "4444"}, NewAccount, ""},
		// recipient.id identifies whatever the name says; a pending
		// payout counts as paid to that account.
		{"carol-renamed", providers.Recipient{ID: "V-7", Name: "Carol Holdings", BankCode: "014", Account: "3333"}, "", ""},
		{"carol-moved", providers.Recipient{ID: "V-7", Name: "Carol Ltd", BankCode: "014", Account: "3334"}, AccountChanged, "nov/3"},
		// Without the id, Carol's name is another recipient: a known
		// account is not flagged, an unknown one is new.
		{"carol-noid", providers.Recipient{Name: "Carol Ltd", BankCode: "014", Account: "3335"}, NewAccount, ""},
		// Same number at another bank is another account.
		{"other-bank", providers.Recipient{Name: "Erin", BankCode: "009", Account: "1234567890"}, NewAccount, ""},
		{"erin", providers.Recipient{Name: "Erin", BankCode: "014", Account: "1234567890"}, "", ""},
	}
	b := &schema.Batch{File: "dec.yaml", Name: "dec", Provider: "idr", Currency: "IDR"}
	for _, r := range rows {
		b.Payouts = append(b.Payouts, schema.Payout{ID: r.id, Amount: money.FromInt64(500), Recipient: r.r})
	}
	p := Make(Input{Batches: []*schema.Batch{b}, Providers: provs(), State: s})
	if len(p.Errors) > 0 {
		t.Fatal(p.Errors)
	}
	got := map[string]*Item{}
	for _, it := range p.Payouts {
		got[strings.TrimPrefix(it.Address, "dec/")] = it
	}
	for _, r := range rows {
		it := got[r.id]
		if it.Review != r.want {
			t.Errorf("%s: review %q, want %q", r.id, it.Review, r.want)
		}
		switch {
		case r.prior == "" && it.Previous != nil:
			t.Errorf("%s: previous %+v, want none", r.id, it.Previous)
		case r.prior != "" && (it.Previous == nil || it.Previous.Address != r.prior):
			t.Errorf("%s: previous %+v, want %s", r.id, it.Previous, r.prior)
		}
	}
	if n, c := p.Flagged(); n != 4 || c != 2 {
		t.Errorf("flagged: %d new, %d changed; want 4 and 2", n, c)
	}
	if !strings.HasSuffix(p.Summary(), "; to check: 4 new accounts, 2 accounts changed") {
		t.Errorf("summary: %s", p.Summary())
	}

	var text, md, js bytes.Buffer
	p.WriteText(&text)
	p.WriteMarkdown(&md)
	p.WriteJSON(&js)
	changed := "! account changed: alice tan was last paid to bank 014 ******7890 as Alice Tan (nov/1, 2026-11-02); now bank 008 ******0011"
	if !strings.Contains(text.String(), changed) {
		t.Errorf("text plan lacks %q:\n%s", changed, text.String())
	}
	if !strings.Contains(md.String(), "**Check these payouts before approving: 4 to accounts this state never paid, 2 to recipients whose account changed.**") ||
		!strings.Contains(md.String(), "- `dec/changed` 500 IDR: account changed: alice tan was last paid to bank 014 ******7890") {
		t.Errorf("markdown plan:\n%s", md.String())
	}
	if strings.Contains(md.String(), "9999000011") || strings.Contains(md.String(), "1234567890") {
		t.Errorf("markdown shows an account number unmasked:\n%s", md.String())
	}
	var back Plan
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	for _, it := range back.Payouts {
		if it.Address == "dec/changed" && (it.Review != AccountChanged || it.Previous.Recipient.Account != "1234567890") {
			t.Errorf("JSON: %+v", it)
		}
	}
}

// A payout that sends nothing is never flagged, and an empty state makes
// every account new.
func TestReviewOnlyWhatIsSent(t *testing.T) {
	b := batch(2)
	p := Make(Input{Batches: []*schema.Batch{b}, Providers: provs()})
	if n, c := p.Flagged(); n != 2 || c != 0 {
		t.Fatalf("empty state: %d new, %d changed", n, c)
	}
	s := state.New()
	for _, mp := range b.Payouts {
		r := mp.Recipient
		d := state.Details{Provider: "idr", Currency: "IDR", Amount: mp.Amount, Recipient: r}
		addr := schema.Address(b.Name, mp.ID)
		s.Add(&state.Payout{Address: addr, Provider: "idr", Currency: "IDR", Amount: mp.Amount, Recipient: r, Digest: d.Digest(),
			Status: providers.StatusPaid, Attempts: []*state.Attempt{{N: 1, Key: state.Key("idr", addr, 1), Status: providers.StatusPaid}}})
	}
	p = Make(Input{Batches: []*schema.Batch{b}, Providers: provs(), State: s})
	if n, c := p.Flagged(); n+c != 0 || p.Changes() {
		t.Fatalf("paid already: %d new, %d changed, changes %v", n, c, p.Changes())
	}
}
