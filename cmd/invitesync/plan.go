package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/reconcile"
	"github.com/invitesync/invitesync/report"
	"github.com/invitesync/invitesync/sources"
)

// Seams for tests: whether stdin is a terminal (apply asks for confirmation
// there) and where the answer is read from.
var (
	stdinIsTerminal           = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
	stdin           io.Reader = os.Stdin
)

// maxListedChanges bounds the changes printed to stdout; the report has all.
const maxListedChanges = 200

// runFlags are the flags of plan and apply.
type runFlags struct {
	mode   string // "plan" | "apply"
	fs     *pflag.FlagSet
	pf     *providerFlags
	stderr io.Writer

	columns string // --columns: header mapping for sources.ParseColumns
	acc     accessFlags
	tel     telemetryFlags

	roster, rosterFormat, sheet, delimiter string
	allowExtraColumns, allowEmpty          bool

	reportDir, formats string
	concurrency        int
	policy, maxRevoke  string
	revokeUnmanaged    bool
	refreshBefore      string
	ledger             string
	logFormat          string
	logLevel           string
	noProgress         bool
	config             string
	printConfig        bool

	out      string // plan: save the plan here
	planFile string // apply: execute this saved plan
	yes      bool   // apply: do not ask

	// Parsed.
	readOpts   sources.ReadOptions
	reportFmts []string
	refresh    time.Duration
}

func newRunFlags(mode string, stderr io.Writer) *runFlags {
	rf := &runFlags{mode: mode, fs: pflag.NewFlagSet(mode, pflag.ContinueOnError), stderr: stderr}
	fs := rf.fs
	fs.SetOutput(io.Discard) // run prints the returned error once
	fs.SortFlags = false
	group := func(g string, names ...string) {
		for _, n := range names {
			annotate(fs, n, annGroup, g)
		}
	}
	fs.StringVar(&rf.roster, "roster", "", "desired roster (.csv, .xlsx, .yaml)")
	fs.StringVar(&rf.rosterFormat, "roster-format", "", "roster format overriding the extension: csv, xlsx or yaml")
	fs.StringVar(&rf.sheet, "sheet", "", "XLSX sheet to read (default: the first)")
	fs.StringVar(&rf.delimiter, "delimiter", "", "CSV delimiter, ',' or ';' (default: detected)")
	fs.StringVar(&rf.columns, "columns", "", "roster headers by column, e.g. 'email=Email Address,auth_type=Auth Type' (an HR export as it is)")
	fs.BoolVar(&rf.allowExtraColumns, "allow-extra-columns", false, "ignore roster columns invitesync does not know")
	fs.BoolVar(&rf.allowEmpty, "allow-empty", false, "accept an empty roster (under --policy sync it revokes everything ours, within --max-revoke)")
	group(groupRoster, "roster", "roster-format", "sheet", "delimiter", "columns", "allow-extra-columns", "allow-empty")
	rf.pf = addProviderFlags(fs)
	fs.StringVar(&rf.policy, "policy", string(reconcile.PolicySync), "sync (create, reinvite, revoke) or create-only (never revokes)")
	fs.StringVar(&rf.maxRevoke, "max-revoke", reconcile.DefaultMaxRevoke, "refuse a plan revoking more than N or N% of the pending invitations (at least 1)")
	fs.BoolVar(&rf.revokeUnmanaged, "revoke-unmanaged", false, "also revoke pending invitations this tool did not create")
	fs.StringVar(&rf.refreshBefore, "refresh-before", "0", "reinvite pending invitations expiring within this (Go duration or Nd days; 0 = off)")
	fs.StringVar(&rf.ledger, "ledger", "", "JSON-lines file of the invitations this tool created (ownership where the upstream has no creator)")
	fs.IntVar(&rf.concurrency, "concurrency", reconcile.DefaultConcurrency, "requests in flight at once (0 = adapt to the rate limit and the observed latency; N pins it)")
	group(groupRun, "policy", "max-revoke", "revoke-unmanaged", "refresh-before", "ledger", "concurrency")
	rf.addAccessFlags()
	rf.addTelemetryFlags()
	if mode == "plan" {
		fs.StringVar(&rf.out, "out", "", "save the plan to this file for a later 'apply --plan'")
		group(groupRun, "out")
	} else {
		fs.StringVar(&rf.planFile, "plan", "", "execute this saved plan (from 'plan --out') instead of computing one")
		fs.BoolVar(&rf.yes, "yes", false, "apply without asking (required when not run from a terminal)")
		group(groupRun, "plan", "yes")
	}
	fs.StringVar(&rf.reportDir, "report", "./invitesync-report", "directory for the reports (and audit.jsonl on apply)")
	fs.StringVar(&rf.formats, "format", strings.Join(report.Formats, ","), "report formats: "+strings.Join(report.Formats, ","))
	fs.StringVar(&rf.logFormat, "log-format", "", "console or json (default: console on a terminal, json otherwise)")
	fs.StringVar(&rf.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&rf.noProgress, "no-progress", false, "no progress bar")
	group(groupOutput, "report", "format", "log-format", "log-level", "no-progress")
	fs.StringVar(&rf.config, "config", "", "YAML file of flags (flag name: value); the command line wins")
	fs.BoolVar(&rf.printConfig, "print-config", false, "print the merged configuration (secrets redacted) and exit")
	group(groupConfig, "config", "print-config")
	return rf
}

