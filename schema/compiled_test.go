package schema

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/gen"
	"github.com/rogpeppe/go-internal/txtar"
)

// agree fails t unless the compiled checks and the JSON Schema validator
// find the same violations in data: the same paths, positions and
// messages. It reports whether data decoded at all.
func agree(t testing.TB, file string, data []byte) bool {
	t.Helper()
	root, f, errs := doc.DecodeFile(file, data, MaxFileSize, "")
	if len(errs) > 0 {
		return false
	}
	want := validateManifestGeneric(root, f)
	got := ValidateManifest(root, f)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: the compiled checks and the schema validator disagree\ncompiled:\n%svalidator:\n%sinput:\n%s",
			file, dump(got), dump(want), clipText(string(data), 3000))
	}
	return true
}

func dump(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "  %s %s: %s\n", v.Pointer(), v.Pos, v.Msg)
	}
	if len(vs) == 0 {
		b.WriteString("  (valid)\n")
	}
	return b.String()
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// corpus is every manifest the tests and scripts hold: schema/testdata
// and the files of testdata/script's archives.
func corpus(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, f := range files {
		if _, ok := doc.FormatOf(f); !ok {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = data
	}
	scripts, _ := filepath.Glob(filepath.Join("..", "testdata", "script", "*.txtar"))
	if len(scripts) == 0 {
		t.Fatal("no scripts in ../testdata/script")
	}
	for _, s := range scripts {
		a, err := txtar.ParseFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range a.Files {
			if _, ok := doc.FormatOf(f.Name); ok {
				out[filepath.Base(s)+"/"+f.Name] = f.Data
			}
		}
	}
	return out
}

func TestCompiledAgreesOnCorpus(t *testing.T) {
	decoded := 0
	for name, data := range corpus(t) {
		if agree(t, name, data) {
			decoded++
		}
	}
	if decoded < 50 {
		t.Errorf("only %d corpus files decoded; the comparison covers too little", decoded)
	}
}

// A payout field's value as written, in each format; "" in yaml is an
// empty value (null), and absent drops the field.
type raw struct{ json, yaml string }

var absent = raw{"\x00", "\x00"}

func both(s string) raw { return raw{s, s} }
func str(s string) raw  { q := strconv.Quote(s); return raw{q, q} }

// hostileValues are what each field of a payout is replaced with.
func hostileValues() []raw {
	vals := []raw{
		absent,
		both("null"), {"null", "~"}, {"null", ""}, both("true"), both("false"),
		both("5"), both("0"), both("1e3"), both("0.5"), both("-5"), both("150000"), both("-0"),
		{"12345", "012345"}, {"31", "0x1F"}, {"1000", "1_000"}, {"1e999", ".inf"}, {"15", "0o17"}, {"1", "+1"},
		both("{}"), {`{"a": 1}`, "{a: 1}"}, {`{"name": "x"}`, "{name: x}"}, both("[]"), both("[1]"), {`["a", "b"]`, "[a, b]"},
		{`"x"`, "x"}, {`"014"`, "'014'"},
	}
	for _, s := range []string{
		"", " ", "a", "A", "Z9", "-a", "a-", "a.", ".a", "_a", "a_b", "a/b", "a b", "a\tb", "é", "王小明", "ab", "AB", "US", "us", "Us", "USA", "IDR",
		"0", "00", "01", "1.", ".5", "1.50", "1.5.0", "-1", "-0.5", "+1", "1e3", "1,000", "1 000", "150000", "75.25", "0.00",
		"x.y_z-1", "Alice Tan", "V-1042", "0821837182312831",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("a", 66),
		strings.Repeat("b", 200), strings.Repeat("b", 201), strings.Repeat("é", 200), strings.Repeat("é", 201), strings.Repeat("9", 400),
	} {
		vals = append(vals, str(s))
	}
	return vals
}

// payoutFields are the fields of a payout, by path, with a valid value.
var payoutFields = []struct {
	path string
	ok   raw
}{
	{"id", str("p-1")},
	{"amount", str("150000")},
	{"recipient", absent}, // its fields follow; replacing it replaces them all
	{"recipient.id", str("V-1042")},
	{"recipient.name", str("Alice Tan")},
	{"recipient.bankCode", str("014")},
	{"recipient.bank", str("First Bank")},
	{"recipient.account", str("0821837182312831")},
	{"recipient.country", str("US")},
	{"reference", str("Invoice 2026-114")},
	{"metadata", absent}, // replaced whole, or its entries set as "metadata.KEY"
}

// manifest writes a batch of one payout (and a valid one after it, so
// that positions past the broken one count) in format f, with the field
// at path set to v; extra are further fields ("memo" or "recipient.iban")
// with their values.
func manifest(f doc.Format, set map[string]raw) string {
	val := func(path string, def raw) (string, bool) {
		r := def
		if v, ok := set[path]; ok {
			r = v
		}
		if r == absent {
			return "", false
		}
		if f == doc.JSON {
			return r.json, true
		}
		return r.yaml, true
	}
	var b strings.Builder
	var top, rec []string // fields of the payout and its recipient, in order
	var recReplaced bool
	var recValue string
	for _, fl := range payoutFields {
		if fl.path == "recipient" {
			if v, ok := set["recipient"]; ok {
				recReplaced = true
				if v == absent {
					continue
				}
				recValue, _ = val("recipient", v)
			}
			top = append(top, "recipient")
			continue
		}
		if strings.HasPrefix(fl.path, "recipient.") {
			if fl.path == "recipient.bank" || fl.path == "recipient.country" || fl.path == "recipient.id" {
				if _, ok := set[fl.path]; !ok {
					continue
				}
			}
			if v, ok := val(fl.path, fl.ok); ok {
				rec = append(rec, strings.TrimPrefix(fl.path, "recipient.")+"\x00"+v)
			}
			continue
		}
		if fl.path == "reference" {
			if _, ok := set[fl.path]; !ok {
				continue
			}
		}
		if fl.path == "metadata" {
			if v, ok := set["metadata"]; ok && v != absent {
				mv, _ := val("metadata", v)
				top = append(top, "metadata\x00"+mv)
				continue
			}
			if m := metadataOf(f, set); m != "" {
				top = append(top, "metadata\x00"+m)
			}
			continue
		}
		if v, ok := val(fl.path, fl.ok); ok {
			top = append(top, fl.path+"\x00"+v)
		}
	}
	for k, v := range set {
		if strings.HasPrefix(k, "+") { // an extra field
			k = k[1:]
			s := v.yaml
			if f == doc.JSON {
				s = v.json
			}
			if strings.HasPrefix(k, "recipient.") {
				rec = append(rec, strings.TrimPrefix(k, "recipient.")+"\x00"+s)
			} else {
				top = append(top, k+"\x00"+s)
			}
		}
	}
	key := func(k string) string {
		if f == doc.JSON || strings.HasPrefix(k, "$") {
			return strconv.Quote(k)
		}
		return k
	}
	if f == doc.JSON {
		b.WriteString("{\n  \"apiVersion\": \"payctl/v1\",\n  \"kind\": \"PayoutBatch\",\n  \"metadata\": {\"name\": \"b\"},\n  \"spec\": {\n    \"provider\": \"idr-main\",\n    \"currency\": \"IDR\",\n    \"payouts\": [\n")
		if v, ok := set["payout"]; ok {
			b.WriteString("      " + v.json + ",\n")
		} else {
			b.WriteString("      {")
			for i, kv := range top {
				if i > 0 {
					b.WriteString(",\n       ")
				}
				if kv == "recipient" {
					if recReplaced {
						b.WriteString(`"recipient": ` + recValue)
						continue
					}
					b.WriteString(`"recipient": {`)
					for j, rkv := range rec {
						k, v, _ := strings.Cut(rkv, "\x00")
						if j > 0 {
							b.WriteString(", ")
						}
						b.WriteString(key(k) + ": " + v)
					}
					b.WriteString("}")
					continue
				}
				k, v, _ := strings.Cut(kv, "\x00")
				b.WriteString(key(k) + ": " + v)
			}
			b.WriteString("},\n")
		}
		b.WriteString("      {\"id\": \"ok\", \"amount\": \"1\", \"recipient\": {\"name\": \"n\", \"account\": \"1\"}}\n    ]\n  }\n}\n")
		return b.String()
	}
	b.WriteString("apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: b\nspec:\n  provider: idr-main\n  currency: IDR\n  payouts:\n")
	if v, ok := set["payout"]; ok {
		b.WriteString("    - " + v.yaml + "\n")
	} else {
		b.WriteString("    -")
		if len(top) == 0 {
			b.WriteString(" {}\n")
		}
		for i, kv := range top {
			ind := "      "
			if i == 0 {
				ind = " "
			}
			if kv == "recipient" {
				if recReplaced {
					b.WriteString(ind + "recipient: " + recValue + "\n")
					continue
				}
				if len(rec) == 0 {
					b.WriteString(ind + "recipient: {}\n")
					continue
				}
				b.WriteString(ind + "recipient:\n")
				for _, rkv := range rec {
					k, v, _ := strings.Cut(rkv, "\x00")
					b.WriteString("        " + key(k) + ": " + v + "\n")
				}
				continue
			}
			k, v, _ := strings.Cut(kv, "\x00")
			b.WriteString(ind + key(k) + ": " + v + "\n")
		}
	}
	b.WriteString("    - id: ok\n      amount: \"1\"\n      recipient: {name: n, account: \"1\"}\n")
	return b.String()
}

// metadataOf writes the "metadata.KEY" entries of set as a flow mapping
// (valid in both formats), keys sorted, or "" when there are none.
func metadataOf(f doc.Format, set map[string]raw) string {
	var keys []string
	for k := range set {
		if strings.HasPrefix(k, "metadata.") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		v := set[k]
		if v == absent {
			continue
		}
		s := v.yaml
		if f == doc.JSON {
			s = v.json
		}
		if s == "" {
			s = "null" // an empty flow value is not YAML
		}
		parts = append(parts, strconv.Quote(strings.TrimPrefix(k, "metadata."))+": "+s)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// manyMetadata is a metadata mapping of n valid entries.
func manyMetadata(n int) raw {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%d": "v"`, i)
	}
	return both("{" + strings.Join(parts, ", ") + "}")
}

// TestCompiledAgreesOnHostilePayouts breaks each field of a payout in
// every way in hostileValues, in both formats, one field at a time and
// several at once, and requires the compiled checks to say what the
// validator says.
func TestCompiledAgreesOnHostilePayouts(t *testing.T) {
	vals := hostileValues()
	extras := []raw{str("x"), both("5"), both("{}")}
	var sets []map[string]raw
	for _, fl := range payoutFields {
		for _, v := range vals {
			sets = append(sets, map[string]raw{fl.path: v})
		}
	}
	for _, v := range vals {
		if v != absent {
			sets = append(sets, map[string]raw{"payout": v})
		}
	}
	for _, k := range []string{"+memo", "+Id", "+$schema", "+recipient.iban", "+recipient.Name", "+recipient.$ref"} {
		for _, v := range extras {
			sets = append(sets, map[string]raw{k: v})
		}
	}
	// Metadata: hostile values under a good key, and hostile keys.
	for _, v := range vals {
		sets = append(sets, map[string]raw{"metadata.invoice": v})
	}
	for _, k := range []string{"", "a", "A", "9", "9a", "_a", "-a", ".a", "a b", "a/b", "a:b", "é", "aé", "costCentre", "cost.centre", "cost_centre-2",
		"$schema", "a\tb", "a\u202eb", strings.Repeat("k", 64), strings.Repeat("k", 65)} {
		sets = append(sets, map[string]raw{"metadata." + k: str("x")}, map[string]raw{"metadata." + k: both("5")})
	}
	for _, n := range []int{0, 1, 19, 20, 21, 40} {
		sets = append(sets, map[string]raw{"metadata": manyMetadata(n)})
	}
	// Text that must not be: controls, invisible and direction characters.
	textProbes := []string{"a\x00b", "a\rb", "a\nb", "line\u2028sep", "para\u2029", "\u200b", "zero\u200dwidth", "\u202eevil", "\u2066x\u2069",
		"soft\u00adhyphen", "bom\ufeff", "\ue000private", "\u0085next", "\u007f", "Invoice № 12 — café", "\U0001F600", "nbsp\u00a0ok",
		strings.Repeat("x", 140), strings.Repeat("x", 141), strings.Repeat("é", 141), strings.Repeat("y", 500), strings.Repeat("y", 501)}
	for _, s := range textProbes {
		sets = append(sets, map[string]raw{"reference": str(s)}, map[string]raw{"metadata.note": str(s)})
	}
	// Several errors in one payout.
	sets = append(sets,
		map[string]raw{"reference": str(""), "metadata.9": both("5"), "metadata.ok": str("a\tb"), "metadata.Ok": both("{}")},
		map[string]raw{"metadata": manyMetadata(25), "reference": str(strings.Repeat("r", 200)), "+memo": str("x")},
		map[string]raw{"id": absent, "amount": absent, "recipient": absent},
		map[string]raw{"id": both("5"), "amount": str("-1"), "+memo": str("x"), "recipient.name": absent, "recipient.account": absent},
		map[string]raw{"id": str("a/b"), "recipient.country": str("usa"), "recipient.id": str(""), "+recipient.iban": str("x")},
		map[string]raw{"amount": both("1.5"), "recipient": both("[]"), "+x": both("null")},
		map[string]raw{"id": absent, "+memo": str("x"), "recipient.bankCode": both("14")},
	)
	decoded, total := 0, 0
	for _, set := range sets {
		for _, f := range []doc.Format{doc.JSON, doc.YAML} {
			total++
			src := manifest(f, set)
			if agree(t, "hostile."+string(f), []byte(src)) {
				decoded++
			}
		}
	}
	// A few spellings are not valid JSON or YAML; nearly all must be.
	if decoded < total*9/10 {
		t.Errorf("only %d of %d hostile manifests decoded", decoded, total)
	}
	t.Logf("%d hostile manifests compared", decoded)
}

func FuzzCompiledAgrees(f *testing.F) {
	for name, data := range corpus(f) {
		if strings.HasSuffix(name, ".json") {
			f.Add(data, true)
		} else {
			f.Add(data, false)
		}
	}
	for _, set := range []map[string]raw{{"id": both("5")}, {"amount": str("-1")}, {"+recipient.x": str("y")},
		{"reference": str("Invoice 7"), "metadata.invoice": str("INV-7"), "metadata.costCentre": str("ops")},
		{"reference": str("a\u202eb"), "metadata.9x": both("5")}, {"metadata": manyMetadata(21)}} {
		f.Add([]byte(manifest(doc.JSON, set)), true)
		f.Add([]byte(manifest(doc.YAML, set)), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		name := "fuzz.yaml"
		if isJSON {
			name = "fuzz.json"
		}
		agree(t, name, data)
		sameParse(t, name, data)
	})
}

// patternProbes are strings near the edges of the manifest schema's
// patterns.
func patternProbes() []string {
	probes := []string{"", "0", "00", "01", "1", "10", "1.", "1.0", ".1", "0.0", "0.", "-1", "+1", "1e3", "1.2.3", " 1", "1 ", "1\n",
		"a", "A", "z", "Z", "aa", "AA", "aZ", "a-", "-a", "a-b", "a.b", "a_b", "a/b", "a b", "é", "aé", "US", "USA", "IDR", "idr", "U", "U1",
		"a--b", "a..b", "a__b", "abc\n", "\nabc", "ab\x00", "٣", "１",
		"a\tb", "\u202e", "x\u200by", "\ufeff", "\u00ad", "\ue000", "\u2028", "\u2029", "\u0085", "\x7f", "\xff", "a\xe2\x80", "😀", "№ — café", "\u00a0"}
	for _, n := range []int{30, 31, 32, 33, 62, 63, 64, 65} {
		probes = append(probes, strings.Repeat("a", n), "a"+strings.Repeat("-", n-2)+"a", strings.Repeat("A", n), strings.Repeat("9", n))
	}
	return probes
}

func TestKnownPatterns(t *testing.T) {
	for p, match := range knownPatterns {
		re := regexp.MustCompile(p)
		for _, s := range patternProbes() {
			if got, want := match(s), re.MatchString(s); got != want {
				t.Errorf("pattern %s on %q: got %v, want %v", p, s, got, want)
			}
		}
	}
	// Every pattern of the manifest schema is compiled into Go.
	var walk func(c *checker)
	walk = func(c *checker) {
		if c.pattern != nil && c.match == nil {
			t.Errorf("%s: pattern %s has no Go matcher", c.url, c.pattern)
		}
		for _, p := range c.props {
			walk(p.c)
		}
		for _, sub := range []*checker{c.names, c.additional} {
			if sub != nil {
				walk(sub)
			}
		}
	}
	walk(load().payoutCheck)
}

func FuzzKnownPatterns(f *testing.F) {
	for _, s := range patternProbes() {
		f.Add(s)
	}
	res := map[string]*regexp.Regexp{}
	for p := range knownPatterns {
		res[p] = regexp.MustCompile(p)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for p, match := range knownPatterns {
			if got, want := match(s), res[p].MatchString(s); got != want {
				t.Errorf("pattern %s on %q: got %v, want %v", p, s, got, want)
			}
		}
	})
}

// parseWhole is Parse as it was before payouts were streamed: the whole
// file decoded as one tree, every payout validated by the JSON Schema
// validator. Parse must give the same batch and the same errors.
func parseWhole(file string, data []byte) (*Batch, diag.List) {
	root, f, errs := doc.DecodeFile(file, data, MaxFileSize, "manifests are .yaml, .yml or .json files")
	if len(errs) > 0 {
		return nil, errs
	}
	if vs := validateManifestGeneric(root, f); len(vs) > 0 {
		errs = Errors(file, vs)
		errs.Limit(diag.MaxPerFile)
		return nil, errs
	}
	b := &Batch{File: file, Digest: doc.Digest(data), Format: string(f)}
	var a arena
	b.fillHeader(root, &a)
	items := root.At(payoutsPath)
	b.Pos.Payouts = items.KeyPos()
	b.Payouts = make([]Payout, len(items.Kids))
	for i := range items.Kids {
		b.fillPayout(&b.Payouts[i], &items.Kids[i], &a, &errs)
	}
	if len(errs) > 0 {
		errs.Limit(diag.MaxPerFile)
		return nil, errs
	}
	return b, nil
}

func sameParse(t testing.TB, file string, data []byte) {
	t.Helper()
	// Parse may share data's memory while it runs; give each its own.
	b1, e1 := Parse(file, bytes.Clone(data))
	b2, e2 := parseWhole(file, bytes.Clone(data))
	if !reflect.DeepEqual(e1, e2) || !reflect.DeepEqual(b1, b2) {
		t.Errorf("%s: Parse and the whole-tree parse disagree\nParse: %v\n%s\nwhole: %v\n%s\ninput:\n%s",
			file, b1 != nil, e1, b2 != nil, e2, clipText(string(data), 3000))
	}
}

// documentCases are whole-file troubles around and inside the payouts
// sequence that Parse hands over item by item.
func documentCases() map[string]string {
	head := "{\"apiVersion\": \"payctl/v1\", \"kind\": \"PayoutBatch\", \"metadata\": {\"name\": \"b\"},\n \"spec\": {\"provider\": \"p\", \"currency\": \"IDR\",\n  \"payouts\": "
	ok := `{"id": "a", "amount": "1", "recipient": {"name": "n", "account": "1"}}`
	var many strings.Builder
	for i := range 150 {
		if i > 0 {
			many.WriteString(",\n")
		}
		fmt.Fprintf(&many, `{"id": "p%d", "amount": "1", "recipient": {"name": "bad\u202e%d", "account": "1"}}`, i, i)
	}
	var amounts strings.Builder
	for i := range 120 {
		if i > 0 {
			amounts.WriteString(",\n")
		}
		fmt.Fprintf(&amounts, `{"id": "p%d", "amount": "1%s", "recipient": {"name": "n", "account": "1"}}`, i, strings.Repeat("0", 40))
	}
	var bad strings.Builder
	for i := range 250 {
		if i > 0 {
			bad.WriteString(",\n")
		}
		switch i % 3 {
		case 0:
			bad.WriteString(ok)
		case 1:
			fmt.Fprintf(&bad, `{"id": %d, "amount": "x", "recipient": {"name": "", "account": "1", "iban": 1}, "memo": 1}`, i)
		default:
			bad.WriteString("7")
		}
	}
	return map[string]string{
		"many-bad.json":       head + "[" + bad.String() + "], \"region\": 5}}\n",
		"many-bad-last.json":  head + "[" + bad.String() + "]}, \"extra\": 1}\n",
		"ok.json":             head + "[" + ok + "]}}\n",
		"empty.json":          head + "[]}}\n",
		"mapping.json":        head + "{\"a\": " + ok + "}}}\n",
		"string.json":         head + "\"x\"}}\n",
		"text-in-item.json":   head + "[" + strings.Replace(ok, `"n"`, `"n\u200b"`, 1) + "]}}\n",
		"text-key.json":       head + "[" + strings.Replace(ok, `"id"`, `"i\u202ed"`, 1) + "]}}\n",
		"text-item.json":      head + "[\"a\u0007b\"]}}\n",
		"dup-in-item.json":    head + "[" + strings.Replace(ok, `"id": "a"`, `"id": "a", "id": "b"`, 1) + "]}}\n",
		"syntax-after.json":   head + "[" + ok + "]}}\n}",
		"unclosed.json":       head + "[" + ok + ",",
		"bad-and-text.json":   head + "[{\"id\": 5}, " + strings.Replace(ok, `"n"`, `"\u202e"`, 1) + "]}}\n",
		"many-text.json":      head + "[" + many.String() + "]}}\n",
		"many-amounts.json":   head + "[" + amounts.String() + "]}}\n",
		"dup-spec.json":       "{\"spec\": {\"payouts\": [" + ok + "]}, " + head[1:] + "[" + ok + "]}}\n",
		"nested.json":         "[" + head + "[" + ok + "]}}]\n",
		"payouts-top.json":    "{\"payouts\": [" + ok + "], \"spec\": {\"payouts\": [1, 2]}}\n",
		"spec-payouts-y.yaml": "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata: {name: b}\nspec:\n  provider: p\n  currency: IDR\n  payouts:\n    - {id: a, amount: \"1\", recipient: {name: \"n\u200b\", account: \"1\"}}\n    - 5\n",
		"yaml-mapping.yaml":   "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata: {name: b}\nspec:\n  provider: p\n  currency: IDR\n  payouts: {a: 1}\n",
		"yaml-empty.yaml":     "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata: {name: b}\nspec:\n  provider: p\n  currency: IDR\n  payouts: []\n",
	}
}

func TestParseStreamedIsWhole(t *testing.T) {
	for name, data := range corpus(t) {
		sameParse(t, name, data)
	}
	for name, src := range documentCases() {
		sameParse(t, name, []byte(src))
	}
	for _, set := range []map[string]raw{{}, {"id": both("5")}, {"amount": str("1.123456789")}, {"+memo": str("x")}, {"payout": both("null")}} {
		sameParse(t, "h.json", []byte(manifest(doc.JSON, set)))
		sameParse(t, "h.yaml", []byte(manifest(doc.YAML, set)))
	}
}

// BenchmarkPayoutChecks compares the two ways of checking the 100,000
// payouts of a generated manifest, decoded once: the compiled checks
// and the JSON Schema validator over the converted tree.
func BenchmarkPayoutChecks(b *testing.B) {
	var buf bytes.Buffer
	if err := gen.Manifest(&buf, 100_000, "json", gen.Options{Seed: 1}); err != nil {
		b.Fatal(err)
	}
	root, f, errs := doc.DecodeFile("big.json", buf.Bytes(), MaxFileSize, "")
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	for _, bc := range []struct {
		name     string
		validate func(*doc.Node, doc.Format) []Violation
	}{{"compiled", ValidateManifest}, {"validator", validateManifestGeneric}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if vs := bc.validate(root, f); len(vs) > 0 {
					b.Fatal(vs[0].Msg)
				}
			}
		})
	}
}
