package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExamples keeps examples/ true: the production config is valid, and
// the broken manifest fails with exactly the errors its README shows.
func TestExamples(t *testing.T) {
	root, _ := filepath.Abs("../..")
	run := func(args ...string) (string, error) {
		cmd := exec.Command("payctl", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PAYCTL_CONFIG=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, cfg := range []string{"examples/production/payctl.yaml", "examples/watch/payctl.yaml"} {
		if out, err := run("validate", "-config", cfg, "examples/quickstart/payouts"); err != nil {
			t.Fatalf("%s: %v\n%s", cfg, err, out)
		}
	}
	out, err := run("validate", "-config", "examples/quickstart/payctl.yaml", "examples/broken/payouts.yaml")
	if err == nil {
		t.Fatal("the broken example validated")
	}
	readme, _ := os.ReadFile(filepath.Join(root, "examples/broken/README.md"))
	if !strings.Contains(string(readme), out) {
		t.Fatalf("examples/broken/README.md does not show what validate prints:\n%s", out)
	}
}

// TestExampleWorkflows keeps the GitHub Actions examples safe as written
// (.ci/run also lints them with actionlint): both run one pinned payctl
// version, and the apply workflow applies the saved plan, never a new one,
// one apply at a time.
func TestExampleWorkflows(t *testing.T) {
	root, _ := filepath.Abs("../..")
	pin := regexp.MustCompile(`(?m)^\s*PAYCTL_VERSION: (v\d+\.\d+\.\d+)\b`)
	versions := map[string]string{}
	for _, name := range []string{"payctl-plan.yml", "payctl-apply.yml"} {
		b, err := os.ReadFile(filepath.Join(root, "examples/github-actions", name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		m := pin.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("%s: no pinned PAYCTL_VERSION", name)
		} else {
			versions[m[1]] = name
		}
		if strings.Contains(text, "@latest") {
			t.Errorf("%s: installs payctl@latest; pin the version", name)
		}
		if !strings.Contains(text, `cmd/payctl@${PAYCTL_VERSION}`) {
			t.Errorf("%s: does not install the pinned PAYCTL_VERSION", name)
		}
	}
	if len(versions) > 1 {
		t.Errorf("the plan and apply workflows pin different payctl versions: %v", versions)
	}
	apply, _ := os.ReadFile(filepath.Join(root, "examples/github-actions/payctl-apply.yml"))
	if regexp.MustCompile(`(?m)^\s*(-\s*run:\s*)?payctl plan\b`).Match(apply) {
		t.Error("payctl-apply.yml plans again instead of applying the reviewed plan")
	}
	if !strings.Contains(string(apply), "payctl apply reviewed/plan.json") {
		t.Error("payctl-apply.yml does not apply the downloaded plan")
	}
	if !strings.Contains(string(apply), "group: payctl-apply") || !strings.Contains(string(apply), "cancel-in-progress: false") {
		t.Error("payctl-apply.yml: applies must share one concurrency group and never be cancelled")
	}
}

var updateExamples = flag.Bool("update-examples", false, "rewrite examples/finance's workbook from vendors.spec")

// TestFinanceExample keeps examples/finance true: its workbook is what
// vendors.spec describes (built by buildXLSX: no opaque binary without
// its source), and the payroll CSV and the vendor workbook, exports as
// they come, validate and plan through the imports entries.
func TestFinanceExample(t *testing.T) {
	root, _ := filepath.Abs("../..")
	dir := filepath.Join(root, "examples/finance")
	spec, err := os.ReadFile(filepath.Join(dir, "vendors.spec"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := buildXLSX(string(spec))
	if err != nil {
		t.Fatal(err)
	}
	book := filepath.Join(dir, "inbox/dinardragon-vendors-2026-11.xlsx")
	if *updateExamples {
		if err := os.WriteFile(book, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := os.ReadFile(book); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is not what vendors.spec describes (%v); run go test ./cmd/payctl -run TestFinanceExample -update-examples", book, err)
	}
	cmd := exec.Command("payctl", "plan", "inbox")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PAYCTL_CONFIG=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("payctl plan inbox: %v\n%s", err, out)
	}
	for _, addr := range []string{"payroll-2026-11/EMP-0004", "vendors-2026-11/V-1002"} {
		if !strings.Contains(string(out), addr) {
			t.Errorf("the plan does not pay %s:\n%s", addr, out)
		}
	}
}
