package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	// Time zones are read from the binary's own copy, so a policy that
	// names Asia/Jakarta means the same on a minimal container without
	// /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/tabular"
	"github.com/payctl/payctl/schema"
)

// ErrNotFound is returned by Find when the directory has no payctl.yaml.
var ErrNotFound = errors.New("no " + DefaultFile + " found")

// Find returns the path of payctl.yaml in dir. It looks in dir only, not
// in its parents: which config (and so which state) a command uses must
// not depend on where in a tree it happens to run.
func Find(dir string) (string, error) {
	p := filepath.Join(dir, DefaultFile)
	st, err := os.Stat(p)
	if err != nil {
		if os.IsNotExist(err) {
			return "", fmt.Errorf("%w in %s: create one, or name one with -config", ErrNotFound, dir)
		}
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	return p, nil
}

// Load reads and checks a config file (YAML, or JSON when it ends in
// .json). It returns nil and every error found when anything is wrong.
func Load(path string) (*Config, diag.List) {
	data, e := doc.ReadFile(path, MaxFileSize)
	if e != nil {
		return nil, diag.List{e}
	}
	return Parse(path, data)
}

// Parse is Load for bytes already read; file names them in errors and
// anchors relative paths (its directory is the config's directory).
//
// Defaults applied: state payctl.state.json beside the file; per
// provider concurrency 4, timeout 30s, lookupGrace 2m, quoteTolerance 0,
// maxBatch 0 (the provider type's own limit); a fee schedule's payer
// sender, per payout, rounding half-even, places -1 (the currency's scale
// or the provider type's default, resolved by the caller). FeesSet is
// true when the provider has a fees mapping at all: an empty one means
// no fee.
//
// Positions are those of keys: Provider.Pos by key, "fees.<key>" for the
// keys of its fee schedule and "" for the provider's name; Policy.Pos by
// dotted path below policy ("maxPayout", "maxPayout.IDR",
// "autoApply.maxBatchTotal.IDR", "autoApply.hours.start") and "" for
// policy itself.
func Parse(file string, data []byte) (*Config, diag.List) {
	root, f, errs := doc.DecodeFile(file, data, MaxFileSize, "the config is a .yaml, .yml or .json file")
	if len(errs) > 0 {
		return nil, errs
	}
	errs = schema.Errors(file, schema.ValidateConfig(root, f))
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		errs.Add(file, diag.Pos{}, "cannot resolve the config's directory: %v", err)
		return nil, errs
	}
	c := &Config{File: file, Dir: dir, Digest: doc.Digest(data)}
	fl := &filler{file: file}
	c.fill(root, fl)
	// The semantic checks run even when the schema failed, so that one
	// run shows everything; they only speak where the schema was silent.
	said := make(map[diag.Pos]bool, len(errs))
	for _, e := range errs {
		said[e.Pos] = true
	}
	for _, e := range fl.errs {
		if !said[e.Pos] {
			errs = append(errs, e)
			said[e.Pos] = true
		}
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	return c, nil
}

// filler reads the tree into a Config. It is defensive about shapes,
// since it also runs on trees the schema rejected, and reports only what
// the schema cannot express.
type filler struct {
	file string
	errs diag.List
}

func (fl *filler) add(pos diag.Pos, format string, args ...any) {
	fl.errs.Add(fl.file, pos, format, args...)
}

func str(n *doc.Node) (string, bool) {
	if n != nil && n.Kind == doc.String {
		return n.Text, true
	}
	return "", false
}

func (c *Config) fill(root *doc.Node, fl *filler) {
	c.State = State{Backend: BackendLocal, Path: filepath.Join(c.Dir, DefaultStatePath)}
	if st := root.Field("state"); st != nil {
		c.State.Pos = st.KeyPos()
		switch st.Kind {
		case doc.String:
			c.State.Path = c.abs(st.Text)
		case doc.Mapping:
			if l := st.Field("lineage"); l != nil {
				c.State.Lineage, _ = str(l)
				c.State.LineagePos = l.KeyPos()
			}
			switch backend, _ := str(st.Field("backend")); backend {
			case "", BackendLocal:
				if p, ok := str(st.Field("path")); ok && p != "" {
					c.State.Path = c.abs(p)
				}
			case BackendPostgres:
				c.State.Backend, c.State.Path = BackendPostgres, ""
				c.State.DSNEnv, _ = str(st.Field("dsnEnv"))
				c.State.Name, _ = str(st.Field("name"))
			}
		}
	}
	c.Providers = map[string]*Provider{}
	if ps := root.Field("providers"); ps != nil && ps.Kind == doc.Mapping {
		for i := range ps.Kids {
			k := &ps.Kids[i]
			c.Providers[k.Key] = fl.provider(k)
		}
	}
	c.Policy = fl.policy(root.Field("policy"), c)
	c.Notify = fl.notify(root.Field("notify"))
	if im := root.Field("imports"); im != nil && im.Kind == doc.Sequence {
		for i := range im.Kids {
			if imp, ok := fl.importEntry(&im.Kids[i], c); ok {
				c.Imports = append(c.Imports, imp)
			}
		}
	}
}

// importEntry reads one imports entry.
func (fl *filler) importEntry(n *doc.Node, c *Config) (tabular.Import, bool) {
	imp := tabular.Import{Pos: n.Pos(), Columns: map[string]string{}}
	if n.Kind != doc.Mapping {
		return imp, false
	}
	pos := map[string]diag.Pos{}
	for i := range n.Kids {
		k := &n.Kids[i]
		pos[k.Key] = k.Pos()
		switch k.Key {
		case "match":
			imp.Match, _ = str(k)
		case "provider":
			imp.Provider, _ = str(k)
			if _, ok := c.Providers[imp.Provider]; imp.Provider != "" && !ok {
				fl.add(k.Pos(), "imports: unknown provider %q; payctl.yaml configures %s", imp.Provider, strings.Join(c.ProviderNames(), ", "))
			}
		case "currency":
			imp.Currency, _ = str(k)
		case "batch":
			imp.Batch, _ = str(k)
		case "description":
			imp.Description, _ = str(k)
		case "sheet":
			imp.Sheet, _ = str(k)
		case "skipRows":
			if k.Kind == doc.Number {
				imp.SkipRows, _ = strconv.Atoi(k.Text)
			}
		case "columns":
			for j := range k.Kids {
				if v, ok := str(&k.Kids[j]); ok {
					imp.Columns[k.Kids[j].Key] = v
					pos["columns."+k.Kids[j].Key] = k.Kids[j].Pos()
				}
			}
		case "ignore":
			for j := range k.Kids {
				if v, ok := str(&k.Kids[j]); ok {
					imp.Ignore = append(imp.Ignore, v)
				}
			}
		}
	}
	for _, p := range tabular.CheckImport(&imp) {
		at, ok := pos[p.Field]
		if !ok {
			at = n.Pos()
		}
		fl.add(at, "imports: %s", p.Msg)
	}
	return imp, true
}

// notify reads notify.webhooks; the schema checks the shapes.
func (fl *filler) notify(n *doc.Node) Notify {
	var out Notify
	if n == nil {
		return out
	}
	hooks := n.Field("webhooks")
	if hooks == nil {
		return out
	}
	seen := map[string]bool{}
	for i := range hooks.Kids {
		item := &hooks.Kids[i]
		h := Webhook{Kind: "json", Pos: item.Pos()}
		h.Name, _ = str(item.Field("name"))
		if k, ok := str(item.Field("kind")); ok {
			h.Kind = k
		}
		h.URLEnv, _ = str(item.Field("urlEnv"))
		if ev := item.Field("events"); ev != nil {
			for j := range ev.Kids {
				if s, ok := str(&ev.Kids[j]); ok {
					h.Events = append(h.Events, s)
				}
			}
		}
		if h.Name != "" && seen[h.Name] {
			fl.add(item.Field("name").Pos(), "notify.webhooks: two webhooks are named %q; give each its own name (logs name webhooks by it)", h.Name)
		}
		seen[h.Name] = true
		out.Webhooks = append(out.Webhooks, h)
	}
	return out
}

func (c *Config) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.Dir, p)
}

