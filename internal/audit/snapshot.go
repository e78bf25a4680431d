package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/state"
	"github.com/payctl/payctl/state/statefile"
)

// Snapshot is a state snapshot as an auditor reads it: the folded state,
// what the strict parser objects to, and where each payout sits in its
// file so that findings can point at it.
type Snapshot struct {
	*state.Snapshot
	// Name is how reports call it: a path, "path@REV", a backend.
	Name string
	// Problems are the strict parser's objections, as findings.
	Problems []*Finding

	payoutAt map[string]int // address -> index in the file's "payouts"
	groupAt  map[string]int // group id -> index in the file's "groups"
}

// ReadSnapshot reads a snapshot for auditing with statefile's lenient
// reader: it accepts what the strict parser (statefile.ParseSnapshot)
// refuses for its content, such as an amount edited by hand, and returns
// those objections in Problems; it fails only when the file is not a
// payctl snapshot it can read at all (not JSON, a value of the wrong type,
// no or a newer version).
//
// The result must never be used to pay: that is what the strict parser is
// for.
func ReadSnapshot(name string, data []byte) (*Snapshot, error) {
	l, err := statefile.ParseLenient(name, data)
	if err != nil {
		return nil, err
	}
	return &Snapshot{
		Snapshot: l.Snapshot,
		Name:     name,
		Problems: strictFindings(name, l.Strict),
		payoutAt: l.PayoutAt,
		groupAt:  l.GroupAt,
	}, nil
}

// strictFindings turns the strict parser's error into findings.
func strictFindings(name string, err error) []*Finding {
	if err == nil {
		return nil
	}
	var list diag.List
	var one *diag.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = diag.List{one}
	default:
		list = diag.List{{File: name, Msg: err.Error()}}
	}
	var out []*Finding
	for _, d := range list {
		f := &Finding{
			Kind: KindInvalidSnapshot, File: d.File, Pointer: d.Pointer, Message: d.Msg,
			Hint: "payctl refuses to pay from this file; `payctl state verify` compares it with the journal, from which a good snapshot can be restored",
		}
		if d.Pos.IsValid() {
			f.Pointer = ""
			f.Message = fmt.Sprintf("%d:%d: %s", d.Pos.Line, d.Pos.Col, d.Msg)
		}
		out = append(out, f)
	}
	return out
}

// FromState wraps a snapshot loaded by a backend (and therefore already
// checked by the strict parser). Its payouts are pointed at in the order
// the canonical file lists them.
func FromState(name string, st *state.Snapshot) *Snapshot {
	s := &Snapshot{Snapshot: st, Name: name, payoutAt: map[string]int{}, groupAt: map[string]int{}}
	for i, a := range st.Addresses() {
		s.payoutAt[a] = i
	}
	for i, id := range groupIDs(st) {
		s.groupAt[id] = i
	}
	return s
}

// payoutPointer is the JSON pointer of a payout in the file.
func (s *Snapshot) payoutPointer(addr string) string {
	if i, ok := s.payoutAt[addr]; ok {
		return fmt.Sprintf("/payouts/%d", i)
	}
	return ""
}

func (s *Snapshot) groupPointer(id string) string {
	if i, ok := s.groupAt[id]; ok {
		return fmt.Sprintf("/groups/%d", i)
	}
	return ""
}

// fieldChange is one value that differs between two JSON trees.
type fieldChange struct {
	Path     string // JSON pointer below the compared value
	Old, New string // JSON text; "" when absent
}

// fieldChanges lists every leaf that differs between a and b as encoded in
// JSON, sorted by path.
func fieldChanges(a, b any) []fieldChange {
	ab, aerr := json.Marshal(a)
	bb, berr := json.Marshal(b)
	if aerr == nil && berr == nil && bytes.Equal(ab, bb) {
		return nil
	}
	var out []fieldChange
	walkJSON("", tree(ab, aerr), tree(bb, berr), &out)
	return out
}

// tree decodes v's JSON encoding (raw, or err if it had none) for walkJSON.
func tree(raw []byte, err error) any {
	if err != nil {
		return fmt.Sprintf("unencodable: %v", err)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var t any
	if err := d.Decode(&t); err != nil {
		return fmt.Sprintf("undecodable: %v", err)
	}
	return t
}

func walkJSON(path string, a, b any, out *[]fieldChange) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			walkJSON(path+"/"+pointerEscape(k), am[k], bm[k], out)
		}
		return
	}
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		for i := 0; i < max(len(as), len(bs)); i++ {
			var x, y any
			if i < len(as) {
				x = as[i]
			}
			if i < len(bs) {
				y = bs[i]
			}
			walkJSON(fmt.Sprintf("%s/%d", path, i), x, y, out)
		}
		return
	}
	at, bt := leafText(a), leafText(b)
	if at != bt {
		*out = append(*out, fieldChange{Path: path, Old: at, New: bt})
	}
}

func leafText(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
