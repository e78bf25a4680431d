// Command payctl makes bank payouts declarative: payout batches are files,
// reviewed like code; `payctl plan` shows what they will pay and cost, and
// `payctl apply` pays them exactly once.
//
// This package only parses flags, calls payctl's packages and maps errors
// to exit codes; the output contract is:
//
//   - results on stdout; with -json, stdout is pure JSON;
//   - diagnostics on stderr as "payctl: error: ..." with optional
//     "payctl: hint: ..." lines;
//   - exit 0 on success, 1 on error, 2 for "changes present" with
//     -detailed-exitcode.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/payctl/payctl/internal/diag"
	"github.com/payctl/payctl/internal/safetext"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go onSignals(sigs, graceful(os.Args[1:]), cancel, os.Stderr, os.Exit)
	if path := os.Getenv("PAYCTL_CPUPROFILE"); path != "" {
		// For profiling payctl itself (the benchmark harness uses it).
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
		}
	}
	e, flush := osEnv()
	code := run(ctx, os.Args[1:], e)
	flush()
	pprof.StopCPUProfile() // writes the profile, if one was started
	os.Exit(code)
}

// osEnv is the Env of the process. Standard output and error go through
// safetext.Writer, the backstop that escapes any control, bidirectional
// or invisible character that reached them unescaped (line ends and tabs pass);
// flush writes what it holds of an incomplete character.
func osEnv() (e *Env, flush func()) {
	stdout, stderr := safetext.NewWriter(os.Stdout), safetext.NewWriter(os.Stderr)
	return &Env{
			Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, RawStderr: os.Stderr, RawStdout: os.Stdout,
			Getenv: os.Getenv, IsTerminal: isTerminal,
		}, func() {
			stdout.Flush()
			stderr.Flush()
		}
}

// onSignals handles SIGINT and SIGTERM. A command that cannot move money
// quits at the first one. One that can (graceful) is cancelled instead: it
// finishes and records what is in flight, and quits at once at the second.
func onSignals(sigs <-chan os.Signal, graceful bool, cancel func(), stderr io.Writer, exit func(int)) {
	sig := <-sigs
	if !graceful {
		fmt.Fprintf(stderr, "payctl: stopped by %s\n", signalName(sig))
		exit(130)
		return
	}
	fmt.Fprintln(stderr, "payctl: interrupted: finishing what is in flight and recording it; interrupt again to quit at once (the next apply looks up anything left unrecorded)")
	cancel()
	<-sigs
	exit(130)
}

func signalName(sig os.Signal) string {
	if sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "an interrupt"
}

// readOnly are the commands (and state subcommands) that cannot move money
// or change the state: they quit at the first signal. Anything else,
// including a command this list does not know, stops gracefully.
var readOnly = map[string]bool{
	"validate": true, "plan": true, "show": true, "completion": true, "approve": true, "history": true, "doctor": true,
	"version": true, "-version": true, "--version": true,
	"help": true, "-h": true, "-help": true, "--help": true,
	"state list": true, "state show": true, "state diff": true,
	"state verify": true, "state export": true, "state help": true, "state -h": true,
}

// graceful reports whether the command of args must finish what is in
// flight when interrupted: apply, refresh, watch, serve, sandbox (its
// ledgers) and the state subcommands that write (resolve, unlock, push,
// pull, migrate-schema).
func graceful(args []string) bool {
	if len(args) == 0 {
		return false
	}
	name := args[0]
	if name == "reconcile" {
		// Reads only, unless -record records what the providers report.
		for _, a := range args[1:] {
			if strings.HasPrefix(strings.TrimLeft(a, "-"), "record") && strings.HasPrefix(a, "-") {
				return true
			}
		}
		return false
	}
	if name == "state" {
		if len(args) == 1 {
			return false // prints the usage
		}
		name += " " + args[1]
	}
	return !readOnly[name]
}

