package localstate_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
	"github.com/payctl/payctl/state/statetest"
)

// RecordFunc's callback runs once the events are durable, and may queue
// more events.
func TestRecordFunc(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.json")
	s, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: true, Op: "test"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	s.RecordFunc(ctx, func(err error) {
		done <- err
		s.RecordFunc(ctx, func(err error) { done <- err }, statetest.Outcome("b/a", 1, providers.StatusPaid, "id-1"))
	}, statetest.Intent("b/a", 1, "1000"))
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Snapshot().Payouts["b/a"]; p == nil || p.Status != providers.StatusPaid {
		t.Fatalf("the outcome queued from the callback was not journaled: %+v", p)
	}
}
