//go:build ignore

// checkstatic exits non-zero unless each ELF file it is given is static:
// no program interpreter (PT_INTERP) and no shared library it needs.
// Usage: go run scripts/checkstatic.go FILE...
package main

import (
	"debug/elf"
	"fmt"
	"os"
)

func main() {
	bad := false
	for _, path := range os.Args[1:] {
		f, err := elf.Open(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			bad = true
			continue
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				fmt.Fprintf(os.Stderr, "%s: has an ELF interpreter: not a static binary\n", path)
				bad = true
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			fmt.Fprintf(os.Stderr, "%s: needs shared libraries %v\n", path, libs)
			bad = true
		}
		f.Close()
		if !bad {
			fmt.Printf("%s: static\n", path)
		}
	}
	if bad {
		os.Exit(1)
	}
}
