//go:build !linux

package localstate

import "os"

// fdatasync is File.Sync where there is no fdatasync: on macOS it is
// fcntl(F_FULLFSYNC), the only call that reaches the disk there.
func fdatasync(f *os.File) error { return f.Sync() }
