package apply_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/apply"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
)

// A quote that expires within the safety margin is not executed: the
// engine quotes again and executes the fresh one; the old one lapses.
func TestQuoteNearItsExpiryIsQuotedAgain(t *testing.T) {
	for name, first := range map[string]time.Duration{
		"one minute left":          time.Minute,
		"exactly the margin left":  apply.QuoteMargin,
		"already expired":          -time.Minute,
		"a second inside the edge": apply.QuoteMargin - time.Second,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.batch = true
			mb := &fakeemu.MemoryBatch{NameValue: "fk", Ledger: e.ledger, Max: 3, FeePercent: money.MustParse("2.5")}
			mb.QuoteExpires = func(n int) time.Time {
				if n == 1 {
					return e.now.Add(first)
				}
				return e.now.Add(15 * time.Minute)
			}
			e.prov = mb
			rep, _, err := e.apply(e.batchOf(3))
			if err != nil {
				t.Fatal(err)
			}
			if mb.Executes("tok-001") != 0 || mb.Executes("tok-002") != 1 {
				t.Fatalf("executed tok-001 %d times, tok-002 %d times; want 0 and 1", mb.Executes("tok-001"), mb.Executes("tok-002"))
			}
			if c := rep.Count(); c[providers.StatusPending] != 3 {
				t.Fatalf("counts: %+v", c)
			}
			s := e.open()
			defer s.Close()
			for _, g := range s.Snapshot().Groups {
				if g.Token != "tok-002" {
					t.Errorf("the intent records token %s, want tok-002", g.Token)
				}
			}
		})
	}
}

// A quote with plenty of time is executed as it is.
func TestQuoteWithTimeLeftIsExecuted(t *testing.T) {
	e := newEnv(t)
	e.batch = true
	mb := &fakeemu.MemoryBatch{NameValue: "fk", Ledger: e.ledger, Max: 3, FeePercent: money.MustParse("2.5")}
	mb.QuoteExpires = func(int) time.Time { return e.now.Add(apply.QuoteMargin + time.Second) }
	e.prov = mb
	if _, _, err := e.apply(e.batchOf(3)); err != nil {
		t.Fatal(err)
	}
	if mb.Executes("tok-001") != 1 {
		t.Fatalf("tok-001 executed %d times, want 1", mb.Executes("tok-001"))
	}
}

// When every fresh quote is already within the margin (this host's clock
// is far ahead of the provider's), nothing is executed and the error says
// so.
func TestQuotesAlwaysExpiringStopTheRun(t *testing.T) {
	e := newEnv(t)
	e.batch = true
	mb := &fakeemu.MemoryBatch{NameValue: "fk", Ledger: e.ledger, Max: 3, FeePercent: money.MustParse("2.5")}
	mb.QuoteExpires = func(int) time.Time { return e.now.Add(30 * time.Second) }
	e.prov = mb
	rep, _, err := e.apply(e.batchOf(3))
	if !errors.Is(err, apply.ErrQuoteExpiring) {
		t.Fatalf("got %v, want ErrQuoteExpiring", err)
	}
	for _, want := range []string{"nothing was sent", "3 quotes in a row expire within 2m0s", "tok-003", "check this host's clock"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if len(e.ledger.Payments()) != 0 || len(rep.Skipped) != 3 {
		t.Fatalf("ledger %d, skipped %d; want 0 and 3", len(e.ledger.Payments()), len(rep.Skipped))
	}
	for _, tok := range []string{"tok-001", "tok-002", "tok-003"} {
		if mb.Executes(tok) != 0 {
			t.Errorf("%s executed", tok)
		}
	}
}
