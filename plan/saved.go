package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/doc"
	"github.com/payctl/payctl/state"
)

// ErrStale is wrapped by every refusal to apply a saved plan that no
// longer describes the state, the config or the manifests.
var ErrStale = errors.New("saved plan is stale")

// StaleError says why a saved plan cannot be applied and what to do.
type StaleError struct {
	File   string
	Reason string
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s: %s; make a new plan with `payctl plan -out FILE`, review it, and apply that", e.File, e.Reason)
}

func (e *StaleError) Unwrap() error { return ErrStale }

// MaxFileSize caps a saved plan.
const MaxFileSize = 512 << 20

// Save writes the plan to path atomically, readable by its owner only.
func (p *Plan) Save(path string) error {
	q := *p
	q.AccountChecks, q.Balances = nil, nil
	return atomicfile.Write(path, q.WriteJSON, atomicfile.Options{Perm: 0o600})
}

// Read reads a saved plan.
func Read(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	tooLarge := &diag.Error{File: path, Msg: fmt.Sprintf("larger than %d MiB: not a payctl plan", MaxFileSize>>20)}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, tooLarge // without reading it
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge
	}
	// A plan of this version decodes strictly in one pass; anything else
	// is read again only to say what it is.
	var p Plan
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	err = d.Decode(&p)
	if err != nil || p.FormatVersion != FormatVersion || d.InputOffset() != int64(len(bytes.TrimRight(data, " \t\r\n"))) {
		var probe struct {
			V *int `json:"format_version"`
		}
		if err := json.Unmarshal(data, &probe); err != nil || probe.V == nil {
			return nil, &diag.Error{File: path, Msg: "not a saved payctl plan (no format_version); make one with `payctl plan -out FILE`"}
		}
		if *probe.V != FormatVersion {
			return nil, &diag.Error{File: path, Pointer: "/format_version", Msg: fmt.Sprintf("plan format version %d; this payctl reads version %d: make the plan with this payctl", *probe.V, FormatVersion)}
		}
		return nil, &diag.Error{File: path, Msg: fmt.Sprintf("not a valid saved plan: %v", err)}
	}
	if err := p.check(path); err != nil {
		return nil, err
	}
	p.raw = data
	return &p, nil
}

// check verifies what apply relies on: keys are payctl's own derivation
// and group indices are in range, so an edited plan cannot send an attempt
// under a key payctl would not use.
func (p *Plan) check(path string) error {
	for i, it := range p.Payouts {
		bad := func(msg string) error {
			return &diag.Error{File: path, Pointer: fmt.Sprintf("/payouts/%d", i), Msg: it.Address + ": " + msg + "; the plan file was edited: make a new plan"}
		}
		if it.Action.Sends() && it.Key != state.Key(it.Provider, it.Address, it.Attempt) {
			return bad("idempotency key does not match the attempt")
		}
		if it.Group >= len(p.Groups) || it.Group < -1 {
			return bad("group out of range")
		}
		if it.Details().Digest() != it.Digest {
			return bad("digest does not match the payout's details")
		}
	}
	return nil
}

// Bytes are the exact bytes a saved plan was read from: what approvers
// signed. They are read once, so that the plan checked and the plan whose
// signatures are verified cannot differ.
func (p *Plan) Bytes() []byte { return p.raw }

// ErrNotSaved is wrapped by Open for a file that is not a saved plan at
// all (a manifest, a folder): a command that takes either reads it as
// manifests instead.
var ErrNotSaved = errors.New("not a saved plan")

// Open reads path as a saved plan. A saved plan is a JSON object whose
// first key is "format_version", as Save writes it; anything else is
// ErrNotSaved. A file that starts like one but does not read as one (cut,
// edited, another version) is that error, never taken for a manifest.
func Open(path string) (*Plan, error) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotSaved)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	f.Close()
	rest, ok := bytes.CutPrefix(bytes.TrimLeft(head[:n], " \t\r\n"), []byte("{"))
	if !ok || !bytes.HasPrefix(bytes.TrimLeft(rest, " \t\r\n"), []byte(`"format_version"`)) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotSaved)
	}
	return Read(path)
}

// FileDigest is the current digest of the file at path, as a saved plan
// pins its manifests.
func FileDigest(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return Digest(data), nil
}

// Digest is "sha256:<hex>" of data, as manifests and configs are pinned.
func Digest(data []byte) string { return doc.Digest(data) }

// CheckCurrent refuses a saved plan whose state, config or manifests are
// not the ones it was made from. fileDigest reads a file's current digest.
func (p *Plan) CheckCurrent(file string, snap *state.Snapshot, configDigest string, fileDigest func(path string) (string, error)) error {
	stale := func(format string, args ...any) error {
		return &StaleError{File: file, Reason: fmt.Sprintf(format, args...)}
	}
	if len(p.Errors) > 0 {
		return stale("the plan has %d errors and cannot be applied", len(p.Errors))
	}
	if p.State.Lineage != "" && snap.Lineage != p.State.Lineage {
		if snap.Lineage == "" {
			return stale("the plan was made against state lineage %s, but %s holds no state", p.State.Lineage, p.State.Location)
		}
		return stale("the plan was made against another state (lineage %s), not %s (lineage %s)", p.State.Lineage, p.State.Location, snap.Lineage)
	}
	if p.State.Lineage == "" && snap.Lineage != "" {
		// A state created since (`payctl init`, `apply -init`) that holds
		// no payout yet plans as no state did.
		if snap.HasPayouts() {
			return stale("the plan was made before the state existed, and %s now holds a state (serial %d)", p.State.Location, snap.Serial)
		}
	} else if snap.Serial != p.State.Serial {
		return stale("the state changed since the plan was made (serial %d then, %d now)", p.State.Serial, snap.Serial)
	}
	if p.Config.Digest != configDigest {
		return stale("%s changed since the plan was made", p.Config.File)
	}
	for _, m := range p.Manifests {
		d, err := fileDigest(m.File)
		if err != nil {
			return stale("manifest %s cannot be read: %v", m.File, err)
		}
		if d != m.Digest {
			return stale("manifest %s changed since the plan was made", m.File)
		}
	}
	return nil
}
