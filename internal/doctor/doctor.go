// Package doctor checks a payctl deployment before it pays: the config and
// the credentials it names (present, never their values), the state
// directory (permissions, filesystem, how long an fsync takes), and whether
// each provider answers.
//
// A check fails when payctl would refuse to run or could lose a record
// (a network or FUSE filesystem under a local state, where flock and fsync
// may not mean what payctl relies on); it warns when payctl would run
// poorly (fsyncs over 2 ms) or something looks off (a state directory others
// can read).
package doctor

import (
	"context"
	"errors"
	"fmt"
	"github.com/payctl/payctl/internal/gitstate"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/sshsig"
	"github.com/payctl/payctl/providers"
)

// Level is a check's outcome.
type Level string

// The outcomes.
const (
	OK   Level = "ok"
	Warn Level = "warn"
	Fail Level = "fail"
	Skip Level = "skip"
)

// Check is one result.
type Check struct {
	Name   string `json:"name"`
	Level  Level  `json:"level"`
	Detail string `json:"detail"`
	// Hint says what to do, for warnings and failures.
	Hint string `json:"hint,omitempty"`
}

// Options are what Run needs from its caller.
type Options struct {
	Config *config.Config
	Getenv func(string) string
	// Credentials lists, by provider name, the config fields naming
	// environment variables and whether each is optional.
	Credentials func(provider string) []providers.Credential
	// HTTP is used for reachability; nil means a client with a 10 s timeout.
	HTTP *http.Client
	// FsyncSamples is how many fsyncs to time (default 50).
	FsyncSamples int
	// Identity reads the state's lineage ("" for no state) and serial;
	// nil skips the check.
	Identity func(ctx context.Context) (lineage string, serial uint64, err error)
	// Location names the state in messages.
	Location string
	// NeedsPin names the providers that cannot look a payout up by
	// payctl's key: with any, paying needs the lineage pinned.
	NeedsPin []string
	// Now is the time signers' validity is checked at (nil: time.Now).
	Now func() time.Time
	// Open opens a provider as apply does, to read its balance; nil
	// skips the balance checks.
	Open func(name string) (providers.Provider, error)
	// Currency is the currency a provider pays in, for messages.
	Currency func(name string) string
}

// identityCheck reports the state's lineage and serial, and whether
// payctl.yaml pins that lineage.
func identityCheck(ctx context.Context, o Options) Check {
	c := Check{Name: "state identity"}
	cfg := o.Config
	pin := cfg.State.Lineage
	lineage, serial, err := o.Identity(ctx)
	switch {
	case err != nil:
		c.Level, c.Detail = Fail, err.Error()
	case lineage == "" && pin != "":
		c.Level, c.Detail = Fail, fmt.Sprintf("no state at %s, but %s pins lineage %s", o.Location, cfg.File, pin)
		c.Hint = "restore the state of that lineage before paying; apply refuses to start a new one"
	case lineage == "":
		c.Level, c.Detail = Warn, fmt.Sprintf("no state yet at %s", o.Location)
		c.Hint = "run `payctl init`, then pin the lineage it prints in " + cfg.File
	case pin == "":
		c.Level, c.Detail = Warn, fmt.Sprintf("%s: lineage %s, serial %d; %s does not pin it", o.Location, lineage, serial, cfg.File)
		c.Hint = "pin it with: " + cfg.PinLine(lineage)
		if len(o.NeedsPin) > 0 {
			c.Level = Fail
			c.Hint = fmt.Sprintf("%s cannot look a payout up by payctl's key, so apply refuses an unpinned state; check that this is the latest state, then pin it with: %s", strings.Join(o.NeedsPin, ", "), cfg.PinLine(lineage))
		}
	case pin != lineage:
		c.Level, c.Detail = Fail, fmt.Sprintf("%s: lineage %s, serial %d; %s pins lineage %s", o.Location, lineage, serial, cfg.File, pin)
		c.Hint = "this is another state than the one the config pays from: restore the state of lineage " + pin
	default:
		c.Level, c.Detail = OK, fmt.Sprintf("%s: lineage %s, serial %d; pinned by %s", o.Location, lineage, serial, cfg.File)
	}
	return c
}

