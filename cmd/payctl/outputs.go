package main

import (
	"fmt"

	"github.com/payctl/payctl/internal/reserved"
)

// checkOutput refuses to write a command's output (a saved plan, a pulled
// state, an emulator's ledger) at path when path names a file in own:
// payctl.yaml, one of the state's files, or an input of the command. Every
// command that writes a file named by the user asks it first. label is
// how the user named the file ("-out plan.json").
func checkOutput(label, path string, own *reserved.Set) error {
	if f, ok := own.Lookup(path); ok {
		return fmt.Errorf("%s is %s: choose another file", label, f.What)
	}
	return nil
}
