// Package config reads payctl.yaml: the providers payctl may pay through,
// their fee schedules, where the state lives, and the policy limits.
//
// Credentials are never in this file: a provider names the environment
// variables that hold them (keyEnv, tokenEnv, privateKeyEnv), and only
// commands that contact a provider read them, so `payctl plan` works on a
// machine with no credentials at all.
//
// Relative paths in the file (the state location) are relative to the
// directory holding payctl.yaml, not to the working directory, so a
// command run from anywhere finds the same state.
package config

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/payctl/payctl/schema"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/tabular"
)

// DefaultFile is the config file looked for in the working directory.
const DefaultFile = "payctl.yaml"

// MaxFileSize caps payctl.yaml.
const MaxFileSize = 1 << 20

// Config is a decoded, checked payctl.yaml.
type Config struct {
	File   string // path as given or found
	Dir    string // absolute directory of File
	Digest string // "sha256:<hex>" of the file's bytes

	State     State
	Providers map[string]*Provider
	Policy    Policy
	// Imports are the imports entries: how CSV and XLSX exports become
	// batches, in the order written (the first match applies).
	Imports []tabular.Import
	Notify  Notify
}

// Notify is payctl.yaml's notify: the webhooks alerts go to.
type Notify struct {
	Webhooks []Webhook
}

// Webhook is one alert receiver. Its URL is a secret, read from the
// environment variable URLEnv only when alerts are sent.
type Webhook struct {
	Name   string
	Kind   string // "json" (the default) or "slack"
	URLEnv string
	// Events are the events it receives; empty means all.
	Events []string
	Pos    diag.Pos
}

// ProviderNames returns the provider names, sorted.
func (c *Config) ProviderNames() []string {
	return slices.Sorted(maps.Keys(c.Providers))
}

// Deployment is what checking manifests needs of the config. A nil
// config gives nil: no payctl.yaml, so no provider or policy checks.
func (c *Config) Deployment() *schema.Deployment {
	if c == nil {
		return nil
	}
	d := &schema.Deployment{File: c.File, Providers: map[string]string{}, MaxPayout: c.Policy.MaxPayout, MaxPayoutLine: map[string]int{}}
	if d.File == "" {
		d.File = DefaultFile
	}
	for name, p := range c.Providers {
		d.Providers[name] = p.Type
	}
	for cur := range c.Policy.MaxPayout {
		if p := c.Policy.Pos["maxPayout."+cur]; p.IsValid() {
			d.MaxPayoutLine[cur] = p.Line
		}
	}
	return d
}

// Backends of the state.
const (
	BackendLocal    = "local"
	BackendPostgres = "postgres"
)

// State says where payctl keeps its state. In YAML it is either a path
// (local backend, no pin) or a mapping {[backend,] path | dsnEnv, name,
// lineage}.
type State struct {
	Backend string // BackendLocal (default) or BackendPostgres
	Path    string // local: absolute path of the snapshot file
	DSNEnv  string // postgres: environment variable holding the DSN
	Name    string // postgres: name of the state in the database
	// Lineage pins the state: the lineage `payctl init` printed. Commands
	// that pay refuse a state of another lineage, and a missing one. ""
	// pins nothing.
	Lineage    string
	Pos        diag.Pos
	LineagePos diag.Pos
}

// PinLine is the state line of payctl.yaml that pins lineage: what
// `payctl init` tells a person to write.
func (c *Config) PinLine(lineage string) string {
	st := c.State
	if st.Backend == BackendPostgres {
		return fmt.Sprintf("state: {backend: postgres, dsnEnv: %s, name: %s, lineage: %s}", st.DSNEnv, st.Name, lineage)
	}
	path := st.Path
	if rel, err := filepath.Rel(c.Dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		path = filepath.ToSlash(rel)
	}
	return fmt.Sprintf("state: {path: %s, lineage: %s}", path, lineage)
}

// DefaultStatePath is the local state file, beside payctl.yaml.
const DefaultStatePath = "payctl.state.json"

