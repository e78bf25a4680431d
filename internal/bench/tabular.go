package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/payctl/payctl/internal/gen"
)

// tabular measures `payctl plan` of a CSV batch against the same batch
// as JSON: the same payouts, generated once as JSON and written out as a
// CSV file with a header block. Both are planned three times, alternated,
// and the medians compared.
func (b *bench) tabular(sz sizes) error {
	dir := filepath.Join(b.dir, "tabular")
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "payctl.yaml"), []byte(emulatorConfig), 0o600); err != nil {
		return err
	}
	jsonFile := filepath.Join(dir, "batch.json")
	f, err := os.Create(jsonFile)
	if err != nil {
		return err
	}
	if err := gen.Manifest(f, sz.manifest, "json", gen.Options{Seed: 1}); err != nil {
		return err
	}
	f.Close()
	if err := jsonToCSV(jsonFile, filepath.Join(dir, "batch.csv")); err != nil {
		return err
	}
	var js, cs []measured
	for range 3 {
		for _, file := range []string{"batch.json", "batch.csv"} {
			m, err := b.runQuiet(dir, nil, b.payctl, "plan", file)
			if err != nil {
				return err
			}
			if file == "batch.json" {
				js = append(js, m)
			} else {
				cs = append(cs, m)
			}
		}
	}
	j, c := medianOf(js), medianOf(cs)
	ci, _ := os.Stat(filepath.Join(dir, "batch.csv"))
	r := row{
		name:     fmt.Sprintf("validate+plan %d payouts, CSV (%d MB)", sz.manifest, ci.Size()>>20),
		payctl:   fmt.Sprintf("%s, %s CPU, %s peak", secs(c.wall), secs(c.cpu), mb(c.maxRSS)),
		baseline: fmt.Sprintf("the same batch as JSON: %s, %s CPU, %s peak", secs(j.wall), secs(j.cpu), mb(j.maxRSS)),
		ratio:    fmt.Sprintf("%.2fx", c.wall.Seconds()/j.wall.Seconds()),
		target:   "-", verdict: "-",
	}
	if !*quick {
		r.target = "≤ 1.5x the JSON batch"
		r.verdict = verdict(c.wall <= time.Duration(1.5*float64(j.wall)))
	}
	b.add(r)
	return nil
}

// jsonToCSV writes a generated JSON manifest as a CSV batch: a header
// block, then a column per payout field.
func jsonToCSV(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	var m struct {
		Metadata struct{ Name string }
		Spec     struct {
			Provider, Currency string
			Payouts            []struct {
				ID        string            `json:"id"`
				Amount    string            `json:"amount"`
				Recipient map[string]string `json:"recipient"`
			}
		}
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	var keys []string
	for _, p := range m.Spec.Payouts {
		for k := range p.Recipient {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	f, err := os.Create(to)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"batch", m.Metadata.Name})
	w.Write([]string{"provider", m.Spec.Provider})
	w.Write([]string{"currency", m.Spec.Currency})
	head := []string{"id", "amount"}
	for _, k := range keys {
		head = append(head, "recipient."+k)
	}
	w.Write(head)
	rec := make([]string, len(head))
	for _, p := range m.Spec.Payouts {
		rec[0], rec[1] = p.ID, p.Amount
		for i, k := range keys {
			rec[2+i] = p.Recipient[k]
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
