// Command bench measures payctl and prints one table of figures, each next
// to a baseline measured in the same run on the same machine:
//
//	go run ./internal/bench            # the full run (a few minutes)
//	go run ./internal/bench -quick     # a short run with small inputs (CI)
//	go run ./internal/bench -huge      # also 10,000,000 payouts and records (not for CI)
//
// It builds payctl, generates its inputs in a temporary directory and runs
// the real binary as a separate process, reading its peak memory from the
// kernel (getrusage) and its per-payout timings from `apply -json`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/payctl/payctl/internal/gen"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/registry"
	"github.com/payctl/payctl/state"
)

var (
	quick      = flag.Bool("quick", false, "small inputs, for CI: checks the harness works, figures are not comparable")
	only       = flag.String("only", "", "comma-separated measurements to run: fsync,plan,tabular,schema,apply,rehearsal,state,scale,verify,watch (default: all)")
	keep       = flag.Bool("keep", false, "keep the temporary directory")
	inFlight   = flag.Int("inflight", 16, "payouts in flight for the apply measurements")
	hostile    = flag.String("hostile", "", "only write the hostile inputs of BENCHMARKS.md into this directory, for /usr/bin/time -v payctl validate")
	recipients = flag.Int("recipients", 10000, "how many people the payouts of generated states go to in turn (a payroll or vendor list); 0: every payout to a new one")
	huge       = flag.Bool("huge", false, "also measure plan, checkpoint and verify against 10,000,000 payouts and records (generates about 10 GB; not for CI)")
	verifyN    = flag.Int("verify-records", 0, "measure verify on a journal of about `N` records instead of the run's sizes")
	binary     = flag.String("payctl", "", "measure this payctl binary instead of building ./cmd/payctl (to compare two commits with the same harness)")
	before     = flag.String("before", "", "with -only plan: also measure this payctl binary (an earlier commit's), alternating with the one measured, for before/after figures on a busy machine")
)

// Sizes of the full and quick runs.
type sizes struct {
	manifest, apply, state, watchFiles int
	// manyFiles manifests of manyPayouts payouts each are planned together.
	manyFiles, manyPayouts int
	// scale is the states that plan and a checkpoint are measured
	// against; verifyRecords the journal lengths verify is measured on.
	scale, verifyRecords []int
}

var full = sizes{manifest: 100_000, apply: 10_000, state: 1_000_000, watchFiles: 200, manyFiles: 100, manyPayouts: 10_000,
	scale: []int{10_000, 100_000, 1_000_000}, verifyRecords: []int{1_000_000}}
