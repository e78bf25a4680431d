package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at release builds with -ldflags "-X main.version=v1.2.3".
var version = ""

func runVersion(ctx context.Context, e *Env, args []string) error {
	v := version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	fmt.Fprintf(e.Stdout, "payctl %s %s %s/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func runHelp(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		usage(e.Stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] && c.name != "help" {
			return c.run(ctx, &Env{Stdin: e.Stdin, Stdout: e.Stdout, Stderr: e.Stdout, Getenv: e.Getenv}, append(args[1:], "-h"))
		}
	}
	return withHint(fmt.Errorf("no command %q", args[0]), "run `payctl help` for the list of commands")
}