// Env is what a command may touch of the outside world; tests replace it.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// RawStderr, when set, is Stderr without the escaping backstop, for
	// the only terminal controls payctl writes itself: apply's progress
	// line, redrawn in place.
	RawStderr io.Writer
	// RawStdout, when set, is Stdout without the backstop, for bytes that
	// are not text: an xlsx workbook, a CSV file's byte order mark.
	RawStdout  io.Writer
	Getenv     func(string) string
	IsTerminal func(f any) bool
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *Env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"init", "create the state and print the lineage that pins it in payctl.yaml", runInit},
		{"validate", "check manifests against the schema, provider rules and policy", runValidate},
		{"template", "write an empty CSV, XLSX or YAML batch for a provider, to fill in", runTemplate},
		{"plan", "show what apply would pay, with fees and totals; save it with -out", runPlan},
		{"show", "print a saved plan as plan prints it, after the checks apply makes", runShow},
		{"approve", "sign a saved plan with your SSH key: an approval apply counts", runApprove},
		{"apply", "pay a saved plan, or plan and pay manifests after confirmation", runApply},
		{"refresh", "ask providers for the status of payouts not yet final", runRefresh},
		{"reconcile", "compare the state with the providers' own records; report what differs", runReconcile},
		{"state", "list, show, resolve, unlock, verify, diff and export the state", runState},
		{"serve", "receive provider callbacks; serve health checks and metrics", runServe},
		{"watch", "pay the manifests dropped into a folder, within the auto-apply policy", runWatch},
		{"history", "the journal as a timeline: who did what when, and what providers answered", runHistory},
		{"sandbox", "run the providers' emulators, for rehearsing with no credentials", runSandbox},
		{"doctor", "check a deployment: credentials, state directory, fsync, providers", runDoctor},
		{"completion", "print a shell completion script: bash, zsh or fish", runCompletion},
		{"version", "print payctl's version and commit", runVersion},
		{"help", "show help for a command", runHelp},
	}
}

func run(ctx context.Context, args []string, e *Env) int {
	if len(args) == 0 {
		usage(e.Stderr)
		return 1
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		usage(e.Stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name == name {
			return report(e, c.run(ctx, e, rest))
		}
	}
	fmt.Fprintf(e.Stderr, "payctl: error: unknown command %q\n", safetext.Escape(name))
	if s := suggestion(name, commandNames(commands)); s != "" {
		fmt.Fprintf(e.Stderr, "payctl: hint: did you mean `payctl %s`? `payctl help` lists every command\n", s)
	} else {
		fmt.Fprintln(e.Stderr, "payctl: hint: run `payctl help` for the list of commands")
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: payctl COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "payctl pays the payouts described in manifests exactly once, recording every")
	fmt.Fprintln(w, "provider answer in a state journal.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "State subcommands (payctl state SUBCOMMAND):")
	for _, c := range stateCommands {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `payctl help COMMAND` or `payctl COMMAND -h` for a command's flags.")
}

// exitCode is an outcome that is not an error but needs an exit code
// (-detailed-exitcode's "changes present").
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit %d", int(c)) }

func withHint(err error, format string, args ...any) error {
	return diag.WithHint(err, format, args...)
}

// reported marks an error whose details were already printed.
type reported struct{ summary string }

func (r *reported) Error() string { return r.summary }

func report(e *Env, err error) int {
	if err == nil {
		return 0
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	printError(e.Stderr, err)
	return 1
}

func printError(w io.Writer, err error) {
	// Only errors joined at the top are split into lines; one wrapping a
	// joined error keeps its own message.
	if list, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range list.Unwrap() {
			printError(w, e)
		}
		return
	}
	if errs := diagErrors(err); errs != nil {
		for _, d := range errs {
			fmt.Fprintf(w, "payctl: error: %s\n", d)
		}
	} else {
		fmt.Fprintf(w, "payctl: error: %s\n", safetext.Escape(err.Error()))
	}
	if hint, ok := diag.HintOf(err); ok {
		fmt.Fprintf(w, "payctl: hint: %s\n", safetext.Escape(hint))
	}
}
