// Command invitesync keeps an organization's user invitations in step with a roster.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes (design.md, "Command line"); scripts rely on them.
const (
	exitOK      = 0 // done, nothing left to change
	exitFailed  = 1 // apply had failed actions, or the upstream could not be read
	exitPending = 2 // plan: changes pending
	exitInvalid = 3 // invalid roster or flags
	exitRefused = 4 // a safety guard refused the plan
)

// exitError carries the exit code a failure maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageErrorf is a bad flag or argument: exit 3.
func usageErrorf(format string, args ...any) error {
	return withCode(exitInvalid, fmt.Errorf(format, args...))
}

// command is one subcommand. run returns the exit code; a non-nil error is
// printed to stderr and its exitError code (default 1) wins.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error)
}

var commands = []command{
	{"plan", "dry run: compute and report the plan, change nothing", runPlan},
	{"apply", "compute (or load with --plan) and execute the plan", runApply},
	{"validate", "parse and validate a roster only", runValidate},
	{"dump", "write the upstream's current invitations as a roster file", runDump},
	{"emulator", "serve the three upstream APIs on loopback (tests, demo)", runEmulator},
	{"version", "print version, commit and build date", runVersion},
}

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		// The first signal lets in-flight requests finish and the report be
		// written; restoring the default makes a second one end the process.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		fmt.Fprintln(os.Stderr, "invitesync: stopping after the requests in flight (signal again to quit now)")
		cancel()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitInvalid
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		code, err := c.run(ctx, args[1:], stdout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "invitesync %s: %v\n", c.name, err)
			var ee *exitError
			if errors.As(err, &ee) {
				return ee.code
			}
			if code == exitOK {
				return exitFailed
			}
		}
		return code
	}
	fmt.Fprintf(stderr, "invitesync: unknown command %q\n", args[0])
	usage(stderr)
	return exitInvalid
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: invitesync COMMAND [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'invitesync COMMAND -h' for a command's flags.")
}