func (fl *filler) provider(n *doc.Node) *Provider {
	p := &Provider{
		Name:        n.Key,
		Env:         map[string]string{},
		Concurrency: DefaultConcurrency,
		Timeout:     DefaultTimeout,
		LookupGrace: DefaultLookupGrace,
		Fees:        defaultFees,
		Pos:         map[string]diag.Pos{"": n.KeyPos()},
	}
	label := "providers." + n.Key
	for i := range n.Kids {
		k := &n.Kids[i]
		p.Pos[k.Key] = k.KeyPos()
		field := label + "." + k.Key
		switch k.Key {
		case "type":
			p.Type, _ = str(k)
		case "baseURL":
			p.BaseURL, _ = str(k)
			fl.baseURL(k, field)
		case "emulator":
			p.Emulator = k.Kind == doc.Bool && strings.EqualFold(k.Text, "true")
		case "keyEnv", "tokenEnv", "privateKeyEnv", "publicKeyEnv":
			if s, ok := str(k); ok {
				p.Env[k.Key] = s
			}
		case "callbackURL":
			p.CallbackURL, _ = str(k)
			fl.url(k, field)
		case "fees":
			if k.Kind == doc.Mapping {
				p.Fees, p.FeesSet = fl.fees(k, field, p.Pos), true
			}
		case "concurrency":
			p.Concurrency = fl.integer(k, field, p.Concurrency)
		case "ratePerSecond":
			p.RatePerSecond = fl.integer(k, field, 0)
		case "maxBatch":
			p.MaxBatch = fl.integer(k, field, 0)
		case "timeout":
			p.Timeout = fl.duration(k, field, p.Timeout, false)
		case "lookupGrace":
			p.LookupGrace = fl.duration(k, field, p.LookupGrace, true)
		case "quoteTolerance":
			if a, ok := fl.amount(k, field); ok {
				p.QuoteTolerance = a
			}
		}
	}
	return p
}

