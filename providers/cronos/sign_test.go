package cronos

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/cronos/internal/wire"
	"github.com/payctl/payctl/providers/cronos/phpjson"
)

// The three vectors published in Cronos's docs (key, token and signatures
// are the docs' own demo values).
const (
	vector1Body = `{"reference":"12345678","bankCode":"014","viewName":"Guntur Brahmaputra","type":"ClosedAmount","amount":10000,"additionalInfo":{"callback":"https:\/\/google.com"}}`
	vector1Sig  = "631ac84aad1b18d1b9004d0bc944cb643892fbd0fd5f60407e0f166b8d86b10420af0f5d80b65805153eb12ffd24333c09bfe37108ea38192d24d3f7aac64131"
	vector2Body = `{"bankCode":"011","recipientAccount":"7700173383","reference":"1719308808","amount":10500,"additionalInfo":{"callback":"http:\/\/tester.com\/secure\/callback\/demo"}}`
	vector2Sig  = "44cc3de284c721700eb64878b434b982088e9ad4c28d2b72d7d879c1bbc75b2f6e9e226f5673175c20050246fe6270ee15333b1b643845e2e42d81104872d0df"
	vector3Sig  = "a57c04cf4f2a33021dc0d4e8a74ab8b24d896c96400434c8c9398d145be108a36e389813daff66cfe93532bf08cbead573336330dcafa490d4e03607d0329040"
)

func TestPublishedVectorOne(t *testing.T) {
	body, err := phpjson.Encode(phpjson.Object{
		{Key: "reference", Value: phpjson.String("12345678")},
		{Key: "bankCode", Value: phpjson.String("014")},
		{Key: "viewName", Value: phpjson.String("Guntur Brahmaputra")},
		{Key: "type", Value: phpjson.String("ClosedAmount")},
		{Key: "amount", Value: phpjson.Int(10000)},
		{Key: "additionalInfo", Value: phpjson.Object{{Key: "callback", Value: phpjson.String("https://google.com")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != vector1Body {
		t.Errorf("got body %s, want %s", body, vector1Body)
	}
	if got := wire.Sign(wire.DemoKey, wire.DemoToken, body); got != vector1Sig {
		t.Errorf("got signature %s, want %s", got, vector1Sig)
	}
}

// vector2Payout is the payout whose request is the second published vector.
func vector2Payout() providers.Payout {
	idr, _ := money.LookupCurrency("IDR")
	return providers.Payout{
		Address: "vectors/two", Attempt: 1, Key: "1719308808",
		Amount: money.FromInt64(10500), Currency: idr,
		Recipient: providers.Recipient{Name: "Demo", BankCode: "011", Account: "7700173383"},
	}
}

// TestPublishedVectorTwoThroughTheClient checks that Prepare produces the
// published body and that Send puts exactly those bytes and the published
// signature on the wire, with the documented headers.
func TestPublishedVectorTwoThroughTheClient(t *testing.T) {
	var gotBody []byte
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotHeader = r.Header.Clone()
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"responseCode":400,"responseMessage":"demo"}`)
	}))
	defer srv.Close()
	c := demoClient(t, srv.URL+"/api/", func(o *providers.Options) { o.CallbackURL = "http://tester.com/secure/callback/demo" })
	p := vector2Payout()
	req, err := c.Prepare(p)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.Path != "/disburse" || req.Body != vector2Body {
		t.Fatalf("got request %s %s %s, want POST /disburse %s", req.Method, req.Path, req.Body, vector2Body)
	}
	if _, err := c.Send(t.Context(), p, req); err != nil {
		t.Fatal(err)
	}
	if string(gotBody) != vector2Body {
		t.Errorf("sent body %s, want %s", gotBody, vector2Body)
	}
	want := map[string]string{
		"On-Key":       wire.DemoKey,
		"On-Token":     wire.DemoToken,
		"On-Signature": vector2Sig,
		"Accept":       "application/json",
		"Content-Type": "application/json",
	}
	for k, v := range want {
		if got := gotHeader.Get(k); got != v {
			t.Errorf("header %s: got %q, want %q", k, got, v)
		}
	}
}

// TestPublishedVectorThreeThroughTheClient checks a GET signs the key alone.
func TestPublishedVectorThreeThroughTheClient(t *testing.T) {
	if got := wire.Sign(wire.DemoKey, wire.DemoToken, nil); got != vector3Sig {
		t.Errorf("got signature %s, want %s", got, vector3Sig)
	}
	var gotSig, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotSig, gotPath = r.Header.Get("On-Signature"), r.URL.String()
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"responseCode":404,"responseMessage":"transaction not found"}`)
	}))
	defer srv.Close()
	c := demoClient(t, srv.URL+"/api")
	a := providers.Attempt{Payout: vector2Payout(), IDs: map[string]string{"id": "0b8f3c52-6a3f-4d2e-9d5b-3d6c1f1e8a77"}}
	rs, err := c.Check(t.Context(), []providers.Attempt{a})
	if err != nil {
		t.Fatal(err)
	}
	if gotSig != vector3Sig {
		t.Errorf("sent signature %s, want %s", gotSig, vector3Sig)
	}
	if want := "/api/check/0b8f3c52-6a3f-4d2e-9d5b-3d6c1f1e8a77?resendCallback=false"; gotPath != want {
		t.Errorf("got path %s, want %s", gotPath, want)
	}
	if rs[0].Status != providers.StatusUnknown {
		t.Errorf("got status %s for a 404 on a recorded id, want unknown", rs[0].Status)
	}
}

func BenchmarkPrepareSign(b *testing.B) {
	c := demoClient(b, "https://api.cronosengine.com/api")
	p := payout(7)
	b.ReportAllocs()
	for b.Loop() {
		req, err := c.Prepare(p)
		if err != nil {
			b.Fatal(err)
		}
		_ = wire.Sign(c.key, c.token, []byte(req.Body))
	}
}
