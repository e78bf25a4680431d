package reserved

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "payctl.state.json")
	if err := os.WriteFile(snap, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(snap, filepath.Join(dir, "alias.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(snap, filepath.Join(dir, "hard.json")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	s := NewSet(
		File{Path: snap, What: "the state's snapshot"},
		File{Path: snap + ".journal", What: "the state's journal"}, // does not exist
		File{Path: "", What: "nothing"},
	)
	tests := []struct {
		name, path, want string
	}{
		{"same spelling", snap, "the state's snapshot"},
		{"relative", "payctl.state.json", "the state's snapshot"},
		{"dot segments", "./sub/../payctl.state.json", "the state's snapshot"},
		{"through a linked folder", "link/payctl.state.json", "the state's snapshot"},
		{"a symbolic link to it", "alias.json", "the state's snapshot"},
		{"a hard link to it", "hard.json", "the state's snapshot"},
		{"missing file, relative", "payctl.state.json.journal", "the state's journal"},
		{"missing file through a linked folder", "link/payctl.state.json.journal", "the state's journal"},
		{"another file", "plan.json", ""},
		{"the empty path", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := s.Lookup(tt.path)
			if got := f.What; got != tt.want || ok != (tt.want != "") {
				t.Fatalf("Lookup(%q) = %q, %v; want %q", tt.path, got, ok, tt.want)
			}
		})
	}
}
