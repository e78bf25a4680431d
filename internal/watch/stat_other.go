//go:build unix && !linux

package watch

import (
	"io/fs"
	"os"
	"syscall"
)

func statDetails(fi fs.FileInfo) (ino, nlink uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return uint64(st.Ino), uint64(st.Nlink)
}

// renameNoReplace renames from to to, failing with fs.ErrExist when to
// exists: a hard link (which fails on a clash) and an unlink, since only
// Linux has RENAME_NOREPLACE.
func renameNoReplace(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}
