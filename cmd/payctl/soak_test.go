package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

var (
	soakPayouts = flag.Int("soak.payouts", 100, "payouts in the kill -9 soak")
	soakKills   = flag.Int("soak.kills", 15, "kill -9s in the soak")
	soakSeed    = flag.Uint64("soak.seed", 1, "seed of the soak's kill timings")
	soakMigrate = flag.Bool("soak.migrated", false, "soak a state that began in the single-file format, paid a batch and was migrated to segments")
)

// TestKillSoak runs a real payctl apply and kills it with SIGKILL at random
// moments (fixed seed), again and again, then lets it finish: every payout
// must be paid exactly once by a provider that does not deduplicate, and
// every payment it made must be in the state. CI runs a short soak; the
// full one is `scripts/soak` (500 payouts, 100+ kills).
func TestKillSoak(t *testing.T) {
	r := newRig(t, *soakPayouts, 8, 300*time.Millisecond)
	// A rate limit spreads the work so that kills land mid-run, not after.
	cfg, _ := os.ReadFile(filepath.Join(r.dir, "payctl.yaml"))
	write(t, filepath.Join(r.dir, "payctl.yaml"), string(cfg)+"    ratePerSecond: 150\n")
	var early []string
	kind := "kill-soak"
	if *soakMigrate {
		early, kind = r.migrated(t), "kill-soak-migrated"
	}
	rng := rand.New(rand.NewPCG(*soakSeed, 0xdecaf))
	began := time.Now()
	kills, runs := 0, 0
	for kills < *soakKills {
		cmd := r.payctl(nil, "apply", "-auto-approve", "batch.yaml")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		runs++
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Mostly short lives (startup, recovery, the first sends), some long.
		d := time.Duration(rng.IntN(40)+2) * time.Millisecond
		if rng.IntN(5) == 0 {
			d = time.Duration(rng.IntN(400)+40) * time.Millisecond
		}
		select {
		case err := <-done:
			if err == nil && len(r.ledger.Payments()) >= r.n {
				// Finished before the kill: nothing left to interrupt.
				t.Logf("apply finished after %d kills", kills)
				kills = *soakKills
			}
		case <-time.After(d):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
	}
	r.settle()
	dups, lost := r.checkAlso(early)
	fmt.Printf("soak: payouts=%d kills=%d runs=%d requests=%d duplicates=%d lost=%d seconds=%.1f seed=%d\n",
		r.n+len(early), kills, runs, r.ledger.Creates(), dups, lost, time.Since(began).Seconds(), *soakSeed)
	fmt.Printf("reliability: kind=%s cases=1 kills=%d faults=0 payouts=%d duplicates=%d lost=%d\n", kind, kills, r.n+len(early), dups, lost)
	if dups+lost > 0 {
		t.Fatalf("%d duplicates, %d lost records", dups, lost)
	}
}
