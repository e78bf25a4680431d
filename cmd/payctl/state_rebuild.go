package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

func runStateRebuild(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state rebuild", "[-config FILE | -state FILE] [-lock-timeout D]", `
Replaces the snapshot with the journal folded from its first record. The
journal is the record of truth: use this when payctl refuses a snapshot that
was edited, merged or replaced by hand, after "payctl state verify" has shown
what differs. The snapshot it replaces is kept in the .backup file beside it.

A damaged journal cannot be rebuilt from: restore it from a backup. The
PostgreSQL backend keeps its snapshot in the same transactions as its journal
and has nothing to rebuild.`)
	stateFile := f.String("state", "", "rebuild the local state at `FILE` instead of payctl.yaml's (no config needed)")
	lockWait := f.Duration("lock-timeout", 0, "wait up to `D` for another payctl holding the state's lock")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return withHint(fmt.Errorf("state rebuild takes no arguments, got %q", f.Arg(0)), "to rebuild a state file, pass -state %s", f.Arg(0))
	}
	b, closeState, err := auditBackend(f, *stateFile)
	if err != nil {
		return err
	}
	defer closeState()
	st, err := state.Open(ctx, b, state.Options{Write: true, Op: "state rebuild", LockWait: *lockWait, Rebuild: true})
	if errors.Is(err, state.ErrNoRebuild) {
		return withHint(err, "`payctl state verify` checks it")
	}
	if err != nil {
		return lockHint(err)
	}
	defer st.Close()
	snap := st.Snapshot()
	if snap.Lineage == "" {
		return withHint(fmt.Errorf("%s: there is no journal to rebuild the snapshot from", b.Describe()), "check the path (payctl.yaml's state:, or -state FILE)")
	}
	payouts, serial := len(snap.Payouts), snap.Serial
	if err := st.Checkpoint(ctx); err != nil {
		return err
	}
	where := "the previous snapshot, if there was one, is kept in " + b.Describe() + ".backup"
	if snap.IsSegmented() {
		where = "every batch's segment was written again, and the previous root is kept in " + b.Describe() + ".backup"
	}
	if _, ok := b.(*localstate.Backend); !ok {
		where = "the previous snapshot was replaced"
	}
	fmt.Fprintf(e.Stdout, "Rebuilt %s from its journal: %d payouts, %d records folded; %s.\n", b.Describe(), payouts, serial, where)
	return nil
}
