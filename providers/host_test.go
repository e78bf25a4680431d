package providers

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

type stubEmulator struct {
	body   string
	closed *int
}

func (s stubEmulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, s.body+" "+r.URL.Path)
}
func (s stubEmulator) Credentials() map[string]string { return nil }
func (s stubEmulator) Close() error                   { *s.closed++; return nil }

func stubType(name string, closed *int) *Type {
	return &Type{Name: name, NewEmulator: func(EmulatorOptions) (Emulator, error) {
		return stubEmulator{body: name, closed: closed}, nil
	}}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestEmulatorHost(t *testing.T) {
	closed := 0
	h := NewEmulatorHost()
	for _, name := range []string{"a", "b"} {
		if _, err := h.Start(stubType(name, &closed), "/"+name, EmulatorOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Start(stubType("c", &closed), "", EmulatorOptions{}); err == nil {
		t.Error("an emulator at the root beside others was accepted")
	}
	if _, err := h.Start(&Type{Name: "none"}, "/none", EmulatorOptions{}); err == nil {
		t.Error("a type without an emulator was accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.Serve(ln)
	for path, want := range map[string]string{"/a/x": "a /x", "/b/y/z": "b /y/z"} {
		if got := get(t, h.URL()+path); got != want {
			t.Errorf("GET %s: got %q, want %q", path, got, want)
		}
	}
	if err := h.Close(context.Background()); err != nil || closed != 2 {
		t.Errorf("Close: got %v with %d emulators closed, want nil and 2", err, closed)
	}
	if err := h.Close(context.Background()); err != nil || closed != 2 {
		t.Errorf("second Close: got %v with %d emulators closed, want nil and 2", err, closed)
	}
}

func TestEmulatorHostRoot(t *testing.T) {
	closed := 0
	h := NewEmulatorHost()
	if _, err := h.Start(stubType("a", &closed), "", EmulatorOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Start(stubType("b", &closed), "/b", EmulatorOptions{}); err == nil {
		t.Error("a second emulator beside one at the root was accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.Serve(ln)
	defer h.Close(context.Background())
	if got := get(t, h.URL()+"/payouts"); got != "a /payouts" {
		t.Errorf("got %q, want %q", got, "a /payouts")
	}
}

// A connection a client dialed and never used is closed at once by Close:
// Shutdown alone waits five seconds before it counts one idle.
func TestEmulatorHostClosesUnusedConnections(t *testing.T) {
	closed := 0
	h := NewEmulatorHost()
	if _, err := h.Start(stubType("a", &closed), "", EmulatorOptions{}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.Serve(ln)
	get(t, h.URL()+"/x") // the server is serving
	spare, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	// A request on a new connection, accepted after the spare one, is
	// answered only once the server has seen the spare connection.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := fresh.Get(h.URL() + "/y")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	spare.SetReadDeadline(time.Now().Add(time.Minute)) // a failure, not a hang
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Shutdown must not be what closes the connection
	h.Close(ctx)
	var ne net.Error
	if n, err := spare.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("unused connection after Close: read %d bytes, error %v; want it closed", n, err)
	}
	if closed != 1 {
		t.Errorf("%d emulators closed, want 1", closed)
	}
}
