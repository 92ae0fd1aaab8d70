package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/providers"
)

// Command groups of the root -h.
const (
	cmdGroupRun     = "run"
	cmdGroupInspect = "inspect"
	cmdGroupTools   = "tools"
)

// exitCodesHelp is printed by -h: scripts rely on these codes.
const exitCodesHelp = `Exit codes:
  0  done, nothing left to change
  1  failed actions, or the upstream could not be read
  2  plan: changes pending
  3  invalid roster, flags or configuration (nothing was sent)
  4  a safety guard refused (--max-revoke, a changed saved plan, a held lock)`

// cli is one invocation: where output goes and the exit code the command
// that ran chose (-1 until one ran).
type cli struct {
	stdout, stderr io.Writer
	code           int
}

// action adapts a command body returning (exit code, error) to cobra.
func (c *cli) action(f func(ctx context.Context, cmd *cobra.Command, args []string) (int, error)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		code, err := f(cmd.Context(), cmd, args)
		c.code = code
		return err
	}
}

// newRoot builds the command tree.
// Commands are listed in the order of a first run, not alphabetically.
func init() { cobra.EnableCommandSorting = false }

func newRoot(c *cli) *cobra.Command {
	var showVersion bool
	root := &cobra.Command{
		Use:   "invitesync",
		Short: "keep an organization's user invitations in step with a roster",
		Long: "invitesync keeps an organization's user invitations (Confluent Cloud, VMware CSP, Confluent on\n" +
			"Azure) in step with a roster file: plan shows what would change, apply changes it.",
		Example: "  invitesync validate --roster team.csv\n" +
			"  invitesync check --provider confluent\n" +
			"  invitesync plan --roster team.csv --provider confluent --ledger ledger.jsonl --out plan.json\n" +
			"  invitesync apply --plan plan.json --ledger ledger.jsonl\n" +
			"  invitesync run --config fleet.yaml",
		SilenceErrors: true,
		SilenceUsage:  true,
		Annotations:   map[string]string{"credentials": "yes", "exitcodes": "yes"},
		RunE: c.action(func(ctx context.Context, cmd *cobra.Command, _ []string) (int, error) {
			if showVersion {
				return runVersion(ctx, nil, c.stdout, c.stderr)
			}
			_ = renderHelp(cmd, c.stderr)
			return exitInvalid, nil
		}),
	}
	root.Flags().BoolVar(&showVersion, "version", false, "print version, commit and build date")
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.AddGroup(
		&cobra.Group{ID: cmdGroupRun, Title: "Reconcile:"},
		&cobra.Group{ID: cmdGroupInspect, Title: "Inspect:"},
		&cobra.Group{ID: cmdGroupTools, Title: "Tools:"},
	)
	root.SetHelpCommandGroupID(cmdGroupTools)
	root.SetCompletionCommandGroupID(cmdGroupTools)
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { _ = renderHelp(cmd, cmd.OutOrStdout()) })
	root.SetUsageFunc(func(cmd *cobra.Command) error { return renderHelp(cmd, cmd.OutOrStderr()) })
	root.SetFlagErrorFunc(flagError)
	root.SuggestionsMinimumDistance = 2

	root.AddCommand(
		newReconcileCmd(c, "plan"),
		newReconcileCmd(c, "apply"),
		newFleetCmd(c),
		newValidateCmd(c),
		newCheckCmd(c),
		newDumpCmd(c),
		newEmulatorCmd(c),
		&cobra.Command{
			Use: "version", Short: "print version, commit and build date", GroupID: cmdGroupTools, Args: noArgs,
			RunE: c.action(func(ctx context.Context, _ *cobra.Command, args []string) (int, error) {
				return runVersion(ctx, args, c.stdout, c.stderr)
			}),
		},
	)
	root.InitDefaultCompletionCmd()
	for _, sub := range root.Commands() {
		if sub.Name() == "completion" {
			sub.Short = "print a shell completion script: bash, zsh, fish or powershell"
		}
		sub.SilenceErrors, sub.SilenceUsage = true, true
		// pflag says here when a deprecated alias is used.
		sub.Flags().SetOutput(c.stderr)
	}
	return root
}

