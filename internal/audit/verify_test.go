package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/payctl/payctl/internal/audit"
	"github.com/payctl/payctl/internal/fee"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/providers"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/localstate"
)

// journalLines splits a journal into records (without newlines).
func journalLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
}

func writeJournal(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rehash recomputes a record's own hash after an edit, as a forger who
// knows the format would; with chain, also every later record's link
// and hash, so that the chain itself holds.
func rehash(lines [][]byte, from int, chain bool) {
	prev := ""
	for i := from; i < len(lines); i++ {
		l := lines[i]
		body := l[:bytes.LastIndex(l, []byte(`,"hash":"`))]
		if chain && i > from {
			j := bytes.Index(body, []byte(`"prev":"`)) + len(`"prev":"`)
			k := j + bytes.IndexByte(body[j:], '"')
			body = append(append(append([]byte{}, body[:j]...), prev...), body[k:]...)
		}
		sum := sha256.Sum256(body)
		prev = hex.EncodeToString(sum[:])
		lines[i] = append(append([]byte{}, body...), `,"hash":"`+prev+`"}`...)
		if !chain {
			return
		}
	}
}

func TestVerify(t *testing.T) {
	h := fixture(t)
	type files struct{ snap, journal string }
	editSnap := func(fn func(m map[string]any)) func(t *testing.T, f files) {
		return func(t *testing.T, f files) {
			b, err := os.ReadFile(f.snap)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.snap, edit(t, b, fn), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	editJournal := func(fn func(lines [][]byte) [][]byte) func(t *testing.T, f files) {
		return func(t *testing.T, f files) { writeJournal(t, f.journal, fn(journalLines(t, f.journal))) }
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, f files)
		want   []audit.Kind
		line   uint64 // the journal line the first finding names, if any
		note   string // a note that must be there
	}{
		{name: "intact", tamper: func(*testing.T, files) {}},
		{
			name: "record deleted", line: 5, want: []audit.Kind{audit.KindJournalDamaged},
			tamper: editJournal(func(l [][]byte) [][]byte { return slices.Delete(l, 4, 5) }),
		},
		{
			name: "records reordered", line: 5, want: []audit.Kind{audit.KindJournalDamaged},
			tamper: editJournal(func(l [][]byte) [][]byte { l[4], l[5] = l[5], l[4]; return l }),
		},
		{
			name: "record edited", line: 5, want: []audit.Kind{audit.KindJournalDamaged},
			tamper: editJournal(func(l [][]byte) [][]byte {
				// Line 5 is the first outcome (the three intents are
				// recorded ahead of the worker).
				l[4] = bytes.Replace(l[4], []byte(`"fee":"3000"`), []byte(`"fee":"30"`), 1)
				return l
			}),
		},
		{
			name: "record edited and re-hashed", line: 3,
			want: []audit.Kind{audit.KindChainBroken, audit.KindSnapshotDiffers},
			tamper: editJournal(func(l [][]byte) [][]byte {
				l[1] = bytes.Replace(l[1], []byte(`"name":"Alice Tan"`), []byte(`"name":"Mallory"`), 1)
				rehash(l, 1, false)
				return l
			}),
		},
		{
			name: "record edited and the whole chain re-hashed",
			want: []audit.Kind{audit.KindJournalMark, audit.KindSnapshotDiffers},
			tamper: editJournal(func(l [][]byte) [][]byte {
				// Same length, so that every offset still holds and only
				// the snapshot's record of the last hash tells.
				l[1] = bytes.Replace(l[1], []byte(`"name":"Alice Tan"`), []byte(`"name":"Mallory X"`), 1)
				rehash(l, 1, true)
				return l
			}),
		},
		{
			// The checkpoint goes with it: as after a crash right after
			// the snapshot was written. Nothing is lost.
			name:   "last record deleted",
			tamper: editJournal(func(l [][]byte) [][]byte { return l[:len(l)-1] }),
		},
		{
			name: "last two records deleted", want: []audit.Kind{audit.KindSnapshotAhead},
			tamper: editJournal(func(l [][]byte) [][]byte { return l[:len(l)-2] }),
		},
		{
			name: "last payout record edited", line: 16, want: []audit.Kind{audit.KindJournalDamaged},
			tamper: editJournal(func(l [][]byte) [][]byte {
				l[len(l)-2] = bytes.Replace(l[len(l)-2], []byte(`"status":"paid"`), []byte(`"status":"failed"`), 1)
				return l
			}),
		},
		{
			name: "snapshot respaced", want: []audit.Kind{audit.KindSnapshotDiffers},
			tamper: func(t *testing.T, f files) {
				b, _ := os.ReadFile(f.snap)
				os.WriteFile(f.snap, bytes.Replace(b, []byte(`"serial": `), []byte(`"serial":  `), 1), 0o600)
			},
		},
		{
			name: "torn tail", line: 18, want: []audit.Kind{audit.KindJournalTorn},
			tamper: func(t *testing.T, f files) {
				jf, err := os.OpenFile(f.journal, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				jf.WriteString(`{"seq":18,"prev":"`)
				jf.Close()
			},
		},
		{
			name: "journal missing", want: []audit.Kind{audit.KindSnapshotAhead},
			tamper: func(t *testing.T, f files) { os.Remove(f.journal) },
		},
		{
			name: "snapshot amount edited", want: []audit.Kind{audit.KindInvalidSnapshot, audit.KindSnapshotDiffers},
			tamper: editSnap(func(m map[string]any) { payoutOf(m, "contractors-2026-11/citra")["amount"] = "980001" }),
		},
		{
			name: "snapshot amount edited with a forged digest", want: []audit.Kind{audit.KindSnapshotDiffers},
			tamper: editSnap(func(m map[string]any) {
				p := payoutOf(m, "contractors-2026-11/citra")
				p["amount"] = "980001"
				forge(p)
			}),
		},
		{
			name: "snapshot payout removed", want: []audit.Kind{audit.KindSnapshotDiffers},
			tamper: editSnap(func(m map[string]any) { m["payouts"] = m["payouts"].([]any)[1:] }),
		},
		{
			name: "snapshot provider ids removed", want: []audit.Kind{audit.KindPaidWithoutIDs, audit.KindSnapshotDiffers},
			tamper: editSnap(func(m map[string]any) { delete(attemptOf(m, "contractors-2026-11/alice", 0), "ids") }),
		},
		{
			name: "snapshot offset edited", want: []audit.Kind{audit.KindJournalMark},
			tamper: editSnap(func(m map[string]any) {
				j := m["journal"].(map[string]any)
				j["offset"] = jsonNumber(t, j["offset"], -1)
			}),
		},
		{
			name: "snapshot permissions opened", want: []audit.Kind{audit.KindPermissions},
			tamper: func(t *testing.T, f files) { os.Chmod(f.snap, 0o644) },
		},
		{
			name: "journal beyond the snapshot", note: "records beyond the snapshot",
			tamper: func(t *testing.T, f files) {
				if err := os.WriteFile(f.snap, h.snaps[3], 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := copyState(t, h)
			tt.tamper(t, files{snap: path, journal: path + ".journal"})
			rep, err := audit.Verify(context.Background(), localstate.New(path, nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, k := range tt.want {
				want = append(want, string(k))
			}
			sort.Strings(want)
			if got := kinds(rep.Problems); !slices.Equal(got, want) {
				t.Fatalf("got problem kinds %q, want %q:\n%v", got, want, rep.Problems)
			}
			if rep.OK != (len(tt.want) == 0) {
				t.Errorf("got OK %v with %d problems", rep.OK, len(rep.Problems))
			}
			if tt.line > 0 && rep.Problems[0].Line != tt.line {
				t.Errorf("got line %d, want %d (%s)", rep.Problems[0].Line, tt.line, rep.Problems[0])
			}
			for _, p := range rep.Problems {
				if p.Hint == "" {
					t.Errorf("%s says nothing about what to do", p)
				}
			}
			if tt.note != "" && !strings.Contains(strings.Join(rep.Notes, "\n"), tt.note) {
				t.Errorf("got notes %q, want one about %q", rep.Notes, tt.note)
			}
			if tt.name == "intact" && (rep.Records != 17 || rep.Serial != 16 || !rep.Compared || rep.Paid != 6) {
				// create, 3 intents and 3 outcomes, a check, the provider
				// payout's intent and outcome, a resolve, a check, and a
				// checkpoint after each of the 5 commands; the snapshot
				// comes before the last checkpoint
				t.Errorf("got %d records, serial %d, compared %v, %d paid; want 17, 16, true, 6", rep.Records, rep.Serial, rep.Compared, rep.Paid)
			}
		})
	}
}

func jsonNumber(t *testing.T, v any, delta int64) any {
	t.Helper()
	n, err := v.(interface{ Int64() (int64, error) }).Int64()
	if err != nil {
		t.Fatal(err)
	}
	return n + delta
}

func TestVerifyNoState(t *testing.T) {
	_, err := audit.Verify(context.Background(), localstate.New(filepath.Join(t.TempDir(), "payctl.state.json"), nil, nil))
	if !errors.Is(err, audit.ErrNoState) {
		t.Fatalf("got %v, want ErrNoState", err)
	}
}

// TestVerifyPaidWithoutIDs: a paid outcome without provider ids is a
// problem; a person's resolution without them is a note naming who.
func TestVerifyPaidWithoutIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payctl.state.json")
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	st, err := state.Open(ctx, localstate.New(path, nil, nil), state.Options{Write: true, Op: "apply", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	intent := func(addr string) *state.Event {
		amt := money.MustParse("10000")
		r := providers.Recipient{Name: "Someone", BankCode: "014", Account: "1234567890"}
		return &state.Event{Kind: state.KindIntent, Provider: "fk", Payouts: []state.EventPayout{{
			Address: addr, Attempt: 1, Key: state.Key("fk", addr, 1), Status: providers.StatusSending,
			Type: "fake", Currency: "IDR", Amount: &amt, Recipient: &r, FeePayer: fee.Sender,
			Digest: state.Details{Provider: "fk", Currency: "IDR", Amount: amt, Recipient: r}.Digest(),
		}}}
	}
	outcome := func(kind state.Kind, addr string, s providers.Status) *state.Event {
		return &state.Event{Kind: kind, Provider: "fk", Payouts: []state.EventPayout{{Address: addr, Attempt: 1, Status: s}}}
	}
	for _, e := range []*state.Event{
		intent("b/no-ids"), outcome(state.KindOutcome, "b/no-ids", providers.StatusPaid),
		intent("b/lost"), outcome(state.KindOutcome, "b/lost", providers.StatusUnknown),
		{Kind: state.KindResolve, By: "rini@finance", Provider: "fk", Payouts: []state.EventPayout{{Address: "b/lost", Attempt: 1, Status: providers.StatusPaid, Reason: "resolved by a person: bank statement line 14"}}},
	} {
		if err := st.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	rep, err := audit.Verify(ctx, localstate.New(path, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(rep.Problems); !slices.Equal(got, []string{string(audit.KindPaidWithoutIDs)}) || rep.Problems[0].Address != "b/no-ids" {
		t.Fatalf("got %v, want one paid-without-ids problem for b/no-ids", rep.Problems)
	}
	if rep.Paid != 2 || rep.PaidByPerson != 1 {
		t.Errorf("got %d paid, %d by a person; want 2 and 1", rep.Paid, rep.PaidByPerson)
	}
	if notes := strings.Join(rep.Notes, "\n"); !strings.Contains(notes, "b/lost is paid on the word of rini@finance") || !strings.Contains(notes, "bank statement line 14") {
		t.Errorf("got notes %q, want one naming b/lost, rini@finance and the reason", rep.Notes)
	}
}

// otherBackend is the local backend seen only through the state.Backend
// interface, as a database backend would be: Verify must not rely on files.
type otherBackend struct{ state.Backend }

func TestVerifyAnyBackend(t *testing.T) {
	h := fixture(t)
	tests := []struct {
		name   string
		tamper func(t *testing.T, path string)
		want   []audit.Kind
		note   string
	}{
		{name: "intact", tamper: func(*testing.T, string) {}},
		{
			name: "snapshot edited with a forged digest", want: []audit.Kind{audit.KindSnapshotDiffers},
			tamper: func(t *testing.T, path string) {
				b, _ := os.ReadFile(path)
				os.WriteFile(path, edit(t, b, func(m map[string]any) {
					p := payoutOf(m, "contractors-2026-11/citra")
					p["amount"] = "980001"
					forge(p)
				}), 0o600)
			},
		},
		{
			name: "snapshot the backend refuses", want: []audit.Kind{audit.KindUnreadable},
			tamper: func(t *testing.T, path string) {
				b, _ := os.ReadFile(path)
				os.WriteFile(path, edit(t, b, func(m map[string]any) { payoutOf(m, "contractors-2026-11/citra")["amount"] = "980001" }), 0o600)
			},
		},
		{
			// The backend's own check: a journal shorter than what the
			// snapshot folded.
			name: "journal cut", want: []audit.Kind{audit.KindJournalDamaged, audit.KindUnreadable},
			tamper: func(t *testing.T, path string) {
				l := journalLines(t, path+".journal")
				writeJournal(t, path+".journal", slices.Delete(l, 10, 11))
			},
		},
		{
			// Damage in the records after the snapshot: the backend does
			// not load, the scan says where.
			name: "journal damaged after the snapshot", want: []audit.Kind{audit.KindJournalDamaged}, note: "not compared",
			tamper: func(t *testing.T, path string) {
				os.WriteFile(path, h.snaps[2], 0o600)
				l := journalLines(t, path+".journal")
				last := len(l) - 1
				for !bytes.Contains(l[last], []byte(`"paid"`)) {
					last--
				}
				l[last] = bytes.Replace(l[last], []byte(`"paid"`), []byte(`"failed"`), 1)
				writeJournal(t, path+".journal", l)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := copyState(t, h)
			tt.tamper(t, path)
			rep, err := audit.Verify(context.Background(), otherBackend{localstate.New(path, nil, nil)})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, k := range tt.want {
				want = append(want, string(k))
			}
			sort.Strings(want)
			if got := kinds(rep.Problems); !slices.Equal(got, want) {
				t.Fatalf("got problem kinds %q, want %q:\n%v", got, want, rep.Problems)
			}
			if rep.Permissions {
				t.Error("permissions were checked on a backend that is not the local one")
			}
			if tt.note != "" && !strings.Contains(strings.Join(rep.Notes, "\n"), tt.note) {
				t.Errorf("got notes %q, want one saying %q", rep.Notes, tt.note)
			}
			if len(tt.want) == 0 && (!rep.OK || !rep.Compared || rep.Paid != 6) {
				t.Errorf("got OK %v, compared %v, %d paid; want true, true, 6", rep.OK, rep.Compared, rep.Paid)
			}
		})
	}
}