// Provider is one configured provider.
type Provider struct {
	Name string
	Type string // "cronos", "dinardragon", "fake"

	// BaseURL of the provider's API. Empty when Emulator is set.
	BaseURL string
	// Emulator selects the built-in emulator of the provider's type: no
	// credentials, no network; its ledger is kept beside the state.
	Emulator bool

	// Env maps a credential field to the environment variable that holds
	// it, e.g. "keyEnv" -> "CRONOS_KEY". Which fields exist depends on the
	// provider type.
	Env map[string]string

	CallbackURL string

	Fees    fee.Schedule
	FeesSet bool // false: the provider type's defaults apply

	// Concurrency is the number of payouts in flight at once (default 4).
	Concurrency int
	// RatePerSecond limits requests per second; 0 means no limit.
	RatePerSecond int
	// Timeout of one HTTP request (default 30s).
	Timeout time.Duration
	// MaxBatch caps the payouts in one provider payout of a batch provider.
	MaxBatch int
	// QuoteTolerance is how much a batch provider's quoted fee may exceed
	// the planned fee before apply refuses to execute (default 0).
	QuoteTolerance money.Amount
	// LookupGrace is how long after sending a "not found" answer to a
	// lookup is not yet trusted (the provider may still be committing).
	LookupGrace time.Duration

	// Pos holds the positions of the provider's keys, by YAML key, and ""
	// for the provider's own entry.
	Pos map[string]diag.Pos
}

// Defaults used when a provider does not set them.
const (
	DefaultConcurrency = 4
	DefaultTimeout     = 30 * time.Second
	DefaultLookupGrace = 2 * time.Minute
)

// Policy holds limits on what payctl pays.
type Policy struct {
	// MaxPayout is the largest single payout per currency; above it a
	// payout is a validation error.
	MaxPayout map[string]money.Amount
	// AutoApply limits what `payctl watch` pays without a person; nil
	// means watch never auto-applies.
	AutoApply *AutoApply
	// Approvals, when set, say which plans need signed approvals before
	// anything pays them.
	Approvals *Approvals
	Pos       map[string]diag.Pos
}

// Approvals is policy.approvals: who may approve a plan (an OpenSSH
// allowed_signers file) and how many approvals which plans need.
type Approvals struct {
	// AllowedSigners is the absolute path of the allowed_signers file.
	AllowedSigners string
	Rules          []ApprovalRule
	Pos            diag.Pos
}

// Accounts conditions of an approval rule.
const (
	// AccountsNew: the plan pays an account this state never paid
	// (changed accounts included).
	AccountsNew = "new"
	// AccountsChanged: the plan pays a recipient to an account other than
	// the ones it was paid to before.
	AccountsChanged = "changed"
)

// ApprovalRule requires Approvals distinct approvers for the plans it
// covers: every plan that pays, or (Accounts) plans paying new or changed
// accounts, or (Above) plans paying more than an amount in a currency.
type ApprovalRule struct {
	Index     int
	Approvals int
	Accounts  string
	Above     map[string]money.Amount
	Pos       diag.Pos
}

// String names the rule for messages: "policy.approvals.rules[1] (2
// approvals when a payout goes to a new or changed account)".
func (r ApprovalRule) String() string {
	n := fmt.Sprintf("%d approvals", r.Approvals)
	if r.Approvals == 1 {
		n = "1 approval"
	}
	var when string
	switch {
	case r.Accounts == AccountsNew:
		when = "when a payout goes to a new or changed account"
	case r.Accounts == AccountsChanged:
		when = "when a payout goes to a changed account"
	case len(r.Above) > 0:
		var parts []string
		for _, cur := range slices.Sorted(maps.Keys(r.Above)) {
			parts = append(parts, r.Above[cur].String()+" "+cur)
		}
		when = "when a plan pays more than " + strings.Join(parts, " or ")
	default:
		when = "for every plan that pays"
	}
	return fmt.Sprintf("policy.approvals.rules[%d] (%s %s)", r.Index, n, when)
}

// AutoApply is the policy within which watch may pay on its own.
type AutoApply struct {
	Providers     []string
	Currencies    []string
	MaxPayout     map[string]money.Amount
	MaxBatchTotal map[string]money.Amount
	Hours         *Hours
}

// Hours is a business-hours window.
type Hours struct {
	Days     []time.Weekday // empty: every day
	Start    time.Duration  // since midnight
	End      time.Duration
	Location *time.Location
}

// Contains reports whether t falls in the window.
func (h *Hours) Contains(t time.Time) bool {
	t = t.In(h.Location)
	if len(h.Days) > 0 {
		ok := false
		for _, d := range h.Days {
			if t.Weekday() == d {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	return since >= h.Start && since < h.End
}

// ImportRules are the imports entries; a nil config has none.
func (c *Config) ImportRules() []tabular.Import {
	if c == nil {
		return nil
	}
	return c.Imports
}
