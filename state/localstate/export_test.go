package localstate

import (
	"os"

	"github.com/payctl/payctl/internal/atomicfile"
	"github.com/payctl/payctl/state"
)

// SetCreateTemp makes b's snapshot writes create their temporary files
// with create, so tests can inject faults.
func SetCreateTemp(b *Backend, create func(name string, perm os.FileMode) (atomicfile.File, error)) {
	b.createTemp = create
}

// LockHolder reads who holds b's lock, if anyone.
func LockHolder(b *Backend) (state.LockInfo, bool) { return b.lockHolder() }
