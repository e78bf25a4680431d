package apply_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/payctl/payctl/schema"
)

// bodies records the body of every request a provider's server received.
type bodies struct {
	mu  sync.Mutex
	all []string
}

func (b *bodies) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		b.mu.Lock()
		b.all = append(b.all, req.Method+" "+req.URL.Path+" "+string(body))
		b.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, req)
	})
}

// withMemo gives each payout of b a reference and metadata that no
// request may carry.
func withMemo(b *schema.Batch) *schema.Batch {
	for i := range b.Payouts {
		b.Payouts[i].Reference = "Invoice MEMO-REF " + b.Payouts[i].ID
		b.Payouts[i].Metadata = map[string]string{"invoice": "MEMO-INV-" + b.Payouts[i].ID, "costCentre": "MEMO-CC"}
	}
	return b
}

// checkNotSent fails unless the requests show the payouts were sent (each
// account is in some request) and none holds the reference or metadata.
func checkNotSent(t *testing.T, got []string, accounts []string) {
	t.Helper()
	all := strings.Join(got, "\n")
	for _, a := range accounts {
		if !strings.Contains(all, a) {
			t.Fatalf("no request carries account %s; the recording misses requests:\n%s", a, all)
		}
	}
	for _, s := range []string{"MEMO", "invoice", "costCentre"} {
		if strings.Contains(all, s) {
			t.Errorf("a request to the provider carries %q:\n%s", s, all)
		}
	}
}

// Cronos' disburse request has no published field for a payout's
// reference or metadata (its "reference" is payctl's idempotency key,
// additionalInfo only the callback): they are kept in the state only.
func TestCronosSendsNoReferenceOrMetadata(t *testing.T) {
	r := newCronosRig(t)
	var rec bodies
	old := r.api
	r.api = httptest.NewServer(rec.wrap(r.middleware(r.em)))
	old.Close()
	b := withMemo(cronosBatch("memo", 3))
	if _, _, err := r.apply(b); err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, p := range b.Payouts {
		accounts = append(accounts, p.Recipient.Account)
	}
	checkNotSent(t, rec.all, accounts)
	s := r.open()
	defer s.Close()
	p := s.Snapshot().Payouts["memo/p00001"]
	if p == nil || p.Reference != "Invoice MEMO-REF p00001" || p.Metadata.Get("invoice") != "MEMO-INV-p00001" {
		t.Fatalf("the state does not keep the reference and metadata: %+v", p)
	}
}

// Dinar Dragon's get-authcode accounts have no such field either.
func TestDinarDragonSendsNoReferenceOrMetadata(t *testing.T) {
	r := newDDRig(t)
	var rec bodies
	old := r.api
	r.api = httptest.NewServer(rec.wrap(r.em))
	old.Close()
	b := withMemo(ddBatch("memo", docsExample))
	if _, _, err := r.apply(b); err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, p := range b.Payouts {
		accounts = append(accounts, p.Recipient.Account)
	}
	checkNotSent(t, rec.all, accounts)
	s := r.open()
	defer s.Close()
	p := s.Snapshot().Payouts["memo/bob"]
	if p == nil || p.Reference != "Invoice MEMO-REF bob" || p.Metadata.Get("costCentre") != "MEMO-CC" {
		t.Fatalf("the state does not keep the reference and metadata: %+v", p)
	}
}
