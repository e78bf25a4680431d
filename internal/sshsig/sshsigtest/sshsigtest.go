// Package sshsigtest helps tests run the real OpenSSH tools.
package sshsigtest

import (
	"os"
	"os/exec"
	"testing"
)

// Keygen finds the real ssh-keygen. Without it the test is skipped, except
// under CI, which installs openssh-client (.ci/run): there it fails.
func Keygen(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ssh-keygen is not on PATH; CI must install openssh-client")
		}
		t.Skip("ssh-keygen is not on PATH (Debian: apt-get install openssh-client); skipping the tests against OpenSSH")
	}
	return path
}
