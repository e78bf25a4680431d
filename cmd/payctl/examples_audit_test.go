package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditWalkthrough runs examples/audit/walkthrough.sh as an auditor
// would: it builds a git repository of state commits on the Cronos
// emulator and runs state diff -git, state verify, history, state export
// and reconcile, failing on any line README.md says to expect that payctl
// does not print.
func TestAuditWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	root, _ := filepath.Abs("../..")
	cmd := exec.Command("bash", filepath.Join(root, "examples/audit/walkthrough.sh"), t.TempDir())
	cmd.Env = append(os.Environ(), "PAYCTL_CONFIG=", "PAYCTL_LOG=", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "walkthrough: done") {
		t.Fatalf("the walkthrough did not finish:\n%s", out)
	}
}
