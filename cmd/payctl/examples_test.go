package main

import (
	"os"
	"os/exec"
	"path/filepath"
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
