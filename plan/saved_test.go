package plan

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/schema"
)

// savedPlan writes a plan of three payouts and returns its path and bytes.
func savedPlan(t *testing.T) (string, []byte) {
	t.Helper()
	p := Make(Input{Batches: []*schema.Batch{batch(3)}, Providers: provs()})
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// edited returns the saved plan's JSON with edit applied to it.
func edited(t *testing.T, data []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func payout0(m map[string]any) map[string]any { return m["payouts"].([]any)[0].(map[string]any) }

func TestReadSavedPlan(t *testing.T) {
	path, data := savedPlan(t)
	for name, body := range map[string][]byte{
		"as saved":            data,
		"trailing whitespace": append(append([]byte(nil), data...), " \n\t\r\n"...),
	} {
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := Read(path)
		if err != nil || len(p.Payouts) != 3 || p.FormatVersion != FormatVersion {
			t.Errorf("%s: got %v, %v; want the plan of 3 payouts back", name, p, err)
		}
	}
}

// Every refusal of a saved plan names the file and says what to do.
func TestReadRefusals(t *testing.T) {
	path, data := savedPlan(t)
	for _, tc := range []struct {
		name    string
		body    []byte
		pointer string
		want    string
	}{
		{"not JSON", []byte("payouts: []\n"), "", "not a saved payctl plan (no format_version); make one with `payctl plan -out FILE`"},
		{"a manifest in JSON", []byte(`{"metadata":{"name":"b"}}`), "", "not a saved payctl plan (no format_version)"},
		{"trailing data", append(append([]byte(nil), data...), "x"...), "", "not a saved payctl plan (no format_version)"},
		{"two plans", append(append([]byte(nil), data...), data...), "", "not a saved payctl plan (no format_version)"},
		{"newer version", edited(t, data, func(m map[string]any) { m["format_version"] = 2 }), "/format_version",
			"plan format version 2; this payctl reads version 1: make the plan with this payctl"},
		{"unknown field", edited(t, data, func(m map[string]any) { m["approved_by"] = "x" }), "",
			`not a valid saved plan: json: unknown field "approved_by"`},
		{"key edited", edited(t, data, func(m map[string]any) { payout0(m)["key"] = "0000" }), "/payouts/0",
			"big/p00000: idempotency key does not match the attempt; the plan file was edited: make a new plan"},
		{"amount edited", edited(t, data, func(m map[string]any) { payout0(m)["amount"] = "999999" }), "/payouts/0",
			"big/p00000: digest does not match the payout's details; the plan file was edited: make a new plan"},
		{"group out of range", edited(t, data, func(m map[string]any) { payout0(m)["group"] = 7 }), "/payouts/0",
			"big/p00000: group out of range; the plan file was edited: make a new plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.body, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			var de *diag.Error
			if !errors.As(err, &de) || de.File != path || de.Pointer != tc.pointer || !strings.HasPrefix(de.Msg, tc.want) {
				t.Fatalf("got %#v, want an error of %s at %q starting %q", err, path, tc.pointer, tc.want)
			}
		})
	}
}

func TestReadRefusesAnOversizedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, MaxFileSize+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	_, err := Read(path)
	var de *diag.Error
	if !errors.As(err, &de) || de.Msg != "larger than 512 MiB: not a payctl plan" {
		t.Fatalf("got %v, want a refusal of the size", err)
	}
}
