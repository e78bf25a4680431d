package cronos

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/emulator"
)

const callbackBody = `{"responseCode":200,"responseMessage":"success","responseData":{"id":"3f0e9a4c-8b1d-4c2e-a6f5-0d9b7e2c1a55","merchantRef":"6f1c1bde-1f3e-5c55-9d6a-000000000001","status":"success","amount":150001}}`

func TestParseCallback(t *testing.T) {
	tests := map[string]struct {
		body string
		want providers.Hint
		err  string // a word the error must contain; empty for success
	}{
		"valid": {body: callbackBody, want: providers.Hint{Reference: "6f1c1bde-1f3e-5c55-9d6a-000000000001", ID: "3f0e9a4c-8b1d-4c2e-a6f5-0d9b7e2c1a55", Status: providers.StatusPaid}},
		"unknown status is still a hint": {
			body: strings.Replace(callbackBody, `"success","amount"`, `"refunded","amount"`, 1),
			want: providers.Hint{Reference: "6f1c1bde-1f3e-5c55-9d6a-000000000001", ID: "3f0e9a4c-8b1d-4c2e-a6f5-0d9b7e2c1a55", Status: providers.StatusUnknown},
		},
		"empty":              {body: ``, err: "syntax"},
		"not json":           {body: `status=success`, err: "syntax"},
		"array":              {body: `[]`, err: "not a JSON object"},
		"no data":            {body: `{"responseCode":200,"responseMessage":"success"}`, err: "not an object"},
		"no reference":       {body: strings.Replace(callbackBody, `"merchantRef":"6f1c1bde-1f3e-5c55-9d6a-000000000001",`, ``, 1), err: "merchantRef"},
		"id not a uuid":      {body: strings.Replace(callbackBody, `3f0e9a4c-8b1d-4c2e-a6f5-0d9b7e2c1a55`, `TXN42`, 1), want: providers.Hint{Reference: "6f1c1bde-1f3e-5c55-9d6a-000000000001", ID: "TXN42", Status: providers.StatusPaid}},
		"id with a control":  {body: strings.Replace(callbackBody, `3f0e9a4c-8b1d-4c2e-a6f5-0d9b7e2c1a55`, `TXN\u001b[2J42`, 1), err: "control"},
		"duplicate status":   {body: strings.Replace(callbackBody, `"status":"success"`, `"status":"failed","status":"success"`, 1), err: "two \"status\""},
		"duplicate envelope": {body: strings.Replace(callbackBody, `{"responseCode":200`, `{"responseCode":200,"responseCode":200`, 1), err: "two \"responseCode\""},
		"too large":          {body: callbackBody + strings.Repeat(" ", MaxCallbackSize), err: "larger than"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseCallback(strings.NewReader(tc.body))
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("got %+v, %v; want an error containing %q", got, err, tc.err)
			}
		})
	}
}

func TestCallbackHandler(t *testing.T) {
	var mu sync.Mutex
	var hints []providers.Hint
	fail := false
	h := CallbackHandler(func(_ context.Context, h providers.Hint) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("state locked")
		}
		hints = append(hints, h)
		return nil
	}, nil)
	tests := map[string]struct {
		method string
		body   string
		fail   bool
		want   int
		hints  int
	}{
		"valid":                {http.MethodPost, callbackBody, false, http.StatusOK, 1},
		"garbage":              {http.MethodPost, `{"hello":`, false, http.StatusBadRequest, 0},
		"oversized":            {http.MethodPost, callbackBody + strings.Repeat(" ", MaxCallbackSize), false, http.StatusRequestEntityTooLarge, 0},
		"get":                  {http.MethodGet, ``, false, http.StatusMethodNotAllowed, 0},
		"receiver cannot take": {http.MethodPost, callbackBody, true, http.StatusInternalServerError, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mu.Lock()
			hints, fail = nil, tc.fail
			mu.Unlock()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/callbacks/cronos", strings.NewReader(tc.body)))
			if rec.Code != tc.want {
				t.Errorf("got HTTP %d, want %d", rec.Code, tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(hints) != tc.hints {
				t.Errorf("got %d hints, want %d", len(hints), tc.hints)
			}
		})
	}
}

// TestCallbacksEndToEnd lets the emulator call a CallbackHandler, with
// duplicated and reordered callbacks, and confirms every hint with Check as
// a receiver must.
func TestCallbacksEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var hints []providers.Hint
	handler := CallbackHandler(func(_ context.Context, h providers.Hint) error {
		mu.Lock()
		defer mu.Unlock()
		hints = append(hints, h)
		return nil
	}, nil)
	e := newEnv(t, withCallbackHandler(handler))
	e.em.InjectNext(emulator.FaultDuplicateCallbacks, 1)
	as := e.sendAll(t, 1)
	e.em.InjectNext(emulator.FaultReorderCallbacks, 1)
	e.clock.Advance(time.Minute)
	e.em.Settle()
	as = append(as, e.sendAll(t, 2)...)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e.em.WaitCallbacks(ctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	got := append([]providers.Hint(nil), hints...)
	mu.Unlock()
	var seq []string
	for _, h := range got {
		seq = append(seq, h.Reference[len(h.Reference)-1:]+":"+string(h.Status))
	}
	// Payout 1's creation twice; its success held back until payout 2's
	// creation was sent.
	want := []string{"1:pending", "1:pending", "2:pending", "1:paid"}
	if strings.Join(seq, " ") != strings.Join(want, " ") {
		t.Errorf("got callbacks %v, want %v", seq, want)
	}
	if f := e.em.Faults(); f["duplicate-callbacks"] != 1 || f["reorder-callbacks"] != 1 {
		t.Errorf("got faults %v, want one of each callback fault", f)
	}
	// A receiver confirms each hint with Check before recording; the
	// latest status wins however the callbacks arrived.
	byRef := map[string]providers.Attempt{}
	for _, a := range as {
		byRef[a.Key] = a
	}
	for _, h := range got {
		a := byRef[h.Reference]
		a.IDs = map[string]string{"id": h.ID}
		rs, err := e.client.Check(t.Context(), []providers.Attempt{a})
		if err != nil {
			t.Fatal(err)
		}
		want := providers.StatusPending
		if a.Key == payout(1).Key {
			want = providers.StatusPaid
		}
		if rs[0].Status != want {
			t.Errorf("confirming %s: got %s, want %s", a.Address, rs[0].Status, want)
		}
	}
}
