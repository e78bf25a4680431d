package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/payctl/payctl/state"
)

func runInit(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "init", "[-config FILE] [-lock-timeout D]", `
Creates the state payctl.yaml names (a local file, or a PostgreSQL state): an
empty state whose journal starts with a create record carrying a new lineage (a
UUID). It prints the lineage and the line that pins it in payctl.yaml; with the
pin, apply, watch, serve and refresh refuse any other state, and a missing one,
instead of paying from a state that does not know what was paid.

Refuses if the state exists already. apply, watch, serve and refresh never
create a state themselves (only "payctl apply -init" does, on first use).`)
	lockWait := f.Duration("lock-timeout", 0, "wait up to `D` for another payctl holding the state's lock")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		f.Usage()
		return &reported{summary: "init takes no arguments"}
	}
	w, err := f.workspace()
	if err != nil {
		return err
	}
	defer w.Close()
	lineage, err := w.InitState(ctx, *lockWait)
	if errors.Is(err, state.ErrExists) {
		l, _, _ := w.Identity(ctx)
		err = fmt.Errorf("the state %s exists already (lineage %s): payctl init creates a state once", w.StateLocation(), l)
		if l == w.Config.State.Lineage {
			return withHint(err, "%s pins it already", w.Config.File)
		}
		return withHint(err, "if it is the state this config pays from, pin it in %s with: %s", w.Config.File, w.Config.PinLine(l))
	}
	if err != nil {
		return lockHint(err)
	}
	fmt.Fprintf(e.Stdout, "Created the state %s, lineage %s.\n", w.StateLocation(), lineage)
	if pin := w.Config.State.Lineage; pin == lineage {
		fmt.Fprintf(e.Stdout, "%s pins it already.\n", w.Config.File)
		return nil
	}
	fmt.Fprintf(e.Stdout, "Pin it: put this line in %s (in place of its state line), and commit both:\n\n  %s\n", w.Config.File, w.Config.PinLine(lineage))
	return nil
}
