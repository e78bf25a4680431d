package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestLogsEscapeOutsideText: log lines carry file names, provider answers
// and errors; none of them may put a raw control or bidirectional
// character on the terminal, in text or JSON logs.
func TestLogsEscapeOutsideText(t *testing.T) {
	hostile := "\x1b[2J\rpaid\u202eyap\nnext"
	for _, format := range []string{"text", "json"} {
		var b bytes.Buffer
		e := &Env{Stderr: &b, Getenv: func(string) string { return "" }}
		l, err := serviceLogger(e, format)
		if err != nil {
			t.Fatal(err)
		}
		l.Info("provider said "+hostile, "reason", hostile, "err", errors.New(hostile), slog.Group("g", "file", hostile))
		out := b.String()
		if strings.ContainsAny(out, "\x1b\r\u202e") || strings.Count(out, "\n") != 1 {
			t.Errorf("%s log holds raw characters: %q", format, out)
		}
		if !strings.Contains(out, `\u202E`) {
			t.Errorf("%s log: %q", format, out)
		}
	}
}
