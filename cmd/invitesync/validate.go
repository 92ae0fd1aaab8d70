package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/invitesync/invitesync/sources"
)

// runValidate parses and validates a roster, and touches nothing upstream.
// Exit 0 with "FILE: OK, N members"; exit 3 with every problem on stdout.
func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	flags := flag.NewFlagSet("validate", flag.ContinueOnError)
	flags.SetOutput(io.Discard) // the parse error is returned (and printed once by run)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: invitesync validate --roster FILE [--format csv|xlsx|yaml] [--delimiter ,|;] [--sheet NAME]\n"+
			"                           [--allow-extra-columns] [--allow-empty] [--output text|json]\n\nflags:")
		flags.SetOutput(stderr)
		flags.PrintDefaults()
		flags.SetOutput(io.Discard)
	}
	var (
		roster, format, delimiter, output string
		opts                              sources.ReadOptions
	)
	flags.StringVar(&roster, "roster", "", "roster file to validate (.csv, .xlsx, .yaml)")
	flags.StringVar(&format, "format", "", "roster format, overriding the extension: csv, xlsx or yaml")
	flags.StringVar(&format, "roster-format", "", "same as --format")
	flags.StringVar(&delimiter, "delimiter", "", "CSV delimiter, ',' or ';' (default: detected from the header line)")
	flags.StringVar(&opts.Sheet, "sheet", "", "XLSX sheet to read (default: the first)")
	flags.BoolVar(&opts.AllowExtraColumns, "allow-extra-columns", false, "ignore columns invitesync does not know instead of refusing them")
	flags.BoolVar(&opts.AllowEmpty, "allow-empty", false, "accept a roster with no members (under --policy sync it revokes everything)")
	flags.StringVar(&output, "output", "text", "how to print problems: text (one per line) or json (an array)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, nil
		}
		return exitInvalid, withCode(exitInvalid, err) // flag has printed the usage
	}
	if flags.NArg() > 0 {
		flags.Usage()
		return exitInvalid, usageErrorf("unexpected argument %q", flags.Arg(0))
	}
	if roster == "" {
		flags.Usage()
		return exitInvalid, usageErrorf("--roster is required")
	}
	if output != "text" && output != "json" {
		return exitInvalid, usageErrorf("--output must be text or json, not %q", output)
	}
	opts.Format = format
	if delimiter != "" {
		r, size := utf8.DecodeRuneInString(delimiter)
		if size != len(delimiter) || (r != ',' && r != ';') {
			return exitInvalid, usageErrorf("--delimiter must be ',' or ';', not %q", delimiter)
		}
		opts.Delimiter = r
	}

	members, err := sources.ReadFile(roster, opts)
	var problems sources.Problems
	switch {
	case errors.As(err, &problems):
		if err := printProblems(stdout, output, problems); err != nil {
			return exitFailed, fmt.Errorf("print problems: %w", err)
		}
		n := problems.Count()
		noun := "problems"
		if n == 1 {
			noun = "problem"
		}
		return exitInvalid, withCode(exitInvalid, fmt.Errorf("%d %s in roster %s", n, noun, roster))
	case err != nil:
		// A roster that cannot be read (missing, a directory, unreadable) is
		// a wrong --roster: exit 3, as for plan and apply.
		return exitInvalid, withCode(exitInvalid, err)
	}
	if output == "json" {
		// stdout stays machine-readable: an empty array of problems.
		fmt.Fprintln(stdout, "[]")
		fmt.Fprintf(stderr, "%s: OK, %d members\n", roster, len(members))
		return exitOK, nil
	}
	fmt.Fprintf(stdout, "%s: OK, %d members\n", roster, len(members))
	return exitOK, nil
}

func printProblems(w io.Writer, output string, problems sources.Problems) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode([]sources.Problem(problems))
	}
	for _, p := range problems {
		if _, err := fmt.Fprintln(w, p.String()); err != nil {
			return err
		}
	}
	return nil
}
