//go:build !unix

package doc

const openNonblock = 0
