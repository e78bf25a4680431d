package schema

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
)

func decode(t testing.TB, f doc.Format, src string) *doc.Node {
	t.Helper()
	root, errs := doc.Decode("in", []byte(src), f, 64<<20)
	if len(errs) > 0 {
		t.Fatalf("decode: %v", errs)
	}
	return root
}

func lines(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%s: %s\n", v.Pos, v.Msg)
	}
	return b.String()
}

func TestSchemasCompile(t *testing.T) {
	c, err := compile()
	if err != nil {
		t.Fatalf("embedded schemas do not compile: %v", err)
	}
	for _, s := range []any{c.manifest, c.shell, c.payout, c.config} {
		if s == nil {
			t.Fatal("a schema is missing after compile")
		}
	}
	for name, data := range map[string][]byte{"manifest": Manifest(), "config": Config()} {
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s schema is not JSON: %v", name, err)
		}
		if v["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s schema: got $schema %v, want draft 2020-12", name, v["$schema"])
		}
	}
}

// TestEveryPropertyHasDescription: editors show descriptions on hover and
// in completion; a property without one is a gap in the published docs.
func TestEveryPropertyHasDescription(t *testing.T) {
	for name, data := range map[string][]byte{"manifest": Manifest(), "config": Config()} {
		var root any
		if err := json.Unmarshal(data, &root); err != nil {
			t.Fatal(err)
		}
		var walk func(v any, path string)
		walk = func(v any, path string) {
			m, ok := v.(map[string]any)
			if !ok {
				if a, ok := v.([]any); ok {
					for i, x := range a {
						walk(x, fmt.Sprintf("%s/%d", path, i))
					}
				}
				return
			}
			if props, ok := m["properties"].(map[string]any); ok {
				for p, s := range props {
					ps, _ := s.(map[string]any)
					if _, ok := ps["description"].(string); !ok {
						t.Errorf("%s: %s/properties/%s has no description", name, path, p)
					}
				}
			}
			for k, x := range m {
				// Conditions restate properties to test them; they are not
				// declarations.
				if k == "if" || k == "then" || k == "else" || k == "allOf" {
					continue
				}
				walk(x, path+"/"+k)
			}
		}
		walk(root, "#")
	}
}

const header = `apiVersion: payctl/v1
kind: PayoutBatch
metadata:
  name: nov
spec:
  provider: idr-main
  currency: IDR
  payouts:
`