// flagError is a flag typo or a bad flag value: the error first, then a
// short hint (the closest flag), never the whole usage. Exit 3.
func flagError(cmd *cobra.Command, err error) error {
	var ne *pflag.NotExistError
	hint := ""
	if errors.As(err, &ne) && ne.GetSpecifiedShortnames() == "" {
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		if s := closest(ne.GetSpecifiedName(), names); s != "" {
			hint = fmt.Sprintf(" (did you mean --%s?)", s)
		}
	}
	return withCode(exitInvalid, fmt.Errorf("%w%s\nRun '%s -h' for its flags.", err, hint, cmd.CommandPath()))
}

// closest returns the candidate nearest to word (Levenshtein, after folding
// case and '_' to '-'), or "" when none is near enough to be a typo.
func closest(word string, candidates []string) string {
	w := strings.ToLower(strings.ReplaceAll(word, "_", "-"))
	best, bestD := "", 0
	for _, c := range candidates {
		d := levenshtein.ComputeDistance(w, strings.ToLower(c))
		if best == "" || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(w) > 8 {
		limit = 3
	}
	if best == "" || bestD > limit || bestD >= len(w) {
		return ""
	}
	return best
}

// normalizeArgs turns Go-style single-dash long flags (-roster x,
// -max-revoke=5) into the double-dash form pflag reads, so scripts written
// for the flag package keep working. Only names some command defines are
// rewritten; everything after "--" is left alone.
func normalizeArgs(root *cobra.Command, args []string) []string {
	long := map[string]bool{"help": true, "version": true}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { long[f.Name] = true })
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && long[name] {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// reparseArgs rebuilds the flags cobra parsed as --name=value arguments, for
// commands whose body parses its own arguments (plan, apply, emulator).
func reparseArgs(fs *pflag.FlagSet, args []string) []string {
	var out []string
	fs.Visit(func(f *pflag.Flag) {
		switch v := f.Value.(type) {
		case pflag.SliceValue:
			// String() of a list is "[a,b]": pass each item on its own.
			for _, item := range v.GetSlice() {
				out = append(out, "--"+f.Name+"="+item)
			}
		default:
			if f.Name != "help" {
				out = append(out, "--"+f.Name+"="+f.Value.String())
			}
		}
	})
	if len(args) > 0 {
		out = append(out, "--")
		out = append(out, args...)
	}
	return out
}

// renderHelp writes a command's help: what it does, usage, subcommands,
// examples, flags by group, and where relevant the credential variables and
// exit codes.
func renderHelp(cmd *cobra.Command, w io.Writer) error {
	var b strings.Builder
	if cmd.Long != "" {
		b.WriteString(strings.TrimSpace(cmd.Long) + "\n\n")
	} else if cmd.Short != "" {
		b.WriteString(strings.ToUpper(cmd.Short[:1]) + cmd.Short[1:] + ".\n\n")
	}
	b.WriteString("Usage:\n")
	if cmd.Runnable() && !cmd.HasAvailableSubCommands() {
		use := cmd.UseLine()
		if !strings.Contains(use, "[flags]") && cmd.HasAvailableFlags() {
			use += " [flags]"
		}
		fmt.Fprintf(&b, "  %s\n", use)
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "  %s COMMAND [flags]\n", cmd.CommandPath())
		groups := cmd.Groups()
		listed := map[string]bool{}
		for _, g := range groups {
			fmt.Fprintf(&b, "\n%s\n", g.Title)
			for _, s := range cmd.Commands() {
				if s.GroupID == g.ID && s.IsAvailableCommand() {
					fmt.Fprintf(&b, "  %-11s %s\n", s.Name(), s.Short)
					listed[s.Name()] = true
				}
			}
			if g.ID == cmdGroupTools && cmd == cmd.Root() {
				fmt.Fprintf(&b, "  %-11s %s\n", "help", "a command's help: invitesync help COMMAND")
			}
		}
		var rest []string
		for _, s := range cmd.Commands() {
			if !listed[s.Name()] && s.IsAvailableCommand() {
				rest = append(rest, fmt.Sprintf("  %-11s %s\n", s.Name(), s.Short))
			}
		}
		if len(rest) > 0 {
			b.WriteString("\nOther commands:\n" + strings.Join(rest, ""))
		}
	}
	if cmd.Example != "" {
		fmt.Fprintf(&b, "\nExamples:\n%s\n", strings.TrimRight(cmd.Example, "\n"))
	}
	writeFlagGroups(&b, cmd.Flags())
	if cmd.Annotations["credentials"] == "yes" {
		b.WriteString("\n" + credentialsHelp())
	}
	if cmd.Annotations["exitcodes"] == "yes" {
		b.WriteString("\n" + exitCodesHelp + "\n")
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(&b, "\nRun '%s COMMAND -h' for a command's flags.\n", cmd.CommandPath())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeFlagGroups lists the visible flags under their group's heading.
func writeFlagGroups(b *strings.Builder, fs *pflag.FlagSet) {
	order := []string{groupRoster, groupProvider, groupRun, groupOutput, groupConfig, ""}
	sets := map[string]*pflag.FlagSet{}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		g := ""
		if gs := f.Annotations[annGroup]; len(gs) > 0 {
			g = gs[0]
		}
		if sets[g] == nil {
			sets[g] = pflag.NewFlagSet(g, pflag.ContinueOnError)
			sets[g].SortFlags = fs.SortFlags
		}
		sets[g].AddFlag(f)
	})
	for _, g := range order {
		s := sets[g]
		if s == nil {
			continue
		}
		title := g + " flags:"
		if g == "" {
			title = "Flags:"
			if len(sets) > 1 {
				title = "Other flags:"
			}
		}
		fmt.Fprintf(b, "\n%s\n%s", title, flagUsages(s))
	}
}

// credentialsHelp lists every registered provider's credential variables.
func credentialsHelp() string {
	var b strings.Builder
	b.WriteString("Credentials (environment only, never flags or files):\n")
	for _, n := range providers.Names() {
		f, _ := providers.Lookup(n)
		for _, c := range f.Credentials {
			opt := ""
			if c.Optional {
				opt = " (optional)"
			}
			fmt.Fprintf(&b, "  %-28s %s: %s%s\n", c.Env, n, c.Help, opt)
		}
	}
	return b.String()
}

// completeProvider offers the registered provider names to shell completion.
func completeProvider(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return providers.Names(), cobra.ShellCompDirectiveNoFileComp
}

// completeWords offers fixed values (comma lists complete item by item).
func completeWords(words ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		prefix := ""
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			prefix = toComplete[:i+1]
		}
		out := make([]string, 0, len(words))
		for _, w := range words {
			out = append(out, prefix+w)
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// registerCompletions wires value completion for the flags a command has.
func registerCompletions(cmd *cobra.Command) {
	fs := cmd.Flags()
	reg := func(name string, f cobra.CompletionFunc) {
		if fs.Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, f)
		}
	}
	reg("provider", completeProvider)
	reg("roster-format", completeWords("csv", "xlsx", "yaml"))
	reg("policy", completeWords("sync", "create-only"))
	reg("log-format", completeWords("console", "json"))
	reg("log-level", completeWords("debug", "info", "warn", "error"))
	reg("output", completeWords("text", "json"))
	for _, name := range []string{"roster", "out", "config", "ledger", "plan", "seed", "state", "record"} {
		if fs.Lookup(name) != nil {
			_ = cmd.MarkFlagFilename(name)
		}
	}
	if fs.Lookup("report") != nil {
		_ = cmd.MarkFlagDirname("report")
	}
}

// flagUsages lists flags one per line, aligned: "  -h, --name TYPE  usage
// (default x)". Booleans take no value word.
func flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, right string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" && varname != "" {
			left += " " + varname
		}
		switch f.DefValue {
		case "", "0", "false", "[]", "0s":
		default:
			if f.Value.Type() == "string" {
				usage += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s   %s\n", width, r.left, r.right)
	}
	return b.String()
}

// noArgs refuses a stray argument (exit 3), naming it.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}
	return nil
}
