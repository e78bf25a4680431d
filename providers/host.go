package providers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// EmulatorHost serves built-in emulators over HTTP on one listener, each
// at the root or under a path prefix, and stops them together. payctl
// sandbox and providers configured with `emulator: true` both run their
// emulators in one.
type EmulatorHost struct {
	mu   sync.Mutex
	root Emulator
	mux  *http.ServeMux
	ems  []Emulator
	srv  *http.Server
	url  string

	connMu sync.Mutex
	fresh  map[net.Conn]bool // connections that have not sent a request yet
}

// NewEmulatorHost returns a host with no emulators that serves nothing yet.
func NewEmulatorHost() *EmulatorHost {
	return &EmulatorHost{mux: http.NewServeMux()}
}

// Start starts t's emulator with o and serves it at prefix: "" for the
// root (the host's only emulator then), or a path such as "/cronos".
func (h *EmulatorHost) Start(t *Type, prefix string, o EmulatorOptions) (Emulator, error) {
	if t.NewEmulator == nil {
		return nil, fmt.Errorf("provider type %s has no built-in emulator", t.Name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.root != nil || (prefix == "" && len(h.ems) > 0) {
		return nil, errors.New("an emulator served at the root must be the host's only one")
	}
	em, err := t.NewEmulator(o)
	if err != nil {
		return nil, err
	}
	if prefix == "" {
		h.root = em
	} else {
		h.mux.Handle(prefix+"/", http.StripPrefix(prefix, em))
	}
	h.ems = append(h.ems, em)
	return em, nil
}

// Serve serves the emulators on ln in the background until Close. The
// channel receives the server's error if it stops by itself.
func (h *EmulatorHost) Serve(ln net.Listener) <-chan error {
	h.mu.Lock()
	var handler http.Handler = h.mux
	if h.root != nil {
		handler = h.root
	}
	h.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ConnState: h.track}
	h.url = "http://" + ln.Addr().String()
	srv := h.srv
	h.mu.Unlock()
	errc := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return errc
}

// track remembers the connections that have sent no request yet: a
// client dials a spare one now and then, and Shutdown would wait five
// seconds for each before counting it idle.
func (h *EmulatorHost) track(c net.Conn, s http.ConnState) {
	h.connMu.Lock()
	defer h.connMu.Unlock()
	if s == http.StateNew {
		if h.fresh == nil {
			h.fresh = map[net.Conn]bool{}
		}
		h.fresh[c] = true
	} else {
		delete(h.fresh, c)
	}
}

// URL is the base URL of the emulator served at the root, or with a
// prefix appended, of the others: "http://127.0.0.1:PORT".
func (h *EmulatorHost) URL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.url
}

// Close stops serving, waiting for requests in progress until ctx ends
// (requests still running then are not an error), and closes every
// emulator, which persists its ledger.
func (h *EmulatorHost) Close(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	if h.srv != nil {
		h.srv.SetKeepAlivesEnabled(false)
		h.connMu.Lock()
		for c := range h.fresh {
			c.Close() // no request on it: nothing is lost
		}
		h.connMu.Unlock()
		if err := h.srv.Shutdown(ctx); err != nil && ctx.Err() == nil {
			errs = append(errs, err)
		}
		h.srv = nil
	}
	for _, em := range h.ems {
		errs = append(errs, em.Close())
	}
	h.ems, h.root = nil, nil
	return errors.Join(errs...)
}
