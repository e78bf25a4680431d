package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrGit marks a file that git could not give at a revision.
var ErrGit = errors.New("git could not show the file")

// GitRevision returns the content of the file at path as of git revision
// rev (`git show REV:./NAME`, run in the file's directory, so path needs
// no repository-relative form).
func GitRevision(ctx context.Context, path, rev string) ([]byte, error) {
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, ":\n") {
		return nil, fmt.Errorf("%q is not a git revision (a commit, branch or tag such as HEAD~1 or v1.2)", rev)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", "-C", filepath.Dir(abs), "show", rev+":./"+filepath.Base(abs))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("reading %s at %s needs git: %w", path, rev, err)
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		msg = strings.TrimPrefix(msg, "fatal: ")
		return nil, fmt.Errorf("%s at %s: %w: %s", path, rev, ErrGit, msg)
	}
	return stdout.Bytes(), nil
}