var small = sizes{manifest: 5_000, apply: 500, state: 20_000, watchFiles: 20, manyFiles: 10, manyPayouts: 500,
	scale: []int{10_000}, verifyRecords: []int{20_000}}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-decode" {
		os.Exit(decodeBaseline(os.Args[2], os.Args[3]))
	}
	if len(os.Args) > 3 && os.Args[1] == "-schema-v6" {
		os.Exit(schemaV6Child(os.Args[2], os.Args[3]))
	}
	if len(os.Args) > 2 && os.Args[1] == "-bare" {
		os.Exit(bareChild(os.Args[2:]))
	}
	flag.Parse()
	if *hostile != "" {
		if err := writeHostile(*hostile); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	sz := full
	if *quick {
		sz = small
	}
	if *huge {
		sz.scale = append(sz.scale, 10_000_000)
		sz.verifyRecords = append(sz.verifyRecords, 10_000_000)
	}
	if *verifyN > 0 {
		sz.verifyRecords = []int{*verifyN}
	}
	if err := run(sz); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

type row struct {
	name, payctl, baseline, ratio, target, verdict string
}

type bench struct {
	dir    string
	payctl string
	rows   []row
	// cronosRate is apply's rate against the in-memory Cronos emulator,
	// once measured: the rehearsal's baseline.
	cronosRate float64
	// loadStart is /proc/loadavg when the run began.
	loadStart string
}

func (b *bench) add(r row) {
	b.rows = append(b.rows, r)
	fmt.Fprintf(os.Stderr, "bench: %s: %s (baseline %s)\n", r.name, r.payctl, r.baseline)
}

func want(name string) bool {
	if *only == "" {
		return true
	}
	for _, n := range strings.Split(*only, ",") {
		if n == name {
			return true
		}
	}
	return false
}

func run(sz sizes) error {
	dir, err := os.MkdirTemp("", "payctl-bench-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	b := &bench{dir: dir, payctl: filepath.Join(dir, "payctl"), loadStart: loadAvg()}
	fmt.Fprintf(os.Stderr, "bench: %d CPUs, load average %s (1, 5, 15 min)\n", runtime.NumCPU(), b.loadStart)
	if *binary != "" {
		if b.payctl, err = filepath.Abs(*binary); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: measuring %s\n", b.payctl)
	} else {
		fmt.Fprintln(os.Stderr, "bench: building payctl")
		if out, err := exec.Command("go", "build", "-o", b.payctl, "./cmd/payctl").CombinedOutput(); err != nil {
			return fmt.Errorf("build payctl: %v\n%s", err, out)
		}
	}
	steps := []struct {
		name string
		fn   func(sizes) error
	}{
		{"fsync", b.fsync},
		// scale and verify first: their small peaks are only right while
		// the harness itself is small (see print).
		{"scale", b.scale}, {"verify", b.verify},
		{"plan", b.plan}, {"tabular", b.tabular}, {"schema", b.schemaVersions}, {"apply", b.apply}, {"rehearsal", b.rehearsal}, {"state", b.stateLoad}, {"watch", b.watch},
	}
	for _, s := range steps {
		if want(s.name) {
			if err := s.fn(sz); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}
	b.print(sz)
	return nil
}

func (b *bench) print(sz sizes) {
	host, _ := os.Hostname()
	fmt.Printf("payctl benchmarks, %s, %s, %d cores (GOMAXPROCS %d), %s, %s/%s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("host %s; temporary files on %s\n", host, fsType(b.dir))
	fmt.Printf("%d CPUs; load average (1, 5, 15 min) %s at the start, %s at the end\n", runtime.NumCPU(), b.loadStart, loadAvg())
	// Linux carries a process's peak memory over into the peak reported
	// for the children it starts (at exec): no peak below can be less.
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		fmt.Printf("the harness's own peak memory: %d MB (a floor under every peak reported below)\n", ru.Maxrss>>10)
	}
	if *quick {
		fmt.Println("QUICK RUN: small inputs; the figures check the harness, they are not the published ones")
	}
	fmt.Println()
	fmt.Println("| measurement | payctl | baseline (same run) | ratio | target | verdict |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range b.rows {
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.name, r.payctl, r.baseline, r.ratio, r.target, r.verdict)
	}
}

// measured is one run of a process.
type measured struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // bytes
	out    []byte
}

func (b *bench) runProc(dir string, env []string, name string, args ...string) (measured, error) {
	return b.runTo(true, dir, env, name, args...)
}

// runQuiet is runProc for a command whose output is not read: a plan of
// a million payouts prints over 100 MB, which the harness would otherwise
// hold (and which would raise the floor under every later peak).
func (b *bench) runQuiet(dir string, env []string, name string, args ...string) (measured, error) {
	return b.runTo(false, dir, env, name, args...)
}

func (b *bench) runTo(keepOut bool, dir string, env []string, name string, args ...string) (measured, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if !keepOut {
		cmd.Stdout = io.Discard
	}
	t0 := time.Now()
	err := cmd.Run()
	m := measured{wall: time.Since(t0), out: out.Bytes()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.maxRSS = ru.Maxrss << 10
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if err != nil {
		return m, fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(errb.String(), 2000))
	}
	return m, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// median runs f n times and keeps the run with the median wall time; the
// peak memory reported is the largest seen.
func median(n int, f func() (measured, error)) (measured, error) {
	var ms []measured
	var peak int64
	for i := 0; i < n; i++ {
		m, err := f()
		if err != nil {
			return m, err
		}
		peak = max(peak, m.maxRSS)
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].wall < ms[j].wall })
	m := ms[len(ms)/2]
	m.maxRSS = peak
	return m, nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func mb(n int64) string           { return fmt.Sprintf("%d MB", n>>20) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// fsync measures the disk: 4 KiB written and fdatasync'ed, in the folder
// where the states live.
func (b *bench) fsync(sz sizes) error {
	f, err := os.OpenFile(filepath.Join(b.dir, "fsync.probe"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := bytes.Repeat([]byte("x"), 4096)
	var lat []time.Duration
	for i := 0; i < 300; i++ {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i%16)*4096); err != nil {
			return err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
	}
	p50, p99 := percentiles(lat)
	b.add(row{name: "fsync latency (4 KiB write + fdatasync)", payctl: fmt.Sprintf("p50 %s, p99 %s", ms(p50), ms(p99)), baseline: "-", ratio: "-", target: "doctor warns above 2 ms", verdict: verdict(p50 <= 2*time.Millisecond)})
	return b.fsyncAppend()
}

// fsyncAppend measures the disk the way the journal uses it: a record of
// about 300 bytes appended to a growing file, then fdatasync. Unlike the
// rewrite of one block above, each append grows the file, so the
// filesystem also has its size (and, at each new block, an extent) to make
// durable.
func (b *bench) fsyncAppend() error {
	f, err := os.OpenFile(filepath.Join(b.dir, "fsync.append"), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	rec := append(bytes.Repeat([]byte("x"), 299), '\n')
	n := 2000
	if *quick {
		n = 300
	}
	var lat []time.Duration
	t0 := time.Now()
	for i := 0; i < n; i++ {
		s := time.Now()
		if _, err := f.Write(rec); err != nil {
			return err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return err
		}
		lat = append(lat, time.Since(s))
	}
	total := time.Since(t0)
	p50, p99 := percentiles(lat)
	b.add(row{
		name:     fmt.Sprintf("fsync as the journal does it (%d appends of 300 bytes to a growing file, fdatasync after each)", n),
		payctl:   fmt.Sprintf("p50 %s, p99 %s per append+fdatasync (mean %s)", us(p50), us(p99), us(total/time.Duration(n))),
		baseline: "-", ratio: "-", target: "doctor warns above 2 ms", verdict: verdict(p50 <= 2*time.Millisecond),
	})
	return nil
}

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

// loadAvg is the machine's load average over 1, 5 and 15 minutes.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

const emulatorConfig = `state: payctl.state.json
providers:
  idr-main:
    type: cronos
    emulator: true
`

// plan measures validate+plan of a generated manifest, JSON and YAML,
// against decoding the same file with encoding/json or yaml.v3 into any
// and, for JSON, against `jq empty` (a C parser that builds no tree it
// keeps: the floor for reading the file at all); then plan of many files
// at once, which only has to stay small.
func (b *bench) plan(sz sizes) error {
	dir := filepath.Join(b.dir, "plan")
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(emulatorConfig), 0o600); err != nil {
		return err
	}
	jq, _ := exec.LookPath("jq")
	for _, format := range []string{"json", "yaml"} {
		file := filepath.Join(dir, "batch."+format)
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		if err := gen.Manifest(f, sz.manifest, format, gen.Options{Seed: 1}); err != nil {
			return err
		}
		f.Close()
		fi, _ := os.Stat(file)
		// Alternated, so that a change in the machine's load hits all.
		bins := b.binaries()
		ms := make([][]measured, len(bins))
		var bases, jqs []measured
		for range 3 {
			for i, bin := range bins {
				m, err := b.runQuiet(dir, nil, bin.path, "plan", "batch."+format)
				if err != nil {
					return err
				}
				ms[i] = append(ms[i], m)
			}
			base, err := b.runProc(dir, nil, os.Args[0], "-decode", format, file)
			if err != nil {
				return err
			}
			bases = append(bases, base)
			if format == "json" && jq != "" {
				j, err := b.runProc(dir, nil, jq, "empty", file)
				if err != nil {
					return err
				}
				jqs = append(jqs, j)
			}
		}
		base := medianOf(bases)
		for i, bin := range bins {
			m := medianOf(ms[i])
			r := row{
				name:     fmt.Sprintf("validate+plan %d payouts, %s (%d MB)%s", sz.manifest, strings.ToUpper(format), fi.Size()>>20, bin.label),
				payctl:   fmt.Sprintf("%s, %s CPU, %s peak", secs(m.wall), secs(m.cpu), mb(m.maxRSS)),
				baseline: fmt.Sprintf("%s decode into any: %s, %s peak", map[string]string{"json": "encoding/json", "yaml": "yaml.v3"}[format], secs(base.wall), mb(base.maxRSS)),
				ratio:    fmt.Sprintf("%.1fx", m.wall.Seconds()/base.wall.Seconds()),
				target:   "-", verdict: "-",
			}
			if format == "json" && !*quick {
				r.target = "≤ 1.5 s, ≤ 400 MB"
				r.verdict = verdict(m.wall <= 1500*time.Millisecond && m.maxRSS <= 400<<20)
			}
			b.add(r)
			if len(jqs) > 0 {
				j := medianOf(jqs)
				r := row{
					name:     fmt.Sprintf("validate+plan %d payouts, JSON, against jq%s", sz.manifest, bin.label),
					payctl:   fmt.Sprintf("%s, %s CPU, %s peak", secs(m.wall), secs(m.cpu), mb(m.maxRSS)),
					baseline: fmt.Sprintf("`jq empty` of the same file: %s, %s CPU, %s peak", secs(j.wall), secs(j.cpu), mb(j.maxRSS)),
					ratio:    fmt.Sprintf("%.2fx wall, %.2fx CPU", m.wall.Seconds()/j.wall.Seconds(), m.cpu.Seconds()/j.cpu.Seconds()),
					target:   "-", verdict: "-",
				}
				if !*quick {
					r.target = "≤ 1.5x jq wall, ≤ 150 MB"
					r.verdict = verdict(m.wall.Seconds() <= 1.5*j.wall.Seconds() && m.maxRSS <= 150<<20)
				}
				b.add(r)
			}
		}
	}
	return b.planMany(sz)
}

// payctlBin is a payctl to measure, with the label its rows carry.
type payctlBin struct{ label, path string }

// binaries are the payctl measured, and the earlier one of -before.
func (b *bench) binaries() []payctlBin {
	bins := []payctlBin{{"", b.payctl}}
	if *before != "" {
		bins = append(bins, payctlBin{" [before: " + filepath.Base(*before) + "]", *before})
	}
	return bins
}

// planMany measures plan of manyFiles JSON manifests of manyPayouts
// payouts each, named as one folder.
func (b *bench) planMany(sz sizes) error {
	dir := filepath.Join(b.dir, "plan-many")
	in := filepath.Join(dir, "batches")
	if err := os.MkdirAll(in, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(emulatorConfig), 0o600); err != nil {
		return err
	}
	var total int64
	for i := range sz.manyFiles {
		f, err := os.Create(filepath.Join(in, fmt.Sprintf("batch-%03d.json", i)))
		if err != nil {
			return err
		}
		err = gen.Manifest(f, sz.manyPayouts, "json", gen.Options{Seed: uint64(i + 1), Name: fmt.Sprintf("batch-%03d", i)})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if fi, err := os.Stat(f.Name()); err == nil {
			total += fi.Size()
		}
	}
	bins := b.binaries()
	ms := make([][]measured, len(bins))
	for range 3 {
		for i, bin := range bins {
			m, err := b.runQuiet(dir, nil, bin.path, "plan", "batches")
			if err != nil {
				return err
			}
			ms[i] = append(ms[i], m)
		}
	}
	for i, bin := range bins {
		m := medianOf(ms[i])
		r := row{
			name:     fmt.Sprintf("plan of %d files × %d payouts, JSON (%d MB)%s", sz.manyFiles, sz.manyPayouts, total>>20, bin.label),
			payctl:   fmt.Sprintf("%s, %s CPU, %s peak", secs(m.wall), secs(m.cpu), mb(m.maxRSS)),
			baseline: "-", ratio: "-", target: "-", verdict: "-",
		}
		if !*quick {
			r.target = "≤ 600 MB"
			r.verdict = verdict(m.maxRSS <= 600<<20)
		}
		b.add(r)
	}
	return nil
}

// medianOf is the run with the median wall time, with the largest peak
// memory of all.
func medianOf(ms []measured) measured {
	var peak int64
	for _, m := range ms {
		peak = max(peak, m.maxRSS)
	}
	s := slices.Clone(ms)
	sort.Slice(s, func(i, j int) bool { return s[i].wall < s[j].wall })
	m := s[len(s)/2]
	m.maxRSS = peak
	return m
}

// decodeBaseline is the baseline process: read and decode a file into any.
func decodeBaseline(format, file string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var v any
	if format == "yaml" {
		err = yaml.Unmarshal(data, &v)
	} else {
		err = json.Unmarshal(data, &v)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// apply measures `payctl apply` of n payouts on each emulator over
// loopback, against the same provider calls made by the same client with no
// state at all.
func (b *bench) apply(sz sizes) error {
	for _, typ := range []string{"fake", "cronos", "dinardragon"} {
		if err := b.applyOne(typ, sz.apply, 0); err != nil {
			return err
		}
	}
	// A provider that takes 5 ms to answer each request, closer to a real
	// one: payctl's own cost per payout is then a smaller share.
	return b.applyOne("cronos", sz.apply, 5*time.Millisecond)
}

type emulated struct {
	srv   *httptest.Server
	creds map[string]string
	close func()
}

// startEmulator serves a provider's emulator over loopback; each request
// waits latency before the emulator sees it.
func startEmulator(typ, ledger string, latency time.Duration) (*emulated, error) {
	t, ok := registry.Lookup(typ)
	if !ok {
		return nil, fmt.Errorf("no provider type %s", typ)
	}
	em, err := t.NewEmulator(providers.EmulatorOptions{LedgerPath: ledger, Seed: 1})
	if err != nil {
		return nil, err
	}
	var h http.Handler = em
	if latency > 0 {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(latency)
			em.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(h)
	return &emulated{srv: srv, creds: em.Credentials(), close: func() { srv.Close(); em.Close() }}, nil
}

func payoutsFor(typ string, n, seed int) []providers.Payout {
	idr, _ := money.LookupCurrency("IDR")
	usd, _ := money.LookupCurrency("USD")
	out := make([]providers.Payout, n)
	for i := range out {
		addr := fmt.Sprintf("bench-%d/p%06d", seed, i)
		p := providers.Payout{Address: addr, Attempt: 1, Key: state.Key("bench", addr, 1)}
		if typ != "dinardragon" {
			p.Currency, p.Amount = idr, money.FromInt64(int64(10000+i))
			p.Recipient = providers.Recipient{Name: fmt.Sprintf("Person %d", i), BankCode: "014", Account: fmt.Sprintf("8%09d3", i)}
		} else {
			p.Currency, p.Amount = usd, money.MustParse(fmt.Sprintf("%d.%02d", 10+i%90, i%100))
			p.Recipient = providers.Recipient{Name: fmt.Sprintf("Person %d", i), Bank: "First Bank", Country: "US", Account: fmt.Sprintf("7%09d", i)}
		}
		out[i] = p
	}
	return out
}

// writeBatch writes a manifest of batch name paying ps through provider.
func writeBatch(path, name, typ, provider string, ps []providers.Payout) error {
	var w strings.Builder
	cur := ps[0].Currency.Code
	fmt.Fprintf(&w, "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata: {name: %s}\nspec:\n  provider: %s\n  currency: %s\n  payouts:\n", name, provider, cur)
	for i, p := range ps {
		r := p.Recipient
		if typ != "dinardragon" {
			fmt.Fprintf(&w, "    - {id: p%06d, amount: \"%s\", recipient: {name: %q, bankCode: %q, account: %q}}\n", i, p.Amount, r.Name, r.BankCode, r.Account)
		} else {
			fmt.Fprintf(&w, "    - {id: p%06d, amount: \"%s\", recipient: {name: %q, bank: %q, country: %s, account: %q}}\n", i, p.Amount, r.Name, r.Bank, r.Country, r.Account)
		}
	}
	return os.WriteFile(path, []byte(w.String()), 0o600)
}

func (b *bench) applyOne(typ string, n int, latency time.Duration) error {
	dir := filepath.Join(b.dir, "apply-"+typ)
	if latency > 0 {
		dir += "-latency"
	}
	os.MkdirAll(dir, 0o700)
	// In memory, like the baseline's: a persisted ledger would charge
	// the emulator's own fsyncs to payctl.
	em, err := startEmulator(typ, "", latency)
	if err != nil {
		return err
	}
	defer em.close()
	ps := payoutsFor(typ, n, 1)
	if err := writeBatch(filepath.Join(dir, "batch.yaml"), "applied", typ, "p", ps); err != nil {
		return err
	}
	var cfg string
	var env []string
	switch typ {
	case "fake":
		cfg = fmt.Sprintf("state: payctl.state.json\nproviders:\n  p:\n    type: fake\n    baseURL: %s\n    concurrency: %d\n", em.srv.URL, *inFlight)
	case "cronos":
		cfg = fmt.Sprintf("state: payctl.state.json\nproviders:\n  p:\n    type: cronos\n    baseURL: %s\n    keyEnv: BENCH_KEY\n    tokenEnv: BENCH_TOKEN\n    callbackURL: http://127.0.0.1:9/callbacks\n    concurrency: %d\n", em.srv.URL, *inFlight)
		env = []string{"BENCH_KEY=" + em.creds["keyEnv"], "BENCH_TOKEN=" + em.creds["tokenEnv"]}
	default:
		cfg = fmt.Sprintf("state: payctl.state.json\nproviders:\n  p:\n    type: dinardragon\n    baseURL: %s\n    privateKeyEnv: BENCH_KEY\n    maxBatch: 100\n", em.srv.URL)
		env = []string{"BENCH_KEY=" + em.creds["privateKeyEnv"]}
	}
	if err := os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	m, err := b.runProc(dir, env, b.payctl, "apply", "-init", "-json", "-auto-approve", "batch.yaml")
	if err != nil {
		return err
	}
	var lat []time.Duration
	var runSecs float64
	var commits int64
	sc := bufio.NewScanner(bytes.NewReader(m.out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	paid := 0
	for sc.Scan() {
		var ev struct {
			Type      string  `json:"type"`
			Status    string  `json:"status"`
			ElapsedMS float64 `json:"elapsed_ms"`
			Seconds   float64 `json:"seconds"`
			Commits   int64   `json:"journal_commits"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev.Type {
		case "payout":
			lat = append(lat, time.Duration(ev.ElapsedMS*float64(time.Millisecond)))
			if ev.Status == "pending" || ev.Status == "paid" {
				paid++
			}
		case "stats":
			runSecs, commits = ev.Seconds, ev.Commits
		}
	}
	if paid != n {
		return fmt.Errorf("%s: %d of %d payouts accepted", typ, paid, n)
	}
	p50, p99 := percentiles(lat)
	rate := float64(n) / runSecs
	if typ == "cronos" && latency == 0 {
		b.cronosRate = rate
	}

	// Baseline: the same client and calls, no state, same concurrency, in
	// a process of its own so that its CPU is its own (the emulator runs
	// in this one, for both).
	em2, err := startEmulator(typ, "", latency)
	if err != nil {
		return err
	}
	defer em2.close()
	creds, _ := json.Marshal(em2.creds)
	bm, err := b.runProc(dir, []string{"PAYCTL_BENCH_CREDS=" + string(creds)}, os.Args[0], "-bare", typ, em2.srv.URL, strconv.Itoa(n), strconv.Itoa(*inFlight))
	if err != nil {
		return err
	}
	var bare bareResult
	if err := json.Unmarshal(bm.out, &bare); err != nil {
		return fmt.Errorf("bare loop: %v: %q", err, bm.out)
	}
	bRate, bp50, bp99 := bare.Rate, time.Duration(bare.P50), time.Duration(bare.P99)
	inflight := fmt.Sprintf("%d in flight", *inFlight)
	what := typ + " emulator"
	if typ == "fake" {
		what = "fake provider (minimal server: payctl's own overhead)"
	}
	if latency > 0 {
		what += fmt.Sprintf(", %s provider latency", ms(latency))
	}
	if typ == "dinardragon" {
		inflight = "provider payouts of 100, one at a time"
	}
	cpuPer := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	r := row{
		name: fmt.Sprintf("apply %d payouts, %s, %s", n, what, inflight),
		payctl: fmt.Sprintf("%.0f payouts/s, p50 %s, p99 %s per payout, %.2f fsyncs/payout, CPU %.0f µs/payout (%s wall incl. start and plan)",
			rate, ms(p50), ms(p99), float64(commits)/float64(n), cpuPer(m.cpu), secs(m.wall)),
		baseline: fmt.Sprintf("same calls, no state: %.0f payouts/s, p50 %s, p99 %s, CPU %.0f µs/payout", bRate, ms(bp50), ms(bp99), cpuPer(bm.cpu)),
		// The CPU above the bare loop's is what payctl adds to the
		// provider's client: start, manifest, plan, journal, checkpoint.
		ratio:   fmt.Sprintf("%.2f (CPU %.1fx, +%.0f µs/payout)", rate/bRate, m.cpu.Seconds()/bm.cpu.Seconds(), cpuPer(m.cpu)-cpuPer(bm.cpu)),
		target:  "≥ 0.8 of the bare loop",
		verdict: verdict(rate/bRate >= 0.8),
	}
	if latency > 0 {
		r.target, r.verdict = "≥ 0.9 of the bare loop", verdict(rate/bRate >= 0.9)
	}
	if typ == "fake" {
		r.target = "≥ 0.8 of the bare loop; payctl CPU ≤ 90 µs/payout"
		r.verdict = verdict(rate/bRate >= 0.8 && cpuPer(m.cpu) <= 90)
	}
	if *quick {
		r.target, r.verdict = "-", "-"
	}
	b.add(r)
	return nil
}

// rehearsal measures what a rehearsal costs: `payctl apply` piped (as in
// CI) through the Cronos emulator that payctl runs itself with
// `emulator: true`, its ledger persisted beside the state, against the
// same apply with the emulator's ledger in memory (the apply step).
func (b *bench) rehearsal(sz sizes) error {
	n := sz.apply
	dir := filepath.Join(b.dir, "rehearsal")
	os.MkdirAll(dir, 0o700)
	if err := writeBatch(filepath.Join(dir, "batch.yaml"), "rehearsal", "cronos", "idr-main", payoutsFor("cronos", n, 3)); err != nil {
		return err
	}
	cfg := fmt.Sprintf("state: payctl.state.json\nproviders:\n  idr-main: {type: cronos, emulator: true, concurrency: %d}\n", *inFlight)
	if err := os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	m, err := b.runProc(dir, nil, b.payctl, "apply", "-init", "-json", "-auto-approve", "batch.yaml")
	if err != nil {
		return err
	}
	var runSecs float64
	paid := 0
	sc := bufio.NewScanner(bytes.NewReader(m.out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Type    string  `json:"type"`
			Status  string  `json:"status"`
			Seconds float64 `json:"seconds"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch {
		case ev.Type == "payout" && (ev.Status == "pending" || ev.Status == "paid"):
			paid++
		case ev.Type == "stats":
			runSecs = ev.Seconds
		}
	}
	if paid != n {
		return fmt.Errorf("rehearsal: %d of %d payouts accepted", paid, n)
	}
	// The emulator compacted its journal into the ledger file on exit.
	ledger, err := os.ReadFile(filepath.Join(dir, ".payctl-emulator", "idr-main.json"))
	if err != nil {
		return err
	}
	if got := bytes.Count(ledger, []byte(`"merchantRef"`)); got != n {
		return fmt.Errorf("rehearsal: the emulator's ledger file holds %d disbursements, want %d", got, n)
	}
	if _, err := os.Stat(filepath.Join(dir, ".payctl-emulator", "idr-main.json.journal")); !os.IsNotExist(err) {
		return fmt.Errorf("rehearsal: the emulator left its journal behind (%v)", err)
	}
	rate := float64(n) / runSecs
	r := row{
		name:     fmt.Sprintf("apply %d payouts through `emulator: true` (cronos), piped, %d in flight", n, *inFlight),
		payctl:   fmt.Sprintf("%.0f payouts/s (%s wall incl. start, plan and the emulator's compaction)", rate, secs(m.wall)),
		baseline: "-", ratio: "-",
		target:  "≥ 0.5 of apply with the emulator's ledger in memory",
		verdict: "-",
	}
	if b.cronosRate > 0 {
		r.baseline = fmt.Sprintf("ledger in memory (apply row above): %.0f payouts/s", b.cronosRate)
		r.ratio = fmt.Sprintf("%.2f", rate/b.cronosRate)
		r.verdict = verdict(rate/b.cronosRate >= 0.5)
	}
	if *quick {
		r.target, r.verdict = "-", "-"
	}
	b.add(r)
	return nil
}

// bareResult is what the bare loop's process prints.
type bareResult struct {
	Rate     float64
	P50, P99 int64 // ns
}

// bareChild is the baseline process: -bare TYPE URL N INFLIGHT, with the
// emulator's credentials as JSON in PAYCTL_BENCH_CREDS. Its CPU, read by
// the parent from getrusage, is the provider client's alone.
func bareChild(args []string) int {
	if len(args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: -bare TYPE URL N INFLIGHT")
		return 2
	}
	n, err1 := strconv.Atoi(args[2])
	k, err2 := strconv.Atoi(args[3])
	var creds map[string]string
	err3 := json.Unmarshal([]byte(os.Getenv("PAYCTL_BENCH_CREDS")), &creds)
	if err := errors.Join(err1, err2, err3); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	*inFlight = k
	rate, p50, p99, err := bareLoop(args[0], args[1], creds, payoutsFor(args[0], n, 2))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(bareResult{Rate: rate, P50: int64(p50), P99: int64(p99)})
	return 0
}

func bareLoop(typ, url string, creds map[string]string, ps []providers.Payout) (float64, time.Duration, time.Duration, error) {
	ctx := context.Background()
	o := providers.Options{Name: "p", BaseURL: url, CallbackURL: "http://127.0.0.1:9/callbacks", Timeout: 30 * time.Second, MaxBatch: 100}
	var lat []time.Duration
	var mu sync.Mutex
	t0 := time.Now()
	t, _ := registry.Lookup(typ)
	o.Credentials = creds
	p, err := t.Open(o)
	if err != nil {
		return 0, 0, 0, err
	}
	if c, ok := p.(providers.Single); ok {
		work := make(chan providers.Payout)
		var wg sync.WaitGroup
		var firstErr error
		for i := 0; i < *inFlight; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range work {
					s := time.Now()
					req, err := c.Prepare(p)
					if err == nil {
						var res providers.Result
						res, err = c.Send(ctx, p, req)
						if err == nil && res.Status != providers.StatusPending && res.Status != providers.StatusPaid {
							err = fmt.Errorf("%s: %s", res.Status, res.Reason)
						}
					}
					mu.Lock()
					lat = append(lat, time.Since(s))
					if err != nil && firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}()
		}
		for _, p := range ps {
			work <- p
		}
		close(work)
		wg.Wait()
		if firstErr != nil {
			return 0, 0, 0, firstErr
		}
	} else {
		c := p.(providers.Batch)
		for len(ps) > 0 {
			k := min(100, len(ps))
			chunk := ps[:k]
			ps = ps[k:]
			s := time.Now()
			q, err := c.Quote(ctx, chunk)
			if err != nil {
				return 0, 0, 0, err
			}
			if _, err := c.Execute(ctx, q); err != nil {
				return 0, 0, 0, err
			}
			d := time.Since(s)
			for range chunk {
				lat = append(lat, d)
			}
		}
	}
	el := time.Since(t0)
	p50, p99 := percentiles(lat)
	return float64(len(lat)) / el.Seconds(), p50, p99, nil
}

// stateLoad measures `payctl plan` of a small manifest against a state of
// n payouts: loading (and checking) the state dominates.
func (b *bench) stateLoad(sz sizes) error {
	dir := filepath.Join(b.dir, "state")
	os.MkdirAll(dir, 0o700)
	path := filepath.Join(dir, "payctl.state.json")
	fmt.Fprintf(os.Stderr, "bench: generating a state of %d payouts\n", sz.state)
	if _, err := genState(path, sz.state, false); err != nil {
		return err
	}
	size, files := stateBytes(path)
	os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(emulatorConfig), 0o600)
	small := payoutsFor("cronos", 10, 3)
	if err := writeBatch(filepath.Join(dir, "batch.yaml"), "applied", "cronos", "idr-main", small); err != nil {
		return err
	}
	m, err := median(3, func() (measured, error) { return b.runProc(dir, nil, b.payctl, "plan", "batch.yaml") })
	if err != nil {
		return err
	}
	// What the plan must read besides its own batch: the root and the
	// account index (one entry per recipient and account).
	base, err := median(3, func() (measured, error) { return b.runProc(dir, nil, os.Args[0], "-decode", "json", path+".accounts") })
	if err != nil {
		return err
	}
	r := row{
		name:     fmt.Sprintf("state load + plan 10 payouts, state of %d payouts to %d recipients (%d MB in %d files)", sz.state, min(sz.state, *recipients), size>>20, len(files)),
		payctl:   fmt.Sprintf("%s, %s peak", secs(m.wall), mb(m.maxRSS)),
		baseline: fmt.Sprintf("encoding/json decode of the account index into any: %s, %s peak", secs(base.wall), mb(base.maxRSS)),
		ratio:    fmt.Sprintf("%.2fx", m.wall.Seconds()/base.wall.Seconds()),
		target:   "≤ 2 s", verdict: verdict(m.wall <= 2*time.Second),
	}
	if *quick {
		r.target, r.verdict = "-", "-"
	}
	b.add(r)
	return nil
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "an unknown filesystem"
	}
	names := map[int64]string{0xEF53: "ext4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x01021994: "tmpfs", 0x794c7630: "overlayfs"}
	if n, ok := names[int64(st.Type)]; ok {
		return n
	}
	return fmt.Sprintf("filesystem type 0x%x", st.Type)
}

// watch measures a real `payctl watch`: a file of 10 payouts renamed into
// inbox/, until its report is in done/, one file at a time. The baseline is
// `payctl apply` of the same kind of file, as a cron job would run it.
func (b *bench) watch(sz sizes) error {
	dir := filepath.Join(b.dir, "watch")
	stage := filepath.Join(dir, "stage")
	os.MkdirAll(stage, 0o700)
	em, err := startEmulator("cronos", "", 0)
	if err != nil {
		return err
	}
	defer em.close()
	cfg := fmt.Sprintf("state: payctl.state.json\nproviders:\n  p:\n    type: cronos\n    baseURL: %s\n    keyEnv: BENCH_KEY\n    tokenEnv: BENCH_TOKEN\n    callbackURL: http://127.0.0.1:9/callbacks/p/0123456789abcdef0123\npolicy:\n  autoApply:\n    providers: [p]\n", em.srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	env := []string{"BENCH_KEY=" + em.creds["keyEnv"], "BENCH_TOKEN=" + em.creds["tokenEnv"]}
	files := sz.watchFiles
	for f := 0; f < files+3; f++ {
		ps := payoutsFor("cronos", 10, 100+f)
		if err := writeBatch(filepath.Join(stage, fmt.Sprintf("f%04d.yaml", f)), fmt.Sprintf("w%04d", f), "cronos", "p", ps); err != nil {
			return err
		}
	}
	// watch never creates a state: it starts from one made by init.
	if _, err := b.runProc(dir, env, b.payctl, "init"); err != nil {
		return err
	}
	cmd := exec.Command(b.payctl, "watch", "drop")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	inbox := filepath.Join(dir, "drop", "inbox")
	for i := 0; ; i++ {
		if _, err := os.Stat(inbox); err == nil {
			break
		}
		if i > 2000 {
			return fmt.Errorf("payctl watch did not create %s:\n%s", inbox, logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let it finish its first listing
	var lat []time.Duration
	for f := 0; f < files; f++ {
		name := fmt.Sprintf("f%04d.yaml", f)
		report := filepath.Join(dir, "drop", "done", name+".result.json")
		t0 := time.Now()
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(inbox, name)); err != nil {
			return err
		}
		for {
			if _, err := os.Stat(report); err == nil {
				break
			}
			if time.Since(t0) > time.Minute {
				return fmt.Errorf("%s not done within a minute:\n%s", name, tail(logs.String(), 3000))
			}
			time.Sleep(500 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
	}
	p50, p99 := percentiles(lat)

	// Baseline: payctl apply of a file of the same size, in a fresh folder.
	bdir := filepath.Join(dir, "apply")
	os.MkdirAll(bdir, 0o700)
	os.WriteFile(filepath.Join(bdir, "payctl.yaml"), []byte(cfg), 0o600)
	var base []time.Duration
	for f := files; f < files+3; f++ {
		name := fmt.Sprintf("f%04d.yaml", f)
		os.Rename(filepath.Join(stage, name), filepath.Join(bdir, name))
		m, err := b.runProc(bdir, env, b.payctl, "apply", "-init", "-auto-approve", name)
		if err != nil {
			return err
		}
		base = append(base, m.wall)
	}
	b50, _ := percentiles(base)
	r := row{
		name:     fmt.Sprintf("watch: rename into inbox/ -> report in done/, %d files of 10 payouts, Cronos emulator", files),
		payctl:   fmt.Sprintf("median %s, p99 %s", ms(p50), ms(p99)),
		baseline: fmt.Sprintf("payctl apply of one such file as a process: median %s", ms(b50)),
		ratio:    fmt.Sprintf("%.2f", p50.Seconds()/b50.Seconds()),
		target:   "median ≤ 250 ms", verdict: verdict(p50 <= 250*time.Millisecond),
	}
	if *quick {
		r.target, r.verdict = "-", "-"
	}
	b.add(r)
	return nil
}

// writeHostile writes the files of BENCHMARKS.md's "Hostile input"
// section: 50 MB of tiny values and of nesting in each format, and 1 MB of
// payouts that are all wrong.
func writeHostile(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name, kind string
		size       int
	}{
		{"list.yaml", "yaml-list", 50_000_000},
		{"deep.yaml", "yaml-deep", 50_000_000},
		{"list.json", "json-list", 50_000_000},
		{"deep.json", "json-deep", 50_000_000},
		{"bad-payouts.yaml", "yaml-bad-payouts", 1_000_000},
	}
	for _, f := range files {
		out, err := os.Create(filepath.Join(dir, f.name))
		if err != nil {
			return err
		}
		err = gen.Hostile(out, f.kind, f.size)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		fmt.Println(filepath.Join(dir, f.name))
	}
	return nil
}