// parse reads the command line and the --config file and checks the flags.
// done is true when the command has nothing more to do (-h, --print-config)
// or failed (err set).
func (rf *runFlags) parse(args []string, stdout io.Writer) (done bool, err error) {
	if err := rf.fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return true, renderFlagsHelp(rf.fs, "invitesync "+rf.mode, stdout)
		}
		return true, withCode(exitInvalid, fmt.Errorf("%w%s", err, unknownFlagHint(rf.fs, err)))
	}
	if rf.fs.NArg() > 0 {
		return true, usageErrorf("unexpected argument %q", rf.fs.Arg(0))
	}
	if rf.config != "" {
		if err := applyConfig(rf.fs, rf.config); err != nil {
			return true, err
		}
	}
	if rf.printConfig {
		return true, printConfig(stdout, rf.fs)
	}
	if g, ok := stdout.(interface{ Getenv(string) string }); ok {
		rf.pf.getenv = g.Getenv // a fleet target's own credentials
	}
	if rf.planFile == "" && rf.roster == "" {
		return true, usageErrorf("--roster is required")
	}
	if rf.planFile == "" {
		if err := checkProviderName(rf.pf.name); err != nil {
			return true, err
		}
	}
	if rf.out != "" && rf.mode != "plan" {
		return true, usageErrorf("--out is for plan")
	}
	if rf.concurrency < 0 {
		return true, usageErrorf("--concurrency %d: want 0 (adapt) or at least 1", rf.concurrency)
	}
	switch reconcile.Policy(rf.policy) {
	case reconcile.PolicySync, reconcile.PolicyCreateOnly:
	default:
		return true, usageErrorf("--policy %q: want sync or create-only", rf.policy)
	}
	if _, err := reconcile.ParseMaxRevoke(rf.maxRevoke); err != nil {
		return true, withCode(exitInvalid, err)
	}
	if rf.refresh, err = parseDays(rf.refreshBefore); err != nil {
		return true, usageErrorf("--refresh-before %q: %v", rf.refreshBefore, err)
	}
	if rf.reportFmts, err = report.ParseFormats(rf.formats); err != nil {
		return true, usageErrorf("--format: %v", err)
	}
	rf.readOpts = sources.ReadOptions{Format: rf.rosterFormat, Sheet: rf.sheet,
		AllowExtraColumns: rf.allowExtraColumns, AllowEmpty: rf.allowEmpty}
	if err := setColumns(&rf.readOpts, rf.columns); err != nil {
		return true, err
	}
	if rf.delimiter != "" {
		d := rf.delimiter
		if d == `\t` || strings.EqualFold(d, "tab") {
			d = "\t"
		}
		r, size := utf8.DecodeRuneInString(d)
		if size != len(d) {
			return true, usageErrorf("--delimiter %q: want one character such as ',' or ';'", rf.delimiter)
		}
		rf.readOpts.Delimiter = r
	}
	// Fail before any upstream read rather than after: a job without --yes
	// would list everything only to be refused.
	if rf.mode == "apply" && !rf.yes && !stdinIsTerminal() {
		return true, usageErrorf("apply needs --yes when not run from a terminal")
	}
	return false, nil
}

// parseDays parses a Go duration or a whole number of days ("7d").
func parseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, errors.New("want a Go duration (36h) or days (7d)")
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, errors.New("want a Go duration (36h) or days (7d)")
		}
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	return runReconcile(ctx, "plan", args, stdout, stderr)
}

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	return runReconcile(ctx, "apply", args, stdout, stderr)
}

