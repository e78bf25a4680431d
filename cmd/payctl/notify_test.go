package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/notify"
	"github.com/payctl/payctl/providers"
	fakeemu "github.com/payctl/payctl/providers/fake/emulator"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

// recordedStatus reads the state at path as any reader would (no lock)
// and returns addr's status, "" when it has no outcome recorded yet.
func recordedStatus(path, addr string) providers.Status {
	st, err := state.Open(context.Background(), localstate.New(path, nil, nil), state.Options{})
	if err != nil {
		return ""
	}
	defer st.Close()
	var s providers.Status
	st.View(func(snap *state.Snapshot) {
		if p := snap.Payouts[addr]; p != nil && p.Status != providers.StatusSending {
			s = p.Status
		}
	})
	return s
}

// A webhook that fails twice and then takes events: every event arrives
// (none lost, keys intact, the URL never printed), and the alerts never
// hold a payment up. The receiver does not answer the first alert (the
// failure of the first payout) until the state records the last payout:
// were alerts delivered inside the run, that payout would never be sent
// and the receiver would give up, failing the test, whatever the timing.
func TestAlertsRetriedNoneLostPaymentsNotDelayed(t *testing.T) {
	led := fakeemu.NewLedger()
	led.Inject(fakeemu.Reject) // the first payout fails: an alert
	prov := httptest.NewServer(led)
	defer prov.Close()

	dir := t.TempDir()
	statePath := filepath.Join(dir, "payctl.state.json")
	var (
		mu        sync.Mutex
		tries     int
		delivered []map[string]any
		keys      []string
		problems  []string
	)
	rx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for deadline := time.Now().Add(60 * time.Second); recordedStatus(statePath, "nov/c") == ""; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				mu.Lock()
				problems = append(problems, "the last payout was not recorded while an alert was waiting for its answer")
				mu.Unlock()
				http.Error(w, "gave up", http.StatusServiceUnavailable)
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries <= 2 {
			http.Error(w, "down for maintenance", http.StatusBadGateway)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			problems = append(problems, fmt.Sprintf("body %q: %v", body, err))
		}
		delivered = append(delivered, m)
		keys = append(keys, r.Header.Get("Idempotency-Key"))
	}))
	defer rx.Close()
	hookURL := rx.URL + "/services/T000/B000/secret-token-123"

	cfg := fmt.Sprintf(`state: payctl.state.json
providers:
  fk: {type: fake, baseURL: %s, concurrency: 1}
notify:
  webhooks:
    - {name: ops, kind: json, urlEnv: OPS_WEBHOOK_URL, events: [failed, unknown, stopped]}
`, prov.URL)
	manifest := `apiVersion: payctl/v1
kind: PayoutBatch
metadata: {name: nov}
spec:
  provider: fk
  currency: IDR
  payouts:
    - {id: a, amount: "10000", recipient: {name: Ann, bankCode: "014", account: "1234567"}}
    - {id: b, amount: "20000", recipient: {name: Bob, bankCode: "014", account: "2345678"}}
    - {id: c, amount: "30000", recipient: {name: Cid, bankCode: "014", account: "3456789"}}
`
	for name, s := range map[string]string{"payctl.yaml": cfg, "nov.yaml": manifest} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string {
		switch k {
		case "PAYCTL_CONFIG":
			return filepath.Join(dir, "payctl.yaml")
		case "OPS_WEBHOOK_URL":
			return hookURL
		}
		return ""
	}}
	run(context.Background(), []string{"apply", "-init", "-auto-approve", filepath.Join(dir, "nov.yaml")}, env)

	if st := recordedStatus(statePath, "nov/a"); st != providers.StatusFailed {
		t.Fatalf("nov/a is %q, want failed (the scenario needs one alert)\nstdout:\n%s\nstderr:\n%s", st, stdout.String(), stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatal(strings.Join(problems, "\n"))
	}
	// apply waited, bounded, for the alert before exiting.
	want := notify.NewEvent(notify.Failed, "nov/a#1", time.Now(), "")
	if tries != 3 || len(delivered) != 1 {
		t.Fatalf("receiver: %d tries, %d events delivered; want 3 tries (2 refused) and 1 event\nstderr:\n%s", tries, len(delivered), stderr.String())
	}
	ev := delivered[0]
	if ev["event"] != notify.Failed || ev["address"] != "nov/a" || ev["idempotency_key"] != want.Key || keys[0] != want.Key || ev["format_version"] != float64(1) {
		t.Errorf("delivered %v (header key %s), want the failure of nov/a with key %s", ev, keys[0], want.Key)
	}
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(out, "secret-token-123") {
			t.Errorf("the webhook URL was printed:\n%s", out)
		}
	}
	if got := recordedStatus(statePath, "nov/c"); got == "" || got == providers.StatusUnknown {
		t.Errorf("nov/c is %q", got)
	}
}
