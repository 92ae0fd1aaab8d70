// Command invitesync keeps an organization's user invitations in step with a roster.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	// The providers register themselves (providers.Register): a new one is
	// one folder and one line here.
	_ "github.com/invitesync/invitesync/providers/azure"
	_ "github.com/invitesync/invitesync/providers/confluent"
	_ "github.com/invitesync/invitesync/providers/csp"
)

// Exit codes; scripts rely on them.
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

// defaultMemoryLimit is the soft memory limit when GOMEMLIMIT is not set:
// the garbage collector works harder near it instead of letting garbage
// double the heap (a 1M x 1M plan peaked at 1.86 GB without it, 1.1 GB
// with it, in the same time). It is soft: a bigger live heap still runs.
const defaultMemoryLimit = 1 << 30

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
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

// run executes one command line and returns the exit code. Errors are
// printed to stderr once, prefixed with the command ("invitesync plan: ...").
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr, code: -1}
	root := newRoot(c)
	root.SetArgs(normalizeArgs(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		if c.code < 0 {
			return exitOK // help, completion
		}
		return c.code
	}
	name := "invitesync"
	if cmd != nil && cmd != root {
		name = cmd.CommandPath()
	}
	if word, ok := unknownCommand(args, err); ok {
		// cobra's own text spans lines; one line and a hint read better.
		err = fmt.Errorf("unknown command %q", word)
		if s := root.SuggestionsFor(word); len(s) > 0 {
			err = fmt.Errorf("%w (did you mean %s?)", err, strings.Join(s, " or "))
		}
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case c.code < 0:
		// cobra refused the command line itself (unknown command, stray
		// argument) before any command ran.
		if cmd == nil || cmd == root {
			fmt.Fprintln(stderr, "Run 'invitesync -h' for the commands.")
		}
		return exitInvalid
	case c.code == exitOK:
		return exitFailed
	}
	return c.code
}

// unknownCommand returns the word cobra did not know as a command.
func unknownCommand(args []string, err error) (string, bool) {
	if !strings.HasPrefix(err.Error(), "unknown command ") {
		return "", false
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a, true
		}
	}
	return "", false
}
