package watch

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func statDetails(fi fs.FileInfo) (ino, nlink uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return st.Ino, uint64(st.Nlink)
}

// renameNoReplace renames from to to, failing with fs.ErrExist when to
// exists, so that a name clash can never overwrite a file. Filesystems
// without RENAME_NOREPLACE get a hard link and an unlink, which fail the
// same way on a clash.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EEXIST):
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: fs.ErrExist}
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		if err := os.Link(from, to); err != nil {
			return err
		}
		return os.Remove(from)
	}
	return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
}
