package main

import (
	"context"
	"fmt"
	"runtime"
)

// version is set at release builds with -ldflags "-X main.version=v1.2.3".
var version = ""

func runVersion(ctx context.Context, e *Env, args []string) error {
	fmt.Fprintf(e.Stdout, "payctl %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
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
