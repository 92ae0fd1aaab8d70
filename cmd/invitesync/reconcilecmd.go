package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/report"
)

// newReconcileCmd is plan or apply. cobra parses the flags for help,
// completion and typo hints; the run itself (runReconcile) parses them again
// with the --config file, so fleet targets take the very same path.
func newReconcileCmd(c *cli, mode string) *cobra.Command {
	rf := newRunFlags(mode, c.stderr)
	cmd := &cobra.Command{
		Use:         mode + " --roster FILE --provider NAME",
		GroupID:     cmdGroupRun,
		Annotations: map[string]string{"credentials": "yes", "exitcodes": "yes"},
		RunE: c.action(func(ctx context.Context, cmd *cobra.Command, args []string) (int, error) {
			code, err := runReconcile(ctx, mode, reparseArgs(cmd.Flags(), args), c.stdout, c.stderr)
			return code, explainUpstreamError(rf.pf.name, err)
		}),
	}
	if mode == "plan" {
		cmd.Short = "dry run: compute and report the plan, change nothing"
		cmd.Long = "plan reads the roster and the upstream's invitations and reports what apply would do:\n" +
			"create, reinvite, revoke or leave each one. It changes nothing (exit 2 when changes are pending)."
		cmd.Example = "  invitesync plan --roster team.csv --provider confluent --ledger ledger.jsonl --out plan.json\n" +
			"  invitesync plan --roster hr.xlsx --columns 'email=Email Address' --provider csp --org-id ORG\n" +
			"  invitesync plan --config invitesync.yaml --print-config"
	} else {
		cmd.Use = "apply (--roster FILE --provider NAME | --plan plan.json)"
		cmd.Short = "compute (or load with --plan) and execute the plan"
		cmd.Long = "apply computes the plan (or loads a reviewed one with --plan) and executes it. From a\n" +
			"terminal it shows the plan and asks first; anywhere else it needs --yes."
		cmd.Example = "  invitesync apply --plan plan.json --ledger ledger.jsonl --yes\n" +
			"  invitesync apply --roster team.csv --provider azure --subscription-id S --resource-group RG \\\n" +
			"      --organization ORG --ledger ledger.jsonl --yes --log-format json --no-progress"
	}
	cmd.Flags().SortFlags = false
	cmd.Flags().AddFlagSet(rf.fs)
	registerCompletions(cmd)
	_ = cmd.RegisterFlagCompletionFunc("format", completeWords(report.Formats...))
	return cmd
}

// renderFlagsHelp is -h for a flag set parsed outside cobra.
func renderFlagsHelp(fs *pflag.FlagSet, name string, w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n  %s [flags]\n", name)
	writeFlagGroups(&b, fs)
	_, err := io.WriteString(w, b.String())
	return err
}

// unknownFlagHint names the flag closest to an unknown one in err.
func unknownFlagHint(fs *pflag.FlagSet, err error) string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return ""
	}
	if s := closest(name, names); s != "" {
		return fmt.Sprintf(" (did you mean --%s?)", s)
	}
	return ""
}
