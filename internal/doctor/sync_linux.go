package doctor

import (
	"os"
	"syscall"
)

// dataSync is the sync the local state's journal makes for each record.
func dataSync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
