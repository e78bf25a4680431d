package approval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/money"
	"github.com/payctl/payctl/internal/safetext"
	"github.com/payctl/payctl/internal/textable"
	"github.com/payctl/payctl/plan"
)

// ReadPlan reads the saved plan at path once and returns its bytes (what
// an approver signs) and the plan they hold: what is shown is what is
// signed, even if the file is replaced meanwhile. A file that is not a
// saved payctl plan is refused.
func ReadPlan(path string) ([]byte, *plan.Plan, error) {
	notPlan := fmt.Errorf("%s: not a saved payctl plan; approve the file `payctl plan -out FILE` wrote", path)
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, nil, notPlan
	}
	data, err := io.ReadAll(io.LimitReader(f, plan.MaxFileSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > plan.MaxFileSize {
		return nil, nil, fmt.Errorf("%s: larger than %d MiB: not a payctl plan", path, plan.MaxFileSize>>20)
	}
	// plan.Open reads files: give it a private copy of these very bytes.
	dir, err := os.MkdirTemp("", "payctl-approve-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, nil, err
	}
	p, err := plan.Open(tmp)
	if errors.Is(err, plan.ErrNotSaved) {
		return nil, nil, notPlan
	}
	var d *diag.Error
	if errors.As(err, &d) {
		c := *d
		c.File = path
		return nil, nil, &c
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	return data, p, nil
}

// FileSHA256 is the hex SHA-256 of a file's bytes, as `sha256sum` prints.
func FileSHA256(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// maxChecksShown bounds the new and changed accounts approve lists.
const maxChecksShown = 50

// Describe writes what an approver signs: the file, its SHA-256, the state
// and config it was made against, its manifests, its summary and the
// totals of what apply would send.
func Describe(w io.Writer, file string, data []byte, p *plan.Plan) error {
	var b bytes.Buffer
	// Everything but the digest comes from the file, which anyone may have
	// written: shown escaped, so that no name can redraw these lines.
	esc := safetext.Escape
	fmt.Fprintf(&b, "Plan file: %s\n", esc(file))
	fmt.Fprintf(&b, "SHA-256:   %s\n", FileSHA256(data))
	if p.State.Lineage == "" {
		fmt.Fprintf(&b, "State:     %s, made before the state existed\n", esc(p.State.Location))
	} else {
		fmt.Fprintf(&b, "State:     %s, lineage %s, serial %d\n", esc(p.State.Location), esc(p.State.Lineage), p.State.Serial)
	}
	fmt.Fprintf(&b, "Config:    %s (%s)\n", esc(p.Config.File), esc(p.Config.Digest))
	for _, m := range p.Manifests {
		fmt.Fprintf(&b, "Manifest:  %s: batch %s, %d payouts, %s %s\n", esc(m.File), esc(m.Batch), m.Payouts, esc(m.Provider), esc(m.Currency))
	}
	fmt.Fprintf(&b, "\nPlan: %s.\n", p.Summary())
	if n, c := p.Flagged(); n+c > 0 {
		fmt.Fprintf(&b, "\nCheck before approving (new accounts: %d, accounts changed: %d):\n", n, c)
		shown := 0
		for _, it := range p.Payouts {
			if it.Review == "" || !it.Action.Sends() {
				continue
			}
			if shown == maxChecksShown {
				fmt.Fprintf(&b, "  … and %d more: run `payctl plan` on the plan's manifests for all\n", n+c-shown)
				break
			}
			shown++
			fmt.Fprintf(&b, "  ! %s %s %s: %s\n", esc(it.Address), it.Amount.Format(it.Currency), esc(it.Currency.Code), esc(it.CheckText()))
		}
	}
	if p.Changes() {
		fmt.Fprintln(&b, "\nTotals of what apply sends:")
		t := &textable.Table{Indent: "  ", Right: map[int]bool{2: true, 3: true, 4: true, 5: true, 6: true}}
		t.Row("PROVIDER", "CURRENCY", "PAY", "RETRY", "AMOUNT", "FEES", "BALANCE CHARGED")
		for _, tot := range p.Totals {
			if tot.Pay+tot.Retry == 0 {
				continue
			}
			c := money.CurrencyOf(tot.Currency)
			t.Row(tot.Provider, tot.Currency, fmt.Sprint(tot.Pay), fmt.Sprint(tot.Retry),
				tot.Amount.Format(c), tot.Fees.Format(c), tot.Charged.Format(c))
		}
		t.WriteTo(&b)
	} else {
		fmt.Fprintln(&b, "Applying it sends nothing.")
	}
	_, err := w.Write(b.Bytes())
	return err
}
