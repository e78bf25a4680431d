package schema_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"github.com/payctl/payctl/schema"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/gen"
	"github.com/payctl/payctl/providers"
)

func errStrings(l diag.List) string {
	var b strings.Builder
	for _, e := range l {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func pos(line, col int) diag.Pos { return diag.Pos{Line: line, Col: col} }

func parseFile(t *testing.T, path string) (*schema.Batch, diag.List) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return schema.Parse(path, data)
}

func TestParseCronosYAML(t *testing.T) {
	b, errs := parseFile(t, "testdata/cronos-idr.yaml")
	if len(errs) > 0 {
		t.Fatalf("Parse: %v", errs)
	}
	data, _ := os.ReadFile("testdata/cronos-idr.yaml")
	sum := sha256.Sum256(data)
	if want := "sha256:" + hex.EncodeToString(sum[:]); b.Digest != want {
		t.Errorf("digest: got %s, want %s", b.Digest, want)
	}
	if b.Format != "yaml" || b.Name != "contractors-2026-11" || b.Provider != "idr-main" || b.Currency != "IDR" || b.Description != "November contractor payments" {
		t.Errorf("header: got %q %q %q %q %q", b.Format, b.Name, b.Provider, b.Currency, b.Description)
	}
	if want := (schema.BatchPos{Name: pos(5, 9), Provider: pos(8, 13), Currency: pos(9, 13), Payouts: pos(10, 3)}); b.Pos != want {
		t.Errorf("batch positions: got %+v, want %+v", b.Pos, want)
	}
	if len(b.Payouts) != 3 {
		t.Fatalf("got %d payouts, want 3", len(b.Payouts))
	}
	alice := b.Payouts[0]
	if alice.ID != "alice" || alice.AmountText != "150000" || alice.Amount.String() != "150000" {
		t.Errorf("alice: got %q %q %s", alice.ID, alice.AmountText, alice.Amount)
	}
	wantR := providers.Recipient{Name: "Alice Tan", BankCode: "014", Account: "0821837182312831"}
	if alice.Recipient != wantR {
		t.Errorf("alice's recipient: got %+v, want %+v", alice.Recipient, wantR)
	}
	wantP := schema.PayoutPos{Item: pos(11, 5), ID: pos(11, 11), Amount: pos(12, 15), Recipient: pos(13, 7), Name: pos(14, 15), BankCode: pos(15, 19), Account: pos(16, 18)}
	if alice.Pos != wantP {
		t.Errorf("alice's positions: got %+v, want %+v", alice.Pos, wantP)
	}
	// A flow-style recipient on one line.
	siti := b.Payouts[2]
	if siti.Recipient.Account != "0012345678" || siti.Pos.Account != pos(25, 76) || siti.Pos.Item != pos(23, 5) {
		t.Errorf("siti: got account %q at %s, item at %s", siti.Recipient.Account, siti.Pos.Account, siti.Pos.Item)
	}
}

func TestParseDinarDragonJSON(t *testing.T) {
	b, errs := parseFile(t, "testdata/dinardragon-usd.json")
	if len(errs) > 0 {
		t.Fatalf("Parse: %v", errs)
	}
	want := []struct {
		id, amount, country string
		item                diag.Pos
	}{
		{"acme", "50", "US", pos(10, 7)},
		{"riyadh-trading", "70.00", "SA", pos(11, 7)},
		{"bob", "75", "US", pos(12, 7)},
	}
	if len(b.Payouts) != len(want) {
		t.Fatalf("got %d payouts, want %d", len(b.Payouts), len(want))
	}
	total := b.Payouts[0].Amount
	for i, w := range want {
		p := b.Payouts[i]
		if p.ID != w.id || p.AmountText != w.amount || p.Amount.String() != w.amount || p.Recipient.Country != w.country || p.Pos.Item != w.item {
			t.Errorf("payout %d: got %s %s %s %s at %s, want %+v", i, p.ID, p.AmountText, p.Amount, p.Recipient.Country, p.Pos.Item, w)
		}
		if i > 0 {
			total = total.Add(p.Amount)
		}
	}
	if total.Normal() != "195" {
		t.Errorf("total: got %s, want 195 (the docs' example)", total.Normal())
	}
	if b.Format != "json" {
		t.Errorf("format: got %q, want json", b.Format)
	}
}

// TestYAMLAndJSONAgree: the same batch written in both formats decodes to
// the same payouts.
func TestYAMLAndJSONAgree(t *testing.T) {
	var y, j bytes.Buffer
	if err := gen.Manifest(&y, 200, "yaml", gen.Options{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if err := gen.Manifest(&j, 200, "json", gen.Options{Seed: 7}); err != nil {
		t.Fatal(err)
	}
	by, errs := schema.Parse("g.yaml", y.Bytes())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	bj, errs := schema.Parse("g.json", j.Bytes())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if by.Name != bj.Name || by.Provider != bj.Provider || by.Currency != bj.Currency || len(by.Payouts) != len(bj.Payouts) {
		t.Fatalf("headers differ: %s %s %s %d vs %s %s %s %d", by.Name, by.Provider, by.Currency, len(by.Payouts), bj.Name, bj.Provider, bj.Currency, len(bj.Payouts))
	}
	for i := range by.Payouts {
		a, b := by.Payouts[i], bj.Payouts[i]
		if a.ID != b.ID || a.AmountText != b.AmountText || !a.Amount.Equal(b.Amount) || a.Recipient != b.Recipient {
			t.Fatalf("payout %d differs: %+v vs %+v", i, a, b)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            string
	}{
		{
			name: "unquoted numbers, typo, missing field",
			file: "testdata/broken-unquoted.yaml",
			want: `testdata/broken-unquoted.yaml:10:15: amount must be a quoted decimal string such as "150000", not the number 150000
testdata/broken-unquoted.yaml:11:7: missing required field "account" in recipient
testdata/broken-unquoted.yaml:13:19: recipient.bankCode must be a string; quote it to keep the leading zero: "014"
testdata/broken-unquoted.yaml:14:9: unknown field "acount" in recipient (expected one of: account, bank, bankCode, country, id, name)
testdata/broken-unquoted.yaml:17:60: recipient.account must be a string; quote it to keep the leading zero: "012345"
`,
		},
		{
			name: "anchors, aliases and merge keys",
			file: "testdata/broken-anchors.yaml",
			want: `testdata/broken-anchors.yaml:11:18: YAML anchors (&alice) are not allowed; write the value out in full
testdata/broken-anchors.yaml:17:18: YAML aliases (*alice) are not allowed; write the value out in full
testdata/broken-anchors.yaml:21:9: YAML merge keys (<<) are not allowed; write the fields out in full
`,
		},
		{
			name: "duplicate keys in json",
			file: "testdata/broken-duplicate.json",
			want: `testdata/broken-duplicate.json:8:5: duplicate key "currency"; first at line 7, column 5
testdata/broken-duplicate.json:10:43: duplicate key "amount"; first at line 10, column 23
`,
		},
		{
			name: "json syntax",
			file: "testdata/broken-syntax.json",
			want: "testdata/broken-syntax.json:9:106: number 0821837182312831 has a leading zero; JSON numbers cannot have one (quote it if it is an account or code)\n",
		},
		{
			name: "two yaml documents",
			file: "testdata/broken-two-docs.yaml",
			want: "testdata/broken-two-docs.yaml:12:1: a second YAML document starts here; a file holds exactly one\n",
		},
		{
			name: "unsupported extension",
			file: "payouts.txt",
			src:  "apiVersion: payctl/v1\n",
			want: `payouts.txt: unsupported file extension ".txt"; manifests are .yaml, .yml or .json files, or .csv or .xlsx tables` + "\n",
		},
		{
			name: "amount with too many digits",
			file: "big.yaml",
			src:  header("IDR") + "    - id: a\n      amount: \"1234567890123456789012345678901\"\n      recipient: {name: A, account: \"1\"}\n",
			want: "big.yaml:10:15: amount has more than 30 digits: not a plain decimal number\n",
		},
		{
			name: "empty",
			file: "empty.json",
			src:  "",
			want: "empty.json:1:1: file is empty\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.src)
			if tt.src == "" && strings.HasPrefix(tt.file, "testdata/") {
				var err error
				if data, err = os.ReadFile(tt.file); err != nil {
					t.Fatal(err)
				}
			}
			b, errs := schema.Parse(tt.file, data)
			if b != nil {
				t.Error("got a batch, want nil on error")
			}
			if got := errStrings(errs); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func header(currency string) string {
	return "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: nov\nspec:\n  provider: idr-main\n  currency: " + currency + "\n  payouts:\n"
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func batchYAML(name string) string {
	return "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: " + name + "\nspec:\n  provider: idr-main\n  currency: IDR\n  payouts:\n    - id: a\n      amount: \"10000\"\n      recipient: {name: A, bankCode: \"014\", account: \"0123456789\"}\n"
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"b.yaml":         batchYAML("second"),
		"a.yml":          batchYAML("first"),
		"c.json":         `{"apiVersion": "payctl/v1", "kind": "PayoutBatch", "metadata": {"name": "third"}, "spec": {"provider": "idr-main", "currency": "IDR", "payouts": [{"id": "a", "amount": "1", "recipient": {"name": "n", "account": "1"}}]}}`,
		"d.yaml":         batchYAML("first"),
		"notes.txt":      "not a manifest",
		".b.yaml.swp":    "editor junk",
		".hidden.yaml":   "also: junk",
		"sub/deep.yaml":  "not read: directories are not recursed",
		"broken.yaml":    "apiVersion: [",
		"other/one.yaml": batchYAML("fourth"),
	})
	batches, errs := schema.Load([]string{
		dir,
		filepath.Join(dir, "a.yml"), // named twice: read once
		filepath.Join(dir, "other", "one.yaml"),
		filepath.Join(dir, "missing.yaml"),
		filepath.Join(dir, "notes.txt"),
	})
	var names []string
	for _, b := range batches {
		names = append(names, b.Name)
	}
	if got, want := strings.Join(names, " "), "first second third fourth"; got != want {
		t.Errorf("batches: got %s, want %s", got, want)
	}
	want := strings.NewReplacer("DIR", dir).Replace(`DIR/broken.yaml:1:1: invalid YAML: did not find expected node content
DIR/d.yaml:4:9: batch name "first" is already used by DIR/a.yml:4:9; each batch needs a name of its own
DIR/missing.yaml: no such file or directory
DIR/notes.txt: unsupported file extension ".txt"; manifests are .yaml, .yml or .json files, or .csv or .xlsx tables
`)
	if got := errStrings(errs); got != want {
		t.Errorf("errors: got\n%s\nwant\n%s", got, want)
	}
}

// testConfig is a payctl.yaml with a policy limit on line 8.
const testConfig = `providers:
  idr-main:
    type: cronos
    emulator: true
  usd-main:
    type: dinardragon
    emulator: true
policy:
  maxPayout: {IDR: "500000000", USD: "50000"}
`

func loadTestConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, errs := config.Parse("payctl.yaml", []byte(testConfig))
	if len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	return cfg
}

func testRules(typ string) providers.Rules {
	switch typ {
	case "cronos":
		return digitRules{currency: "IDR"}
	case "dinardragon":
		return usdRules{}
	}
	return nil
}

// usdRules requires bank and country, the way a Dinar Dragon payout does.
type usdRules struct{}

func (usdRules) Currency() string { return "USD" }

func (usdRules) CheckPayout(p providers.Payout) []providers.FieldError {
	var fe []providers.FieldError
	if p.Recipient.Bank == "" {
		fe = append(fe, providers.FieldError{Field: "recipient.bank", Msg: "a dinardragon payout needs recipient.bank"})
	}
	if p.Recipient.Country == "" {
		fe = append(fe, providers.FieldError{Field: "recipient.country", Msg: "is required"})
	}
	if p.Recipient.Account != "" && p.Recipient.Account[0] == '0' {
		fe = append(fe, providers.FieldError{Field: "recipient.account", Msg: "account numbers are integers at Dinar Dragon; a leading zero cannot be sent"})
	}
	return fe
}

func TestCheck(t *testing.T) {
	cfg := loadTestConfig(t)
	tests := []struct {
		name     string
		manifest string
		cfg      *config.Config
		want     string
	}{
		{
			name:     "valid cronos batch",
			manifest: header("IDR") + "    - id: a\n      amount: \"150000\"\n      recipient: {name: A, bankCode: \"014\", account: \"0821837182\"}\n",
			want:     "",
		},
		{
			name:     "repeated ids name the first",
			manifest: header("IDR") + "    - id: a\n      amount: \"150000\"\n      recipient: {name: A, bankCode: \"014\", account: \"0821837182\"}\n    - id: b\n      amount: \"150000\"\n      recipient: {name: B, bankCode: \"014\", account: \"0821837182\"}\n    - id: a\n      amount: \"150000\"\n      recipient: {name: C, bankCode: \"014\", account: \"0821837182\"}\n",
			want:     `m.yaml:15:11: payout id "a" is repeated; it is first used at line 9 (ids are unique in a batch: the address nov/a must name one payment)` + "\n",
		},
		{
			name:     "amounts: zero, scale, policy maximum",
			manifest: header("IDR") + "    - id: zero\n      amount: \"0\"\n      recipient: {name: A, bankCode: \"014\", account: \"0821837182\"}\n    - id: cents\n      amount: \"150000.50\"\n      recipient: {name: B, bankCode: \"014\", account: \"0821837182\"}\n    - id: big\n      amount: \"600000000\"\n      recipient: {name: C, bankCode: \"014\", account: \"0821837182\"}\n    - id: at-max\n      amount: \"500000000\"\n      recipient: {name: D, bankCode: \"014\", account: \"0821837182\"}\n",
			want: `m.yaml:10:15: amount must be greater than zero, not 0
m.yaml:13:15: amount 150000.50 has 2 decimal places; IDR allows 0
m.yaml:16:15: amount 600000000 IDR is above the policy maximum 500000000 IDR set in payctl.yaml:9
`,
		},
		{
			name:     "usd scale",
			manifest: strings.Replace(header("USD"), "idr-main", "usd-main", 1) + "    - id: a\n      amount: \"75.255\"\n      recipient: {name: A, bank: B, account: \"1\", country: US}\n",
			want:     "m.yaml:10:15: amount 75.255 has 3 decimal places; USD allows 2\n",
		},
		{
			name:     "unknown provider lists the configured ones",
			manifest: strings.Replace(header("IDR"), "idr-main", "idr-mian", 1) + "    - id: a\n      amount: \"150000\"\n      recipient: {name: A, bankCode: \"014\", account: \"0821837182\"}\n",
			want:     `m.yaml:6:13: unknown provider "idr-mian"; payctl.yaml configures idr-main and usd-main` + "\n",
		},
		{
			name:     "unknown currency",
			manifest: header("EUR") + "    - id: a\n      amount: \"150000\"\n      recipient: {name: A, bankCode: \"014\", account: \"0821837182\"}\n",
			want:     `m.yaml:7:13: unknown currency "EUR"; payctl pays in IDR and USD` + "\n",
		},
		{
			name:     "currency the provider does not pay in",
			manifest: header("USD") + "    - id: a\n      amount: \"15\"\n      recipient: {name: A, bankCode: \"014\", account: \"x\"}\n",
			want:     `m.yaml:7:13: currency USD cannot be paid through provider "idr-main": a cronos provider pays in IDR` + "\n",
		},
		{
			name:     "provider rules map to field positions",
			manifest: header("IDR") + "    - id: a\n      amount: \"150000\"\n      recipient:\n        name: A\n        bankCode: \"14\"\n        account: \"12-34\"\n    - id: b\n      amount: \"5000\"\n      recipient: {name: B, account: \"0821837182\"}\n",
			want: `m.yaml:13:19: recipient.bankCode must be a three-digit bank code such as "014"
m.yaml:14:18: recipient.account: must be 10 to 16 digits
m.yaml:16:15: amount must be at least 10000 IDR
m.yaml:17:7: recipient.bankCode must be a three-digit bank code such as "014"
`,
		},
		{
			name:     "provider rules for another type",
			manifest: strings.Replace(header("USD"), "idr-main", "usd-main", 1) + "    - id: a\n      amount: \"50\"\n      recipient: {name: A, account: \"0123\"}\n",
			// Missing fields point at the recipient; a message that does
			// not start with its field gets the field as a prefix.
			want: `m.yaml:11:7: recipient.bank: a dinardragon payout needs recipient.bank
m.yaml:11:7: recipient.country: is required
m.yaml:11:37: account numbers are integers at Dinar Dragon; a leading zero cannot be sent
`,
		},
		{
			name:     "rules are not repeated where an error already is",
			manifest: header("IDR") + "    - id: a\n      amount: \"50.5\"\n      recipient: {name: A, bankCode: \"014\", account: \"0821837182\"}\n",
			want:     "m.yaml:10:15: amount 50.5 has 1 decimal places; IDR allows 0\n",
		},
		{
			name:     "a config without providers or policy",
			manifest: strings.Replace(header("IDR"), "idr-main", "anything", 1) + "    - id: a\n      amount: \"900000000\"\n      recipient: {name: A, account: \"1\"}\n    - id: a\n      amount: \"0.5\"\n      recipient: {name: A, account: \"1\"}\n",
			cfg:      &config.Config{},
			want: `m.yaml:6:13: unknown provider "anything"; payctl.yaml configures no providers
m.yaml:12:11: payout id "a" is repeated; it is first used at line 9 (ids are unique in a batch: the address nov/a must name one payment)
m.yaml:13:15: amount 0.5 has 1 decimal places; IDR allows 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, errs := schema.Parse("m.yaml", []byte(tt.manifest))
			if len(errs) > 0 {
				t.Fatalf("Parse: %v", errs)
			}
			c := cfg
			if tt.cfg != nil {
				c = tt.cfg
			}
			if got := errStrings(schema.Check([]*schema.Batch{b}, c.Deployment(), testRules)); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestCheckWithoutConfig(t *testing.T) {
	b, errs := schema.Parse("m.yaml", []byte(header("IDR")+"    - id: a\n      amount: \"900000000000\"\n      recipient: {name: A, account: \"1\"}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if errs := schema.Check([]*schema.Batch{b}, nil, nil); len(errs) > 0 {
		t.Errorf("got %v, want no errors: without payctl.yaml there is no provider or policy to check", errs)
	}
}

func TestCheckSortsAcrossBatches(t *testing.T) {
	cfg := loadTestConfig(t)
	var batches []*schema.Batch
	for _, f := range []string{"z.yaml", "a.yaml"} {
		b, errs := schema.Parse(f, []byte(header("IDR")+"    - id: a\n      amount: \"0\"\n      recipient: {name: A, bankCode: \"014\", account: \"0821837182\"}\n    - id: a\n      amount: \"1.5\"\n      recipient: {name: A, bankCode: \"014\", account: \"0821837182\"}\n"))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		batches = append(batches, b)
	}
	want := `a.yaml:10:15: amount must be greater than zero, not 0
a.yaml:12:11: payout id "a" is repeated; it is first used at line 9 (ids are unique in a batch: the address nov/a must name one payment)
a.yaml:13:15: amount 1.5 has 1 decimal places; IDR allows 0
z.yaml:10:15: amount must be greater than zero, not 0
z.yaml:12:11: payout id "a" is repeated; it is first used at line 9 (ids are unique in a batch: the address nov/a must name one payment)
z.yaml:13:15: amount 1.5 has 1 decimal places; IDR allows 0
`
	if got := errStrings(schema.Check(batches, cfg.Deployment(), testRules)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPayoutPosField(t *testing.T) {
	p := schema.PayoutPos{Item: pos(1, 5), ID: pos(1, 11), Amount: pos(2, 15), Recipient: pos(3, 7), Account: pos(4, 18)}
	tests := map[string]diag.Pos{
		"id":                 pos(1, 11),
		"amount":             pos(2, 15),
		"recipient.account":  pos(4, 18),
		"recipient.bankCode": pos(3, 7), // absent: the recipient key
		"recipient":          pos(3, 7),
		"something":          pos(1, 5), // unknown: the item
	}
	for field, want := range tests {
		if got := p.Field(field); got != want {
			t.Errorf("Field(%q): got %s, want %s", field, got, want)
		}
	}
}
