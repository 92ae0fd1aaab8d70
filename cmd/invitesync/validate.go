package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/reconcile"
	"github.com/invitesync/invitesync/sources"
)

// newValidateCmd parses and validates a roster, and touches nothing
// upstream. Exit 0 with "FILE: OK, N members"; exit 3 with every problem on
// stdout.
func newValidateCmd(c *cli) *cobra.Command {
	var (
		roster, format, delimiter, output, columns string
		opts                                       sources.ReadOptions
		pf                                         *providerFlags
	)
	cmd := &cobra.Command{
		Use:     "validate --roster FILE",
		Short:   "parse and validate a roster only",
		Long:    "validate reads a roster and lists every problem (FILE:ROW:COLUMN: message) without any upstream call.",
		GroupID: cmdGroupInspect,
		Example: "  invitesync validate --roster team.csv\n" +
			"  invitesync validate --roster hr.xlsx --sheet People --columns 'email=Email Address' --output json",
		Annotations: map[string]string{"exitcodes": "yes"},
		Args:        noArgs,
		RunE: c.action(func(_ context.Context, _ *cobra.Command, _ []string) (int, error) {
			if roster == "" {
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
			if err := setColumns(&opts, columns); err != nil {
				return exitInvalid, err
			}
			var p providers.Provider
			if pf.name != "" {
				// Built only to ask what it can do: no request is made.
				var err error
				if p, err = pf.build(zerolog.Nop(), nil); err != nil {
					return exitInvalid, withCode(exitInvalid, err)
				}
			}
			return validateRoster(roster, output, opts, p, c.stdout, c.stderr)
		}),
	}
	flags := cmd.Flags()
	flags.SortFlags = false
	flags.StringVar(&roster, "roster", "", "roster file to validate (.csv, .xlsx, .yaml)")
	flags.StringVar(&format, "roster-format", "", "roster format, overriding the extension: csv, xlsx or yaml")
	// --format meant the roster format here and the report formats in plan:
	// one meaning per name, so the old spelling is a hidden alias.
	flags.StringVar(&format, "format", "", "roster format (deprecated: use --roster-format)")
	_ = flags.MarkDeprecated("format", "use --roster-format (in plan and apply --format chooses the report formats)")
	flags.StringVar(&delimiter, "delimiter", "", "CSV delimiter, ',' or ';' (default: detected from the header line)")
	flags.StringVar(&opts.Sheet, "sheet", "", "XLSX sheet to read (default: the first)")
	flags.StringVar(&columns, "columns", "", "roster headers by column, e.g. 'email=Email Address,auth_type=Auth Type'")
	flags.BoolVar(&opts.AllowExtraColumns, "allow-extra-columns", false, "ignore columns invitesync does not know instead of refusing them")
	flags.BoolVar(&opts.AllowEmpty, "allow-empty", false, "accept a roster with no members (under --policy sync it revokes everything)")
	for _, n := range []string{"roster", "roster-format", "delimiter", "sheet", "columns", "allow-extra-columns", "allow-empty"} {
		annotate(flags, n, annGroup, groupRoster)
	}
	pf = addProviderFlags(flags)
	flags.Lookup("provider").Usage = "also check the roster against this provider's limits and role names (no upstream call): " + strings.Join(providers.Names(), ", ")
	flags.StringVar(&output, "output", "text", "how to print problems: text (one per line) or json (an array)")
	annotate(flags, "output", annGroup, groupOutput)
	registerCompletions(cmd)
	return cmd
}

// validateRoster reads the roster and prints the verdict.
func validateRoster(roster, output string, opts sources.ReadOptions, p providers.Provider, stdout, stderr io.Writer) (int, error) {
	members, err := sources.ReadFile(roster, opts)
	var problems sources.Problems
	if err == nil && p != nil {
		if ps := reconcile.CheckMembers(members, p); len(ps) > 0 {
			err = ps
		}
	}
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