// runReconcile is plan and apply: parse -> read roster -> build provider ->
// who am I + list -> compute (or check a saved plan) -> report, or confirm,
// apply and report.
func runReconcile(ctx context.Context, mode string, args []string, stdout, stderr io.Writer) (int, error) {
	started := time.Now().UTC()
	rf := newRunFlags(mode, stderr)
	if done, err := rf.parse(args, stdout); done {
		if err != nil {
			return exitInvalid, err
		}
		return exitOK, nil
	}
	if _, isFile := stderr.(*os.File); !isFile {
		// Apply's workers log concurrently: a file takes each line in one
		// write(2), any other writer (a test's buffer) needs a lock.
		stderr = zerolog.SyncWriter(stderr)
	}
	// On a terminal the progress bar and the log share the line: the
	// console clears the bar, writes the log line whole, redraws the bar.
	var con *report.Console
	logOut := stderr
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		con = report.NewConsole(f)
		logOut = con
	}
	log, err := newLoggerTo(stderr, logOut, rf.logFormat, rf.logLevel)
	if err != nil {
		return exitInvalid, err
	}

	// A saved plan names its provider; the plan itself is checked by the run.
	if rf.planFile != "" && rf.pf.name == "" {
		saved, err := reconcile.LoadPlan(rf.planFile)
		if err != nil {
			return exitCode(reconcile.VerdictOf(err)), err
		}
		rf.pf.name = saved.Provider
	}

	// Every request is counted (metrics); apply also records each in the audit log.
	var audit *report.Audit
	reqs := &requestCounter{}
	onAttempt := reqs.record
	if mode == "apply" {
		if audit, err = report.OpenAudit(rf.reportDir); err != nil {
			return exitFailed, fmt.Errorf("open audit log: %w", err)
		}
		defer audit.Close()
		onAttempt = func(a providers.Attempt) { reqs.record(a); audit.Record(a) }
	}
	rf.pf.concurrency = rf.concurrency
	p, err := rf.pf.build(log, onAttempt)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code, err
		}
		return exitInvalid, withCode(exitInvalid, fmt.Errorf("provider: %w", err))
	}

	var prog *report.Progress
	last := 0
	out := reconcile.Run(ctx, reconcile.RunConfig{
		Mode: mode, Provider: p,
		Roster: rf.roster, ReadOptions: rf.readOpts, SavedPlan: rf.planFile,
		Options: rf.planOptions(), Explicit: rf.explicit(),
		Ledger: rf.ledger, AdoptFile: rf.acc.adopt,
		Concurrency: rf.concurrency, Yes: rf.yes,
		Confirm: func(plan *reconcile.Plan) (bool, error) {
			if !stdinIsTerminal() {
				return false, errors.New("apply needs --yes when not run from a terminal")
			}
			return confirm(stdout, plan)
		},
		OnPlanned: func(n int) {
			if con != nil {
				prog = con.NewProgress("apply", n, !rf.noProgress)
			} else {
				prog = report.NewProgress(stderr, "apply", n, !rf.noProgress)
			}
		},
		OnProgress: func(done, _ int) {
			if prog != nil {
				prog.Add(done - last)
				last = done
			}
		},
		Logger: log,
	})
	if prog != nil {
		prog.Done()
	}
	for _, pr := range out.Problems {
		fmt.Fprintln(stderr, pr.String())
	}
	code := exitCode(out.Verdict)
	defer func() {
		rf.tel.publish(context.WithoutCancel(ctx), log, mode, p.Name(), out.Result, started, code, out.Err, reqs, rf.reportDir)
	}()
	if out.Result == nil {
		return code, withCode(code, out.Err)
	}
	if out.Result.StartedAt.IsZero() {
		out.Result.StartedAt = started
	}
	if audit != nil {
		if err := audit.Close(); err != nil {
			log.Error().Err(err).Msg("close audit log")
		}
	}
	paths, werr := report.Write(rf.reportDir, rf.reportFmts, out.Result)
	if werr != nil {
		// A report format never fails the run; the outcome stands.
		log.Error().Err(werr).Msg("write report")
	}
	if mode == "apply" {
		paths = append(paths, filepath.Join(rf.reportDir, report.AuditFile))
	}
	if mode == "plan" && rf.out != "" && out.Verdict != reconcile.VerdictRefused {
		if err := reconcile.SavePlan(rf.out, out.Result.Plan); err != nil {
			return exitFailed, err
		}
		paths = append(paths, rf.out)
	}
	printSummary(stdout, out.Result, paths)
	return code, withCode(code, out.Err)
}

// exitCode maps a run's verdict to the documented exit code.
func exitCode(v reconcile.Verdict) int {
	switch v {
	case reconcile.VerdictOK:
		return exitOK
	case reconcile.VerdictPending:
		return exitPending
	case reconcile.VerdictInvalid:
		return exitInvalid
	case reconcile.VerdictRefused:
		return exitRefused
	}
	return exitFailed
}

// confirm shows what apply would change and asks y/N on the terminal.
func confirm(stdout io.Writer, plan *reconcile.Plan) (bool, error) {
	// Everything, before the question: nothing is cut from what is asked.
	writePlan(stdout, &reconcile.Result{Mode: "plan", Plan: plan, Actions: plan.Actions}, 0, nil)
	fmt.Fprintf(stdout, "Apply these changes to %s organization %s? [y/N] ", plan.Provider, report.Sanitize(plan.Organization))
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// printSummary writes the run as a terminal plan (report.WritePlanText):
// changes listed up to maxListedChanges, then exactly how many more and
// which report holds them.
func printSummary(w io.Writer, res *reconcile.Result, paths []string) {
	writePlan(w, res, maxListedChanges, paths)
}

func writePlan(w io.Writer, res *reconcile.Result, maxLines int, paths []string) {
	opts := report.TextOptions{MaxLines: maxLines, Paths: paths}
	if f, ok := w.(*os.File); ok {
		opts.Color = report.ColorEnabled(f)
		opts.Width = report.TerminalWidth(f)
	}
	if err := report.WritePlanText(w, res, opts); err != nil {
		fmt.Fprintf(w, "invitesync: %v\n", err)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
