//go:build unix

package doc

import "syscall"

// openNonblock keeps an open from waiting on a pipe or device.
const openNonblock = syscall.O_NONBLOCK
