package localstate

import (
	"os"
	"syscall"
)

// fdatasync makes f's data durable without waiting for its metadata (the
// journal's size is all it changes, and fdatasync covers that).
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
