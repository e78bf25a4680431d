package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
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

func load(t *testing.T, path string) *Config {
	t.Helper()
	c, errs := Load(path)
	if len(errs) > 0 {
		t.Fatalf("Load(%s): %v", path, errs)
	}
	return c
}

func amountText(a *money.Amount) string {
	if a == nil {
		return "<nil>"
	}
	return a.String()
}

func TestLoadDesignExample(t *testing.T) {
	c := load(t, "testdata/payctl.yaml")
	dir, _ := filepath.Abs("testdata")
	if c.Dir != dir || c.File != "testdata/payctl.yaml" || !strings.HasPrefix(c.Digest, "sha256:") {
		t.Errorf("file: got %q %q %q", c.File, c.Dir, c.Digest)
	}
	if want := (State{Backend: BackendLocal, Path: filepath.Join(dir, "payctl.state.json"), Pos: pos(2, 1)}); c.State != want {
		t.Errorf("state: got %+v, want %+v", c.State, want)
	}
	if got := strings.Join(c.ProviderNames(), " "); got != "idr-main usd-main" {
		t.Fatalf("providers: got %s", got)
	}
	idr := c.Providers["idr-main"]
	if idr.Type != "cronos" || idr.BaseURL != "https://api.cronosengine.com/api" || idr.Emulator ||
		idr.CallbackURL != "https://payouts.example.com/callbacks/cronos" ||
		idr.Env["keyEnv"] != "CRONOS_KEY" || idr.Env["tokenEnv"] != "CRONOS_TOKEN" || len(idr.Env) != 2 {
		t.Errorf("idr-main: got %+v", idr)
	}
	if !idr.FeesSet || amountText(idr.Fees.Fixed) != "3000" || idr.Fees.Percent != nil || idr.Fees.Payer != fee.Recipient ||
		idr.Fees.Basis != fee.PerPayout || idr.Fees.Rounding != money.HalfEven || idr.Fees.Places != -1 {
		t.Errorf("idr-main fees: got %+v", idr.Fees)
	}
	if idr.Concurrency != DefaultConcurrency || idr.Timeout != DefaultTimeout || idr.LookupGrace != DefaultLookupGrace ||
		idr.RatePerSecond != 0 || idr.MaxBatch != 0 || !idr.QuoteTolerance.IsZero() {
		t.Errorf("idr-main defaults: got %+v", idr)
	}
	if idr.Pos[""] != pos(4, 3) || idr.Pos["keyEnv"] != pos(7, 5) || idr.Pos["fees.payer"] != pos(10, 27) {
		t.Errorf("idr-main positions: got %v", idr.Pos)
	}
	usd := c.Providers["usd-main"]
	if usd.Env["privateKeyEnv"] != "DINARDRAGON_PRIVATE_KEY" || amountText(usd.Fees.Percent) != "2.5" || usd.Fees.Payer != fee.Sender {
		t.Errorf("usd-main: got %+v", usd)
	}
	if got := c.Policy.MaxPayout; len(got) != 2 || got["IDR"].String() != "500000000" || got["USD"].String() != "50000" {
		t.Errorf("maxPayout: got %v", got)
	}
	if c.Policy.Pos["maxPayout.IDR"] != pos(17, 15) || c.Policy.Pos["maxPayout.USD"] != pos(17, 33) {
		t.Errorf("policy positions: got %v", c.Policy.Pos)
	}
	aa := c.Policy.AutoApply
	if aa == nil || strings.Join(aa.Providers, ",") != "idr-main" || aa.MaxPayout["IDR"].String() != "5000000" ||
		aa.MaxBatchTotal["IDR"].String() != "250000000" || aa.Hours != nil || len(aa.Currencies) != 0 {
		t.Errorf("autoApply: got %+v", aa)
	}
}