// gitCheck reports a local state kept in git whose files have uncommitted
// changes, or whose checkout is behind its upstream as of the last fetch:
// the next runner would start from an older state. ok is false when git is
// not installed or the state is not in a git work tree.
func gitCheck(ctx context.Context, statePath string) (Check, bool) {
	g := gitstate.Of(ctx, statePath)
	if !g.InWorkTree {
		return Check{}, false
	}
	base := filepath.Base(statePath)
	c := Check{Name: "state in git"}
	switch {
	case !g.Tracked:
		c.Level, c.Detail = Skip, base+" is not committed to git"
	case g.Uncommitted:
		c.Level, c.Detail = Warn, base+" has changes not committed to git"
		c.Hint = "commit the state with its journal after every apply, so that the next runner starts from it"
	case g.Behind > 0:
		c.Level, c.Detail = Warn, fmt.Sprintf("the checkout is %d commits behind its upstream for the state (as of the last fetch): the state is stale", g.Behind)
		c.Hint = "pull before paying: apply refuses an older state, which would pay again what a newer one recorded"
	default:
		c.Level, c.Detail = OK, base+" is committed and the checkout is not behind its upstream (as of the last fetch)"
	}
	return c, true
}

// FsyncWarn is the fsync latency above which doctor warns: each payout
// waits for about one fsync, so it bounds the payouts per second of one
// worker.
const FsyncWarn = 2 * time.Millisecond

// Run runs every check.
func Run(ctx context.Context, o Options) []Check {
	var out []Check
	add := func(c Check) { out = append(out, c) }
	cfg := o.Config
	add(Check{Name: "config", Level: OK, Detail: fmt.Sprintf("%s: %d providers", cfg.File, len(cfg.Providers))})
	names := cfg.ProviderNames()
	for _, n := range names {
		for _, c := range credentialChecks(n, cfg.Providers[n], o) {
			add(c)
		}
	}
	if cfg.State.Backend == config.BackendPostgres {
		v := cfg.State.DSNEnv
		if o.Getenv(v) == "" {
			add(Check{Name: "state", Level: Fail, Detail: fmt.Sprintf("postgres state %s: %s is not set", cfg.State.Name, v), Hint: "set " + v + " to the database's connection string"})
		} else {
			add(Check{Name: "state", Level: OK, Detail: fmt.Sprintf("postgres state %s: %s is set", cfg.State.Name, v)})
		}
	} else {
		out = append(out, stateDirChecks(cfg.State.Path, o.FsyncSamples)...)
		if c, ok := gitCheck(ctx, cfg.State.Path); ok {
			add(c)
		}
	}
	if o.Identity != nil {
		add(identityCheck(ctx, o))
	}
	if a := cfg.Policy.Approvals; a != nil && a.AllowedSigners != "" {
		add(approvalsCheck(a, o.Now))
	}
	hc := o.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	for _, n := range names {
		add(reach(ctx, hc, n, cfg.Providers[n]))
	}
	if o.Open != nil {
		for _, n := range names {
			add(balanceCheck(ctx, n, o))
		}
	}
	return out
}

// balanceTimeout bounds one balance request.
const balanceTimeout = 10 * time.Second

// balanceCheck reads a provider's balance, as apply does before it sends
// anything (apply refuses a run the balance does not cover, and one whose
// balance it cannot read).
func balanceCheck(ctx context.Context, name string, o Options) Check {
	c := Check{Name: "balance " + name}
	if p := o.Config.Providers[name]; p != nil && p.Emulator {
		// Starting an emulator replays and rewrites its ledger: doctor
		// changes no file.
		c.Level, c.Detail = Skip, "built-in emulator: balance not read"
		return c
	}
	pv, err := o.Open(name)
	if err != nil {
		c.Level, c.Detail = Skip, "not read: "+err.Error()
		return c
	}
	br, ok := pv.(providers.BalanceReader)
	if !ok {
		c.Level, c.Detail = Skip, pv.Type()+" publishes no balance endpoint; apply cannot check it before paying (see the provider's dashboard)"
		return c
	}
	cctx, cancel := context.WithTimeout(ctx, balanceTimeout)
	defer cancel()
	b, err := br.Balance(cctx)
	if err != nil {
		c.Level, c.Detail = Fail, "not read: "+err.Error()
		c.Hint = "apply refuses to pay without reading the balance; `payctl apply -ignore-balance` pays without the check"
		return c
	}
	cur := ""
	if o.Currency != nil {
		cur = " " + o.Currency(name)
	}
	c.Level, c.Detail = OK, "available "+b.Available.String()+cur
	if b.Pending != nil {
		c.Detail += ", pending " + b.Pending.String() + cur
	}
	if b.Total != nil {
		c.Detail += ", total " + b.Total.String() + cur
	}
	return c
}

