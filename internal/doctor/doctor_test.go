package doctor

import (
	"context"
	"os"
	"os/exec"
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

func TestGitCheck(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "payctl.state.json")
	if _, ok := gitCheck(context.Background(), state); ok {
		t.Fatal("a folder outside git got a check")
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	for _, f := range []string{state, state + ".journal"} {
		if err := os.WriteFile(f, []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want Level, detail string) {
		t.Helper()
		c, ok := gitCheck(context.Background(), state)
		if !ok || c.Level != want || !strings.Contains(c.Detail, detail) {
			t.Errorf("got %v %+v, want %s %q", ok, c, want, detail)
		}
	}
	check(Skip, "not committed to git")
	run("add", ".")
	run("commit", "-q", "-m", "state")
	check(OK, "is committed")
	if err := os.WriteFile(state+".journal", []byte("{}\n{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check(Warn, "changes not committed")
}
