// Package reserved recognises the files payctl keeps for itself (the
// config file, the state's snapshot, journal, lock and backups) and the
// inputs of a command, under whatever name a path gives them: no command
// reads one of them as a manifest or writes a report over one.
//
// Two paths name the same file when os.SameFile says so; when either does
// not exist, when their absolute, cleaned forms with symbolic links
// resolved are equal.
package reserved

import (
	"os"
	"path/filepath"
)

// File is a file with what it is, as messages say it ("the state's
// journal", "the config file").
type File struct {
	Path string
	What string
}

// Set is a list of files looked up by identity, not by spelling.
type Set struct {
	files []entry
}

type entry struct {
	File
	info     os.FileInfo // nil when it does not exist (yet)
	resolved string
}

// NewSet makes a set of files; files with an empty Path are left out.
func NewSet(files ...File) *Set {
	s := &Set{}
	s.Add(files...)
	return s
}

// Add adds files to the set; files with an empty Path are left out.
func (s *Set) Add(files ...File) {
	for _, f := range files {
		if f.Path == "" {
			continue
		}
		info, _ := os.Stat(f.Path)
		s.files = append(s.files, entry{File: f, info: info, resolved: Resolve(f.Path)})
	}
}

// Lookup returns the file of the set that path names, if any.
func (s *Set) Lookup(path string) (File, bool) {
	if s == nil || len(s.files) == 0 {
		return File{}, false
	}
	info, _ := os.Stat(path)
	resolved := Resolve(path)
	for _, e := range s.files {
		if info != nil && e.info != nil {
			if os.SameFile(info, e.info) {
				return e.File, true
			}
			continue
		}
		if resolved == e.resolved {
			return e.File, true
		}
	}
	return File{}, false
}

// Resolve is path made absolute and clean, with symbolic links resolved
// as far as the path exists: a file that does not exist yet is named by
// its resolved folder and its own name.
func Resolve(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	var rest []string
	for dir := abs; ; {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return abs
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
		dir = parent
	}
}
