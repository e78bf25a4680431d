package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at release builds with -ldflags "-X main.version=v1.2.3"
// (scripts/release, .goreleaser.yaml).
var version = ""

// commitStamp is the commit, set with -ldflags "-X main.commitStamp=..."
// by scripts/release: the toolchain's own stamp (below) is missing where
// it cannot read the repository, as in a git worktree or a source archive.
var commitStamp = ""

func runVersion(ctx context.Context, e *Env, args []string) error {
	f := newFlags(e, "version", "", `
Prints payctl's version, the commit it was built from (with "-dirty" when the
working tree had changes), the Go version and the platform.`)
	if err := f.parse(args); err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, versionLine(buildVersion(), buildCommit()))
	return nil
}

func versionLine(v string, c commit) string {
	s := "payctl " + v
	if c.rev != "" {
		s += " (commit " + c.rev
		if c.time != "" {
			s += ", " + c.time
		}
		s += ")"
	}
	return s + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

type commit struct{ rev, time string }

// buildCommit is the commit the Go toolchain stamped into the binary
// (go build in a git checkout does; go run and tests do not).
func buildCommit() commit {
	var c commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		c = commitOf(bi.Settings)
	}
	if c.rev == "" && commitStamp != "" {
		rev, dirty := strings.CutSuffix(commitStamp, "-dirty")
		c = commitOf([]debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: fmt.Sprint(dirty)}})
	}
	return c
}

func commitOf(settings []debug.BuildSetting) commit {
	var c commit
	dirty := false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			c.rev = s.Value
		case "vcs.time":
			c.time = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(c.rev) > 12 {
		c.rev = c.rev[:12]
	}
	if dirty && c.rev != "" {
		c.rev += "-dirty"
	}
	return c
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