func TestManifestMessages(t *testing.T) {
	tests := []struct {
		name   string
		format doc.Format
		src    string
		want   string
	}{
		{
			name:   "valid yaml with a schema comment",
			format: doc.YAML,
			src:    "# yaml-language-server: $schema=../schema/payout-batch.schema.json\n" + header + "    - id: alice\n      amount: \"150000\"\n      recipient: {name: Alice, bankCode: \"014\", account: \"0821\"}\n",
			want:   "",
		},
		{
			name:   "valid json with $schema",
			format: doc.JSON,
			src:    `{"$schema": "../schema/payout-batch.schema.json", "apiVersion": "payctl/v1", "kind": "PayoutBatch", "metadata": {"name": "nov"}, "spec": {"provider": "p", "currency": "USD", "payouts": [{"id": "a", "amount": "75.25", "recipient": {"name": "n", "account": "1"}}]}}`,
			want:   "",
		},
		{
			name:   "numbers where strings belong",
			format: doc.YAML,
			src:    header + "    - id: alice\n      amount: 150000\n      recipient:\n        name: Alice\n        bankCode: 014\n        account: 012345\n",
			want: `10:15: amount must be a quoted decimal string such as "150000", not the number 150000
13:19: recipient.bankCode must be a string; quote it to keep the leading zero: "014"
14:18: recipient.account must be a string; quote it to keep the leading zero: "012345"
`,
		},
		{
			name:   "yaml numbers that are not json numbers",
			format: doc.YAML,
			src:    header + "    - id: 1_000\n      amount: 0x1F\n      recipient: {name: true, account: 1e3}\n",
			want: `9:11: id must be a string; quote it: "1_000"
10:15: amount must be a quoted decimal string such as "150000", not the number 0x1F
11:25: recipient.name must be a string; quote it: "true"
11:40: recipient.account must be a string; quote it: "1e3"
`,
		},
		{
			name:   "json numbers where strings belong",
			format: doc.JSON,
			src:    `{"apiVersion": "payctl/v1", "kind": "PayoutBatch", "metadata": {"name": "nov"}, "spec": {"provider": "p", "currency": "USD", "payouts": [{"id": "a", "amount": 75.25, "recipient": {"name": "n", "account": 12}}]}}`,
			want: `1:160: amount must be a quoted decimal string such as "75.25", not the number 75.25
1:205: recipient.account must be a string; quote it: "12"
`,
		},
		{
			name:   "unknown and missing fields",
			format: doc.YAML,
			src:    header + "    - id: alice\n      amount: \"5\"\n      recipient:\n        name: Alice\n        acount: \"0821\"\n    - amount: \"5\"\n      recipient: {name: B, account: \"1\"}\n",
			want: `11:7: missing required field "account" in recipient
13:9: unknown field "acount" in recipient (expected one of: account, bank, bankCode, country, id, name)
14:5: missing required field "id" in payout #2
`,
		},
		{
			name:   "missing fields at the top and in spec",
			format: doc.YAML,
			src:    "apiVersion: payctl/v1\nkind: PayoutBatch\nspec:\n  provider: idr-main\n  payouts: []\n  extra: 1\n",
			want: `1:1: missing required field "metadata" at the top level
3:1: missing required field "currency" in spec
5:3: spec.payouts must not be empty
6:3: unknown field "extra" in spec (expected one of: currency, payouts, provider)
`,
		},
		{
			name:   "header values",
			format: doc.JSON,
			src:    "{\"apiVersion\": \"payctl/v2\",\n \"kind\": \"Batch\",\n \"metadata\": {\"name\": \"Nov 2026\"},\n \"spec\": {\"provider\": \"IDR\", \"currency\": \"idr\", \"payouts\": {}}}",
			want: `1:16: apiVersion must be "payctl/v1", not the string "payctl/v2"
2:10: kind must be "PayoutBatch", not the string "Batch"
3:23: metadata.name "Nov 2026" must be 1 to 64 lower case letters, digits, '.', '_' or '-', starting and ending with a letter or digit, such as "contractors-2026-11"
4:23: spec.provider "IDR" must be a provider name from payctl.yaml: 1 to 32 lower case letters, digits or '-', starting and ending with a letter or digit
4:42: spec.currency "idr" must be a three-letter ISO 4217 code in upper case, such as "IDR" or "USD"
4:60: spec.payouts must be an array, not an object
`,
		},
		{
			name:   "bad values",
			format: doc.YAML,
			src:    header + "    - id: bob/x\n      amount: \"1,000\"\n      recipient: {name: \"\", account: \"\", country: usa}\n    - id: carol\n      amount: \"-5\"\n      recipient:\n",
			want: `9:11: id "bob/x" must be 1 to 64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit (no '/': addresses are <batch>/<id>)
10:15: amount "1,000" must be a plain decimal such as "150000" or "75.25": digits and an optional point, with no sign, exponent, separators, spaces or leading zeros
11:25: recipient.name must not be empty
11:38: recipient.account must not be empty
11:51: recipient.country "usa" must be a two-letter ISO 3166-1 country code in upper case, such as "US"
13:15: amount "-5" must not be negative
14:17: recipient must be a mapping, but it is empty
`,
		},
		{
			name:   "wrong shapes",
			format: doc.YAML,
			src:    header + "    - just a string\n    - id: a\n      amount: [\"5\"]\n      recipient: [x]\n",
			want: `9:5: payout must be a mapping, not the string "just a string"
11:15: amount must be a string, not a list
12:18: recipient must be a mapping, not a list
`,
		},
		{
			name:   "not a mapping at all",
			format: doc.JSON,
			src:    `[1, 2]`,
			want:   "1:1: the manifest must be an object, not an array\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(ValidateManifest(decode(t, tt.format, tt.src), tt.format))
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestConfigMessages(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{
			name: "valid",
			src:  "state: s.json\nproviders:\n  idr-main: {type: cronos, baseURL: \"https://x\", keyEnv: K, tokenEnv: T, callbackURL: \"https://cb\"}\n  usd: {type: dinardragon, emulator: true, maxBatch: 10}\n  f: {type: fake, emulator: true, tokenEnv: F}\n",
			want: "",
		},
		{
			name: "state shapes",
			src:  "state: 5\nproviders:\n  a: {type: fake, emulator: true}\n",
			want: "1:8: state must be a mapping or a string, not the number 5\n",
		},
		{
			name: "state backends",
			src:  "state: {backend: postgres, path: x}\nproviders:\n  a: {type: fake, emulator: true}\n",
			want: `1:1: missing required fields "dsnEnv" and "name" in state
1:28: state.path is a setting of the local backend, not of postgres
`,
		},
		{
			name: "provider credentials and fields by type",
			src: `providers:
  idr-main:
    type: cronos
    baseURL: https://api.cronosengine.com/api
    keyEnv: CRONOS_KEY
    privateKeyEnv: X
  usd-main:
    type: dinardragon
    baseURL: https://dinardragon.com
    keyEnv: "sk live"
  f:
    type: fake
    emulator: false
`,
			want: `2:3: missing required fields "tokenEnv" and "callbackURL" in providers.idr-main: a cronos provider needs keyEnv, tokenEnv and callbackURL unless emulator: true
6:5: providers.idr-main.privateKeyEnv is not a setting of a cronos provider (it uses keyEnv and tokenEnv)
7:3: missing required field "privateKeyEnv" in providers.usd-main: a dinardragon provider needs privateKeyEnv unless emulator: true
10:5: providers.usd-main.keyEnv is not a setting of a dinardragon provider (it uses privateKeyEnv)
11:3: missing required field "baseURL" in providers.f: set baseURL to the provider's API, or emulator: true for the built-in emulator
`,
		},
		{
			name: "emulator and baseURL",
			src:  "providers:\n  a:\n    type: fake\n    emulator: true\n    baseURL: https://x\n",
			want: "5:5: providers.a.baseURL cannot be set together with emulator: true; remove baseURL to use the built-in emulator, or remove emulator to use the real API\n",
		},
		{
			name: "fees",
			src:  "providers:\n  a:\n    type: fake\n    emulator: true\n    fees: {fixed: 3000, payer: both, per: batch, places: 7, rounding: up}\n  b:\n    type: fake\n    emulator: true\n    fees: {per: batch, payer: recipient, percent: \"2.5%\"}\n",
			want: `5:19: providers.a.fees.fixed must be a quoted decimal string such as "3000", not the number 3000
5:32: providers.a.fees.payer must be "sender" or "recipient", not the string "both"
5:58: providers.a.fees.places must be at most 6, not 7
5:71: providers.a.fees.rounding must be "half-even" or "half-up", not the string "up"
9:24: providers.b.fees.payer cannot be recipient when per: batch: one batch fee cannot be split among recipients without inventing a rule; use per: payout, or payer: sender
9:51: providers.b.fees.percent "2.5%" must be a plain decimal such as "3000" or "2.5": digits and an optional point, with no sign, exponent, separators, spaces or leading zeros
`,
		},
		{
			name: "numbers and durations",
			src:  "providers:\n  a:\n    type: fake\n    emulator: true\n    timeout: 30\n    concurrency: \"4\"\n    ratePerSecond: 2.5\n    maxBatch: 0x10\n    lookupGrace: 2 minutes\n",
			want: `5:14: providers.a.timeout must be a duration string such as "30s", not the number 30
6:18: providers.a.concurrency must be a whole number, not the string "4"; remove the quotes
7:20: providers.a.ratePerSecond must be a whole number, not the number 2.5
8:15: providers.a.maxBatch must be a plain decimal number such as 4, not the number 0x10
9:18: providers.a.lookupGrace "2 minutes" must be a duration such as "30s", "2m" or "1m30s" (units ns, us, ms, s, m, h)
`,
		},
		{
			name: "names",
			src:  "providers:\n  Bad_Name: {type: stripe, emulator: true}\n",
			want: `2:3: provider name "Bad_Name" in providers must be 1 to 32 lower case letters, digits or '-', starting and ending with a letter or digit, such as "idr-main"
2:20: providers.Bad_Name.type must be one of "cronos", "dinardragon" or "fake", not the string "stripe"
`,
		},
		{
			name: "a provider name of digits is a key, not an index",
			src:  "providers:\n  \"123\": {type: fake, timeout: 5}\n",
			want: `2:3: missing required field "baseURL" in providers.123: set baseURL to the provider's API, or emulator: true for the built-in emulator
2:32: providers.123.timeout must be a duration string such as "30s", not the number 5
`,
		},
		{
			name: "no providers",
			src:  "providers: {}\n",
			want: "1:1: providers must not be empty\n",
		},
		{
			name: "policy",
			src: `providers:
  a: {type: fake, emulator: true}
policy:
  maxPayout: {IDR: "500000000", usd: "1", USD: 50}
  autoApply:
    providers: [a, a]
    hours: {days: [mon, funday], start: "9:00", end: "24:00"}
  extra: true
`,
			want: `4:33: currency code "usd" in policy.maxPayout must be a three-letter ISO 4217 code in upper case, such as "IDR"
4:48: policy.maxPayout.USD must be a quoted decimal string such as "50", not the number 50
6:20: policy.autoApply.providers lists "a" twice; remove one
7:5: missing required field "timezone" in policy.autoApply.hours
7:25: policy.autoApply.hours.days[1] must be one of "mon", "tue", "wed", "thu", "fri", "sat" or "sun", not the string "funday"
7:41: policy.autoApply.hours.start "9:00" must be a time of day as HH:MM in 24-hour time, such as "09:00"
8:3: unknown field "extra" in policy (expected one of: approvals, autoApply, maxPayout)
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(ValidateConfig(decode(t, doc.YAML, tt.src), doc.YAML))
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestPropertyNamesPositionsAreStable guards the workaround for
// jsonschema's aliased propertyNames locations: the validator visits
// properties in map order, so a wrong location would show up as a
// position that changes between runs.
func TestPropertyNamesPositionsAreStable(t *testing.T) {
	src := `providers:
  ok-1: {type: fake, emulator: true}
  Bad1: {type: fake, emulator: true}
  ok-2: {type: fake, emulator: true}
policy:
  maxPayout: {usd: "1", IDR: "5"}
  autoApply:
    providers: [ok-1]
    maxPayout: {IDR: "1", usd: "2"}
    maxBatchTotal: {idr: "3"}
`
	want := `3:3: provider name "Bad1" in providers must be 1 to 32 lower case letters, digits or '-', starting and ending with a letter or digit, such as "idr-main"
6:15: currency code "usd" in policy.maxPayout must be a three-letter ISO 4217 code in upper case, such as "IDR"
9:27: currency code "usd" in policy.autoApply.maxPayout must be a three-letter ISO 4217 code in upper case, such as "IDR"
10:21: currency code "idr" in policy.autoApply.maxBatchTotal must be a three-letter ISO 4217 code in upper case, such as "IDR"
`
	root := decode(t, doc.YAML, src)
	for i := range 50 {
		if got := lines(ValidateConfig(root, doc.YAML)); got != want {
			t.Fatalf("run %d: got\n%s\nwant\n%s", i, got, want)
		}
	}
}

// manyPayouts writes a YAML manifest of n payouts where every k-th one
// has an unquoted amount.
func manyPayouts(n, k int) string {
	var b strings.Builder
	b.WriteString(header)
	for i := range n {
		amount := `"100"`
		if k > 0 && i%k == 0 {
			amount = "100"
		}
		fmt.Fprintf(&b, "    - id: p%d\n      amount: %s\n      recipient: {name: N, account: \"1\"}\n", i, amount)
	}
	return b.String()
}

// TestSplitValidationIsWholeValidation: checking the batch without its
// payouts and the payouts one by one (in parallel) must find exactly what
// the published schema finds in one piece.
func TestSplitValidationIsWholeValidation(t *testing.T) {
	docs := map[string]string{
		"many with errors": manyPayouts(3*chunk+7, 5),
		"many valid":       manyPayouts(2*chunk+1, 0),
		"few":              manyPayouts(3, 2),
		"payouts not a list": header[:len(header)-len("  payouts:\n")] +
			"  payouts: {a: 1}\n",
	}
	files, _ := filepath.Glob("testdata/*")
	for _, f := range files {
		format, ok := doc.FormatOf(f)
		if !ok {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		root, errs := doc.Decode(f, data, format, 64<<20)
		if len(errs) > 0 {
			continue
		}
		split, whole := ValidateManifest(root, format), validateManifestWhole(root, format)
		if lines(split) != lines(whole) {
			t.Errorf("%s: split validation\n%s\nwhole validation\n%s", f, lines(split), lines(whole))
		}
	}
	for name, src := range docs {
		root := decode(t, doc.YAML, src)
		split, whole := ValidateManifest(root, doc.YAML), validateManifestWhole(root, doc.YAML)
		if lines(split) != lines(whole) {
			t.Errorf("%s: split validation\n%s\nwhole validation\n%s", name, lines(split), lines(whole))
		}
	}
}

func TestManyErrorsAllReportedSorted(t *testing.T) {
	const n, k = 4*chunk + 3, 7
	vs := ValidateManifest(decode(t, doc.YAML, manyPayouts(n, k)), doc.YAML)
	if want := (n + k - 1) / k; len(vs) != want {
		t.Fatalf("got %d violations, want %d", len(vs), want)
	}
	if !slices.IsSortedFunc(vs, func(a, b Violation) int { return a.Pos.Line - b.Pos.Line }) {
		t.Error("violations are not sorted by position")
	}
	for _, v := range vs {
		if !v.Pos.IsValid() {
			t.Errorf("violation %q has no position", v.Msg)
		}
	}
}

func TestViolationPointer(t *testing.T) {
	tests := map[string]struct {
		path []string
		want string
	}{
		"root":    {nil, ""},
		"nested":  {[]string{"spec", "payouts", "3", "amount"}, "/spec/payouts/3/amount"},
		"escaped": {[]string{"a/b", "c~d"}, "/a~1b/c~0d"},
	}
	for name, tt := range tests {
		if got := (Violation{Path: tt.path}).Pointer(); got != tt.want {
			t.Errorf("%s: got %q, want %q", name, got, tt.want)
		}
	}
}

func TestErrorsCarryFileAndPointer(t *testing.T) {
	l := Errors("m.yaml", []Violation{
		{Path: []string{"spec"}, Pos: diagPos(3, 1), Msg: "a"},
		{Path: []string{"spec", "x"}, Msg: "b"},
	})
	if got, want := l[0].Error(), "m.yaml:3:1: a"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := l[1].Error(), "m.yaml:/spec/x: b"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func diagPos(line, col int) diag.Pos { return diag.Pos{Line: line, Col: col} }
