package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// genState writes a segmented state of n payouts at path (its journal,
// account index and batch segments beside it, 10,000 payouts a batch),
// every payout paid once through Cronos with the answer fields Cronos
// returns, streamed so that a state of ten million payouts needs little
// memory. Payouts go to a pool of -recipients people in turn (a payroll
// or a vendor list), or each to a new one with -recipients 0. With
// history, the journal holds what apply would have written: a create
// record, each payout's intent and outcome (2n+2 records in all) and the
// checkpoint of the root, so `payctl state verify` folds it to the state.
// Without, it holds only the create record and the checkpoint: enough for
// payctl to prove the root on load, as it does after any apply (it reads
// only the record after the root's mark). It returns the journal's size.
func genState(path string, n int, history bool) (int64, error) {
	lineage := state.New().Lineage
	g := &histGen{t0: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), fee: money.FromInt64(3000), lineage: lineage, pool: *recipients}
	jf, err := os.OpenFile(path+".journal", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer jf.Close()
	jw := bufio.NewWriterSize(jf, 1<<20)
	var off int64
	var last string
	put := func(e *state.Event) error {
		e.Prev = last
		r, err := statefile.Encode(e)
		if err != nil {
			return err
		}
		jw.Write(r.Line)
		off += int64(len(r.Line))
		last = r.Hash
		return nil
	}
	if err := put(&state.Event{Seq: 1, Time: g.t0, Kind: state.KindCreate, Op: "bench", Lineage: lineage}); err != nil {
		return 0, err
	}
	serial := uint64(1)
	if history {
		for i := 0; i < n; i++ {
			in, out := g.events(i)
			if err := put(in); err != nil {
				return 0, err
			}
			if err := put(out); err != nil {
				return 0, err
			}
		}
		serial += 2 * uint64(n)
	}

	// The segments, one payout per line in address order: the addresses
	// are made in that order, so each is folded and written alone.
	segDir := path + ".batches"
	if err := os.MkdirAll(segDir, 0o700); err != nil {
		return 0, err
	}
	var table []state.BatchEntry
	for lo := 0; lo < n; lo += batchSize {
		hi := min(n, lo+batchSize)
		name := batchOf(lo)
		f, err := os.OpenFile(filepath.Join(segDir, statefile.SegmentFile(name)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return 0, err
		}
		ps := make([]*state.Payout, 0, hi-lo)
		for i := lo; i < hi; i++ {
			p, err := g.payout(i)
			if err != nil {
				return 0, err
			}
			ps = append(ps, p)
		}
		h := sha256.New()
		if err := statefile.WriteSegment(io.MultiWriter(f, h), name, ps, nil); err != nil {
			return 0, err
		}
		if err := f.Close(); err != nil {
			return 0, err
		}
		table = append(table, state.BatchEntry{Name: name, Payouts: hi - lo, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))})
	}

	// The account index: each recipient's latest payout.
	var es []*state.AccountEntry
	people := n
	if g.pool > 0 {
		people = min(n, g.pool)
	}
	for r := 0; r < people; r++ {
		i := r
		if g.pool > 0 {
			i = r + g.pool*((n-1-r)/g.pool)
		}
		p, err := g.payout(i)
		if err != nil {
			return 0, err
		}
		es = append(es, &state.AccountEntry{Who: state.RecipientKey(p.Recipient), Account: state.AccountKey(p.Recipient), Address: p.Address, At: p.Attempts[0].SentAt, Recipient: p.Recipient})
	}
	state.SortAccounts(es)
	af, err := os.OpenFile(path+".accounts", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	ah := sha256.New()
	aw := bufio.NewWriterSize(io.MultiWriter(af, ah), 1<<20)
	if err := statefile.WriteAccounts(aw, es); err != nil {
		return 0, err
	}
	if err := aw.Flush(); err != nil {
		return 0, err
	}
	if err := af.Close(); err != nil {
		return 0, err
	}

	root := state.Empty()
	root.Lineage, root.Serial, root.Journal = lineage, serial, state.JournalMark{Offset: off, Hash: last}
	root.Segmented(table, nil)
	root.AccountsWritten(state.AccountsIndex{Entries: len(es), Digest: "sha256:" + hex.EncodeToString(ah.Sum(nil))}, nil)
	var rb bytes.Buffer
	if err := statefile.WriteRoot(&rb, root, nil); err != nil {
		return 0, err
	}
	if err := os.WriteFile(path, rb.Bytes(), 0o600); err != nil {
		return 0, err
	}
	if err := put(&state.Event{Seq: serial + 1, Time: g.t0, Kind: state.KindCheckpoint, Op: "bench", Snapshot: statefile.SnapshotDigest(rb.Bytes())}); err != nil {
		return 0, err
	}
	if err := jw.Flush(); err != nil {
		return 0, err
	}
	return off, jf.Close()
}

