//go:build !linux

package doctor

import "os"

// dataSync is the sync the local state's journal makes for each record
// (File.Sync: fcntl(F_FULLFSYNC) on macOS).
func dataSync(f *os.File) error { return f.Sync() }
