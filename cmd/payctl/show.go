package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/plan"
)

func runShow(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "show", "[-json | -markdown] PLANFILE", `
Prints a plan saved with "payctl plan -out FILE" as payctl plan printed it: what
apply would pay, with fees and totals. The file is read as apply reads it, and
refused as apply refuses it when it is damaged or was edited (a key or a digest
that does not match its payouts); whether it is still current (the state, the
config and the manifests it pins) is for apply to check. No config or state is
needed, and nothing is sent.`)
	asJSON := f.Bool("json", false, "print the plan as JSON (format_version 1), as saved")
	asMD := f.Bool("markdown", false, "print the plan as Markdown for a pull-request comment")
	if err := f.parse(args); err != nil {
		return err
	}
	if *asJSON && *asMD {
		return errors.New("-json and -markdown cannot be used together")
	}
	if err := needArgs(f, "a saved plan file"); err != nil {
		return err
	}
	if f.NArg() > 1 {
		return withHint(fmt.Errorf("show takes one plan file, got %d arguments", f.NArg()), "payctl show PLANFILE")
	}
	p, err := plan.Open(f.Arg(0))
	if errors.Is(err, plan.ErrNotSaved) {
		return withHint(fmt.Errorf("%s is not a saved plan", f.Arg(0)), "make one with `payctl plan -out FILE`; `payctl plan PATH...` shows the plan of manifests")
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	switch {
	case *asJSON:
		if err = p.WriteJSON(&buf); err == nil {
			_, err = e.Stdout.Write(safetext.JSON(buf.Bytes()))
		}
	case *asMD:
		if err = p.WriteMarkdown(&buf); err == nil {
			_, err = e.Stdout.Write(buf.Bytes())
		}
	default:
		err = p.WriteText(e.Stdout)
	}
	return err
}
