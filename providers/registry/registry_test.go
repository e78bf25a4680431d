package registry

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
)

// TestEmulators opens every type's client against its own emulator, served
// as payctl serves it, and pays through it: the registry pairs each client
// with the emulator that speaks its protocol.
func TestEmulators(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			typ, _ := Lookup(name)
			if typ.NewEmulator == nil {
				t.Fatal("no emulator")
			}
			host := providers.NewEmulatorHost()
			em, err := host.Start(typ, "/"+name, providers.EmulatorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			host.Serve(ln)
			defer host.Close(context.Background())
			p, err := typ.Open(providers.Options{
				Name: "p", BaseURL: host.URL() + "/" + name, Credentials: em.Credentials(),
				CallbackURL: "http://127.0.0.1:9/callbacks/p", Timeout: 10 * time.Second, MaxBatch: typ.DefaultMaxBatch,
			})
			if err != nil {
				t.Fatal(err)
			}
			if p.Type() != name {
				t.Errorf("got type %s, want %s", p.Type(), name)
			}
			ps := payouts(t, typ, 2)
			switch c := p.(type) {
			case providers.Batch:
				q, err := c.Quote(t.Context(), ps)
				if err != nil {
					t.Fatal(err)
				}
				rs, err := c.Execute(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					paying(t, r)
				}
			case providers.Single:
				for _, py := range ps {
					req, err := c.Prepare(py)
					if err != nil {
						t.Fatal(err)
					}
					r, err := c.Send(t.Context(), py, req)
					if err != nil {
						t.Fatal(err)
					}
					paying(t, r)
				}
			default:
				t.Fatalf("%T is neither Single nor Batch", p)
			}
			// The read-only endpoints are served where the payouts are.
			br, isBalance := p.(providers.BalanceReader)
			av, isVerifier := p.(providers.AccountVerifier)
			if want := readOnly[name]; isBalance != want || isVerifier != want {
				t.Errorf("balance reader %v, account verifier %v; want %v for both", isBalance, isVerifier, want)
			}
			if isBalance {
				if _, err := br.Balance(t.Context()); err != nil {
					t.Errorf("balance: %v", err)
				}
			}
			// The fake provider's bank knows only the accounts a test names.
			if isVerifier && name != "fake" {
				if _, err := av.VerifyAccount(t.Context(), ps[0].Recipient); err != nil {
					t.Errorf("verify account: %v", err)
				}
			}
		})
	}
}

// readOnly are the types that publish a balance and an account inquiry
// (the fake provider has both, as Cronos). Dinar Dragon publishes neither.
var readOnly = map[string]bool{"cronos": true, "fake": true}

// payouts returns n payouts valid under every type's rules.
func payouts(t *testing.T, typ *providers.Type, n int) []providers.Payout {
	t.Helper()
	cur, ok := money.LookupCurrency(typ.Rules.Currency())
	if !ok {
		t.Fatalf("unknown currency %s", typ.Rules.Currency())
	}
	out := make([]providers.Payout, n)
	for i := range out {
		account := fmt.Sprintf("1234567%02d", i+1)
		// A bank by code, or by name and country.
		var errs []providers.FieldError
		for _, r := range []providers.Recipient{
			{Name: "Agus Salim", BankCode: "014", Account: account},
			{Name: "Agus Salim", Bank: "Bank of US", Country: "US", Account: account},
		} {
			out[i] = providers.Payout{
				Address: fmt.Sprintf("b/p%d", i), Attempt: 1, Key: fmt.Sprintf("6f1c1bde-1f3e-5c55-9d6a-%012d", i+1),
				Amount: money.FromInt64(int64(15000 + i)), Currency: cur, Recipient: r,
			}
			if errs = typ.Rules.CheckPayout(out[i]); len(errs) == 0 {
				break
			}
		}
		if len(errs) > 0 {
			t.Fatalf("no test payout keeps the rules: %v", errs)
		}
	}
	return out
}

func paying(t *testing.T, r providers.Result) {
	t.Helper()
	if r.Status != providers.StatusPending && r.Status != providers.StatusPaid {
		t.Errorf("%s: got %s (%s), want pending or paid", r.Address, r.Status, r.Reason)
	}
}
