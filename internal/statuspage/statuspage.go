// Package statuspage is the read-only HTML page that `payctl serve` and
// `payctl watch -listen` serve at "/": the batches with their totals and
// status counts, what needs a person (unknown payouts with the command that
// resolves them, files held by watch), recent activity from the journal,
// and the amounts paid per day over the last 30 days.
//
// Guarantees:
//   - It only reads. The state is loaded through a backend of its own,
//     without the writer lock, so the page never delays a payment and a
//     payment never waits for the page.
//   - Everything the state holds is text payctl did not write (names,
//     addresses, provider answers): it goes through safetext.Escape and
//     html/template, never into markup, and account numbers are masked to
//     their last four characters.
//   - The page needs no JavaScript and loads nothing from elsewhere: its
//     Content-Security-Policy allows its own inline style and nothing else.
//   - A state that cannot be read gives an error page (HTTP 503), not a
//     crash, and the next request tries again.
package statuspage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/state"
)

// TokenEnv is the environment variable holding the page's access token.
const TokenEnv = "PAYCTL_STATUS_TOKEN"

// Defaults of Options.
const (
	DefaultRecent  = 25
	DefaultBatches = 50
	chartDays      = 30
)

// Options configure the page.
type Options struct {
	// Backend is read for every request, one request at a time. It must be
	// the page's own (not one a writer uses): backends keep what they
	// loaded.
	Backend state.Backend
	// Held lists the files watch holds for a person; nil when the page is
	// served by `payctl serve` (no watched folder).
	Held func() ([]Held, error)
	// Token, when set, is required of every request, as a bearer token
	// (Authorization: Bearer TOKEN) or as the password of HTTP basic
	// authentication (what a browser asks for; any user name).
	Token string
	// ConfigFlag is the -config argument commands shown on the page need
	// ("" when payctl.yaml is in the working directory).
	ConfigFlag string
	// Recent is how many journal entries "recent activity" shows; Batches
	// how many batches (the most recently active first).
	Recent, Batches int
	Now             func() time.Time
	Logger          *slog.Logger
}

// Held is a file watch parked in its held folder.
type Held struct {
	Name string
	// Plan is the saved plan beside it, which `payctl apply` pays.
	Plan  string
	Since time.Time
}

// Page serves the status page.
type Page struct {
	o  Options
	mu sync.Mutex // one load at a time: the backend is not shared
}

// New returns the page handler.
func New(o Options) *Page {
	if o.Recent <= 0 {
		o.Recent = DefaultRecent
	}
	if o.Batches <= 0 {
		o.Batches = DefaultBatches
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Page{o: o}
}

//go:embed page.html
var pageHTML string

//go:embed page.css
var pageCSS string

var (
	tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
		"css": func() template.CSS { return template.CSS(pageCSS) },
	}).Parse(pageHTML))
	// csp allows the page's own style block, by its hash, and nothing
	// else: no script, no image, no frame, no form, no connection.
	csp = func() string {
		sum := sha256.Sum256([]byte(pageCSS))
		return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	}()
)

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "the status page is read-only: GET it", http.StatusMethodNotAllowed)
		return
	}
	if !p.authorized(r) {
		h.Set("WWW-Authenticate", `Basic realm="payctl status", charset="UTF-8"`)
		http.Error(w, "this page needs the token in "+TokenEnv+": send it as a bearer token, or as the password when the browser asks", http.StatusUnauthorized)
		return
	}
	v, err := p.load(r.Context())
	code := http.StatusOK
	if err != nil {
		p.o.Logger.Error("status page: cannot read the state", "error", err)
		v = &view{Now: stamp(p.o.Now()), Error: text(err.Error())}
		code = http.StatusServiceUnavailable
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		p.o.Logger.Error("status page: rendering", "error", err)
		http.Error(w, "the status page could not be rendered; see payctl's log", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func (p *Page) authorized(r *http.Request) bool {
	if p.o.Token == "" {
		return true
	}
	got := ""
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		got = strings.TrimPrefix(auth, "Bearer ")
	} else if _, pw, ok := r.BasicAuth(); ok {
		got = pw
	}
	// Hashes of equal length, so the comparison's time says nothing.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(p.o.Token))
	return got != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// load reads the state and the journal's tail into the page's view.
func (p *Page) load(ctx context.Context) (v *view, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		// A state crafted to break the fold must not take the daemon
		// (and the callbacks it receives) down with the page.
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("reading the state failed: %v", r)
		}
	}()
	if p.o.Backend == nil {
		return nil, fmt.Errorf("no state backend")
	}
	st, err := state.Open(ctx, p.o.Backend, state.Options{Op: "status page"})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := p.o.Now()
	v = &view{Now: stamp(now), Location: text(p.o.Backend.Describe()), Lineage: text(st.Lineage())}
	st.View(func(s *state.Snapshot) { v.fromSnapshot(s, now, p.o.Batches, p.o.ConfigFlag) })
	recent := make([]*audit.Entry, 0, p.o.Recent)
	torn, err := audit.History(ctx, p.o.Backend, audit.Filter{}, func(e *audit.Entry) error {
		if len(recent) == p.o.Recent {
			copy(recent, recent[1:])
			recent = recent[:len(recent)-1]
		}
		recent = append(recent, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the journal: %w", err)
	}
	if torn != nil {
		v.Notes = append(v.Notes, fmt.Sprintf("The journal's last record (%d) is incomplete: a payctl command is writing it, or crashed while writing it.", torn.Seq))
	}
	for i := len(recent) - 1; i >= 0; i-- {
		v.Recent = append(v.Recent, activityOf(recent[i]))
	}
	if p.o.Held != nil {
		v.Watch = true
		held, err := p.o.Held()
		if err != nil {
			v.Notes = append(v.Notes, "Held files cannot be listed: "+text(err.Error()))
		}
		for _, h := range held {
			v.Held = append(v.Held, heldRow{Name: text(h.Name), Since: stamp(h.Since), Command: command("apply", p.o.ConfigFlag, h.Plan)})
		}
	}
	return v, nil
}

// HeldIn lists the files in dir/held (payctl watch's layout): each file
// but the plans watch writes beside it, oldest first.
func HeldIn(dir string) func() ([]Held, error) {
	return func() ([]Held, error) {
		held := filepath.Join(dir, "held")
		entries, err := os.ReadDir(held)
		if err != nil {
			return nil, err
		}
		var out []Held
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || strings.HasSuffix(name, ".plan.json") || strings.HasSuffix(name, ".plan.txt") || strings.HasPrefix(name, ".") {
				continue
			}
			h := Held{Name: name, Plan: filepath.Join(held, name+".plan.json")}
			if info, err := e.Info(); err == nil {
				h.Since = info.ModTime()
			}
			out = append(out, h)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
		return out, nil
	}
}

// shellSafe are arguments a shell takes as they are.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// command is a payctl command line to copy, its arguments quoted for a
// POSIX shell; the text escaped like all state text.
func command(name, configFlag string, args ...string) string {
	parts := append([]string{"payctl"}, strings.Fields(name)...)
	if configFlag != "" {
		parts = append(parts, "-config", shellQuote(configFlag))
	}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return text(strings.Join(parts, " "))
}

// Loopback reports whether a listen address (host:port) only accepts
// connections from this machine.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Refused is the page when it may not be served: a listen address other
// machines reach and no token. It answers 403 saying how to enable it.
var Refused http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "the status page is off: payctl listens on an address other machines reach and "+TokenEnv+" is not set; set it to a long random secret (openssl rand -hex 32), or listen on 127.0.0.1", http.StatusForbidden)
})
