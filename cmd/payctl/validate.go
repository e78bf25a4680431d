package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/safetext"
)

func runValidate(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "validate", "[-config FILE] [-json] PATH...", `
Checks payout manifests (files, or folders of *.yaml, *.yml and *.json) against
the manifest schema, the rules of each batch's provider and the policy limits in
payctl.yaml. Every error is printed with its file:line:column; exit status 1 if
there is any. Needs no credentials and contacts nothing.`)
	asJSON := f.Bool("json", false, "print the result as JSON on stdout")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "manifest paths"); err != nil {
		return err
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	batches, errs := w.LoadManifests(f.Args())
	payouts := 0
	for _, b := range batches {
		payouts += len(b.Payouts)
	}
	if *asJSON {
		out := struct {
			FormatVersion int       `json:"format_version"`
			Valid         bool      `json:"valid"`
			Batches       int       `json:"batches"`
			Payouts       int       `json:"payouts"`
			Errors        diag.List `json:"errors"`
		}{1, len(errs) == 0, len(batches), payouts, errs}
		if out.Errors == nil {
			out.Errors = diag.List{}
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		if _, err := e.Stdout.Write(safetext.JSON(b.Bytes())); err != nil {
			return err
		}
		if len(errs) > 0 {
			return &reported{summary: fmt.Sprintf("%d errors", errs.Total())}
		}
		return nil
	}
	if len(errs) > 0 {
		return errs
	}
	fmt.Fprintf(e.Stdout, "valid: %d batches, %d payouts\n", len(batches), payouts)
	return nil
}
