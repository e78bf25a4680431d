// Command reliability runs payctl's proofs that it neither pays twice nor
// loses a record, with fixed seeds, and prints what they did:
//
//	go run ./internal/bench/reliability           # the full run
//	go run ./internal/bench/reliability -short    # a short one (CI)
//
// It runs the crash-point matrix (a real payctl killed at every named
// point of the protocol), the kill -9 soak, both again on a state migrated
// to segments mid-history, the fault tests of both
// provider emulators and of the fake provider, and every fuzz target for a
// bounded time. Tests report through lines of the form
//
//	reliability: kind=K cases=N kills=N faults=N payouts=N duplicates=N lost=N
//
// which this command sums. It exits non-zero on any duplicate, lost
// record, failing test or fuzz crasher.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	short    = flag.Bool("short", false, "a short run: fewer kills, a few seconds per fuzz target")
	kills    = flag.Int("kills", 200, "kill -9s in the soak")
	fuzzTime = flag.Duration("fuzztime", 30*time.Second, "time per fuzz target")
	seed     = flag.Int("seed", 1, "seed of the soak")
)

type totals struct {
	cases, kills, faults, payouts, dups, lost int
}

var lineRE = regexp.MustCompile(`^reliability: kind=(\S+) cases=(\d+) kills=(\d+) faults=(\d+) payouts=(\d+) duplicates=(\d+) lost=(\d+)`)

func main() {
	flag.Parse()
	if *short {
		// Short defaults; flags given explicitly still win.
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["kills"] {
			*kills = 20
		}
		if !set["fuzztime"] {
			*fuzzTime = 3 * time.Second
		}
	}
	began := time.Now()
	byKind := map[string]*totals{}
	failed := false
	run := func(name string, args ...string) {
		fmt.Fprintf(os.Stderr, "reliability: %s: go %s\n", name, strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			m := lineRE.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			t := byKind[m[1]]
			if t == nil {
				t = &totals{}
				byKind[m[1]] = t
			}
			n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
			t.cases += n(2)
			t.kills += n(3)
			t.faults += n(4)
			t.payouts += n(5)
			t.dups += n(6)
			t.lost += n(7)
		}
		if err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "reliability: %s FAILED:\n%s\n", name, tail(out.String(), 4000))
		}
	}
	run("crash-point matrix", "test", "-count=1", "-run", "^TestCrashPoints(Migrated)?$", "-v", "./cmd/payctl")
	run("kill -9 soak", "test", "-count=1", "-run", "^TestKillSoak$", "-v", "./cmd/payctl",
		"-soak.payouts=500", fmt.Sprintf("-soak.kills=%d", *kills), fmt.Sprintf("-soak.seed=%d", *seed))
	// Again on a state paid in the single-file format and migrated to
	// segments mid-history, with a quarter of the kills.
	run("kill -9 soak, migrated state", "test", "-count=1", "-run", "^TestKillSoak$", "-v", "./cmd/payctl",
		"-soak.payouts=200", fmt.Sprintf("-soak.kills=%d", max(*kills/4, 5)), fmt.Sprintf("-soak.seed=%d", *seed+1), "-soak.migrated")
	run("provider faults", "test", "-count=1", "-run", "Fault|Unknown|Lost|Crash|Quote|Expired|Retry", "-v", "./apply/", "./providers/...")

	execs, crashers, targets := fuzzAll(&failed)

	fmt.Printf("payctl reliability run, %s, %s, seed %d\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), time.Since(began).Round(time.Second), *seed)
	fmt.Println("| part | cases | kills | faults injected | payouts attempted | duplicates | lost records |")
	fmt.Println("|---|--:|--:|--:|--:|--:|--:|")
	var all totals
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t := byKind[k]
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %d |\n", k, t.cases, t.kills, t.faults, t.payouts, t.dups, t.lost)
		all.cases += t.cases
		all.kills += t.kills
		all.faults += t.faults
		all.payouts += t.payouts
		all.dups += t.dups
		all.lost += t.lost
	}
	fmt.Printf("| **total** | %d | %d | %d | %d | **%d** | **%d** |\n\n", all.cases, all.kills, all.faults, all.payouts, all.dups, all.lost)
	fmt.Printf("fuzzing: %d targets, %s each, %d executions, %d crashers\n", targets, *fuzzTime, execs, crashers)
	if all.dups > 0 || all.lost > 0 || crashers > 0 || failed {
		fmt.Println("\nFAILED: see above")
		os.Exit(1)
	}
	fmt.Println("\nall clear: 0 duplicates, 0 lost records, 0 crashers")
}

var execsRE = regexp.MustCompile(`execs: (\d+)`)

// fuzzAll runs every fuzz target of the module for the fuzz time.
func fuzzAll(failed *bool) (execs, crashers, targets int) {
	out, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		*failed = true
		return
	}
	for _, pkg := range strings.Fields(string(out)) {
		list, _ := exec.Command("go", "test", "-list", "^Fuzz", pkg).Output()
		for _, name := range strings.Fields(string(list)) {
			if !strings.HasPrefix(name, "Fuzz") {
				continue
			}
			targets++
			fmt.Fprintf(os.Stderr, "reliability: fuzz %s %s\n", pkg, name)
			// Minimizing a new input may otherwise take up to a minute with
			// no executions counted, and a run whose time ends during one
			// reports "context deadline exceeded" as if it had failed.
			run := func() (string, error) {
				cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+name+"$", "-fuzztime", fuzzTime.String(), "-fuzzminimizetime", "200x", pkg)
				var b bytes.Buffer
				cmd.Stdout, cmd.Stderr = &b, &b
				err := cmd.Run()
				var last int
				for _, m := range execsRE.FindAllStringSubmatch(b.String(), -1) {
					last, _ = strconv.Atoi(m[1])
				}
				execs += last
				return b.String(), err
			}
			out, runErr := run()
			// A run whose time ends while the fuzzer is busy with an input
			// (on a loaded machine, minimizing a new one) fails with
			// "context deadline exceeded" and no failing input; a hang in
			// payctl's code would look the same, so the target runs again,
			// up to three times in all, and only a failure that repeats
			// every time, or one that wrote a failing input, counts.
			for try := 2; try <= 3 && runErr != nil && !strings.Contains(out, "Failing input written") && strings.Contains(out, "context deadline exceeded"); try++ {
				fmt.Fprintf(os.Stderr, "reliability: %s %s: the fuzzer's time ended while it was busy, no failing input; running it again (try %d of 3)\n", pkg, name, try)
				out, runErr = run()
			}
			if runErr != nil {
				crashers++
				*failed = true
				fmt.Fprintf(os.Stderr, "reliability: %s %s found a crasher:\n%s\n", pkg, name, tail(out, 3000))
			}
		}
	}
	return
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