func credentialChecks(name string, p *config.Provider, o Options) []Check {
	if p.Emulator {
		return []Check{{Name: "credentials " + name, Level: Skip, Detail: "built-in emulator: no credentials"}}
	}
	var out []Check
	var creds []providers.Credential
	if o.Credentials != nil {
		creds = o.Credentials(name)
	}
	for _, c := range creds {
		v := p.Env[c.Field]
		switch {
		case v == "" && c.Optional:
			continue
		case v == "":
			out = append(out, Check{Name: "credentials " + name, Level: Fail, Detail: c.Field + " is not set in " + "payctl.yaml", Hint: "name the environment variable that holds it"})
		case o.Getenv(v) == "":
			out = append(out, Check{Name: "credentials " + name, Level: Fail, Detail: fmt.Sprintf("%s (%s) is not set in the environment", v, c.Field), Hint: "export " + v + " where payctl runs; payctl never reads credentials from files it writes"})
		default:
			out = append(out, Check{Name: "credentials " + name, Level: OK, Detail: fmt.Sprintf("%s (%s) is set", v, c.Field)})
		}
	}
	return out
}

// Filesystems payctl refuses under a local state: their locks and fsyncs
// are not the ones a local disk gives. Values of statfs f_type.
var refused = map[int64]string{
	0x6969:     "NFS",
	0x517B:     "SMB",
	0xFF534D42: "CIFS",
	0xFE534D42: "SMB2",
	0x65735546: "FUSE",
	0x01021997: "9p",
	0x00C36400: "Ceph",
	0x5346414F: "AFS",
	0x013111A8: "IBRIX",
	0x0BD00BD0: "Lustre",
}

var known = map[int64]string{
	0xEF53: "ext4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs",
	0x794c7630: "overlayfs", 0x2FC12FC1: "zfs", 0xF2F52010: "f2fs",
}

// statfs is syscall.Statfs; tests pretend to be on other filesystems.
var statfs = syscall.Statfs

func stateDirChecks(statePath string, samples int) []Check {
	dir := filepath.Dir(statePath)
	var out []Check
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return []Check{{Name: "state directory", Level: Fail, Detail: dir + " does not exist", Hint: "create it (mode 0700) or point state: in payctl.yaml elsewhere"}}
	case err != nil:
		return []Check{{Name: "state directory", Level: Fail, Detail: err.Error()}}
	case !fi.IsDir():
		return []Check{{Name: "state directory", Level: Fail, Detail: dir + " is not a directory"}}
	}
	if fi.Mode().Perm()&0o022 != 0 {
		out = append(out, Check{Name: "state directory", Level: Warn, Detail: fmt.Sprintf("%s is writable by others (mode %o)", dir, fi.Mode().Perm()), Hint: "chmod go-w " + dir + ": whoever can write there can replace the state"})
	} else {
		out = append(out, Check{Name: "state directory", Level: OK, Detail: fmt.Sprintf("%s (mode %o)", dir, fi.Mode().Perm())})
	}
	files := []string{statePath, statePath + ".journal", statePath + ".accounts"}
	more, _ := filepath.Glob(statePath + ".journal.[0-9]*")
	files = append(files, more...)
	more, _ = filepath.Glob(filepath.Join(statePath+".batches", "*.json"))
	files = append(files, more...)
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
			out = append(out, Check{Name: "state files", Level: Warn, Detail: fmt.Sprintf("%s is readable by others (mode %o)", f, fi.Mode().Perm()), Hint: "chmod 600 " + f + ": it names every recipient and account"})
		}
	}
	var st syscall.Statfs_t
	if err := statfs(dir, &st); err != nil {
		out = append(out, Check{Name: "filesystem", Level: Warn, Detail: "cannot tell the filesystem type: " + err.Error()})
	} else if name, bad := refused[int64(st.Type)]; bad {
		out = append(out, Check{Name: "filesystem", Level: Fail, Detail: fmt.Sprintf("%s is on %s", dir, name),
			Hint: "keep a local state on a local disk (flock and fsync over a network filesystem do not give the guarantees payctl relies on), or use the postgres backend to share a state"})
	} else {
		name := known[int64(st.Type)]
		if name == "" {
			name = fmt.Sprintf("type 0x%x", st.Type)
		}
		out = append(out, Check{Name: "filesystem", Level: OK, Detail: fmt.Sprintf("%s is on %s", dir, name)})
	}
	out = append(out, fsyncCheck(dir, samples))
	return out
}

