package reconcile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
)

// What a provider reports reaches a terminal, a pull request or a tool
// escaped: no control or bidirectional character survives in any form.
func TestRenderEscapesProviderText(t *testing.T) {
	hostile := "9\x1b[2J\u202eevil\n| # *"
	snap := snapshot(now.Add(-time.Hour), providers.StatusPaid, nil)
	l := &lister{listing: providers.Listing{Complete: true, Payments: []providers.Listed{{
		IDs: map[string]string{"id": hostile}, Reference: hostile, Status: providers.StatusPaid, RawStatus: hostile, Account: hostile, BankCode: hostile,
	}}, Unanswered: map[string]string{hostile: hostile}}}
	rep := run(t, snap, l)
	if len(rep.Findings) == 0 {
		t.Fatal("no finding")
	}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return rep.WriteText(b) },
		"markdown": func(b *bytes.Buffer) error { return rep.WriteMarkdown(b) },
		"json":     func(b *bytes.Buffer) error { return rep.WriteJSON(b) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.ContainsAny(out, "\x1b\u202e") {
			t.Errorf("%s output carries a raw control or bidi character:\n%q", name, out)
		}
		if name == "json" {
			var back Report
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Findings) != len(rep.Findings) {
				t.Errorf("json does not read back: %v", err)
			}
		}
		if name == "markdown" && strings.Contains(out, "\n| #") {
			t.Errorf("markdown lets provider text break the table:\n%s", out)
		}
	}
}
