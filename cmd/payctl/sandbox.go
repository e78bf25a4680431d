package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/payctl/payctl/internal/reserved"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/providers/registry"
)

// faultList collects repeated -fault flags.
type faultList []string

func (f *faultList) String() string     { return strings.Join(*f, ",") }
func (f *faultList) Set(v string) error { *f = append(*f, v); return nil }

func runSandbox(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "sandbox", "[-listen ADDR] [-dir DIR] [-fault TYPE:FAULT]... [-seed N]", `
Runs the emulators of Cronos Engine and Dinar Dragon as one HTTP server, for
rehearsing a payout run with a real payctl.yaml and no credentials: point a
provider's baseURL at the address printed for its type, and set its credential
variables to the emulator's demo values (printed too). Ledgers persist in DIR, so
a restarted sandbox remembers what it paid.

-fault injects a named fault into the next money-moving requests of one type, e.g.
-fault cronos:5xx-after-commit or -fault dinardragon:quote-high (see each
emulator's documentation for the names; "name=N" repeats it N times). It also
takes the Cronos emulator's settings, to rehearse what its answers can say:
cronos:balance=N (the available balance, in IDR), cronos:bank-name=ACCOUNT:NAME
(the account holder's name the bank reports, repeatable), cronos:fee-payer=
customer|merchant and cronos:total=added|deducted (the published example's
totalAmount of amount + fee, or the sandbox's amount - fee).`)
	listen := f.String("listen", "127.0.0.1:8700", "`ADDR` to listen on")
	dir := f.String("dir", ".payctl-sandbox", "`DIR` for the emulators' ledgers")
	seed := f.Int64("seed", 1, "seed for the emulators' ids and randomness")
	var faults faultList
	f.Var(&faults, "fault", "inject `TYPE:FAULT` (repeatable)")
	if err := f.parse(args); err != nil {
		return err
	}
	byType := map[string][]string{}
	for _, ft := range faults {
		typ, name, ok := strings.Cut(ft, ":")
		if !ok {
			return fmt.Errorf("-fault %q: write it as TYPE:FAULT, e.g. cronos:5xx-after-commit", ft)
		}
		byType[typ] = append(byType[typ], name)
	}
	// The sandbox needs no payctl.yaml, but never writes a ledger over
	// one, or over the state of the one it would find.
	own := reserved.NewSet()
	if path, err := f.configPath(); err == nil {
		if w, err := workspace.Load(path, nil, e.Getenv); err == nil {
			own.Add(w.OwnFiles()...)
		} else {
			own.Add(reserved.File{Path: path, What: "the config file"})
		}
	}
	for _, name := range registry.Names() {
		ledger := filepath.Join(*dir, name+".json")
		if err := checkOutput(fmt.Sprintf("the %s emulator's ledger %s (-dir %s)", name, ledger, *dir), ledger, own); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	logger := f.logger()
	host := providers.NewEmulatorHost()
	defer closeHost(host) // after an error; a second Close does nothing
	var ems []providers.Emulator
	var types []string
	for _, name := range registry.Names() {
		t, _ := registry.Lookup(name)
		if t.Hidden || t.NewEmulator == nil {
			continue
		}
		em, err := host.Start(t, "/"+name, providers.EmulatorOptions{
			LedgerPath: filepath.Join(*dir, name+".json"),
			Logger:     logger.With("emulator", name), Faults: byType[name], Seed: *seed,
		})
		if err != nil {
			return fmt.Errorf("%s emulator: %w", name, err)
		}
		delete(byType, name)
		ems = append(ems, em)
		types = append(types, name)
	}
	for typ := range byType {
		return fmt.Errorf("-fault for %q: no emulator of that type (have: %s)", typ, strings.Join(types, ", "))
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	out := e.Stdout
	fmt.Fprintf(out, "payctl sandbox: emulators listening on %s (ledgers in %s)\n\n", base, *dir)
	fmt.Fprintln(out, "In payctl.yaml:")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "providers:")
	var exports []string
	for i, name := range types {
		t, _ := registry.Lookup(name)
		fmt.Fprintf(out, "  %s-sandbox:\n    type: %s\n    baseURL: %s/%s\n", name, name, base, name)
		creds := ems[i].Credentials()
		for _, c := range t.Credentials {
			v, ok := creds[c.Field]
			if !ok {
				continue
			}
			env := strings.ToUpper(name) + "_" + envName(strings.TrimSuffix(c.Field, "Env"))
			fmt.Fprintf(out, "    %s: %s\n", c.Field, env)
			exports = append(exports, fmt.Sprintf("%s=%s", env, v))
		}
		if t.Callbacks != nil {
			fmt.Fprintf(out, "    callbackURL: http://127.0.0.1:8787/callbacks/%s-sandbox   # where `payctl serve -listen 127.0.0.1:8787` listens\n", name)
		}
	}
	sort.Strings(exports)
	fmt.Fprintf(out, "\nand in the environment (the emulators' public demo credentials):\n\n  export %s\n\nInterrupt to stop.\n", strings.Join(exports, " "))
	errc := host.Serve(ln)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return closeHost(host)
}

// closeHost stops the sandbox's emulators, giving requests in progress a
// few seconds.
func closeHost(h *providers.EmulatorHost) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return h.Close(ctx)
}

// envName turns a config field such as "privateKey" into PRIVATE_KEY.
func envName(field string) string {
	var b strings.Builder
	for i, r := range field {
		if r >= 'A' && r <= 'Z' && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