// baseURL refuses cleartext: payment instructions and credentials travel
// to this URL, so plain http is accepted only for the loopback interface
// (an emulator or a test server on this machine).
func (fl *filler) baseURL(n *doc.Node, field string) {
	u, ok := fl.url(n, field)
	if !ok {
		return
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		fl.add(n.Pos(), "%s %q would send payment instructions and credentials in cleartext; use https (plain http is accepted only for localhost)", field, n.Text)
	}
}

func (fl *filler) url(n *doc.Node, field string) (*url.URL, bool) {
	s, ok := str(n)
	if !ok {
		return nil, false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		fl.add(n.Pos(), "%s %q is not an absolute http or https URL", field, s)
		return nil, false
	}
	if u.User != nil {
		// Never echo the URL: it holds a credential.
		fl.add(n.Pos(), "%s must not carry a user or password; credentials belong in environment variables", field)
		return nil, false
	}
	return u, true
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (fl *filler) integer(n *doc.Node, field string, def int) int {
	if n.Kind != doc.Number {
		return def
	}
	v, err := strconv.Atoi(n.Text)
	if err != nil || v < 0 {
		fl.add(n.Pos(), "%s must be a whole number written with digits only, such as 4, not %s", field, n.Text)
		return def
	}
	return v
}

func (fl *filler) duration(n *doc.Node, field string, def time.Duration, zeroOK bool) time.Duration {
	s, ok := str(n)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		fl.add(n.Pos(), "%s %q is not a duration; write one such as \"30s\", \"2m\" or \"1m30s\"", field, s)
		return def
	case d < 0 || (d == 0 && !zeroOK):
		fl.add(n.Pos(), "%s must be longer than zero, not %q", field, s)
		return def
	}
	return d
}

// amount reads a decimal string; the schema has checked its spelling.
func (fl *filler) amount(n *doc.Node, field string) (money.Amount, bool) {
	s, ok := str(n)
	if !ok {
		return money.Amount{}, false
	}
	a, err := money.Parse(s)
	if err != nil {
		fl.add(n.Pos(), "%s %q must be a plain decimal such as \"3000\" or \"2.5\"", field, s)
		return money.Amount{}, false
	}
	return a, true
}

// defaultFees is what a fees block leaves unset: the sender pays, per
// payout, rounded half-even to the currency's places (-1).
var defaultFees = fee.Schedule{Payer: fee.Sender, Basis: fee.PerPayout, Rounding: money.HalfEven, Places: -1}

func (fl *filler) fees(n *doc.Node, label string, pos map[string]diag.Pos) fee.Schedule {
	s := defaultFees
	var minNode, maxNode *doc.Node
	for i := range n.Kids {
		k := &n.Kids[i]
		pos["fees."+k.Key] = k.KeyPos()
		field := label + "." + k.Key
		switch k.Key {
		case "percent", "fixed", "min", "max":
			a, ok := fl.amount(k, field)
			if !ok {
				continue
			}
			switch k.Key {
			case "percent":
				if a.Cmp(money.FromInt64(100)) > 0 {
					fl.add(k.Pos(), "%s %s is above 100", field, k.Text)
				}
				s.Percent = &a
			case "fixed":
				s.Fixed = &a
			case "min":
				s.Min, minNode = &a, k
			case "max":
				s.Max, maxNode = &a, k
			}
		case "payer":
			if t, _ := str(k); t == string(fee.Recipient) {
				s.Payer = fee.Recipient
			}
		case "per":
			if t, _ := str(k); t == string(fee.PerBatch) {
				s.Basis = fee.PerBatch
			}
		case "rounding":
			if t, ok := str(k); ok {
				if r, err := money.ParseRounding(t); err == nil {
					s.Rounding = r
				}
			}
		case "places":
			if v := fl.integer(k, field, -1); v >= 0 && v <= 6 {
				s.Places = int32(v)
			}
		}
	}
	if s.Min != nil && s.Max != nil && s.Min.Cmp(*s.Max) > 0 {
		fl.add(minNode.Pos(), "%s.min %s is above fees.max %s; no fee could satisfy both", label, minNode.Text, maxNode.Text)
	}
	return s
}

