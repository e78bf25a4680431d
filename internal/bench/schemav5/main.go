// Command schemav5 validates a payout manifest against payctl's manifest
// schema with github.com/santhosh-tekuri/jsonschema/v5, the version the
// product card named, and prints the median time of the validation alone:
// the baseline of the v5/v6 row of `go run ./internal/bench -only schema`.
// It is a module of its own so that payctl's module never depends on v5.
//
//	go run . SCHEMA MANIFEST.json [RUNS]
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: schemav5 SCHEMA MANIFEST.json [RUNS]")
		os.Exit(2)
	}
	runs := 3
	if len(os.Args) > 3 {
		runs, _ = strconv.Atoi(os.Args[3])
	}
	d, err := measure(os.Args[1], os.Args[2], runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemav5:", err)
		os.Exit(1)
	}
	fmt.Println(d.Seconds())
}

func measure(schemaFile, docFile string, runs int) (time.Duration, error) {
	sch, err := os.ReadFile(schemaFile)
	if err != nil {
		return 0, err
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("schema.json", bytes.NewReader(sch)); err != nil {
		return 0, err
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		return 0, err
	}
	data, err := os.ReadFile(docFile)
	if err != nil {
		return 0, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
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
