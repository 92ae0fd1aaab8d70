package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
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

// runFlags are the flags of plan and apply (design.md, "Command line").
type runFlags struct {
	mode string // "plan" | "apply"
	fs   *flag.FlagSet
	pf   *providerFlags

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
	rf := &runFlags{mode: mode, fs: flag.NewFlagSet(mode, flag.ContinueOnError)}
	fs := rf.fs
	fs.SetOutput(io.Discard) // run prints the returned error once
	fs.Usage = func() {
		if mode == "plan" {
			fmt.Fprintln(stderr, "usage: invitesync plan --roster FILE --provider NAME [flags] [--out plan.json]")
		} else {
			fmt.Fprintln(stderr, "usage: invitesync apply --roster FILE --provider NAME [flags] [--yes]\n       invitesync apply --plan plan.json [flags] [--yes]")
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	fs.StringVar(&rf.roster, "roster", "", "desired roster (.csv, .xlsx, .yaml)")
	fs.StringVar(&rf.rosterFormat, "roster-format", "", "roster format overriding the extension: csv, xlsx or yaml")
	fs.StringVar(&rf.sheet, "sheet", "", "XLSX sheet to read (default: the first)")
	fs.StringVar(&rf.delimiter, "delimiter", "", "CSV delimiter, ',' or ';' (default: detected)")
	fs.BoolVar(&rf.allowExtraColumns, "allow-extra-columns", false, "ignore roster columns invitesync does not know")
	fs.BoolVar(&rf.allowEmpty, "allow-empty", false, "accept an empty roster (under --policy sync it revokes everything ours, within --max-revoke)")
	rf.pf = addProviderFlags(fs)
	fs.StringVar(&rf.reportDir, "report", "./invitesync-report", "directory for the reports (and audit.jsonl on apply)")
	fs.StringVar(&rf.formats, "format", strings.Join(report.Formats, ","), "report formats: json,md,xlsx,html")
	fs.IntVar(&rf.concurrency, "concurrency", reconcile.DefaultConcurrency, "actions in flight at once (apply)")
	fs.StringVar(&rf.policy, "policy", string(reconcile.PolicySync), "sync (create, reinvite, revoke) or create-only (never revokes)")
	fs.StringVar(&rf.maxRevoke, "max-revoke", reconcile.DefaultMaxRevoke, "refuse a plan revoking more than N or N% of the pending invitations (at least 1)")
	fs.BoolVar(&rf.revokeUnmanaged, "revoke-unmanaged", false, "also revoke pending invitations this tool did not create")
	fs.StringVar(&rf.refreshBefore, "refresh-before", "0", "reinvite pending invitations expiring within this (Go duration or Nd days; 0 = off)")
	fs.StringVar(&rf.ledger, "ledger", "", "JSON-lines file of the invitations this tool created (ownership where the upstream has no creator)")
	fs.StringVar(&rf.logFormat, "log-format", "", "console or json (default: console on a terminal, json otherwise)")
	fs.StringVar(&rf.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&rf.noProgress, "no-progress", false, "no progress bar")
	fs.StringVar(&rf.config, "config", "", "YAML file of flags (flag name: value); the command line wins")
	fs.BoolVar(&rf.printConfig, "print-config", false, "print the merged configuration (secrets redacted) and exit")
	if mode == "plan" {
		fs.StringVar(&rf.out, "out", "", "save the plan to this file for a later 'apply --plan'")
	} else {
		fs.StringVar(&rf.planFile, "plan", "", "execute this saved plan (from 'plan --out') instead of computing one")
		fs.BoolVar(&rf.yes, "yes", false, "apply without asking (required when not run from a terminal)")
	}
	return rf
}

// parse reads the command line and the --config file and checks the flags.
// help is true for -h.
func (rf *runFlags) parse(args []string, stdout io.Writer) (done bool, err error) {
	if err := rf.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // Parse has printed the usage
			return true, nil
		}
		return true, withCode(exitInvalid, err)
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
	if rf.planFile == "" && rf.roster == "" {
		return true, usageErrorf("--roster is required")
	}
	if rf.planFile == "" && rf.pf.name == "" {
		return true, usageErrorf("--provider is required (confluent, csp or azure)")
	}
	if rf.out != "" && rf.mode != "plan" {
		return true, usageErrorf("--out is for plan")
	}
	if rf.concurrency < 1 {
		return true, usageErrorf("--concurrency %d: want at least 1", rf.concurrency)
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
	log, err := newLogger(stderr, rf.logFormat, rf.logLevel)
	if err != nil {
		return exitInvalid, err
	}

	// The desired state: a roster, or a saved plan.
	var (
		members []sources.Member
		digest  string
		saved   *reconcile.Plan
	)
	if rf.planFile != "" {
		if saved, err = reconcile.LoadPlan(rf.planFile); err != nil {
			return exitInvalid, withCode(exitInvalid, err)
		}
		if rf.pf.name == "" {
			rf.pf.name = saved.Provider
		}
		if rf.pf.name != saved.Provider {
			return exitInvalid, usageErrorf("the plan is for --provider %s, not %s", saved.Provider, rf.pf.name)
		}
		if rf.roster != "" { // given: it must be the reviewed one
			if digest, err = fileDigest(rf.roster); err != nil {
				return exitInvalid, withCode(exitInvalid, err)
			}
			if saved.RosterDigest != "" && digest != saved.RosterDigest {
				return exitRefused, withCode(exitRefused, fmt.Errorf("roster %s changed since the plan was made: make a new plan and review it", rf.roster))
			}
		}
	} else {
		if members, err = readRoster(rf.roster, rf.readOpts, stderr); err != nil {
			return exitInvalid, err
		}
		if digest, err = fileDigest(rf.roster); err != nil {
			return exitInvalid, withCode(exitInvalid, err)
		}
	}

	// The upstream. apply records every request in the audit log from here on.
	var audit *report.Audit
	var onAttempt func(providers.Attempt)
	if mode == "apply" {
		if audit, err = report.OpenAudit(rf.reportDir); err != nil {
			return exitFailed, fmt.Errorf("open audit log: %w", err)
		}
		defer audit.Close()
		onAttempt = audit.Record
	}
	p, err := rf.pf.build(log, onAttempt)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code, err
		}
		return exitInvalid, withCode(exitInvalid, fmt.Errorf("provider: %w", err))
	}
	caps := p.Capabilities()
	if saved == nil {
		if err := reconcile.ValidateMembers(members, caps); err != nil {
			return exitInvalid, rosterProblems(err, rf.roster, stderr)
		}
		for _, w := range reconcile.IgnoredAttributes(members, caps) {
			log.Warn().Str("provider", p.Name()).Msg(w)
		}
	}
	if mode == "apply" {
		// Held from before the upstream is read until the run ends, so two
		// applies never plan from the same state and both act on it.
		host, _ := os.Hostname()
		lock, err := reconcile.AcquireLock(reconcile.LockPath(rf.ledger, p.Name(), p.Organization()),
			reconcile.Holder{PID: os.Getpid(), Host: host, StartedAt: started, Provider: p.Name(), Org: p.Organization()})
		if err != nil {
			var le *reconcile.LockedError
			if errors.As(err, &le) {
				return exitRefused, withCode(exitRefused, err)
			}
			return exitFailed, err
		}
		defer lock.Release()
	}
	ledger, err := reconcile.LoadLedger(rf.ledger, p.Name(), p.Organization())
	if err != nil {
		return exitFailed, err
	}
	defer ledger.Close()

	owner, current, err := readUpstream(ctx, p, log)
	if err != nil {
		return exitFailed, fmt.Errorf("upstream could not be read: %w", err)
	}
	if owner.Principal == "" && rf.ledger == "" && saved == nil {
		log.Warn().Str("provider", p.Name()).Msg("no --ledger and the upstream does not say who created an invitation: none counts as this tool's, so none will be revoked")
	}

	plan := saved
	if saved != nil {
		if saved.Organization != p.Organization() {
			return exitInvalid, usageErrorf("the plan is for organization %s, not %s", saved.Organization, p.Organization())
		}
		if err := reconcile.CheckPlan(saved, current); err != nil {
			return exitRefused, withCode(exitRefused, err)
		}
	} else {
		plan, err = reconcile.Compute(members, current, reconcile.Options{
			Policy: reconcile.Policy(rf.policy), Owner: owner.Principal, Ledger: ledger, RevokeUnmanaged: rf.revokeUnmanaged,
			RefreshBefore: rf.refresh, MaxRevoke: rf.maxRevoke, Capabilities: caps, Now: time.Now(),
			RosterFile: rf.roster, RosterRows: len(members), RosterDigest: digest,
			Provider: p.Name(), Organization: p.Organization(),
		})
		var guard *reconcile.GuardError
		switch {
		case errors.As(err, &guard):
			// Report what was refused so a reviewer can see why; change nothing.
			res := &reconcile.Result{Mode: mode, Plan: plan, StartedAt: started, FinishedAt: time.Now().UTC(), Actions: plan.Actions}
			paths, werr := report.Write(rf.reportDir, rf.reportFmts, res)
			printSummary(stdout, res, paths)
			if werr != nil {
				log.Error().Err(werr).Msg("write report")
			}
			return exitRefused, withCode(exitRefused, err)
		case err != nil:
			var ps sources.Problems
			if errors.As(err, &ps) {
				return exitInvalid, rosterProblems(err, rf.roster, stderr)
			}
			return exitFailed, err
		}
	}
	log.Info().Int("actions", len(plan.Actions)).Bool("changes", reconcile.Changes(plan.Actions)).Msg("plan computed")

	if mode == "plan" {
		res := &reconcile.Result{Mode: "plan", Plan: plan, StartedAt: started, FinishedAt: time.Now().UTC(), Actions: plan.Actions}
		paths, err := report.Write(rf.reportDir, rf.reportFmts, res)
		if err != nil {
			return exitFailed, err
		}
		if rf.out != "" {
			if err := reconcile.SavePlan(rf.out, plan); err != nil {
				return exitFailed, err
			}
			paths = append(paths, rf.out)
		}
		printSummary(stdout, res, paths)
		if reconcile.Changes(plan.Actions) {
			return exitPending, nil
		}
		return exitOK, nil
	}

	// apply
	if reconcile.Changes(plan.Actions) && !rf.yes {
		ok, err := confirm(stdout, plan)
		if err != nil {
			return exitFailed, err
		}
		if !ok {
			return exitFailed, errors.New("not confirmed; nothing applied")
		}
	}
	total := 0
	for _, a := range plan.Actions {
		if a.Status == reconcile.StatusPlanned && a.Op != reconcile.OpLeave {
			total++
		}
	}
	prog := report.NewProgress(stderr, "apply", total, !rf.noProgress)
	last := 0
	res, err := reconcile.Apply(ctx, p, plan, reconcile.ApplyOptions{
		Concurrency: rf.concurrency, Ledger: ledger, Logger: log,
		OnProgress: func(done, _ int) { prog.Add(done - last); last = done },
	})
	prog.Done()
	if err != nil {
		return exitFailed, err
	}
	res.StartedAt = started
	if err := audit.Close(); err != nil {
		log.Error().Err(err).Msg("close audit log")
	}
	paths, werr := report.Write(rf.reportDir, rf.reportFmts, res)
	paths = append(paths, filepath.Join(rf.reportDir, report.AuditFile))
	printSummary(stdout, res, paths)
	if werr != nil {
		return exitFailed, werr
	}
	sum := reconcile.Summarize(res.Actions)
	switch {
	case res.Cancelled:
		return exitFailed, fmt.Errorf("cancelled: %d actions were not started; run apply again to finish", countStatus(res.Actions, reconcile.StatusSkipped))
	case sum.Failed > 0 || countStatus(res.Actions, reconcile.StatusSkipped) > 0:
		unknown := 0
		for _, a := range res.Actions {
			if a.Status == reconcile.StatusFailed && strings.HasPrefix(a.Error, reconcile.OutcomeUnknown) {
				unknown++
			}
		}
		msg := fmt.Sprintf("%d actions failed (see the report)", sum.Failed)
		if unknown > 0 {
			msg += fmt.Sprintf("; %d of them may have taken effect (outcome unknown)", unknown)
		}
		if n := countStatus(res.Actions, reconcile.StatusSkipped); n > 0 {
			msg += fmt.Sprintf("; %d were not started because the upstream stopped answering", n)
		}
		return exitFailed, errors.New(msg + ": run apply again once the upstream answers; it converges")
	}
	return exitOK, nil
}