func (fl *filler) policy(n *doc.Node, c *Config) Policy {
	pol := Policy{MaxPayout: map[string]money.Amount{}, Pos: map[string]diag.Pos{}}
	if n == nil || n.Kind != doc.Mapping {
		return pol
	}
	pol.Pos[""] = n.KeyPos()
	for i := range n.Kids {
		k := &n.Kids[i]
		pol.Pos[k.Key] = k.KeyPos()
		switch k.Key {
		case "maxPayout":
			pol.MaxPayout = fl.amounts(k, "policy.maxPayout", pol.Pos, "maxPayout")
		case "autoApply":
			if k.Kind == doc.Mapping {
				pol.AutoApply = fl.autoApply(k, c, pol.Pos)
			}
		case "approvals":
			if k.Kind == doc.Mapping {
				pol.Approvals = fl.approvals(k, c, pol.Pos)
			}
		}
	}
	return pol
}

// maxApprovals bounds an approval rule: more approvers than this is a typo.
const maxApprovals = 20

func (fl *filler) approvals(n *doc.Node, c *Config, pos map[string]diag.Pos) *Approvals {
	a := &Approvals{Pos: n.KeyPos()}
	var rules *doc.Node
	for i := range n.Kids {
		k := &n.Kids[i]
		pos["approvals."+k.Key] = k.KeyPos()
		switch k.Key {
		case "allowedSigners":
			if p, ok := str(k); ok && p != "" {
				if !filepath.IsAbs(p) {
					p = filepath.Join(c.Dir, p)
				}
				a.AllowedSigners = filepath.Clean(p)
			}
		case "rules":
			rules = k
			for j := range k.Kids {
				r := &k.Kids[j]
				if r.Kind != doc.Mapping {
					continue
				}
				rule := ApprovalRule{Index: j, Pos: r.Pos(), Approvals: 1}
				label := fmt.Sprintf("policy.approvals.rules[%d]", j)
				for m := range r.Kids {
					f := &r.Kids[m]
					switch f.Key {
					case "approvals":
						if v := fl.integer(f, label+".approvals", -1); v >= 0 {
							if v < 1 || v > maxApprovals {
								fl.add(f.Pos(), "%s.approvals must be between 1 and %d, not %d", label, maxApprovals, v)
							}
							rule.Approvals = v
						}
					case "accounts":
						if v, ok := str(f); ok {
							if v != AccountsNew && v != AccountsChanged {
								fl.add(f.Pos(), "%s.accounts must be %q (a new or changed account) or %q (a changed account only), not %q", label, AccountsNew, AccountsChanged, v)
							}
							rule.Accounts = v
						}
					case "above":
						rule.Above = fl.amounts(f, label+".above", pos, fmt.Sprintf("approvals.rules.%d.above", j))
					}
				}
				if rule.Accounts != "" && rule.Above != nil {
					fl.add(r.Pos(), "%s sets both accounts and above; write two rules (a plan needs the most approvals any of its rules asks)", label)
				}
				a.Rules = append(a.Rules, rule)
			}
		}
	}
	if len(a.Rules) > 0 && a.AllowedSigners == "" {
		p := n.KeyPos()
		if rules != nil {
			p = rules.KeyPos()
		}
		fl.add(p, "policy.approvals has rules but no allowedSigners: name the OpenSSH allowed_signers file of the people who may approve, e.g. allowedSigners: allowed_signers")
	}
	return a
}

