package daemon

import (
	"io"
	"net/http"
	"testing"
)

// The page is served at / only: the callback path, /healthz and /metrics
// keep their handlers, and any other path is not the page.
func TestPageMountedAtRoot(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the page") })
	r := newRig(t, Options{Page: page})
	for _, c := range []struct {
		method, path string
		code         int
		page         bool
	}{
		{"GET", "/", 200, true},
		{"HEAD", "/", 200, false},
		{"GET", "/healthz", 200, false},
		{"GET", "/metrics", 200, false},
		{"GET", "/other", 404, false},
		{"POST", "/", 405, false},
		{"GET", secretPath, 405, false},
	} {
		req, _ := http.NewRequest(c.method, r.srv.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.code || (string(body) == "the page") != c.page {
			t.Errorf("%s %s: got %d %q, want %d (page: %v)", c.method, c.path, res.StatusCode, body, c.code, c.page)
		}
	}
}