// batchSize is how many payouts a generated batch holds.
const batchSize = 10000

func batchOf(i int) string { return fmt.Sprintf("batch-%04d", i/batchSize) }

// stateBytes is the size of every file of a generated state but its
// journal, and their paths.
func stateBytes(path string) (int64, []string) {
	files := []string{path, path + ".accounts"}
	segs, _ := filepath.Glob(filepath.Join(path+".batches", "*.json"))
	files = append(files, segs...)
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n, files
}

type histGen struct {
	t0      time.Time
	fee     money.Amount
	lineage string
	// pool is how many recipients the payouts go to in turn; 0: each
	// payout to a new one.
	pool int
}

// events are payout i's intent and outcome, as apply journals them
// (records 2i+2 and 2i+3).
func (g *histGen) events(i int) (*state.Event, *state.Event) {
	addr := fmt.Sprintf("%s/p%07d", batchOf(i), i)
	amt := money.FromInt64(int64(10000 + i))
	who := i
	if g.pool > 0 {
		who = i % g.pool
	}
	r := providers.Recipient{Name: fmt.Sprintf("Person Number %d", who), BankCode: "014", Account: fmt.Sprintf("0%015d", who)}
	key := state.Key("idr-main", addr, 1)
	sent := g.t0.Add(time.Duration(i) * time.Second)
	seq := uint64(2*i + 2)
	in := &state.Event{Seq: seq, Time: sent, Kind: state.KindIntent, Op: "apply", By: "bench@host", Provider: "idr-main",
		Payouts: []state.EventPayout{{
			Address: addr, Attempt: 1, Key: key, Status: providers.StatusSending,
			Type: "cronos", Currency: "IDR", Amount: &amt, Recipient: &r,
			Digest:     state.Details{Provider: "idr-main", Currency: "IDR", Amount: amt, Recipient: r}.Digest(),
			PlannedFee: &g.fee, FeePayer: fee.Sender,
			Request: &providers.Request{Method: "POST", Path: "/disburse",
				Body: fmt.Sprintf(`{"bankCode":"014","recipientAccount":"%s","reference":"%s","amount":%d}`, r.Account, key, 10000+i)},
		}}}
	out := &state.Event{Seq: seq + 1, Time: sent.Add(300 * time.Millisecond), Kind: state.KindOutcome, Op: "apply", By: "bench@host", Provider: "idr-main",
		Payouts: []state.EventPayout{{
			Address: addr, Attempt: 1, Status: providers.StatusPaid,
			IDs: map[string]string{"id": fmt.Sprintf("1bfb1fa3-7c41-411e-a46a-%012d", i)}, Fee: &g.fee,
			Answer: map[string]string{"amount": amt.String(), "fee": "3000", "feePayer": "merchant", "status": "success", "totalAmount": amt.Add(g.fee).String()},
		}}}
	return in, out
}

// payout is payout i as folding its two events makes it.
func (g *histGen) payout(i int) (*state.Payout, error) {
	in, out := g.events(i)
	s := state.Empty()
	s.Lineage, s.Serial = g.lineage, in.Seq-1
	if err := s.Apply(in); err != nil {
		return nil, err
	}
	if err := s.Apply(out); err != nil {
		return nil, err
	}
	return s.Payouts[in.Payouts[0].Address], nil
}