// readRoster reads and validates the roster; an invalid one prints every
// problem to stderr and is exit 3.
func readRoster(path string, opts sources.ReadOptions, stderr io.Writer) ([]sources.Member, error) {
	members, err := sources.ReadFile(path, opts)
	var ps sources.Problems
	switch {
	case err == nil:
		return members, nil
	case errors.As(err, &ps):
		return nil, rosterProblems(err, path, stderr)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil, withCode(exitInvalid, err)
	default:
		return nil, withCode(exitInvalid, err)
	}
}

// rosterProblems prints a sources.Problems one per line and returns the exit-3 error.
func rosterProblems(err error, path string, stderr io.Writer) error {
	var ps sources.Problems
	if !errors.As(err, &ps) {
		return withCode(exitInvalid, err)
	}
	for _, p := range ps {
		fmt.Fprintln(stderr, p.String())
	}
	n := ps.Count() // the list stops at 1000; Count is the real total
	return withCode(exitInvalid, fmt.Errorf("%d %s in roster %s", n, plural(n, "problem", "problems"), path))
}

// readUpstream asks who the tool runs as and lists the current invitations.
func readUpstream(ctx context.Context, p providers.Provider, log zerolog.Logger) (providers.Identity, []providers.Invitation, error) {
	owner, err := p.WhoAmI(ctx)
	if err != nil {
		return owner, nil, err
	}
	if owner.Principal == "" {
		log.Info().Str("provider", p.Name()).Msg("the upstream does not tell who created an invitation: ownership by --ledger only")
	}
	start := time.Now()
	current, err := p.List(ctx)
	if err != nil {
		return owner, nil, err
	}
	log.Info().Str("provider", p.Name()).Str("organization", p.Organization()).Int("invitations", len(current)).
		Str("took", time.Since(start).Round(time.Millisecond).String()).Msg("listed current invitations")
	return owner, current, nil
}

