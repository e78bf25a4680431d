package doctor

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/payctl/payctl/internal/config"
)

func TestNetworkAndFUSEFilesystemsAreRefused(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		typ   int64
		level Level
		name  string
	}{{0x6969, Fail, "NFS"}, {0x65735546, Fail, "FUSE"}, {0xFF534D42, Fail, "CIFS"}, {0xEF53, OK, "ext4"}, {0x58465342, OK, "xfs"}} {
		statfs = func(path string, st *syscall.Statfs_t) error { st.Type = tc.typ; return nil }
		var fs *Check
		for _, c := range stateDirChecks(filepath.Join(dir, "payctl.state.json"), 3) {
			if c.Name == "filesystem" {
				c := c
				fs = &c
			}
		}
		if fs == nil || fs.Level != tc.level || !strings.Contains(fs.Detail, tc.name) {
			t.Errorf("type %#x: got %+v, want %s naming %s", tc.typ, fs, tc.level, tc.name)
		}
		if tc.level == Fail && !strings.Contains(fs.Hint, "postgres backend") {
			t.Errorf("type %#x: hint does not say what to do: %q", tc.typ, fs.Hint)
		}
	}
	statfs = syscall.Statfs
}

func TestMissingStateDirectory(t *testing.T) {
	cs := Run(context.Background(), Options{
		Config: &config.Config{File: "payctl.yaml", State: config.State{Path: filepath.Join(t.TempDir(), "nope", "s.json")}},
		Getenv: func(string) string { return "" },
	})
	if !Failed(cs) {
		t.Fatalf("a missing state directory passed: %+v", cs)
	}
}