func TestLoadEmulatorExample(t *testing.T) {
	c := load(t, "testdata/emulator.yaml")
	dir, _ := filepath.Abs("testdata")
	if want := filepath.Join(dir, "state", "emulated.state.json"); c.State.Path != want || c.State.Backend != BackendLocal {
		t.Errorf("state: got %+v, want path %s", c.State, want)
	}
	idr := c.Providers["idr-sandbox"]
	if !idr.Emulator || idr.BaseURL != "" || idr.Concurrency != 8 || idr.RatePerSecond != 20 ||
		idr.Timeout != 5*time.Second || idr.LookupGrace != 30*time.Second {
		t.Errorf("idr-sandbox: got %+v", idr)
	}
	f := idr.Fees
	if amountText(f.Fixed) != "3000" || amountText(f.Min) != "1000" || amountText(f.Max) != "5000" ||
		f.Rounding != money.HalfUp || f.Basis != fee.PerPayout || f.Places != 0 || f.Payer != fee.Sender {
		t.Errorf("idr-sandbox fees: got %+v", f)
	}
	usd := c.Providers["usd-sandbox"]
	if usd.MaxBatch != 50 || usd.QuoteTolerance.String() != "0.01" || usd.Fees.Basis != fee.PerBatch || usd.Fees.Places != 3 {
		t.Errorf("usd-sandbox: got %+v", usd)
	}
	if fk := c.Providers["local-fake"]; fk.BaseURL != "http://127.0.0.1:8080" || fk.Env["tokenEnv"] != "FAKE_TOKEN" || fk.FeesSet {
		t.Errorf("local-fake: got %+v", fk)
	}
	h := c.Policy.AutoApply.Hours
	if h == nil || h.Start != 9*time.Hour || h.End != 17*time.Hour || h.Location.String() != "Asia/Jakarta" || len(h.Days) != 5 || h.Days[0] != time.Monday {
		t.Fatalf("hours: got %+v", h)
	}
	// 09:30 in Jakarta on a Monday is 02:30 UTC.
	monday := time.Date(2026, 11, 23, 2, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{monday, true},
		{monday.Add(-time.Hour), false},                   // 08:30 Jakarta
		{monday.Add(7*time.Hour + 29*time.Minute), true},  // 16:59
		{monday.Add(7*time.Hour + 30*time.Minute), false}, // 17:00
		{monday.Add(5 * 24 * time.Hour), false},           // Saturday
	} {
		if got := h.Contains(tc.at); got != tc.want {
			t.Errorf("Contains(%s): got %v, want %v", tc.at, got, tc.want)
		}
	}
	if got := strings.Join(c.Policy.AutoApply.Currencies, ","); got != "IDR,USD" {
		t.Errorf("currencies: got %s", got)
	}
}

func TestLoadJSON(t *testing.T) {
	c := load(t, "testdata/payctl.json")
	if want := (State{Backend: BackendPostgres, DSNEnv: "PAYCTL_DSN", Name: "prod", Pos: pos(3, 3)}); c.State != want {
		t.Errorf("state: got %+v, want %+v", c.State, want)
	}
	usd := c.Providers["usd-main"]
	if usd.Env["publicKeyEnv"] != "DD_PUB" || usd.Pos["publicKeyEnv"] != pos(5, 106) {
		t.Errorf("usd-main: got %+v", usd)
	}
	if c.Policy.AutoApply != nil || len(c.Policy.MaxPayout) != 0 {
		t.Errorf("policy: got %+v, want none", c.Policy)
	}
}