func fsyncCheck(dir string, samples int) Check {
	if samples <= 0 {
		samples = 50
	}
	f, err := os.CreateTemp(dir, ".payctl-doctor-")
	if err != nil {
		return Check{Name: "fsync", Level: Fail, Detail: "cannot write in the state directory: " + err.Error(), Hint: "payctl must create files there"}
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var lat []time.Duration
	for i := 0; i < samples; i++ {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i%8)*4096); err != nil {
			return Check{Name: "fsync", Level: Fail, Detail: err.Error()}
		}
		if err := dataSync(f); err != nil {
			return Check{Name: "fsync", Level: Fail, Detail: err.Error()}
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	detail := fmt.Sprintf("4 KiB write + fdatasync: p50 %.2f ms, p99 %.2f ms over %d", ms(p50), ms(p99), samples)
	if p50 > FsyncWarn {
		return Check{Name: "fsync", Level: Warn, Detail: detail, Hint: "each payout waits for about one fsync: at this speed one worker pays at most " +
			fmt.Sprintf("%.0f", 1/p50.Seconds()) + " payouts/s; a local SSD does it in well under 1 ms"}
	}
	return Check{Name: "fsync", Level: OK, Detail: detail}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// reach checks that a provider's host answers HTTP at all. It sends a HEAD
// request to the base URL: nothing that can move money, and no credentials.
func reach(ctx context.Context, hc *http.Client, name string, p *config.Provider) Check {
	if p.Emulator {
		return Check{Name: "provider " + name, Level: Skip, Detail: "built-in emulator"}
	}
	u, err := url.Parse(p.BaseURL)
	if err != nil {
		return Check{Name: "provider " + name, Level: Fail, Detail: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return Check{Name: "provider " + name, Level: Fail, Detail: err.Error()}
	}
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		hint := "check DNS, the firewall and the proxy between this host and " + u.Host
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			hint = "the name " + u.Hostname() + " does not resolve here"
		}
		return Check{Name: "provider " + name, Level: Fail, Detail: fmt.Sprintf("%s does not answer: %v", u.Host, err), Hint: hint}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return Check{Name: "provider " + name, Level: OK, Detail: fmt.Sprintf("%s answers (HTTP %d in %.0f ms); credentials are checked by the first real request", u.Host, resp.StatusCode, ms(time.Since(t0)))}
}

// Failed reports whether any check failed.
func Failed(cs []Check) bool {
	for _, c := range cs {
		if c.Level == Fail {
			return true
		}
	}
	return false
}

// approvalsCheck reads the allowed signers now rather than when a plan is
// refused: who can approve, and how many of them can approve today.
func approvalsCheck(a *config.Approvals, now func() time.Time) Check {
	c := Check{Name: "approvals"}
	signers, err := sshsig.LoadAllowedSigners(a.AllowedSigners)
	if err != nil {
		c.Level, c.Detail = Fail, err.Error()
		c.Hint = "fix policy.approvals.allowedSigners: until then no plan that needs approvals can be paid"
		return c
	}
	t := time.Now()
	if now != nil {
		t = now()
	}
	who := map[string]bool{}
	for _, l := range signers.Lines {
		if len(l.Principals) == 0 || (!l.ValidAfter.IsZero() && t.Before(l.ValidAfter)) || (!l.ValidBefore.IsZero() && !t.Before(l.ValidBefore)) {
			continue
		}
		who[l.Principals[0]] = true
	}
	most := 0
	for _, r := range a.Rules {
		most = max(most, r.Approvals)
	}
	c.Level, c.Detail = OK, fmt.Sprintf("%s: %d approvers valid now; the rules ask up to %d", a.AllowedSigners, len(who), most)
	if len(who) < most {
		c.Level = Fail
		c.Hint = fmt.Sprintf("a plan that needs %d approvals can never be paid: add approvers to %s", most, a.AllowedSigners)
	}
	return c
}
