package pgstate_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/pgstate"
	"github.com/payctl/payctl/state/pgstate/pgtest"
	"github.com/payctl/payctl/state/statetest"
)

// written returns a DSN whose state "s" holds a checkpointed snapshot
// in format (0: segmented) and a tail: records 1-3 folded, 4-5 after the
// snapshot.
func written(t *testing.T, format int) string {
	t.Helper()
	dsn := fresh(t)
	s := statetest.OpenWriter(t, openFormat(t, dsn, "s", format))
	defer s.Close()
	for _, evs := range [][]*state.Event{
		{statetest.Intent("b/a", 1, "10")},
		{statetest.Outcome("b/a", 1, providers.StatusPaid, "1")},
	} {
		if err := s.Record(ctx, evs...); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, statetest.Intent("b/b", 1, "20")); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, statetest.Outcome("b/b", 1, providers.StatusPaid, "2")); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// rewrite runs SQL with the append-only guard lifted, as someone editing
// the tables by hand would.
func rewrite(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL payctl.rewrite_journal = 'on'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestJournalIsAppendOnly(t *testing.T) {
	t.Parallel()
	dsn := written(t, 0)
	admin := pgtest.Conn(t, dsn)
	for _, sql := range []string{
		`UPDATE payctl_journal SET kind = 'check' WHERE seq = 2`,
		`DELETE FROM payctl_journal WHERE seq = 5`,
		`TRUNCATE payctl_journal CASCADE`,
	} {
		_, err := admin.Exec(ctx, sql)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want the append-only refusal", sql, err)
		}
	}
}

// Damage anywhere in the stored journal or snapshot stops payctl, as it
// does for the local files; nothing is repaired or skipped.
func TestDamageFailsClosed(t *testing.T) {
	t.Parallel()
	type damage struct {
		name string
		sql  string
		want string
	}
	// create, intent, outcome, checkpoint | intent, outcome
	journal := []damage{
		{"record edited", `UPDATE payctl_journal SET line = convert_to(replace(convert_from(line, 'UTF8'), '"20"', '"21"'), 'UTF8') WHERE seq = 5`, "journal record 5 is damaged"},
		{"record deleted from the tail", `DELETE FROM payctl_journal WHERE seq = 5`, "journal record 5 is damaged"},
		{"last record deleted", `DELETE FROM payctl_journal WHERE seq = 6`, "journal record 6 is damaged"},
		{"folded record deleted", `DELETE FROM payctl_journal WHERE seq = 3`, "journal record 3 is damaged"},
		{"hash column edited", `UPDATE payctl_journal SET hash = repeat('0', 64) WHERE seq = 6`, "hash column"},
		{"offset edited", `UPDATE payctl_journal SET end_offset = end_offset + 1 WHERE seq = 5`, "ends at byte"},
	}
	byFormat := map[int][]damage{
		state.Version: {
			{"snapshot row edited", `UPDATE payctl_payouts SET payout = replace(payout, '"10"', '"11"')`, "digest does not match"},
			{"snapshot mark moved", `UPDATE payctl_states SET snapshot_offset = snapshot_offset - 1`, "does not belong to this journal"},
		},
		state.SegmentedVersion: {
			{"segment edited", `UPDATE payctl_segments SET segment = convert_to(replace(convert_from(segment, 'UTF8'), '"10"', '"11"'), 'UTF8')`, "the segment was edited after it was written"},
			{"segment edited and its digest with it", `UPDATE payctl_segments SET segment = convert_to(replace(convert_from(segment, 'UTF8'), '"10"', '"11"'), 'UTF8'), digest = 'sha256:' || encode(sha256(convert_to(replace(convert_from(segment, 'UTF8'), '"10"', '"11"'), 'UTF8')), 'hex')`, "batch b's segment is missing (the root names it)"},
			{"segment removed", `DELETE FROM payctl_segments`, "batch b's segment is missing (the root names it)"},
			{"root edited", `UPDATE payctl_states SET snapshot_root = convert_to(replace(convert_from(snapshot_root, 'UTF8'), '"payouts":1', '"payouts":2'), 'UTF8')`, "its root's bytes are not the ones journal record 4 says payctl wrote"},
			{"root and header moved together", `UPDATE payctl_states SET snapshot_offset = snapshot_offset - 1, snapshot_root = convert_to(replace(convert_from(snapshot_root, 'UTF8'), '"offset":' || snapshot_offset, '"offset":' || (snapshot_offset - 1)), 'UTF8')`, "does not belong to this journal"},
			{"root header moved", `UPDATE payctl_states SET snapshot_offset = snapshot_offset - 1`, "differs from the state's header"},
			{"root removed", `UPDATE payctl_states SET snapshot_root = NULL`, "its header says it is segmented but it has no root"},
			{"account index edited", `UPDATE payctl_account_indexes SET accounts = convert_to(replace(convert_from(accounts, 'UTF8'), '0123456789', '0123456780'), 'UTF8')`, "the account index was edited after it was written"},
		},
	}
	for _, format := range formats {
		for _, tc := range append(append([]damage{}, journal...), byFormat[format]...) {
			t.Run(fmt.Sprintf("format %d/%s", format, tc.name), func(t *testing.T) {
				t.Parallel()
				dsn := written(t, format)
				rewrite(t, pgtest.Conn(t, dsn), tc.sql)
				r, err := state.Open(ctx, open(t, dsn, "s"), state.Options{})
				if err == nil {
					// Segments and the index are read when a command
					// needs them: here, all of them.
					if err = r.Snapshot().LoadAll(); err == nil {
						_, err = r.Snapshot().Accepted()
					}
				}
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("open: got %v, want an error containing %q", err, tc.want)
				}
				if !strings.HasPrefix(err.Error(), "postgres:s") {
					t.Errorf("error does not name the state: %v", err)
				}
			})
		}
	}
}

