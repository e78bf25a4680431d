package main

import (
	"context"

	"github.com/payctl/payctl/internal/doctor"
	"github.com/payctl/payctl/internal/textable"
	"github.com/payctl/payctl/providers"
)

func runDoctor(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "doctor", "[-config FILE] [-json]", `
Checks a deployment before it pays: that payctl.yaml loads and the environment
variables it names are set (never printing their values); that the state
directory exists, is not writable by others, is on a local filesystem (network
and FUSE filesystems are refused for a local state) and how long an fsync takes
there (a warning above 2 ms); and that each provider's host answers (a HEAD
request: nothing is paid, no credential is sent). It reports the state's lineage
and serial and whether payctl.yaml pins that lineage, and warns when a local
state kept in git has uncommitted changes or its checkout is behind upstream (as
of the last fetch). It reads each provider's balance as apply does before paying
(Dinar Dragon publishes none). Exit status 1 if a check fails.`)
	asJSON := f.Bool("json", false, "print the checks as JSON")
	if err := f.parse(args); err != nil {
		return err
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	checks := doctor.Run(ctx, doctor.Options{
		Config: w.Config, Getenv: e.Getenv,
		Identity: w.Identity, Location: w.StateLocation(), NeedsPin: w.UnkeyedProviders(), Now: w.Now,
		Open: w.OpenProvider,
		Currency: func(name string) string {
			if t := w.Type(name); t != nil && t.Rules != nil {
				return t.Rules.Currency()
			}
			return ""
		},
		Credentials: func(name string) []providers.Credential {
			if t := w.Type(name); t != nil {
				return t.Credentials
			}
			return nil
		},
	})
	if *asJSON {
		if err := writeJSON(e, map[string]any{"format_version": 1, "checks": checks, "ok": !doctor.Failed(checks)}); err != nil {
			return err
		}
	} else {
		t := &textable.Table{}
		for _, c := range checks {
			t.Row(string(c.Level), c.Name, c.Detail)
			if c.Hint != "" {
				t.Note("hint: " + c.Hint)
			}
		}
		t.WriteTo(e.Stdout)
	}
	if doctor.Failed(checks) {
		return &reported{summary: "some checks failed; see above"}
	}
	return nil
}
