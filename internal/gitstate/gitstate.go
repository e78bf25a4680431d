// Package gitstate tells whether a local state kept in git is the latest
// one: a state file from an older commit does not know what a newer one
// paid. It asks the git command line, when there is one, and never the
// network: "behind" is as of the last fetch.
package gitstate

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Status is what git says of a state's files.
type Status struct {
	// InWorkTree is false when git is not installed or the state is not
	// in a git work tree; nothing else is then known.
	InWorkTree bool
	// Tracked says the snapshot is committed.
	Tracked bool
	// Uncommitted says the snapshot or its journal differ from the commit.
	Uncommitted bool
	// Behind counts the commits of the upstream branch, not yet in the
	// checkout, that change the snapshot or its journal.
	Behind int
	// Rewound says the journal in the work tree is not the committed one
	// with records appended (payctl only ever appends): it was replaced,
	// cut, or an older state was checked out over it.
	Rewound bool
}

// Of returns the git status of the local state whose snapshot is at path.
func Of(ctx context.Context, path string) Status {
	var s Status
	if _, err := exec.LookPath("git"); err != nil {
		return s
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	git := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := git("rev-parse", "--is-inside-work-tree"); err != nil || out != "true" {
		return s
	}
	s.InWorkTree = true
	if _, err := git("ls-files", "--error-unmatch", "--", base); err == nil {
		s.Tracked = true
	}
	// Every file of the state: the root (or single-file snapshot), the
	// journal and its sealed segments, the batch segments, the account
	// index.
	files := []string{base, base + ".journal", base + ".journal.*", base + ".batches", base + ".accounts"}
	if out, err := git(append([]string{"status", "--porcelain", "--"}, files...)...); err == nil && out != "" {
		s.Uncommitted = true
		s.Rewound = rewound(ctx, dir, path+".journal", base+".journal")
	}
	if out, err := git(append([]string{"rev-list", "--count", "HEAD..@{upstream}", "--"}, files...)...); err == nil {
		s.Behind, _ = strconv.Atoi(out)
	}
	return s
}

// rewound compares the journal at path with the one committed at HEAD:
// only a journal that begins with every committed byte is one payctl
// could have written since.
func rewound(ctx context.Context, dir, path, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	committed, err := exec.CommandContext(ctx, "git", "-C", dir, "show", "HEAD:./"+base).Output()
	if err != nil {
		return false // not committed yet: nothing to compare with
	}
	// The committed file goes on in the work tree's, or, when a checkpoint
	// sealed it since, in a sealed segment.
	sealed, _ := filepath.Glob(path + ".[0-9][0-9][0-9][0-9][0-9][0-9]")
	for _, p := range append([]string{path}, sealed...) {
		if startsWith(p, committed) {
			return false
		}
	}
	return len(committed) > 0
}

// startsWith reports whether the file at path begins with prefix.
func startsWith(path string, prefix []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(prefix))
	n, _ := io.ReadFull(f, head)
	return n == len(prefix) && bytes.Equal(head, prefix)
}