// amounts reads a per-currency map of limits. Limits are positive and
// have no more places than the currency.
func (fl *filler) amounts(n *doc.Node, label string, pos map[string]diag.Pos, prefix string) map[string]money.Amount {
	out := map[string]money.Amount{}
	if n.Kind != doc.Mapping {
		return out
	}
	for i := range n.Kids {
		k := &n.Kids[i]
		pos[prefix+"."+k.Key] = k.KeyPos()
		cur, ok := money.LookupCurrency(k.Key)
		if !ok {
			if isCurrencyCode(k.Key) {
				fl.add(k.KeyPos(), "unknown currency %q in %s; payctl pays in %s", k.Key, label, strings.Join(money.CurrencyCodes(), " and "))
			}
			continue
		}
		field := label + "." + k.Key
		a, ok := fl.amount(k, field)
		if !ok {
			continue
		}
		switch {
		case a.Places() > cur.Scale:
			fl.add(k.Pos(), "%s %s has %d decimal places; %s allows %d", field, k.Text, a.Places(), cur.Code, cur.Scale)
		case a.Sign() <= 0:
			fl.add(k.Pos(), "%s must be greater than zero, not %s", field, k.Text)
		default:
			out[k.Key] = a
		}
	}
	return out
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func (fl *filler) autoApply(n *doc.Node, c *Config, pos map[string]diag.Pos) *AutoApply {
	a := &AutoApply{MaxPayout: map[string]money.Amount{}, MaxBatchTotal: map[string]money.Amount{}}
	for i := range n.Kids {
		k := &n.Kids[i]
		pos["autoApply."+k.Key] = k.KeyPos()
		switch k.Key {
		case "providers":
			for j := range k.Kids {
				item := &k.Kids[j]
				name, ok := str(item)
				if !ok {
					continue
				}
				if _, known := c.Providers[name]; !known {
					fl.add(item.Pos(), "policy.autoApply.providers names unknown provider %q; configured: %s", name, strings.Join(c.ProviderNames(), ", "))
					continue
				}
				a.Providers = append(a.Providers, name)
			}
		case "currencies":
			for j := range k.Kids {
				item := &k.Kids[j]
				code, ok := str(item)
				if !ok {
					continue
				}
				if _, known := money.LookupCurrency(code); !known {
					if isCurrencyCode(code) {
						fl.add(item.Pos(), "unknown currency %q in policy.autoApply.currencies; payctl pays in %s", code, strings.Join(money.CurrencyCodes(), " and "))
					}
					continue
				}
				a.Currencies = append(a.Currencies, code)
			}
		case "maxPayout":
			a.MaxPayout = fl.amounts(k, "policy.autoApply.maxPayout", pos, "autoApply.maxPayout")
		case "maxBatchTotal":
			a.MaxBatchTotal = fl.amounts(k, "policy.autoApply.maxBatchTotal", pos, "autoApply.maxBatchTotal")
		case "hours":
			if k.Kind == doc.Mapping {
				a.Hours = fl.hours(k, pos)
			}
		}
	}
	return a
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (fl *filler) hours(n *doc.Node, pos map[string]diag.Pos) *Hours {
	h := &Hours{Location: time.UTC}
	const label = "policy.autoApply.hours"
	var start, end *doc.Node
	for i := range n.Kids {
		k := &n.Kids[i]
		pos["autoApply.hours."+k.Key] = k.KeyPos()
		switch k.Key {
		case "days":
			for j := range k.Kids {
				if d, ok := weekdays[k.Kids[j].Text]; ok && k.Kids[j].Kind == doc.String {
					h.Days = append(h.Days, d)
				}
			}
		case "start":
			if d, ok := clock(k); ok {
				h.Start, start = d, k
			}
		case "end":
			if d, ok := clock(k); ok {
				h.End, end = d, k
			}
		case "timezone":
			name, ok := str(k)
			if !ok || name == "" {
				continue
			}
			if name == "Local" {
				fl.add(k.Pos(), "%s.timezone must name an IANA time zone such as \"Asia/Jakarta\", not Local: the window would move with the machine's settings", label)
				continue
			}
			loc, err := time.LoadLocation(name)
			if err != nil {
				fl.add(k.Pos(), "%s.timezone %q is not a known IANA time zone; use a name such as \"Asia/Jakarta\" or \"UTC\"", label, name)
				continue
			}
			h.Location = loc
		}
	}
	if start != nil && end != nil && h.End <= h.Start {
		fl.add(end.Pos(), "%s.end %s must be after start %s; a window cannot cross midnight", label, end.Text, start.Text)
	}
	return h
}

// clock reads "HH:MM" (the schema has checked the spelling).
func clock(n *doc.Node) (time.Duration, bool) {
	s, ok := str(n)
	if !ok || len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	hh, err1 := strconv.Atoi(s[:2])
	mm, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
}
