package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// flaky is a receiver that fails its first n requests, then takes them.
type flaky struct {
	mu       sync.Mutex
	failures int
	tries    int
	got      []map[string]any
	keys     []string
	gate     chan struct{} // if set, answers wait for it
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.gate != nil {
		<-f.gate
	}
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if f.tries <= f.failures {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	f.got = append(f.got, m)
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
}

func fast() Options {
	return Options{RetryMax: 4, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
}

func TestDeliveredAfterFailuresNoneLost(t *testing.T) {
	rx := &flaky{failures: 2}
	srv := httptest.NewServer(rx)
	defer srv.Close()
	var logs bytes.Buffer
	o := fast()
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	n := New([]Webhook{{Name: "ops", Kind: "json", URL: srv.URL + "/hooks/SECRET-TOKEN"}}, o)
	events := []Event{
		NewEvent(Failed, "b/a#1", time.Now(), "payout b/a failed"),
		NewEvent(Unknown, "b/b#1", time.Now(), "payout b/b unknown"),
		NewEvent(Held, "f.yaml", time.Now(), "file held"),
	}
	for _, ev := range events {
		n.Notify(ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if left := n.Close(ctx); left != 0 {
		t.Fatalf("%d events left undelivered", left)
	}
	if len(rx.got) != len(events) || n.Sent() != 3 || n.Failed() != 0 || n.Dropped() != 0 {
		t.Fatalf("got %d events (sent %d, failed %d, dropped %d), want 3 delivered", len(rx.got), n.Sent(), n.Failed(), n.Dropped())
	}
	for i, ev := range events {
		if rx.got[i]["idempotency_key"] != ev.Key || rx.keys[i] != ev.Key || rx.got[i]["event"] != ev.Kind {
			t.Errorf("delivery %d: %v (header key %s), want event %s key %s", i, rx.got[i], rx.keys[i], ev.Kind, ev.Key)
		}
	}
	if !strings.Contains(logs.String(), "tries=3") || strings.Count(logs.String(), "alert delivered") != 3 {
		t.Errorf("logs do not show three deliveries, the first after 3 tries:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "SECRET-TOKEN") {
		t.Errorf("the webhook's URL was logged:\n%s", logs.String())
	}
}

func TestFailureLoggedWithoutURL(t *testing.T) {
	rx := &flaky{failures: 1000}
	srv := httptest.NewServer(rx)
	defer srv.Close()
	var logs bytes.Buffer
	o := fast()
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	// One webhook that answers 503 forever, one that refuses connections.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/T0/B0/SECRET-TOKEN"
	dead.Close()
	n := New([]Webhook{{Name: "down", URL: srv.URL + "/SECRET-TOKEN"}, {Name: "gone", Kind: "slack", URL: deadURL}}, o)
	n.Notify(NewEvent(Stopped, "run", time.Now(), "apply stopped"))
	n.Close(context.Background())
	if n.Failed() != 2 || rx.tries != 5 {
		t.Fatalf("failed %d (want 2), receiver tried %d times (want 1 + 4 retries)", n.Failed(), rx.tries)
	}
	out := logs.String()
	if strings.Count(out, "alert not delivered") != 2 || strings.Contains(out, "SECRET-TOKEN") {
		t.Errorf("want two failures logged without the URL, got:\n%s", out)
	}
}

func TestFullQueueDropsWithoutWaiting(t *testing.T) {
	rx := &flaky{gate: make(chan struct{})}
	srv := httptest.NewServer(rx)
	defer srv.Close()
	o := fast()
	o.QueueSize = 2
	n := New([]Webhook{{Name: "slow", URL: srv.URL}}, o)
	// The receiver holds every answer: one event in flight, two queued,
	// the rest must be dropped at once (this would hang if Notify waited).
	for i := range 10 {
		n.Notify(NewEvent(Failed, string(rune('a'+i)), time.Now(), "x"))
	}
	if d := n.Dropped(); d < 7 {
		t.Fatalf("dropped %d, want at least 7 of 10 with a queue of 2", d)
	}
	close(rx.gate)
	n.Close(context.Background())
	if got := int64(len(rx.got)); got+n.Dropped() != 10 {
		t.Errorf("delivered %d + dropped %d != 10", got, n.Dropped())
	}
}

func TestKeysAndBodies(t *testing.T) {
	a := NewEvent(Unknown, "b/a#1", time.Unix(1, 0), "x")
	b := NewEvent(Unknown, "b/a#1", time.Unix(2, 0), "y")
	c := NewEvent(Unknown, "b/a#2", time.Unix(1, 0), "x")
	if a.Key != b.Key || a.Key == c.Key {
		t.Errorf("keys: same subject %s %s, other %s", a.Key, b.Key, c.Key)
	}
	a.Command = "payctl state resolve b/a -paid|-failed -reason TEXT"
	body, err := encode("slack", a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(body, &m); err != nil || len(m) != 1 || !strings.Contains(m["text"], a.Command) || !strings.Contains(m["text"], a.Key) {
		t.Errorf("slack body %s", body)
	}
	if _, err := encode("teams", a); err == nil {
		t.Error("an unknown kind was encoded")
	}
	var nilN *Notifier
	nilN.Notify(a) // no webhooks configured: nothing happens
	if nilN.Close(context.Background()) != 0 {
		t.Error("nil notifier")
	}
}
