package plan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// verifier is a provider with an account inquiry that records how many
// inquiries were in flight at once.
type verifier struct {
	names          map[string]string
	mu             sync.Mutex
	inFlight, peak int
	release        chan struct{}
}

func (v *verifier) Name() string { return "idr" }
func (v *verifier) Type() string { return "test" }
func (v *verifier) Check(context.Context, []providers.Attempt) ([]providers.Result, error) {
	return nil, nil
}

func (v *verifier) VerifyAccount(ctx context.Context, r providers.Recipient) (providers.AccountHolder, error) {
	v.mu.Lock()
	v.inFlight++
	v.peak = max(v.peak, v.inFlight)
	v.mu.Unlock()
	defer func() { v.mu.Lock(); v.inFlight--; v.mu.Unlock() }()
	<-v.release
	name, ok := v.names[r.Account]
	if !ok {
		return providers.AccountHolder{}, errors.New("account not found")
	}
	return providers.AccountHolder{Name: name, Status: "found"}, nil
}

// noInquiry is a provider without an account inquiry.
type noInquiry struct{}

func (noInquiry) Name() string { return "idr" }
func (noInquiry) Type() string { return "test" }
func (noInquiry) Check(context.Context, []providers.Attempt) ([]providers.Result, error) {
	return nil, nil
}

func flagged(n int) *Plan {
	p := &Plan{}
	for i := 0; i < n; i++ {
		p.Payouts = append(p.Payouts, &Item{
			Address: fmt.Sprintf("b/p%02d", i), Action: Pay, Provider: "idr", Type: "test", Review: NewAccount,
			Amount: money.FromInt64(1000), Recipient: providers.Recipient{Name: "Ann Lee", Account: fmt.Sprint(i)},
		})
	}
	// Not flagged, and not sent: never asked.
	p.Payouts = append(p.Payouts,
		&Item{Address: "b/known", Action: Pay, Provider: "idr", Recipient: providers.Recipient{Name: "X", Account: "k"}},
		&Item{Address: "b/paid", Action: Unchanged, Provider: "idr", Review: NewAccount, Recipient: providers.Recipient{Name: "X", Account: "p"}})
	return p
}

func TestVerifyAccounts(t *testing.T) {
	v := &verifier{names: map[string]string{"0": "MRS ANN LEE", "1": "ANNE LEE", "2": ""}, release: make(chan struct{})}
	close(v.release)
	checks := VerifyAccounts(context.Background(), flagged(4), func(string) (providers.Provider, error) { return v, nil })
	want := []struct{ result, bank, err string }{
		{AccountSame, "MRS ANN LEE", ""},
		{AccountDiffers, "ANNE LEE", ""},
		{AccountNoName, "", ""},
		{AccountUnanswered, "", "account not found"},
	}
	if len(checks) != len(want) {
		t.Fatalf("got %d checks, want %d", len(checks), len(want))
	}
	for i, w := range want {
		c := checks[i]
		if c.Result != w.result || c.BankName != w.bank || c.Error != w.err {
			t.Errorf("%s: got %q %q %q, want %q %q %q", c.Address, c.Result, c.BankName, c.Error, w.result, w.bank, w.err)
		}
	}
}

// At most VerifyConcurrency inquiries are in flight.
func TestVerifyAccountsIsBounded(t *testing.T) {
	v := &verifier{names: map[string]string{}, release: make(chan struct{})}
	done := make(chan []*AccountCheck)
	go func() {
		done <- VerifyAccounts(context.Background(), flagged(20), func(string) (providers.Provider, error) { return v, nil })
	}()
	for {
		v.mu.Lock()
		n := v.inFlight
		v.mu.Unlock()
		if n == VerifyConcurrency {
			break
		}
	}
	close(v.release)
	checks := <-done
	if v.peak != VerifyConcurrency {
		t.Errorf("peak %d inquiries in flight, want %d", v.peak, VerifyConcurrency)
	}
	if len(checks) != 20 {
		t.Errorf("got %d checks, want 20", len(checks))
	}
}

// A provider that cannot be opened, or has no inquiry, is reported per
// payout: nothing is silently skipped.
func TestVerifyAccountsUnanswered(t *testing.T) {
	for name, c := range map[string]struct {
		open Opener
		want string
	}{
		"cannot be opened": {func(string) (providers.Provider, error) { return nil, errors.New("KEY is not set") }, "provider cannot be used: KEY is not set"},
		"no inquiry":       {func(string) (providers.Provider, error) { return noInquiry{}, nil }, "provider idr (test) has no account inquiry"},
	} {
		t.Run(name, func(t *testing.T) {
			checks := VerifyAccounts(context.Background(), flagged(3), c.open)
			if len(checks) != 3 {
				t.Fatalf("got %d checks, want 3", len(checks))
			}
			for _, ch := range checks {
				if ch.Result != AccountUnanswered || ch.Error != c.want {
					t.Errorf("%s: got %q %q, want %q %q", ch.Address, ch.Result, ch.Error, AccountUnanswered, c.want)
				}
			}
		})
	}
}