// TestBrokenAllErrorsAtOnce: schema and semantic errors of one file come
// together, sorted, one per place.
func TestBrokenAllErrorsAtOnce(t *testing.T) {
	c, errs := Load("testdata/broken.yaml")
	if c != nil {
		t.Error("got a config, want nil on error")
	}
	want := `testdata/broken.yaml:4:14: providers.idr-main.baseURL "http://api.cronosengine.com/api" would send payment instructions and credentials in cleartext; use https (plain http is accepted only for localhost)
testdata/broken.yaml:5:13: providers.idr-main.keyEnv "sk_live_123" must be the name of an environment variable (upper case letters, digits and '_', not starting with a digit), never the secret itself
testdata/broken.yaml:8:17: providers.idr-main.fees.min 5000 is above fees.max 3000; no fee could satisfy both
testdata/broken.yaml:8:50: providers.idr-main.fees.payer cannot be recipient when per: batch: one batch fee cannot be split among recipients without inventing a rule; use per: payout, or payer: sender
testdata/broken.yaml:9:14: providers.idr-main.timeout "30 seconds" must be a duration such as "30s", "2m" or "1m30s" (units ns, us, ms, s, m, h)
testdata/broken.yaml:13:5: providers.usd-main.baseURL cannot be set together with emulator: true; remove baseURL to use the built-in emulator, or remove emulator to use the real API
testdata/broken.yaml:15:33: unknown currency "EUR" in policy.maxPayout; payctl pays in IDR and USD
testdata/broken.yaml:17:27: policy.autoApply.providers names unknown provider "eur-main"; configured: idr-main, usd-main
testdata/broken.yaml:18:34: policy.autoApply.hours.end 09:00 must be after start 17:00; a window cannot cross midnight
testdata/broken.yaml:18:53: policy.autoApply.hours.timezone "Asia/Jakrta" is not a known IANA time zone; use a name such as "Asia/Jakarta" or "UTC"
`
	if got := errStrings(errs); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

const base = "providers:\n  p:\n    type: fake\n"

func TestRejections(t *testing.T) {
	tests := []struct {
		name, file, src, want string
	}{
		{
			name: "cleartext baseURL",
			src:  base + "    baseURL: http://payouts.example.com\n",
			want: `c.yaml:4:14: providers.p.baseURL "http://payouts.example.com" would send payment instructions and credentials in cleartext; use https (plain http is accepted only for localhost)`,
		},
		{
			name: "http to localhost and loopback addresses is allowed",
			src:  base + "    baseURL: http://localhost:8080\n  q:\n    type: fake\n    baseURL: http://[::1]:9000/api\n",
		},
		{
			name: "credentials in the URL are never echoed",
			src:  base + "    baseURL: https://user:hunter2@api.example.com\n",
			want: `c.yaml:4:14: providers.p.baseURL "https://user:hunter2@api.example.com" must be an absolute https URL such as "https://api.example.com" (no spaces, no user:password@)`,
		},
		{
			name: "emulator together with baseURL",
			src:  base + "    emulator: true\n    baseURL: https://x.example.com\n",
			want: `c.yaml:5:5: providers.p.baseURL cannot be set together with emulator: true; remove baseURL to use the built-in emulator, or remove emulator to use the real API`,
		},
		{
			name: "neither emulator nor baseURL",
			src:  base,
			want: `c.yaml:2:3: missing required field "baseURL" in providers.p: set baseURL to the provider's API, or emulator: true for the built-in emulator`,
		},
		{
			name: "per batch with payer recipient",
			src:  base + "    emulator: true\n    fees:\n      per: batch\n      payer: recipient\n",
			want: `c.yaml:7:7: providers.p.fees.payer cannot be recipient when per: batch: one batch fee cannot be split among recipients without inventing a rule; use per: payout, or payer: sender`,
		},
		{
			name: "min above max",
			src:  base + "    emulator: true\n    fees: {min: \"10\", max: \"9.99\"}\n",
			want: `c.yaml:5:17: providers.p.fees.min 10 is above fees.max 9.99; no fee could satisfy both`,
		},
		{
			name: "negative and malformed amounts",
			src:  base + "    emulator: true\n    fees: {fixed: \"-1\", max: \"1,000\", percent: \"101\"}\n    quoteTolerance: \"1e-3\"\n",
			want: `c.yaml:5:19: providers.p.fees.fixed "-1" must not be negative
c.yaml:5:30: providers.p.fees.max "1,000" must be a plain decimal such as "3000" or "2.5": digits and an optional point, with no sign, exponent, separators, spaces or leading zeros
c.yaml:5:48: providers.p.fees.percent 101 is above 100
c.yaml:6:21: providers.p.quoteTolerance "1e-3" must be a plain decimal such as "3000" or "2.5": digits and an optional point, with no sign, exponent, separators, spaces or leading zeros`,
		},
		{
			name: "bad durations",
			src:  base + "    emulator: true\n    timeout: 0s\n    lookupGrace: 1.5.5s\n",
			want: `c.yaml:5:14: providers.p.timeout must be longer than zero, not "0s"
c.yaml:6:18: providers.p.lookupGrace "1.5.5s" must be a duration such as "30s", "2m" or "1m30s" (units ns, us, ms, s, m, h)`,
		},
		{
			name: "a whole number with a point",
			src:  base + "    emulator: true\n    concurrency: 4.0\n",
			want: `c.yaml:5:18: providers.p.concurrency must be a whole number written with digits only, such as 4, not 4.0`,
		},
		{
			name: "env var names, not values",
			src:  "providers:\n  c:\n    type: cronos\n    baseURL: https://x.example.com\n    keyEnv: SC-KRW9ESNZUUKQXOOX\n    tokenEnv: jlaVHot4XGnCqYU8FI20GHwkv6RMOT2t\n    callbackURL: https://cb.example.com\n",
			want: `c.yaml:5:13: providers.c.keyEnv "SC-KRW9ESNZUUKQXOOX" must be the name of an environment variable (upper case letters, digits and '_', not starting with a digit), never the secret itself
c.yaml:6:15: providers.c.tokenEnv "jlaVHot4XGnCqYU8FI20GHwkv6RMOT2t" must be the name of an environment variable (upper case letters, digits and '_', not starting with a digit), never the secret itself`,
		},
		{
			name: "unknown currencies in policy maps",
			src:  base + "    emulator: true\npolicy:\n  maxPayout: {EUR: \"1\", IDR: \"0\", USD: \"10.001\"}\n  autoApply:\n    providers: [p]\n    currencies: [IDR, JPY]\n    maxBatchTotal: {GBP: \"5\"}\n",
			want: `c.yaml:6:15: unknown currency "EUR" in policy.maxPayout; payctl pays in IDR and USD
c.yaml:6:30: policy.maxPayout.IDR must be greater than zero, not 0
c.yaml:6:40: policy.maxPayout.USD 10.001 has 3 decimal places; USD allows 2
c.yaml:9:23: unknown currency "JPY" in policy.autoApply.currencies; payctl pays in IDR and USD
c.yaml:10:21: unknown currency "GBP" in policy.autoApply.maxBatchTotal; payctl pays in IDR and USD`,
		},
		{
			name: "unknown provider in autoApply",
			src:  base + "    emulator: true\npolicy:\n  autoApply: {providers: [p, q]}\n",
			want: `c.yaml:6:30: policy.autoApply.providers names unknown provider "q"; configured: p`,
		},
		{
			name: "time zones",
			src:  base + "    emulator: true\npolicy:\n  autoApply:\n    providers: [p]\n    hours: {start: \"09:00\", end: \"09:00\", timezone: Local}\n",
			want: `c.yaml:8:34: policy.autoApply.hours.end 09:00 must be after start 09:00; a window cannot cross midnight
c.yaml:8:53: policy.autoApply.hours.timezone must name an IANA time zone such as "Asia/Jakarta", not Local: the window would move with the machine's settings`,
		},
		{
			name: "a window to midnight",
			src:  base + "    emulator: true\npolicy:\n  autoApply:\n    providers: [p]\n    hours: {start: \"18:00\", end: \"24:00\", timezone: UTC}\n",
		},
		{
			name: "json config with the same rules",
			file: "c.json",
			src:  `{"providers": {"p": {"type": "fake", "baseURL": "http://10.0.0.1", "fees": {"min": "2", "max": "1"}}}}`,
			want: `c.json:1:49: providers.p.baseURL "http://10.0.0.1" would send payment instructions and credentials in cleartext; use https (plain http is accepted only for localhost)
c.json:1:84: providers.p.fees.min 2 is above fees.max 1; no fee could satisfy both`,
		},
		{
			name: "approval rules without allowed signers",
			src:  base + "    emulator: true\npolicy:\n  approvals:\n    rules:\n      - approvals: 2\n",
			want: `c.yaml:7:5: policy.approvals has rules but no allowedSigners: name the OpenSSH allowed_signers file of the people who may approve, e.g. allowedSigners: allowed_signers`,
		},
		{
			name: "approval rule out of range, unknown accounts, both conditions",
			src: base + "    emulator: true\npolicy:\n  approvals:\n    allowedSigners: s\n    rules:\n      - approvals: 0\n      - {approvals: 1, accounts: old}\n" +
				"      - {approvals: 1, accounts: new, above: {USD: \"5\"}}\n",
			want: "c.yaml:9:20: policy.approvals.rules[0].approvals must be between 1 and 20, not 0\n" +
				"c.yaml:10:34: policy.approvals.rules[1].accounts must be \"new\" (a new or changed account) or \"changed\" (a changed account only), not \"old\"\n" +
				"c.yaml:11:7: policy.approvals.rules[2] sets both accounts and above; write two rules (a plan needs the most approvals any of its rules asks)",
		},
		{
			name: "unsupported extension",
			file: "payctl.conf",
			src:  base,
			want: `payctl.conf: unsupported file extension ".conf"; the config is a .yaml, .yml or .json file`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "c.yaml"
			}
			c, errs := Parse(file, []byte(tt.src))
			got := strings.TrimSuffix(errStrings(errs), "\n")
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if (c == nil) != (tt.want != "") {
				t.Errorf("got config %v with errors %q", c != nil, got)
			}
		})
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	if _, err := Find(dir); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty dir: got %v, want ErrNotFound", err)
	}
	p := filepath.Join(dir, DefaultFile)
	if err := os.WriteFile(p, []byte(base+"    emulator: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Find(dir)
	if err != nil || got != p {
		t.Errorf("got %q, %v; want %q", got, err, p)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(sub); !errors.Is(err, ErrNotFound) {
		t.Errorf("subdirectory: got %v, want ErrNotFound (parents are not searched)", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, errs := Load(filepath.Join(t.TempDir(), "payctl.yaml"))
	if len(errs) != 1 || !strings.HasSuffix(errs[0].Error(), "payctl.yaml: no such file or directory") {
		t.Errorf("got %v", errs)
	}
}

func TestLoadSizeCap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "payctl.yaml")
	data := []byte(base + "    emulator: true\n" + strings.Repeat("#", MaxFileSize))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs := Load(p)
	if len(errs) != 1 || errs[0].Error() != p+": file is larger than the 1 MiB limit" {
		t.Errorf("got %v", errs)
	}
}

func TestStateLineage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, state string
		want        State
		wantErr     string
	}{
		{name: "plain path pins nothing", state: "state: s.json",
			want: State{Backend: BackendLocal, Path: filepath.Join(dir, "s.json")}},
		{name: "path and lineage", state: "state: {path: s.json, lineage: 0b9e6c2a-3f4d-4c1e-9a7b-2d5e8f1a6c3b}",
			want: State{Backend: BackendLocal, Path: filepath.Join(dir, "s.json"), Lineage: "0b9e6c2a-3f4d-4c1e-9a7b-2d5e8f1a6c3b"}},
		{name: "postgres with lineage", state: "state: {backend: postgres, dsnEnv: PG_DSN, name: payouts, lineage: 0b9e6c2a-3f4d-4c1e-9a7b-2d5e8f1a6c3b}",
			want: State{Backend: BackendPostgres, DSNEnv: "PG_DSN", Name: "payouts", Lineage: "0b9e6c2a-3f4d-4c1e-9a7b-2d5e8f1a6c3b"}},
		{name: "not a lineage", state: "state: {path: s.json, lineage: yesterday}", wantErr: "must be a state lineage as `payctl init` prints it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "payctl.yaml")
			src := tt.state + "\nproviders:\n  p:\n    type: fake\n    emulator: true\n"
			if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			c, errs := Load(path)
			if tt.wantErr != "" {
				if got := errStrings(errs); !strings.Contains(got, tt.wantErr) {
					t.Fatalf("got errors %q, want %q", got, tt.wantErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("Load: %v", errs)
			}
			got := c.State
			got.Pos, got.LineagePos = diag.Pos{}, diag.Pos{}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if tt.want.Lineage != "" {
				if line := c.PinLine(tt.want.Lineage); !strings.HasSuffix(line, "lineage: "+tt.want.Lineage+"}") || !strings.HasPrefix(line, "state: {") {
					t.Errorf("PinLine: got %q", line)
				}
			}
		})
	}
}

func TestApprovals(t *testing.T) {
	src := base + "    emulator: true\npolicy:\n  approvals:\n    allowedSigners: keys/allowed_signers\n    rules:\n      - approvals: 2\n      - {approvals: 3, accounts: changed}\n      - {approvals: 4, above: {USD: \"10000\", IDR: \"5000000\"}}\n"
	c, errs := Parse("dir/c.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	a := c.Policy.Approvals
	if want, _ := filepath.Abs("dir/keys/allowed_signers"); a.AllowedSigners != want {
		t.Errorf("allowedSigners %s, want %s", a.AllowedSigners, want)
	}
	var got []string
	for _, r := range a.Rules {
		got = append(got, r.String())
	}
	want := []string{
		"policy.approvals.rules[0] (2 approvals for every plan that pays)",
		"policy.approvals.rules[1] (3 approvals when a payout goes to a changed account)",
		"policy.approvals.rules[2] (4 approvals when a plan pays more than 5000000 IDR or 10000 USD)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
