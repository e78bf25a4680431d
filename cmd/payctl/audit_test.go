package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/audit"
)

// TestFindingsError: findings print as errors, each hint once after the
// last finding that has it, and at most maxPrinted of them.
func TestFindingsError(t *testing.T) {
	f := func(msg, hint string) *audit.Finding {
		return &audit.Finding{Kind: audit.KindAmountChanged, File: "s.json", Pointer: "/payouts/0/amount", Message: msg, Hint: hint}
	}
	many := make([]*audit.Finding, maxPrinted+3)
	for i := range many {
		many[i] = f(fmt.Sprint("finding ", i), "do this")
	}
	tests := []struct {
		name string
		list []*audit.Finding
		want string
	}{
		{name: "none"},
		{
			name: "hints once each",
			list: []*audit.Finding{f("a", "fix it"), f("b", "fix it"), f("c", "other"), f("d", "")},
			want: "payctl: error: s.json:/payouts/0/amount: a\n" +
				"payctl: error: s.json:/payouts/0/amount: b\n" +
				"payctl: hint: fix it\n" +
				"payctl: error: s.json:/payouts/0/amount: c\n" +
				"payctl: hint: other\n" +
				"payctl: error: s.json:/payouts/0/amount: d\n",
		},
		{
			name: "capped",
			list: many,
			want: strings.Repeat("payctl: error: s.json:/payouts/0/amount: finding N\n", maxPrinted-1) +
				"payctl: error: s.json:/payouts/0/amount: finding N\npayctl: hint: do this\n" +
				"payctl: error: and 3 more findings; the report above lists them all\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := findingsError(tt.list)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var b bytes.Buffer
			code := report(&Env{Stderr: &b}, err)
			got := b.String()
			if tt.name == "capped" {
				for i := range many {
					got = strings.Replace(got, fmt.Sprintf("finding %d\n", i), "finding N\n", 1)
				}
			}
			if code != 1 || got != tt.want {
				t.Errorf("got exit %d and\n%s\nwant exit 1 and\n%s", code, got, tt.want)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "", want: "0001-01-01T00:00:00Z"},
		{in: "2026-11-01", want: "2026-11-01T00:00:00Z"},
		{in: "2026-11-01T09:00:00+07:00", want: "2026-11-01T02:00:00Z"},
		{in: "yesterday", err: true},
		{in: "2026-13-01", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseWhen("since", tt.in)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), "-since") {
					t.Fatalf("got %v, %v; want an error naming -since", got, err)
				}
				return
			}
			if err != nil || got.UTC().Format("2006-01-02T15:04:05Z07:00") != tt.want {
				t.Errorf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// state export -format xlsx refuses a terminal (before reading any state),
// and the binary workbook and the CSV byte order mark go to the raw
// standard output, past the escaping backstop.
func TestStateExportXLSXRefusesTerminal(t *testing.T) {
	var out, errb bytes.Buffer
	e := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		IsTerminal: func(f any) bool { return f == any(&out) }}
	code := run(context.Background(), []string{"state", "export", "-format", "xlsx", "-state", "nowhere.json"}, e)
	if code != 1 || out.Len() != 0 ||
		errb.String() != "payctl: error: -format xlsx writes a binary workbook; not writing it to the terminal\n"+
			"payctl: hint: redirect it to a file: payctl state export -format xlsx > payouts.xlsx\n" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, out.String(), errb.String())
	}
	errb.Reset()
	code = run(context.Background(), []string{"state", "export", "-format", "json", "-bom", "-state", "nowhere.json"}, e)
	if code != 1 || errb.String() != "payctl: error: -bom is for -format csv: JSON and xlsx files need no byte order mark\n" {
		t.Errorf("-bom with json: exit %d, stderr:\n%s", code, errb.String())
	}
}
