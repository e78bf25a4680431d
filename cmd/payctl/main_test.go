package main

import (
	"context"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes this test binary double as payctl: testscript puts a copy
// named "payctl" on PATH, for scripts and for tests that run payctl as a
// separate process (crash tests must kill a real process).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"payctl": func() {
			e, flush := osEnv()
			code := run(context.Background(), os.Args[1:], e)
			flush()
			os.Exit(code)
		},
	})
}
