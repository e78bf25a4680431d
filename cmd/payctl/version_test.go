package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	c := commitOf([]debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "8c2ef5e1a2b3c4d5e6f708192a3b4c5d6e7f8091"},
		{Key: "vcs.time", Value: "2026-12-05T08:41:47Z"},
		{Key: "vcs.modified", Value: "true"},
	})
	got := versionLine("v1.4.0", c)
	if !strings.HasPrefix(got, "payctl v1.4.0 (commit 8c2ef5e1a2b3-dirty, 2026-12-05T08:41:47Z) go") {
		t.Errorf("got %q", got)
	}
	if got := versionLine("(devel)", commitOf(nil)); !strings.HasPrefix(got, "payctl (devel) go") {
		t.Errorf("no vcs settings: got %q", got)
	}
}