// fileDigest is the roster's sha256, recorded in the plan.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("digest roster: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest roster: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// confirm shows what apply would change and asks y/N on the terminal.
func confirm(stdout io.Writer, plan *reconcile.Plan) (bool, error) {
	printSummary(stdout, &reconcile.Result{Mode: "plan", Plan: plan, Actions: plan.Actions}, nil)
	fmt.Fprintf(stdout, "Apply these changes to %s %s? [y/N] ", plan.Provider, plan.Organization)
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

// printSummary writes the human summary: counts, the changes one per line
// with their reason (and outcome on apply), then where the reports are.
func printSummary(w io.Writer, res *reconcile.Result, paths []string) {
	p := res.Plan
	s := reconcile.Summarize(res.Actions)
	fmt.Fprintf(w, "%s: %s %s, roster %s (%d members)\n", res.Mode, p.Provider, p.Organization, orDash(p.RosterFile), p.RosterRows)
	fmt.Fprintf(w, "  %d create, %d reinvite, %d revoke, %d leave, %d unmanaged", s.Create, s.Reinvite, s.Revoke, s.Leave, s.Unmanaged)
	if s.Unsupported > 0 {
		fmt.Fprintf(w, ", %d unsupported", s.Unsupported)
	}
	if res.Mode == "apply" {
		fmt.Fprintf(w, "; %d done, %d failed, %d skipped", countStatus(res.Actions, reconcile.StatusDone), s.Failed, countStatus(res.Actions, reconcile.StatusSkipped))
	}
	fmt.Fprintln(w)
	listed, more := 0, 0
	for _, a := range res.Actions {
		if a.Op == reconcile.OpLeave {
			continue
		}
		if listed == maxListedChanges {
			more++
			continue
		}
		if listed == 0 {
			fmt.Fprintln(w, "changes:")
		}
		listed++
		line := fmt.Sprintf("  %-8s %-11s %s: %s", a.Op, a.Status, a.Email, a.Reason)
		if a.Error != "" {
			line += " [" + a.Error + "]"
		}
		fmt.Fprintln(w, line)
	}
	if more > 0 {
		fmt.Fprintf(w, "  ... and %d more (see the report)\n", more)
	}
	if listed == 0 {
		fmt.Fprintln(w, "nothing to change")
	}
	if len(paths) > 0 {
		fmt.Fprintln(w, "report: "+strings.Join(paths, " "))
	}
}

func countStatus(actions []reconcile.Action, st reconcile.ActionStatus) int {
	n := 0
	for _, a := range actions {
		if a.Status == st {
			n++
		}
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