func TestReadJournalStreamsEveryRecord(t *testing.T) {
	t.Parallel()
	dsn := written(t, 0)
	var kinds []string
	torn, err := open(t, dsn, "s").ReadJournal(ctx, func(e *state.Event) error {
		kinds = append(kinds, string(e.Kind))
		return nil
	})
	if err != nil || torn != nil {
		t.Fatalf("read journal: %v (torn %v)", err, torn)
	}
	if got := strings.Join(kinds, " "); got != "create intent outcome checkpoint intent outcome" {
		t.Errorf("records: got %s, want create intent outcome checkpoint intent outcome", got)
	}
	// A record deleted in the middle is reported, not skipped.
	rewrite(t, pgtest.Conn(t, dsn), `DELETE FROM payctl_journal WHERE seq = 2`)
	_, err = open(t, dsn, "s").ReadJournal(ctx, func(*state.Event) error { return nil })
	var de *state.DamageError
	if !errors.As(err, &de) || de.Seq != 2 {
		t.Fatalf("read journal with a record missing: got %v, want damage at record 2", err)
	}
}

// A reader sees a state that does not exist yet as empty, and the
// snapshot rows hold one line per address with its status.
func TestSnapshotRows(t *testing.T) {
	t.Parallel()
	dsn := written(t, state.Version)
	r, err := state.Open(ctx, open(t, dsn, "nobody"), state.Options{})
	if err != nil || r.Snapshot().Lineage != "" || len(r.Snapshot().Payouts) != 0 {
		t.Fatalf("state that does not exist: got %+v (%v), want empty", r, err)
	}
	s := statetest.OpenWriter(t, openFormat(t, dsn, "s", state.Version))
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rows, err := pgtest.Conn(t, dsn).Query(ctx, `SELECT address, status FROM payctl_payouts WHERE state = 's' ORDER BY address`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var a, st string
		rows.Scan(&a, &st)
		got = append(got, a+"="+st)
	}
	if strings.Join(got, " ") != "b/a=paid b/b=paid" {
		t.Errorf("rows: got %v, want b/a=paid b/b=paid", got)
	}
}

// The DSN's password never appears in an error, whatever fails.
func TestDSNNeverPrinted(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-Pa55word"
	for _, tc := range []struct {
		name, dsn string
	}{
		{"url, nothing listening", "postgres://payctl:" + pw + "@127.0.0.1:1/payctl?connect_timeout=5&sslmode=disable"},
		{"key=value, nothing listening", "host=127.0.0.1 port=1 user=payctl password=" + pw + " dbname=payctl connect_timeout=5 sslmode=disable"},
		{"url that does not parse", "postgres://payctl:" + pw + "@127.0.0.1:notaport/payctl"},
		{"key=value that does not parse", "host=127.0.0.1 password=" + pw + " port=x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := pgstate.New(pgstate.Options{DSN: tc.dsn, DSNEnv: "PAYCTL_PG_DSN", Name: "s"})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			_, err = b.Lock(ctx, "apply", 0)
			if err == nil {
				t.Fatal("lock succeeded without a server")
			}
			msg := err.Error()
			if strings.Contains(msg, pw) {
				t.Fatalf("error shows the password: %s", msg)
			}
			if !strings.HasPrefix(msg, "postgres:s: ") || !strings.Contains(msg, "PAYCTL_PG_DSN") {
				t.Errorf("error does not say which state and which variable: %s", msg)
			}
		})
	}
}

func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    pgstate.Options
		want string
	}{
		{"empty dsn", pgstate.Options{Name: "s", DSNEnv: "PAYCTL_PG_DSN"}, "PAYCTL_PG_DSN is empty"},
		{"bad name", pgstate.Options{Name: "Prod State", DSN: "postgres://x"}, "must be 1 to 64 lower case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pgstate.New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// A commit must be durable before Record returns: payctl's sessions keep
// synchronous_commit on even when the DSN or the server says off.
func TestSessionsCommitSynchronously(t *testing.T) {
	t.Parallel()
	dsn := pgtest.WithParam(pgtest.Schema(t), "synchronous_commit", "off")
	for name, want := range map[string]string{"synchronous_commit": "on", "tcp_keepalives_idle": "30", "application_name": "payctl test"} {
		got, err := open(t, dsn, "s").Setting(ctx, name)
		if err != nil || got != want {
			t.Errorf("%s: got %q (%v), want %q", name, got, err, want)
		}
	}
}