// scale measures what depends on the size of the history: `payctl plan` of
// 1,000 new payouts against states of growing size, and the checkpoint of
// an apply of 10 payouts (the snapshot rewrite).
func (b *bench) scale(sz sizes) error {
	var first, at1M time.Duration
	for _, n := range sz.scale {
		if err := b.scaleOne(sz, n, &first, &at1M); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) scaleOne(sz sizes, n int, first, at1M *time.Duration) error {
	// An emulator of its own: each size pays the same ten addresses, with
	// the same idempotency keys.
	em, env, cfg, err := cronosRig()
	if err != nil {
		return err
	}
	defer em.close()
	dir := filepath.Join(b.dir, fmt.Sprintf("scale-%d", n))
	os.MkdirAll(dir, 0o700)
	path := filepath.Join(dir, "payctl.state.json")
	fmt.Fprintf(os.Stderr, "bench: generating a state of %d payouts\n", n)
	t0 := time.Now()
	if _, err := genState(path, n, false); err != nil {
		return err
	}
	gen := time.Since(t0)
	size, files := stateBytes(path)
	if err := os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	if err := writeBatch(filepath.Join(dir, "plan.yaml"), "planned", "cronos", "idr-main", payoutsFor("cronos", 1000, 5)); err != nil {
		return err
	}
	if err := writeBatch(filepath.Join(dir, "applied.yaml"), "applied", "cronos", "idr-main", payoutsFor("cronos", 1000, 6)); err != nil {
		return err
	}
	runs := 3
	if n >= 10_000_000 {
		runs = 1
	}
	m, err := median(runs, func() (measured, error) { return b.runProc(dir, env, b.payctl, "plan", "plan.yaml") })
	if err != nil {
		return err
	}
	if *first == 0 {
		*first = m.wall
	}
	r := row{
		name:     fmt.Sprintf("plan 1000 new payouts, state of %d payouts to %d recipients (%d MB in %d files, generated in %s)", n, people(n), size>>20, len(files), secs(gen)),
		payctl:   fmt.Sprintf("%s, %s CPU, %s peak", secs(m.wall), secs(m.cpu), mb(m.maxRSS)),
		baseline: fmt.Sprintf("same plan, state of %d: %s", sz.scale[0], secs(*first)),
		ratio:    fmt.Sprintf("%.2fx", m.wall.Seconds()/first.Seconds()),
		target:   "-", verdict: "-",
	}
	switch {
	case *quick:
	case n == 1_000_000:
		*at1M = m.wall
		r.target, r.verdict = "≤ 0.15 s, ≤ 64 MB", verdict(m.wall <= 150*time.Millisecond && m.maxRSS <= 64<<20)
	case n == 10_000_000 && *at1M > 0:
		r.target = "within 1.5x of the 1M figure"
		r.verdict = verdict(m.wall.Seconds() <= 1.5*at1M.Seconds())
		r.baseline += fmt.Sprintf("; state of 1000000: %s (%.1fx)", secs(*at1M), m.wall.Seconds()/at1M.Seconds())
	}
	b.add(r)

	// The checkpoint: apply of 1,000 payouts, against the plan of the
	// same (load and plan without sending or writing) and against
	// writing the touched batch's bytes to a new file with an fdatasync
	// (the I/O floor of its checkpoint).
	pm, err := median(runs, func() (measured, error) { return b.runProc(dir, env, b.payctl, "plan", "applied.yaml") })
	if err != nil {
		return err
	}
	before := fileStamps(path)
	am, err := b.runProc(dir, env, b.payctl, "apply", "-auto-approve", "applied.yaml")
	if err != nil {
		return err
	}
	written, touched, what := rewritten(path, before, "applied")
	floor, err := writeFloor(filepath.Join(dir, "copy.json"), filepath.Join(path+".batches", statefile.SegmentFile("applied")))
	if err != nil {
		return err
	}
	ck := am.wall - pm.wall
	r = row{
		name: fmt.Sprintf("checkpoint of an apply of 1000 payouts, state of %d payouts", n),
		payctl: fmt.Sprintf("apply %s wall, %s CPU, %s peak; files written: %s, %d bytes, %d of them the touched batch",
			secs(am.wall), secs(am.cpu), mb(am.maxRSS), what, written, touched),
		baseline: fmt.Sprintf("plan of the same 1000: %s; the touched batch's bytes written to a new file + fdatasync: %s", secs(pm.wall), secs(floor)),
		ratio:    fmt.Sprintf("apply - plan ≈ %s; %.2fx the touched bytes", secs(ck), float64(written)/float64(max(touched, 1))),
		target:   "≤ 2x the bytes of the touched batches", verdict: verdict(written <= 2*touched),
	}
	if *quick {
		r.target, r.verdict = "-", "-"
	}
	b.add(r)
	if dsn := os.Getenv("PAYCTL_TEST_PG"); dsn != "" {
		if err := b.scalePG(dir, env, cfg, dsn, n, runs); err != nil {
			return err
		}
	}
	if !*keep {
		os.RemoveAll(dir)
	}
	return nil
}

// scalePG measures the same plan, and an apply of 1,000 new payouts,
// against the same state pushed into PostgreSQL (PAYCTL_TEST_PG): the
// database reads and writes by batch as the files do.
func (b *bench) scalePG(dir string, env []string, cfg, dsn string, n, runs int) error {
	name := fmt.Sprintf("bench-%d", n)
	pg := strings.Replace(cfg, "state: payctl.state.json", "state: {backend: postgres, dsnEnv: PAYCTL_PG_DSN, name: "+name+"}", 1)
	if err := os.WriteFile(filepath.Join(dir, "pg.yaml"), []byte(pg), 0o600); err != nil {
		return err
	}
	if err := writeBatch(filepath.Join(dir, "applied-pg.yaml"), "applied-pg", "cronos", "idr-main", payoutsFor("cronos", 1000, 7)); err != nil {
		return err
	}
	env = append(append([]string{}, env...), "PAYCTL_PG_DSN="+dsn)
	for _, args := range [][]string{{"state", "migrate-schema", "-config", "pg.yaml"}, {"state", "push", "-config", "pg.yaml", "-force", "payctl.state.json"}} {
		if _, err := b.runProc(dir, env, b.payctl, args...); err != nil {
			return fmt.Errorf("payctl %s: %w", strings.Join(args, " "), err)
		}
	}
	m, err := median(runs, func() (measured, error) {
		return b.runProc(dir, env, b.payctl, "plan", "-config", "pg.yaml", "plan.yaml")
	})
	if err != nil {
		return err
	}
	am, err := b.runProc(dir, env, b.payctl, "apply", "-config", "pg.yaml", "-auto-approve", "applied-pg.yaml")
	if err != nil {
		return err
	}
	r := row{
		name:     fmt.Sprintf("PostgreSQL state of %d payouts: plan 1000 new payouts; apply of 1000 more", n),
		payctl:   fmt.Sprintf("plan %s, %s CPU, %s peak; apply %s, %s CPU, %s peak", secs(m.wall), secs(m.cpu), mb(m.maxRSS), secs(am.wall), secs(am.cpu), mb(am.maxRSS)),
		baseline: "-", ratio: "-", target: "-", verdict: "-",
	}
	if n == 1_000_000 && !*quick {
		r.target, r.verdict = "plan ≤ 0.15 s, ≤ 64 MB", verdict(m.wall <= 150*time.Millisecond && m.maxRSS <= 64<<20)
	}
	b.add(r)
	return nil
}

// cronosRig starts a Cronos emulator of its own and returns the
// environment and the payctl.yaml (a state payctl.state.json, provider
// idr-main) that pay through it.
func cronosRig() (*emulated, []string, string, error) {
	em, err := startEmulator("cronos", "", 0)
	if err != nil {
		return nil, nil, "", err
	}
	env := []string{"BENCH_KEY=" + em.creds["keyEnv"], "BENCH_TOKEN=" + em.creds["tokenEnv"]}
	cfg := fmt.Sprintf("state: payctl.state.json\nproviders:\n  idr-main:\n    type: cronos\n    baseURL: %s\n    keyEnv: BENCH_KEY\n    tokenEnv: BENCH_TOKEN\n    callbackURL: http://127.0.0.1:9/callbacks\n", em.srv.URL)
	return em, env, cfg, nil
}

// people is how many recipients a generated state of n payouts pays.
func people(n int) int {
	if *recipients > 0 {
		return min(n, *recipients)
	}
	return n
}

// fileStamps records every file of a state but its journal.
func fileStamps(path string) map[string]os.FileInfo {
	_, files := stateBytes(path)
	out := map[string]os.FileInfo{}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			out[f] = fi
		}
	}
	return out
}

