package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

func runStateMigrate(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state migrate", "[-config FILE | -state FILE] [-lock-timeout D]", `
Converts a state kept in one snapshot (the format of payctl before segments)
into a segmented state: a small root and one segment per batch. A local state
gets its segments in the FILE.batches folder beside it; a PostgreSQL state
(after "payctl state migrate-schema") keeps them in the database. Every later command then reads only the
batches it works on, and each checkpoint rewrites only the batches it
changed, so that a state stays quick and small enough for git hosting however
long its history.

The journal is not changed; the checkpoint record that follows proves the new
root as any other. A local single-file snapshot is kept in FILE.backup.
Commit the root, the FILE.batches folder and the journal together. Old commits stay
readable: "payctl state diff -git" and "payctl state verify" read both
formats. A state already segmented is left as it is.`)
	stateFile := f.String("state", "", "migrate the local state at `FILE` instead of payctl.yaml's (no config needed)")
	lockWait := f.Duration("lock-timeout", 0, "wait up to `D` for another payctl holding the state's lock")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return withHint(fmt.Errorf("state migrate takes no arguments, got %q", f.Arg(0)), "to migrate a state file, pass -state %s", f.Arg(0))
	}
	b, closeState, err := auditBackend(f, *stateFile)
	if err != nil {
		return err
	}
	defer closeState()
	st, err := state.Open(ctx, b, state.Options{Write: true, Op: "state migrate", LockWait: *lockWait})
	if err != nil {
		return lockHint(err)
	}
	defer st.Close()
	snap := st.Snapshot()
	if snap.Lineage == "" {
		return withHint(fmt.Errorf("%s: there is no state to migrate", b.Describe()), "check the path (payctl.yaml's state:, or -state FILE)")
	}
	changed, err := st.Migrate(ctx)
	if errors.Is(err, state.ErrNoSegments) {
		return withHint(err, "nothing to do: its state is kept as it is")
	}
	if err != nil {
		return err
	}
	if !changed {
		fmt.Fprintf(e.Stdout, "%s is already segmented: nothing to do.\n", b.Describe())
		return nil
	}
	if l, ok := b.(*localstate.Backend); ok {
		fmt.Fprintf(e.Stdout, "Migrated %s to a segmented state: %d payouts in %d batches under %s (serial %d); the single-file snapshot is kept in %s. Commit the root, the folder and the journal together.\n",
			b.Describe(), len(snap.Payouts), len(snap.BatchNames()), l.SegmentsDir(), snap.Serial, l.BackupPath())
		return nil
	}
	fmt.Fprintf(e.Stdout, "Migrated %s to a segmented state: %d payouts in %d batches (serial %d). Every later command reads and writes it by batch.\n",
		b.Describe(), len(snap.Payouts), len(snap.BatchNames()), snap.Serial)
	return nil
}
