package review

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/sshsig"
	"github.com/payctl/payctl/plan"
)

func item(action plan.Action, review string) *plan.Item {
	return &plan.Item{Action: action, Review: review}
}

func TestRequired(t *testing.T) {
	usd := func(s string) money.Amount { a, _ := money.Parse(s); return a }
	a := &config.Approvals{AllowedSigners: "s", Rules: []config.ApprovalRule{
		{Index: 0, Approvals: 1},
		{Index: 1, Approvals: 2, Accounts: config.AccountsNew},
		{Index: 2, Approvals: 3, Accounts: config.AccountsChanged},
		{Index: 3, Approvals: 4, Above: map[string]money.Amount{"USD": usd("1000")}},
	}}
	total := func(amount string) []*plan.Total {
		return []*plan.Total{{Provider: "p", Currency: "USD", Pay: 1, Amount: usd(amount)}}
	}
	tests := []struct {
		name  string
		p     *plan.Plan
		want  int
		rules string
	}{
		{"nothing sent", &plan.Plan{Payouts: []*plan.Item{item(plan.Unchanged, "")}, Totals: total("5000")}, 0, ""},
		{"known accounts", &plan.Plan{Payouts: []*plan.Item{item(plan.Pay, "")}, Totals: total("10")}, 1, "rules[0]"},
		{"a new account", &plan.Plan{Payouts: []*plan.Item{item(plan.Pay, plan.NewAccount)}, Totals: total("10")}, 2, "rules[0] rules[1]"},
		{"a changed account", &plan.Plan{Payouts: []*plan.Item{item(plan.Retry, plan.AccountChanged)}, Totals: total("10")}, 3, "rules[0] rules[1] rules[2]"},
		{"at the limit", &plan.Plan{Payouts: []*plan.Item{item(plan.Pay, "")}, Totals: total("1000")}, 1, "rules[0]"},
		{"above it", &plan.Plan{Payouts: []*plan.Item{item(plan.Pay, "")}, Totals: total("1000.01")}, 4, "rules[0] rules[3]"},
		// A flagged payout the plan does not send needs nothing.
		{"flagged but pending", &plan.Plan{Payouts: []*plan.Item{item(plan.Pay, ""), item(plan.Pending, plan.AccountChanged)}, Totals: total("10")}, 1, "rules[0]"},
	}
	for _, tt := range tests {
		n := Required(a, tt.p)
		var rules []string
		for _, r := range n.Rules {
			rules = append(rules, strings.TrimPrefix(strings.Fields(r)[0], "policy.approvals."))
		}
		if n.Approvals != tt.want || strings.Join(rules, " ") != tt.rules {
			t.Errorf("%s: %d approvals by %q, want %d by %q", tt.name, n.Approvals, rules, tt.want, tt.rules)
		}
	}
	if n := Required(nil, &plan.Plan{Payouts: []*plan.Item{item(plan.Pay, plan.NewAccount)}}); n.Approvals != 0 {
		t.Errorf("no policy: %+v", n)
	}
}

type signer struct {
	name string
	ssh.Signer
}

func newSigner(t *testing.T, name string) signer {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer{name, s}
}

func (s signer) line() string {
	return s.name + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
}

func (s signer) sign(t *testing.T, file string, data []byte, ns string) {
	sig, err := sshsig.Sign(s, ns, data)
	if err != nil {
		t.Fatal(err)
	}
	dir := file + ".approvals"
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, s.name+".sig"), sig, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestApproved(t *testing.T) {
	dir := t.TempDir()
	alice, bob, eve := newSigner(t, "alice"), newSigner(t, "bob"), newSigner(t, "eve")
	signers := filepath.Join(dir, "allowed_signers")
	os.WriteFile(signers, []byte(alice.line()+"\n"+bob.line()+"\n"), 0o644)
	a := &config.Approvals{AllowedSigners: signers}
	need := Need{Approvals: 2, Rules: []string{"policy.approvals.rules[0] (2 approvals for every plan that pays): the plan pays"}}
	data := []byte(`{"format_version": 1}` + "\n")
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)

	step := func(name string, wantErr string, wantWarn int, wantNames string) {
		t.Helper()
		file := filepath.Join(dir, "plan.json")
		approvers, warnings, err := Approved(a, need, file, data, now)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr) || !errors.Is(err, ErrNotApproved)):
			t.Errorf("%s: error %v, want one with %q", name, err, wantErr)
		}
		if len(warnings) != wantWarn {
			t.Errorf("%s: warnings %q, want %d", name, warnings, wantWarn)
		}
		if got := Names(approvers); got != wantNames {
			t.Errorf("%s: approvers %q, want %q", name, got, wantNames)
		}
	}
	file := filepath.Join(dir, "plan.json")
	step("none", "carries 0 approvals of the 2 it needs", 0, "")
	alice.sign(t, file, data, sshsig.Namespace)
	step("alice", "carries 1 approval of the 2 it needs (policy.approvals.rules[0] (2 approvals for every plan that pays): the plan pays) (approved by alice)", 0, "")
	eve.sign(t, file, data, sshsig.Namespace)
	step("eve is not allowed", "carries 1 approval", 1, "")
	bob.sign(t, file, data, sshsig.Namespace)
	step("alice and bob", "", 1, "alice, bob")

	// A signature over other bytes refuses the plan, even with enough
	// others, and even when no approval is needed.
	bob.sign(t, file, append([]byte(" "), data...), sshsig.Namespace)
	step("bob signed another plan", "does not verify", 0, "")
	need = Need{}
	step("bob signed another plan, none needed", "does not verify", 0, "")
	bob.sign(t, file, data, "git")
	step("bob signed for git", "namespace", 0, "")
	bob.sign(t, file, data, sshsig.Namespace)
	step("valid again, none needed", "", 1, "alice, bob")

	// Without allowed signers nothing is checked, and the person is told.
	_, warnings, err := Approved(nil, Need{}, file, data, now)
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "not checked") {
		t.Errorf("no allowed signers: %v %q", err, warnings)
	}
	// A broken allowed signers file pays nothing.
	os.WriteFile(signers, []byte("alice ssh-ed25519 AAAAnotakey\n"), 0o644)
	if _, _, err := Approved(a, Need{}, file, data, now); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%s:1:", signers)) {
		t.Errorf("broken allowed signers: %v", err)
	}
}

func TestRefuse(t *testing.T) {
	err := Refuse(Need{Approvals: 1, Rules: []string{"r"}}, []string{"payouts/"})
	if !errors.Is(err, ErrNotApproved) || !strings.Contains(err.Error(), "this plan needs 1 approval by allowed signers (r)") {
		t.Error(err)
	}
}
