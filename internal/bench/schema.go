package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/payctl/payctl/internal/gen"
)

// schemaVersions compares the JSON Schema validator payctl uses
// (santhosh-tekuri/jsonschema/v6) with v5, which the product card named:
// the same schema (schema/payout-batch.schema.json), the same generated
// manifest, the same decoded document, the validation alone timed (median
// of 3 in a process of its own, the median of 5 such processes each,
// taking turns). v5 lives in its own module, internal/bench/schemav5, so
// that payctl's module never depends on it; it is built from there (the
// build is not timed).
func (b *bench) schemaVersions(sz sizes) error {
	dir := filepath.Join(b.dir, "schema")
	os.MkdirAll(dir, 0o700)
	doc := filepath.Join(dir, "batch.json")
	f, err := os.Create(doc)
	if err != nil {
		return err
	}
	if err := gen.Manifest(f, sz.manifest, "json", gen.Options{Seed: 1}); err != nil {
		return err
	}
	f.Close()
	schemaFile, err := filepath.Abs(filepath.Join("schema", "payout-batch.schema.json"))
	if err != nil {
		return err
	}
	// Each in a process of its own, so that neither validates in a heap
	// the other (or the harness) has grown.
	child := func(name string, cmd *exec.Cmd) (time.Duration, error) {
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("%s: %v: %s", name, err, errb.String())
		}
		s, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			return 0, fmt.Errorf("%s printed %q", name, out)
		}
		return time.Duration(s * float64(time.Second)), nil
	}
	// v5 is built once; the two then take turns, five times each, so
	// that a change in the machine's load falls on both.
	v5bin := filepath.Join(dir, "schemav5")
	build := exec.Command("go", "build", "-o", v5bin, ".")
	build.Dir = filepath.Join("internal", "bench", "schemav5")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build v5 in %s: %v\n%s", build.Dir, err, out)
	}
	var v6s, v5s []time.Duration
	for i := 0; i < 5; i++ {
		d6, err := child("v6", exec.Command(os.Args[0], "-schema-v6", schemaFile, doc))
		if err != nil {
			return err
		}
		d5, err := child("v5", exec.Command(v5bin, schemaFile, doc, "3"))
		if err != nil {
			return err
		}
		v6s, v5s = append(v6s, d6), append(v5s, d5)
	}
	mid := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	v6, v5 := mid(v6s), mid(v5s)
	b.add(row{
		name:     fmt.Sprintf("JSON Schema validation of %d payouts (validation alone)", sz.manifest),
		payctl:   fmt.Sprintf("jsonschema/v6: %s", ms(v6)),
		baseline: fmt.Sprintf("jsonschema/v5: %s", ms(v5)),
		ratio:    fmt.Sprintf("%.2fx", v6.Seconds()/v5.Seconds()),
		target:   "faster than v5", verdict: verdict(v6 < v5),
	})
	return nil
}

// schemaV6Child is the v6 side's process: it prints the median seconds
// of three validations.
func schemaV6Child(schemaFile, docFile string) int {
	d, err := validateV6(schemaFile, docFile, 3)
	if err != nil {
		fmt.Fprintln(os.Stderr, "v6:", err)
		return 1
	}
	fmt.Println(d.Seconds())
	return 0
}

// validateV6 validates doc against schemaFile as payctl compiles its
// schema, and returns the median time of runs validations.
func validateV6(schemaFile, docFile string, runs int) (time.Duration, error) {
	sf, err := os.Open(schemaFile)
	if err != nil {
		return 0, err
	}
	defer sf.Close()
	sch, err := jsonschema.UnmarshalJSON(sf)
	if err != nil {
		return 0, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("schema.json", sch); err != nil {
		return 0, err
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		return 0, err
	}
	df, err := os.Open(docFile)
	if err != nil {
		return 0, err
	}
	defer df.Close()
	doc, err := jsonschema.UnmarshalJSON(df)
	if err != nil {
		return 0, err
	}
	var ds []time.Duration
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		if err := s.Validate(doc); err != nil {
			return 0, fmt.Errorf("the manifest does not validate: %v", err)
		}
		ds = append(ds, time.Since(t0))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}
