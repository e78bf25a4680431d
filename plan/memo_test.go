package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/schema"
	"github.com/payctl/payctl/state"
)

// memoBatch is batch(3) whose first payout has a reference and metadata.
func memoBatch() *schema.Batch {
	b := batch(3)
	b.Payouts[0].Reference = "Invoice 2026-114 — café"
	b.Payouts[0].Metadata = map[string]string{"invoice": "INV-114", "costCentre": "ops|north"}
	return b
}

func TestPlanShowsReferenceAndMetadata(t *testing.T) {
	p := Make(Input{Batches: []*schema.Batch{memoBatch()}, Providers: provs()})
	var text, md, js bytes.Buffer
	if err := p.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	want := `reference "Invoice 2026-114 — café"; metadata costCentre="ops|north" invoice="INV-114"`
	if n := strings.Count(text.String(), want); n != 1 {
		t.Errorf("text plan shows the memo %d times, want once:\n%s", n, text.String())
	}
	if !strings.Contains(md.String(), `— reference "Invoice 2026-114 — café"; metadata costCentre="ops\|north" invoice="INV-114" |`) {
		t.Errorf("markdown plan lacks the escaped memo:\n%s", md.String())
	}
	var got struct {
		Payouts []struct {
			Reference string            `json:"reference"`
			Metadata  map[string]string `json:"metadata"`
		} `json:"payouts"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Payouts[0].Reference != "Invoice 2026-114 — café" || got.Payouts[0].Metadata["costCentre"] != "ops|north" {
		t.Errorf("-json payout 0: %+v", got.Payouts[0])
	}
	// A payout without them writes neither, in any form: plans of
	// manifests without them read as before.
	if strings.Count(js.String(), `"reference"`) != 1 || strings.Count(js.String(), `"metadata"`) != 1 {
		t.Errorf("-json writes reference or metadata for payouts without them:\n%s", js.String())
	}
	if strings.Count(text.String(), "reference") != 1 {
		t.Errorf("text plan mentions a reference for payouts without one:\n%s", text.String())
	}
	// The digest covers them.
	plain := Make(Input{Batches: []*schema.Batch{batch(3)}, Providers: provs()})
	if plain.Payouts[0].Digest == p.Payouts[0].Digest || plain.Payouts[1].Digest != p.Payouts[1].Digest {
		t.Error("the digest does not follow the reference and metadata")
	}
}

// A saved plan whose reference or metadata was edited is refused like any
// other edit of a payout's details.
func TestSavedPlanMetadataEditRefused(t *testing.T) {
	p := Make(Input{Batches: []*schema.Batch{memoBatch()}, Providers: provs()})
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); err != nil {
		t.Fatalf("the saved plan does not read back: %v", err)
	}
	for name, edit := range map[string]func(m map[string]any){
		"metadata value": func(m map[string]any) { payout0(m)["metadata"].(map[string]any)["invoice"] = "INV-115" },
		"metadata key added": func(m map[string]any) {
			payout0(m)["metadata"].(map[string]any)["approvedBy"] = "cfo"
		},
		"metadata removed":  func(m map[string]any) { delete(payout0(m), "metadata") },
		"reference edited":  func(m map[string]any) { payout0(m)["reference"] = "Invoice 2026-115" },
		"reference removed": func(m map[string]any) { delete(payout0(m), "reference") },
		"metadata added to another payout": func(m map[string]any) {
			m["payouts"].([]any)[1].(map[string]any)["metadata"] = map[string]any{"x": "y"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, edited(t, data, edit), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			var de *diag.Error
			if !errors.As(err, &de) || !strings.Contains(de.Msg, "digest does not match the payout's details; the plan file was edited: make a new plan") {
				t.Fatalf("got %v, want the edit refused", err)
			}
		})
	}
}

// A payout sent with some metadata cannot be planned with other metadata:
// the error names the payout and what changed.
func TestPlanRefusesChangedMetadataOfSentPayout(t *testing.T) {
	b := memoBatch()
	first := Make(Input{Batches: []*schema.Batch{b}, Providers: provs()})
	it := first.Payouts[0]
	snap := state.Empty()
	snap.Lineage = "l"
	sp := &state.Payout{Address: it.Address, Provider: it.Provider, Type: it.Type, Currency: "IDR", Amount: it.Amount, Recipient: it.Recipient,
		Reference: it.Reference, Metadata: state.FieldsOf(it.Metadata), Digest: it.Digest, Status: "paid",
		Attempts: []*state.Attempt{{N: 1, Key: it.Key, Status: "paid"}}}
	snap.Add(sp)
	if again := Make(Input{Batches: []*schema.Batch{memoBatch()}, Providers: provs(), State: snap}); len(again.Errors) != 0 || again.Payouts[0].Action != Unchanged {
		t.Fatalf("the same payout planned again: %v, %s", again.Errors, again.Payouts[0].Action)
	}
	b2 := memoBatch()
	b2.Payouts[0].Metadata = map[string]string{"invoice": "INV-115", "po": "7"}
	b2.Payouts[0].Reference = ""
	p := Make(Input{Batches: []*schema.Batch{b2}, Providers: provs(), State: snap})
	if len(p.Errors) != 1 {
		t.Fatalf("got errors %v, want one", p.Errors)
	}
	want := `payout big/p00000 was already sent (attempt 1 is paid) with different details: reference "Invoice 2026-114 — café" -> "", metadata.costCentre "ops|north" removed, metadata.invoice "INV-114" -> "INV-115", metadata.po "7" added; a payment cannot change: restore the original details, or make the new payment under a new id`
	if got := p.Errors[0].Msg; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
