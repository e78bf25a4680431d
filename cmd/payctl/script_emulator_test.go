package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/registry"
)

// The scenarios reconciliation is about, made on a built-in emulator's
// ledger (a provider configured with `emulator: true` keeps it in
// .payctl-emulator/NAME.json), between two payctl commands:
//
//	emulator-pay TYPE LEDGER ACCOUNT AMOUNT [BANK...]
//	                         pay AMOUNT to ACCOUNT directly on the emulator, outside
//	                         payctl, with a fresh reference; BANK is the bank code
//	                         (cronos) or bank name and country (dinardragon). Prints
//	                         the provider's ids as NAME=VALUE lines and sets
//	                         $OUTSIDE_<NAME> for each (e.g. $OUTSIDE_ID, $OUTSIDE_PAYMENT_ID)
//	emulator-amend TYPE LEDGER ID FIELD=VALUE
//	                         change a payment in the emulator's ledger (see the
//	                         emulators' Amend)
//
// The emulator's clock is PAYCTL_TEST_NOW when set.
func scriptEmulator(ts *testscript.TestScript, typ, ledger string) (*providers.Type, providers.Emulator, func() time.Time) {
	t, ok := registry.Lookup(typ)
	if !ok || t.NewEmulator == nil {
		ts.Fatalf("no provider type %q with an emulator", typ)
	}
	now := time.Now
	if v := ts.Getenv("PAYCTL_TEST_NOW"); v != "" {
		t0, err := time.Parse(time.RFC3339, v)
		ts.Check(err)
		now = func() time.Time { return t0 }
	}
	em, err := t.NewEmulator(providers.EmulatorOptions{LedgerPath: ts.MkAbs(ledger), Now: now, Seed: 99})
	if err != nil {
		ts.Fatalf("%s emulator: %v", typ, err)
	}
	return t, em, now
}

func cmdEmulatorPay(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: emulator-pay TYPE LEDGER ACCOUNT AMOUNT [BANK...]")
	}
	t, em, now := scriptEmulator(ts, args[0], args[1])
	defer func() { ts.Check(em.Close()) }()
	srv := httptest.NewServer(em)
	defer srv.Close()
	prov, err := t.Open(providers.Options{
		Name: "outside", BaseURL: srv.URL, Credentials: em.Credentials(),
		CallbackURL: "http://127.0.0.1:9/outside", Timeout: 10 * time.Second,
		MaxBatch: t.DefaultMaxBatch, Now: now,
	})
	ts.Check(err)
	amount, err := money.Parse(args[3])
	ts.Check(err)
	p := providers.Payout{
		Address: "outside/1", Attempt: 1, Key: uuid.NewString(), Amount: amount,
		Currency:  money.CurrencyOf(t.Rules.Currency()),
		Recipient: providers.Recipient{Name: "Someone Else", Account: args[2]},
	}
	switch bank := args[4:]; {
	case len(bank) == 1:
		p.Recipient.BankCode = bank[0]
	case len(bank) == 2:
		p.Recipient.Bank, p.Recipient.Country = bank[0], bank[1]
	}
	ctx := context.Background()
	var res providers.Result
	switch c := prov.(type) {
	case providers.Single:
		req, err := c.Prepare(p)
		ts.Check(err)
		res, err = c.Send(ctx, p, req)
		ts.Check(err)
	case providers.Batch:
		q, err := c.Quote(ctx, []providers.Payout{p})
		ts.Check(err)
		rs, err := c.Execute(ctx, q)
		ts.Check(err)
		res = rs[0]
	default:
		ts.Fatalf("provider type %s pays neither singly nor in batches", t.Name)
	}
	if len(res.IDs) == 0 {
		ts.Fatalf("emulator-pay: no ids in the answer (%s: %s)", res.Status, res.Reason)
	}
	keys := make([]string, 0, len(res.IDs))
	for k := range res.IDs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(ts.Stdout(), "%s=%s\n", k, res.IDs[k])
		ts.Setenv("OUTSIDE_"+strings.ToUpper(k), res.IDs[k])
	}
}

func cmdEmulatorAmend(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: emulator-amend TYPE LEDGER ID FIELD=VALUE")
	}
	_, em, _ := scriptEmulator(ts, args[0], args[1])
	defer func() { ts.Check(em.Close()) }()
	a, ok := em.(interface {
		Amend(id, field, value string) error
	})
	if !ok {
		ts.Fatalf("the %s emulator cannot amend its ledger", args[0])
	}
	field, value, ok := strings.Cut(args[3], "=")
	if !ok {
		ts.Fatalf("emulator-amend: %q is not FIELD=VALUE", args[3])
	}
	ts.Check(a.Amend(args[2], field, value))
}
