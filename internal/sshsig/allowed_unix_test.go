//go:build unix

package sshsig

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An allowed signers file that is a named pipe would block apply forever;
// it is refused without being opened for reading.
func TestAllowedSignersFIFORefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allowed_signers")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Skip(err)
	}
	_, err := LoadAllowedSigners(path)
	if err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("got %v, want a refusal of the named pipe", err)
	}
}