// rewritten sums the files of a state written since before was taken (new
// or replaced: a checkpoint renames new files into place), and the bytes
// of batch's segment among them.
func rewritten(path string, before map[string]os.FileInfo, batch string) (written, touched int64, what string) {
	var names []string
	for f, fi := range fileStamps(path) {
		if old, ok := before[f]; ok && os.SameFile(old, fi) && old.ModTime().Equal(fi.ModTime()) {
			continue
		}
		written += fi.Size()
		names = append(names, fmt.Sprintf("%s %s", filepath.Base(f), mb(fi.Size())))
		if filepath.Base(f) == statefile.SegmentFile(batch) {
			touched = fi.Size()
		}
	}
	sort.Strings(names)
	return written, touched, strings.Join(names, ", ")
}

// writeFloor copies a file to a new one, fdatasyncs it and removes it.
func writeFloor(path, from string) (time.Duration, error) {
	src, err := os.Open(from)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	t0 := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return 0, err
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		f.Close()
		return 0, err
	}
	d := time.Since(t0)
	f.Close()
	return d, os.Remove(path)
}

// verify measures `payctl state verify` of a state whose journal holds
// every payout's intent and outcome, against sha256sum over the same bytes
// (the journal and the snapshot, which verify reads both of).
func (b *bench) verify(sz sizes) error {
	if _, err := exec.LookPath("sha256sum"); err != nil {
		return fmt.Errorf("the verify baseline needs sha256sum: %w", err)
	}
	for _, records := range sz.verifyRecords {
		n := (records - 2) / 2
		dir := filepath.Join(b.dir, fmt.Sprintf("verify-%d", records))
		os.MkdirAll(dir, 0o700)
		path := filepath.Join(dir, "payctl.state.json")
		fmt.Fprintf(os.Stderr, "bench: generating a journal of %d records (%d payouts)\n", 2*n+3, n)
		t0 := time.Now()
		if _, err := genState(path, n, true); err != nil {
			return err
		}
		gen := time.Since(t0)
		size, files := stateBytes(path)
		jfi, _ := os.Stat(path + ".journal")
		sumArgs := append([]string{path + ".journal"}, files...)
		// Once to bring both files into the page cache, as for verify.
		if _, err := b.runProc(dir, nil, "sha256sum", sumArgs...); err != nil {
			return err
		}
		runs := 3
		if records >= 10_000_000 {
			runs = 1
		}
		m, err := median(runs, func() (measured, error) {
			return b.runProc(dir, nil, b.payctl, "state", "verify", "-state", path)
		})
		if err != nil {
			return err
		}
		base, err := median(runs, func() (measured, error) {
			return b.runProc(dir, nil, "sha256sum", sumArgs...)
		})
		if err != nil {
			return err
		}
		r := row{
			name: fmt.Sprintf("state verify, journal of %d records (%d MB) + state of %d payouts (%d MB in %d files), generated in %s",
				2*n+3, jfi.Size()>>20, n, size>>20, len(files), secs(gen)),
			payctl:   fmt.Sprintf("%s, %s CPU, %s peak", secs(m.wall), secs(m.cpu), mb(m.maxRSS)),
			baseline: fmt.Sprintf("sha256sum of the journal and the state's files: %s, %s CPU", secs(base.wall), secs(base.cpu)),
			ratio:    fmt.Sprintf("%.1fx", m.wall.Seconds()/base.wall.Seconds()),
			target:   "≤ 1.5x sha256sum", verdict: verdict(m.wall.Seconds() <= 1.5*base.wall.Seconds()),
		}
		if *quick {
			r.target, r.verdict = "-", "-"
		}
		b.add(r)
		if err := b.verifyFrom(dir, path, records, m); err != nil {
			return err
		}
		if !*keep {
			os.RemoveAll(dir)
		}
	}
	return nil
}

