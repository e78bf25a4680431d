package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/payctl/payctl/internal/config"
	"github.com/payctl/payctl/internal/reserved"
	"github.com/payctl/payctl/internal/workspace"
	"github.com/payctl/payctl/state/pgstate"
)

// postgresState opens the workspace of a command that only makes sense
// for the postgres backend.
func postgresState(f *flags, command string) (*workspace.Workspace, *pgstate.Backend, error) {
	w, err := f.workspace()
	if err != nil {
		return nil, nil, err
	}
	if w.Config.State.Backend != config.BackendPostgres {
		w.Close()
		return nil, nil, withHint(
			fmt.Errorf("%s keeps the state in the local file %s; `payctl state %s` works with the postgres state backend", w.Config.File, w.StateLocation(), command),
			"select it in payctl.yaml: state: {backend: postgres, dsnEnv: PAYCTL_PG_DSN, name: payouts-prod}")
	}
	b, err := w.Backend()
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	pb, ok := b.(*pgstate.Backend)
	if !ok {
		w.Close()
		return nil, nil, fmt.Errorf("the postgres state backend of this build is not payctl's own")
	}
	return w, pb, nil
}

func runStateMigrateSchema(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state migrate-schema", "[-config FILE]", `
Creates payctl's tables in the PostgreSQL database of the postgres state backend
(state: {backend: postgres, dsnEnv, name} in payctl.yaml), or upgrades them to
the schema version this payctl knows. All of it happens in one transaction, and
two runs at once wait for each other. A database whose schema is newer than this
payctl knows is refused: upgrade payctl instead.

Run it once when setting a database up and after upgrading payctl; commands
never change the schema themselves.`)
	if err := f.parse(args); err != nil {
		return err
	}
	w, b, err := postgresState(f, "migrate-schema")
	if err != nil {
		return err
	}
	defer w.Close()
	from, to, err := b.Migrate(ctx)
	if errors.Is(err, pgstate.ErrNewerSchema) {
		return withHint(err, "this payctl is older than the one that last upgraded the database; use that version or newer")
	}
	if err != nil {
		return err
	}
	where := "the database in $" + w.Config.State.DSNEnv
	switch {
	case from == to:
		fmt.Fprintf(e.Stdout, "The payctl schema of %s is at version %d: nothing to do.\n", where, to)
	case from == 0:
		fmt.Fprintf(e.Stdout, "Created payctl's tables (schema version %d) in %s.\n", to, where)
	default:
		fmt.Fprintf(e.Stdout, "Upgraded the payctl schema of %s from version %d to %d.\n", where, from, to)
	}
	return nil
}

func runStatePush(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state push", "[-config FILE] [-force] [-lock-timeout D] FILE", `
Copies the local state FILE (the snapshot FILE and its journal FILE.journal) into
the postgres state named in payctl.yaml, to move a state from a file to the
database. The journal is copied byte for byte, so its hash chain and lineage are
kept; both states are locked meanwhile, and the copy is one transaction.

A database state that already holds the beginning of FILE's history gets the
records it lacks. A database state of another lineage, at a newer serial, or
whose history diverged from FILE's is refused: -force replaces it.`)
	force := f.Bool("force", false, "replace a database state of another lineage, a newer serial or a diverged history")
	lockWait := f.Duration("lock-timeout", 0, "wait up to `D` for another payctl holding a lock")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "the local state file to push"); err != nil {
		return err
	}
	w, b, err := postgresState(f, "push")
	if err != nil {
		return err
	}
	defer w.Close()
	t, err := b.Push(ctx, f.Arg(0), pgstate.TransferOptions{Force: *force, LockWait: *lockWait})
	if err != nil {
		return transferHint(err)
	}
	reportTransfer(e, t, "Pushed "+f.Arg(0)+" to "+b.Describe())
	return nil
}

func runStatePull(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "state pull", "[-config FILE] [-force] [-lock-timeout D] FILE", `
Writes the postgres state named in payctl.yaml to the local state FILE (snapshot)
and FILE.journal, to move a state from the database to a file, or to keep a copy
that git, jq and "payctl state diff" can read. The files are byte for byte what
the local backend would have written; the previous snapshot is kept as
FILE.backup. The database is read in one consistent snapshot and not locked.

A local state that holds the beginning of the database's history is brought up
to date. One of another lineage, at a newer serial, or whose history diverged is
refused: -force replaces it (its journal is kept as FILE.journal.backup).`)
	force := f.Bool("force", false, "replace a local state of another lineage, a newer serial or a diverged history")
	lockWait := f.Duration("lock-timeout", 0, "wait up to `D` for another payctl holding the file's lock")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := needArgs(f, "the local state file to write"); err != nil {
		return err
	}
	w, b, err := postgresState(f, "pull")
	if err != nil {
		return err
	}
	defer w.Close()
	own := reserved.NewSet(w.OwnFiles()...)
	for _, t := range workspace.StateFiles(f.Arg(0)) {
		label := t.Path
		if t.Path != f.Arg(0) {
			label = fmt.Sprintf("%s (%s of %s)", t.Path, strings.TrimPrefix(t.What, "the state's "), f.Arg(0))
		}
		if err := checkOutput(label, t.Path, own); err != nil {
			return err
		}
	}
	t, err := b.Pull(ctx, f.Arg(0), pgstate.TransferOptions{Force: *force, LockWait: *lockWait})
	if err != nil {
		return transferHint(err)
	}
	reportTransfer(e, t, "Pulled "+b.Describe()+" to "+f.Arg(0))
	return nil
}

func transferHint(err error) error {
	var ce *pgstate.ConflictError
	if errors.As(err, &ce) {
		return withHint(err, "compare the two with `payctl state pull` into a new file and `payctl state diff`; -force replaces the target only if you are sure which one is right")
	}
	return lockHint(err)
}

func reportTransfer(e *Env, t *pgstate.Transfer, what string) {
	if t.Replaced != "" {
		fmt.Fprintf(e.Stdout, "Replaced the target's own history (-force): %s.\n", t.Replaced)
	}
	snap := ""
	if t.Snapshot {
		snap = ", snapshot written"
	}
	fmt.Fprintf(e.Stdout, "%s: lineage %s, serial %d, %d journal records copied%s.\n", what, t.Lineage, t.Serial, t.Copied, snap)
}
