package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/invitesync/invitesync/preflight"
	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// checkFlags are check's own flags besides the provider's.
type checkFlags struct {
	pf                                 *providerFlags
	roster, rosterFormat, sheet, delim string
	columns                            string
	allowExtra                         bool
	record                             string
	keepEmails                         bool
	logFormat, logLevel, config        string
}

func newCheckCmd(c *cli) *cobra.Command {
	cf := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check --provider NAME [provider flags]",
		Short: "read-only preflight against a real org: credentials, org, listing, roster columns",
		Long: "check runs a read-only preflight against the org, one line per check (ok, FAIL, warn):\n" +
			"credentials and principal, the org's identity, permission where the API tells it, a listing\n" +
			"with every page, the sanity of statuses and timestamps, what each roster column will do with\n" +
			"this provider (--roster), and the rate-limit headers seen. Exit 0 when nothing failed, 1 otherwise.\n" +
			"With --record FILE it writes what it listed as an emulator seed (emails hashed unless\n" +
			"--keep-emails; no credential, no header): attach it to a bug report, or replay it with\n" +
			"'invitesync emulator --seed FILE'.",
		GroupID: cmdGroupInspect,
		Example: "  invitesync check --provider confluent\n" +
			"  invitesync check --provider csp --org-id ORG --roster team.csv --record sample.yaml",
		Annotations: map[string]string{"credentials": "yes"},
		Args:        noArgs,
		RunE: c.action(func(ctx context.Context, cmd *cobra.Command, _ []string) (int, error) {
			if cf.config != "" {
				if err := applyConfig(cmd.Flags(), cf.config); err != nil {
					return exitInvalid, err
				}
			}
			return runCheck(ctx, cf, c.stdout, c.stderr)
		}),
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	cf.pf = addProviderFlags(fs)
	fs.StringVar(&cf.roster, "roster", "", "roster to judge against this provider (what each column will do)")
	fs.StringVar(&cf.rosterFormat, "roster-format", "", "roster format overriding the extension: csv, xlsx or yaml")
	fs.StringVar(&cf.sheet, "sheet", "", "XLSX sheet to read (default: the first)")
	fs.StringVar(&cf.delim, "delimiter", "", "CSV delimiter, ',' or ';' (default: detected)")
	fs.StringVar(&cf.columns, "columns", "", "roster headers by column, e.g. 'email=Email Address'")
	fs.BoolVar(&cf.allowExtra, "allow-extra-columns", false, "ignore roster columns invitesync does not know")
	for _, n := range []string{"roster", "roster-format", "sheet", "delimiter", "columns", "allow-extra-columns"} {
		annotate(fs, n, annGroup, groupRoster)
	}
	fs.StringVar(&cf.record, "record", "", "write what was listed as an emulator seed (.yaml), redacted")
	fs.BoolVar(&cf.keepEmails, "keep-emails", false, "with --record: keep real email addresses (default: hashed)")
	fs.StringVar(&cf.logFormat, "log-format", "", "console or json (default: console on a terminal, json otherwise)")
	fs.StringVar(&cf.logLevel, "log-level", "warn", "debug, info, warn or error")
	for _, n := range []string{"record", "keep-emails", "log-format", "log-level"} {
		annotate(fs, n, annGroup, groupOutput)
	}
	fs.StringVar(&cf.config, "config", "", "YAML file of flags (flag name: value); the command line wins")
	annotate(fs, "config", annGroup, groupConfig)
	registerCompletions(cmd)
	return cmd
}

func runCheck(ctx context.Context, cf *checkFlags, stdout, stderr io.Writer) (int, error) {
	if cf.keepEmails && cf.record == "" {
		return exitInvalid, usageErrorf("--keep-emails is for --record")
	}
	if ext := strings.ToLower(filepath.Ext(cf.record)); cf.record != "" && ext != ".yaml" && ext != ".yml" {
		return exitInvalid, usageErrorf("--record %s: want a .yaml file (the emulator's seed format)", cf.record)
	}
	if cf.record != "" && !preflight.CanRecord(cf.pf.name) {
		return exitInvalid, usageErrorf("--record: the emulator has no seed format for --provider %s", cf.pf.name)
	}
	opts := sources.ReadOptions{Format: cf.rosterFormat, Sheet: cf.sheet, AllowExtraColumns: cf.allowExtra, AllowEmpty: true}
	if cf.delim != "" {
		r, size := utf8.DecodeRuneInString(cf.delim)
		if size != len(cf.delim) {
			return exitInvalid, usageErrorf("--delimiter %q: want one character such as ',' or ';'", cf.delim)
		}
		opts.Delimiter = r
	}
	if err := setColumns(&opts, cf.columns); err != nil {
		return exitInvalid, err
	}
	log, err := newLogger(stderr, cf.logFormat, cf.logLevel)
	if err != nil {
		return exitInvalid, err
	}
	rec := &preflight.Recorder{}
	cf.pf.onResponse = rec.OnResponse
	p, err := cf.pf.build(log, nil)
	if err != nil {
		var ce *providers.CredentialError
		if errors.As(err, &ce) {
			// Missing credentials are what check is for: a failed check, not a usage error.
			fmt.Fprintln(stdout, preflight.Result{Name: "credentials", Status: preflight.Fail, Detail: ce.Error()}.String())
			return exitFailed, errors.New("1 check failed")
		}
		return exitInvalid, err
	}
	pre := preflight.Options{
		RosterFile: cf.roster,
		Explain:    func(err error) error { return explainUpstreamError(p.Name(), err) },
	}
	if cf.roster != "" {
		pre.Roster, pre.RosterErr = sources.ReadFile(cf.roster, opts)
		var ps sources.Problems
		if errors.As(pre.RosterErr, &ps) && len(ps) > 0 {
			pre.RosterErr = fmt.Errorf("%d %s, first: %s (run validate for all)", ps.Count(), plural(ps.Count(), "problem", "problems"), ps[0].String())
		}
	}
	rep := preflight.Run(ctx, p, rec, pre)
	failed := 0
	for _, r := range rep.Checks {
		fmt.Fprintln(stdout, r.String())
		if r.Status == preflight.Fail {
			failed++
		}
	}
	if cf.record != "" {
		if rep.Invitations == nil {
			fmt.Fprintln(stdout, preflight.Result{Name: "record", Status: preflight.Fail, Detail: "nothing recorded: the listing failed"}.String())
			failed++
		} else if err := preflight.WriteRecord(cf.record, rep, preflight.RecordOptions{KeepEmails: cf.keepEmails}); err != nil {
			return exitFailed, err
		} else {
			fmt.Fprintln(stdout, preflight.Result{Name: "record", Status: preflight.OK,
				Detail: fmt.Sprintf("%s: %d invitations as an emulator seed (invitesync emulator --seed %s)", cf.record, len(rep.Invitations), cf.record)}.String())
		}
	}
	if failed > 0 {
		return exitFailed, fmt.Errorf("%d %s failed", failed, plural(failed, "check", "checks"))
	}
	return exitOK, nil
}