// verifyFrom measures an audit of what happened since an earlier one: the
// state is committed to git as audited, 1,000 payouts are applied on the
// Cronos emulator, and `payctl state verify -from` the audited commit is
// timed against `payctl state verify` of everything (full, the same
// verify measured before the apply).
func (b *bench) verifyFrom(dir, path string, records int, full measured) error {
	if _, err := exec.LookPath("git"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: no git: verify -from not measured")
		return nil
	}
	git := func(args ...string) error {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=bench", "-c", "user.email=bench@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	t0 := time.Now()
	for _, args := range [][]string{{"init", "-q"}, {"add", "payctl.state.json", "payctl.state.json.accounts", "payctl.state.json.batches"}, {"commit", "-q", "-m", "audited"}} {
		if err := git(args...); err != nil {
			return err
		}
	}
	committed := time.Since(t0)
	em, env, cfg, err := cronosRig()
	if err != nil {
		return err
	}
	defer em.close()
	if err := os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	if err := writeBatch(filepath.Join(dir, "since.yaml"), "since", "cronos", "idr-main", payoutsFor("cronos", 1000, 7)); err != nil {
		return err
	}
	if _, err := b.runProc(dir, env, b.payctl, "apply", "-auto-approve", "since.yaml"); err != nil {
		return err
	}
	runs := 3
	if records >= 10_000_000 {
		runs = 1
	}
	m, err := median(runs, func() (measured, error) {
		return b.runProc(dir, nil, b.payctl, "state", "verify", "-state", path, "-from", "HEAD")
	})
	if err != nil {
		return err
	}
	b.add(row{
		name:     fmt.Sprintf("state verify -from the audited commit, after an apply of 1000 payouts to a history of %d records (git commit of the audited state: %s)", records, secs(committed)),
		payctl:   fmt.Sprintf("%s, %s CPU, %s peak", secs(m.wall), secs(m.cpu), mb(m.maxRSS)),
		baseline: fmt.Sprintf("state verify of everything, before the apply: %s, %s CPU, %s peak", secs(full.wall), secs(full.cpu), mb(full.maxRSS)),
		ratio:    fmt.Sprintf("%.3fx", m.wall.Seconds()/full.wall.Seconds()),
		target:   "-", verdict: "-",
	})
	return nil
}
