package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/providers"
)

func runHistory(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "history", "[-config FILE | -state FILE] [-provider NAME] [-status S] [-since T] [-until T] [-from REV] [-json] [ADDRESS | BATCH]", `
Prints the state's journal as a timeline, oldest first: when, which record, what
happened (intent: about to send; outcome: the provider's answer; check: a status
learned later; resolve: a person's decision; quote: a refused quote), who ran
which command, and what was sent or what the provider answered (its ids, fee and
own status word). An intent also shows the payout's reference and metadata, when
its manifest had them.

ADDRESS (batch/id) or BATCH limits the timeline to one payout or one batch.
-since is inclusive and -until exclusive; a date means midnight UTC, so
"-since 2026-11-01 -until 2026-12-01" is November. With -json, each line is one
JSON object (JSON lines) with the provider's full answer.

-from REV reads only the records written since the local state as of git
revision REV (one an earlier audit verified), however long the journal: the
first record read must be the checkpoint that names that revision's state,
and each after it must chain to the one before. -since reads the whole
journal to filter it by time.

The journal is streamed, so history works on journals of any length.`)
	stateFile := f.String("state", "", "read the local state at `FILE` instead of payctl.yaml's (no config needed)")
	provider := f.String("provider", "", "only records of this provider")
	status := f.String("status", "", "only records that gave a payout this `status` (pending, paid, failed, unknown, sending, not-sent)")
	since := f.String("since", "", "only records at or after `T` (2026-11-01 or an RFC 3339 time)")
	until := f.String("until", "", "only records before `T` (2026-12-01 or an RFC 3339 time)")
	asJSON := f.Bool("json", false, "print JSON lines")
	from := f.String("from", "", "only records since the state at git revision `REV` (local segmented states)")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() > 1 {
		return withHint(fmt.Errorf("history takes at most one address or batch, got %d", f.NArg()), "payctl history contractors-2026-11/alice, or payctl history contractors-2026-11")
	}
	if err := checkStatus(*status); err != nil {
		return err
	}
	filter := audit.Filter{Provider: *provider, Status: providers.Status(*status)}
	var err error
	if filter.Since, err = parseWhen("since", *since); err != nil {
		return err
	}
	if filter.Until, err = parseWhen("until", *until); err != nil {
		return err
	}
	if !filter.Since.IsZero() && !filter.Until.IsZero() && !filter.Since.Before(filter.Until) {
		return fmt.Errorf("-since %s is not before -until %s: nothing can match", *since, *until)
	}
	if a := f.Arg(0); strings.Contains(a, "/") {
		filter.Address = a
	} else {
		filter.Batch = a
	}
	b, closeState, err := auditBackend(f, *stateFile)
	if err != nil {
		return err
	}
	defer closeState()
	var j audit.Journal = b
	if *from != "" {
		if j, err = journalSince(ctx, b, *from); err != nil {
			return err
		}
	}
	hw := &audit.HistoryWriter{W: e.Stdout, JSON: *asJSON}
	torn, err := audit.History(ctx, j, filter, hw.Write)
	if errors.Is(err, audit.ErrNotSince) {
		return withHint(err, "`payctl state verify -from %s` says what differs", *from)
	}
	if err != nil {
		return withHint(err, "`payctl state verify` reports every problem of the journal")
	}
	if torn != nil {
		fmt.Fprintf(e.Stderr, "payctl: warning: the journal's last record (%d) is incomplete and not shown: a payctl command crashed while writing it (the next one that writes discards it) or is writing it now\n", torn.Seq)
	}
	if hw.Count == 0 && !*asJSON {
		if filter == (audit.Filter{}) {
			fmt.Fprintf(e.Stdout, "The journal of %s is empty: nothing has been recorded yet.\n", b.Describe())
		} else {
			fmt.Fprintln(e.Stdout, "No journal records match.")
		}
	}
	return nil
}
