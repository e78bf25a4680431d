package watch

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/daemon"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/providers"
	cronosemu "github.com/payctl/payctl/providers/cronos/emulator"
)

var (
	benchFiles   = flag.Int("watch.bench.files", 200, "files per run of BenchmarkDropToDone")
	benchPayouts = flag.Int("watch.bench.payouts", 10, "payouts per file in BenchmarkDropToDone")
)

// BenchmarkDropToDone measures the latency from a file's rename into
// inbox/ to its report in done/, one file at a time, paying through the
// Cronos emulator (over HTTP, in this process). It reports the median and
// the 99th percentile. Run it with -benchtime=1x: one run is
// -watch.bench.files files of -watch.bench.payouts payouts.
func BenchmarkDropToDone(b *testing.B) {
	em, err := cronosemu.New(providers.EmulatorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(em)
	b.Cleanup(func() { srv.Close(); em.Close() })
	creds := em.Credentials()
	var all []time.Duration
	for i := 0; i < b.N; i++ {
		all = append(all, dropToDone(b, srv.URL, creds, *benchFiles, *benchPayouts)...)
	}
	slices.Sort(all)
	median, p99 := all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
	b.ReportMetric(float64(median.Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("drop-to-done: files=%d payouts/file=%d median=%s p99=%s max=%s\n", len(all), *benchPayouts, median.Round(time.Millisecond), p99.Round(time.Millisecond), all[len(all)-1].Round(time.Millisecond))
}

func dropToDone(b *testing.B, url string, creds map[string]string, files, payouts int) []time.Duration {
	b.StopTimer()
	root := b.TempDir()
	cfg := fmt.Sprintf(`state: payctl.state.json
providers:
  idr:
    type: cronos
    baseURL: %s
    keyEnv: CRONOS_KEY
    tokenEnv: CRONOS_TOKEN
    callbackURL: http://127.0.0.1:9/callbacks/idr/0123456789abcdef0123
policy:
  autoApply:
    providers: [idr]
`, url)
	writeFile(b, filepath.Join(root, "payctl.yaml"), cfg)
	env := map[string]string{"CRONOS_KEY": creds["keyEnv"], "CRONOS_TOKEN": creds["tokenEnv"]}
	ws, err := workspace.Load(filepath.Join(root, "payctl.yaml"), nil, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	ws.CreateState = true // the first session starts the state, as apply -init does
	defer ws.Close()
	stage := filepath.Join(root, "stage")
	if err := os.MkdirAll(stage, 0o700); err != nil {
		b.Fatal(err)
	}
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	for f := 0; f < files; f++ {
		var m strings.Builder
		fmt.Fprintf(&m, "apiVersion: payctl/v1\nkind: PayoutBatch\nmetadata:\n  name: bench-%s-%04d\nspec:\n  provider: idr\n  currency: IDR\n  payouts:\n", run, f)
		for p := 0; p < payouts; p++ {
			fmt.Fprintf(&m, "    - {id: p%02d, amount: \"%d\", recipient: {name: Person %d, bankCode: \"014\", account: \"81%06d%02d\"}}\n", p, 15000+p, p, f, p)
		}
		writeFile(b, filepath.Join(stage, fmt.Sprintf("f%04d.yaml", f)), m.String())
	}
	done := make(chan Finished, 1)
	w, err := New(Options{
		Dir: filepath.Join(root, "drop"), Gate: daemon.NewGate(ws, daemon.GateOptions{}),
		Finished: func(f Finished) { done <- f },
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := w.Run(ctx); err != nil {
			b.Error(err)
		}
	}()
	defer func() { cancel(); <-stopped }()
	for !w.running.Load() {
		time.Sleep(time.Millisecond)
	}
	b.StartTimer()
	lat := make([]time.Duration, 0, files)
	for f := 0; f < files; f++ {
		name := fmt.Sprintf("f%04d.yaml", f)
		t0 := time.Now()
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(root, "drop", Inbox, name)); err != nil {
			b.Fatal(err)
		}
		select {
		case got := <-done:
			lat = append(lat, time.Since(t0))
			if got.Folder != Done || got.Outcome != OutcomeApplied {
				b.Fatalf("%s: got %+v, want done/ applied", name, got)
			}
		case <-time.After(time.Minute):
			b.Fatalf("%s was not done within a minute", name)
		}
	}
	b.StopTimer()
	return lat
}
