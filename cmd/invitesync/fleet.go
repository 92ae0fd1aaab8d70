package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/invitesync/invitesync/reconcile"
)

// defaultParallel is how many targets run at once unless --parallel says.
const defaultParallel = 4

// A fleet config: a few orgs in one process, each target exactly what
// `plan` or `apply` would do with its flags.
//
//	parallel: 4
//	defaults: {max-revoke: 5%, log-format: json}
//	targets:
//	  - name: prod
//	    mode: apply              # plan (default) or apply
//	    provider: confluent
//	    roster: people.csv
//	    ledger: ledgers/prod.jsonl
//	    report: reports/prod     # default invitesync-report/NAME
//	    yes: true
//	    env:                     # this target's credentials, as references
//	      CONFLUENT_CLOUD_API_KEY: ${PROD_KEY}
//	      CONFLUENT_CLOUD_API_SECRET: ${PROD_SECRET}
type fleetTarget struct {
	name, mode string
	args       []string          // plan/apply flags, --name=value
	env        map[string]string // credential variables for this target only
	reportDir  string
	line       int
}

var targetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func newFleetCmd(c *cli) *cobra.Command {
	var config, only string
	var parallel int
	cmd := &cobra.Command{
		Use:   "run --config fleet.yaml",
		Short: "plan or apply several orgs (targets) from one config, isolated, in parallel",
		Long: "run executes each target of a fleet config as its own plan or apply: its own provider and\n" +
			"credentials, lock, ledger, rate limit and report folder. A failing target never stops the\n" +
			"others; a table at the end gives each target's exit status and counts, and run exits with\n" +
			"the worst of them (0 < 2 < 4 < 3 < 1).",
		GroupID: cmdGroupRun,
		Example: "  invitesync run --config fleet.yaml\n" +
			"  invitesync run --config fleet.yaml --only prod,staging --parallel 2\n\n" +
			"fleet.yaml:\n" +
			"  parallel: 4\n" +
			"  defaults: {max-revoke: 5%, log-format: json}\n" +
			"  targets:\n" +
			"    - name: prod\n" +
			"      mode: apply\n" +
			"      yes: true\n" +
			"      provider: confluent\n" +
			"      roster: people.csv\n" +
			"      ledger: ledgers/prod.jsonl\n" +
			"      env: {CONFLUENT_CLOUD_API_KEY: ${PROD_KEY}, CONFLUENT_CLOUD_API_SECRET: ${PROD_SECRET}}\n" +
			"    - name: vmware\n" +
			"      provider: csp\n" +
			"      org-id: 9a1b...\n" +
			"      roster: people.csv\n" +
			"      ledger: ledgers/vmware.jsonl",
		Annotations: map[string]string{"credentials": "yes", "exitcodes": "yes"},
		Args:        noArgs,
		RunE: c.action(func(ctx context.Context, _ *cobra.Command, _ []string) (int, error) {
			if config == "" {
				return exitInvalid, usageErrorf("--config is required (a file with a targets: list)")
			}
			targets, cfgParallel, err := loadFleet(config)
			if err != nil {
				return exitInvalid, err
			}
			if targets, err = selectTargets(targets, only); err != nil {
				return exitInvalid, err
			}
			if parallel == 0 {
				parallel = cmp.Or(cfgParallel, defaultParallel)
			}
			if parallel < 1 {
				return exitInvalid, usageErrorf("--parallel %d: want at least 1", parallel)
			}
			return runFleet(ctx, targets, parallel, c.stdout, c.stderr)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&config, "config", "", "fleet file: parallel, defaults and a targets: list")
	fs.IntVar(&parallel, "parallel", 0, fmt.Sprintf("targets run at once (default: the file's parallel:, else %d)", defaultParallel))
	fs.StringVar(&only, "only", "", "run only these targets (comma-separated names)")
	registerCompletions(cmd)
	return cmd
}

// loadFleet reads and checks a fleet file completely before any target runs:
// a typo must not leave half a fleet applied.
func loadFleet(path string) ([]fleetTarget, int, error) {
	root, err := readConfigFile(path)
	if err != nil {
		return nil, 0, err
	}
	if root == nil {
		return nil, 0, usageErrorf("config %s: empty; want a targets: list", path)
	}
	var (
		targetsNode, defaultsNode *yaml.Node
		parallel                  int
	)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		at := fmt.Sprintf("config %s:%d: %s", path, k.Line, k.Value)
		switch k.Value {
		case "targets":
			if v.Kind != yaml.SequenceNode {
				return nil, 0, usageErrorf("%s: want a list of targets", at)
			}
			targetsNode = v
		case "defaults":
			if v.Kind != yaml.MappingNode {
				return nil, 0, usageErrorf("%s: want a mapping of flags every target takes", at)
			}
			defaultsNode = v
		case "parallel":
			if err := v.Decode(&parallel); err != nil || parallel < 1 {
				return nil, 0, usageErrorf("%s: want a whole number of targets at once, at least 1", at)
			}
		default:
			hint := ""
			if s := closest(k.Value, []string{"targets", "defaults", "parallel"}); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			}
			return nil, 0, usageErrorf("%s: unknown key (a fleet file has parallel, defaults and targets)%s", at, hint)
		}
	}
	if targetsNode == nil || len(targetsNode.Content) == 0 {
		return nil, 0, usageErrorf("config %s: no targets: want a targets: list (one entry per org)", path)
	}
	var targets []fleetTarget
	names, reports, ledgers := map[string]int{}, map[string]string{}, map[string]string{}
	for _, tn := range targetsNode.Content {
		t, ledger, err := fleetTargetOf(path, tn, defaultsNode)
		if err != nil {
			return nil, 0, err
		}
		if prev, dup := names[t.name]; dup {
			return nil, 0, usageErrorf("config %s:%d: target %q: the name is taken by the target on line %d", path, t.line, t.name, prev)
		}
		names[t.name] = t.line
		// Isolation: two targets never share a report folder or a ledger.
		if other, dup := reports[filepath.Clean(t.reportDir)]; dup {
			return nil, 0, usageErrorf("config %s:%d: target %q: report folder %s is also target %q's", path, t.line, t.name, t.reportDir, other)
		}
		reports[filepath.Clean(t.reportDir)] = t.name
		if ledger != "" {
			if other, dup := ledgers[filepath.Clean(ledger)]; dup {
				return nil, 0, usageErrorf("config %s:%d: target %q: ledger %s is also target %q's", path, t.line, t.name, ledger, other)
			}
			ledgers[filepath.Clean(ledger)] = t.name
		}
		targets = append(targets, t)
	}
	return targets, parallel, nil
}

// fleetTargetOf turns one targets: entry (over the defaults) into the
// arguments plan or apply would take.
func fleetTargetOf(path string, tn, defaults *yaml.Node) (fleetTarget, string, error) {
	t := fleetTarget{mode: "plan", line: tn.Line, env: map[string]string{}}
	at := func(line int, key string) string { return fmt.Sprintf("config %s:%d: %s", path, line, key) }
	if tn.Kind != yaml.MappingNode {
		return t, "", usageErrorf("%s: want a mapping (name, provider, roster, ...)", at(tn.Line, "target"))
	}
	// First pass: name, mode and env, which are not flags.
	settings := map[string]*yaml.Node{}
	keyLine := map[string]int{}
	for _, m := range []*yaml.Node{defaults, tn} {
		if m == nil {
			continue
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if seen[k.Value] {
				return t, "", usageErrorf("%s: given twice", at(k.Line, k.Value))
			}
			seen[k.Value] = true
			switch k.Value {
			case "name":
				if m != tn {
					return t, "", usageErrorf("%s: a target's name is its own, not a default", at(k.Line, "name"))
				}
				t.name = v.Value
			case "mode":
				if v.Value != "plan" && v.Value != "apply" {
					return t, "", usageErrorf("%s: %q: want plan or apply", at(k.Line, "mode"), v.Value)
				}
				t.mode = v.Value
			case "env":
				if v.Kind != yaml.MappingNode {
					return t, "", usageErrorf("%s: want VARIABLE: ${OTHER_VARIABLE} pairs", at(k.Line, "env"))
				}
				for j := 0; j+1 < len(v.Content); j += 2 {
					ek, ev := v.Content[j], v.Content[j+1]
					if !envRefOnly.MatchString(ev.Value) {
						return t, "", usageErrorf("%s: want a reference such as ${%s_PROD}: credentials live in the environment, never in a file", at(ek.Line, "env."+ek.Value), ek.Value)
					}
					val, err := expandEnv(ev.Value)
					if err != nil {
						return t, "", usageErrorf("%s: %v", at(ek.Line, "env."+ek.Value), err)
					}
					t.env[ek.Value] = val
				}
			default:
				settings[k.Value] = v
				keyLine[k.Value] = k.Line
			}
		}
	}
	if !targetName.MatchString(t.name) {
		return t, "", usageErrorf("%s: want a name of letters, digits, '.', '_' or '-' (it names the report folder), not %q", at(tn.Line, "target"), t.name)
	}
	rf := newRunFlags(t.mode, io.Discard)
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		where := at(keyLine[k], k) + fmt.Sprintf(" (target %s)", t.name)
		value, skip, err := configSetting(rf.fs, k, settings[k])
		if err != nil {
			return t, "", usageErrorf("%s: %v", where, err)
		}
		if skip {
			continue
		}
		if err := rf.fs.Set(k, value); err != nil {
			return t, "", usageErrorf("%s: %v", where, err)
		}
		t.args = append(t.args, "--"+k+"="+value)
	}
	if !rf.fs.Changed("report") {
		t.reportDir = filepath.Join("invitesync-report", t.name)
		t.args = append(t.args, "--report="+t.reportDir)
	} else {
		t.reportDir = rf.reportDir
	}
	if !rf.fs.Changed("no-progress") {
		t.args = append(t.args, "--no-progress=true") // bars from parallel targets would interleave
	}
	if t.mode == "apply" && !rf.yes {
		return t, "", usageErrorf("%s: mode apply in a fleet needs yes: true (a fleet never asks)", at(tn.Line, "target "+t.name))
	}
	return t, rf.ledger, nil
}

func selectTargets(all []fleetTarget, only string) ([]fleetTarget, error) {
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	byName := map[string]fleetTarget{}
	var names []string
	for _, t := range all {
		byName[t.name] = t
		names = append(names, t.name)
	}
	var out []fleetTarget
	for _, n := range strings.Split(only, ",") {
		n = strings.TrimSpace(n)
		t, ok := byName[n]
		if !ok {
			hint := ""
			if s := closest(n, names); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			}
			return nil, usageErrorf("--only %s: no such target%s", n, hint)
		}
		out = append(out, t)
	}
	return out, nil
}

// targetResult is one row of the summary table.
type targetResult struct {
	target  fleetTarget
	code    int
	err     error
	started bool
	summary *reconcile.Summary
	took    time.Duration
}

// runFleet runs the targets, at most parallel at once, each through
// runReconcile exactly as `plan` or `apply` with its arguments would.
func runFleet(ctx context.Context, targets []fleetTarget, parallel int, stdout, stderr io.Writer) (int, error) {
	results := make([]targetResult, len(targets))
	var outMu sync.Mutex // one line at a time on the shared stdout and stderr
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		results[i].target = t
	}
	for i, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break // interrupted: later targets are not started
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = runTarget(ctx, t, &outMu, stdout, stderr)
		}()
	}
	wg.Wait()

	worst := exitOK
	failed := 0
	for _, r := range results {
		if !r.started {
			r.code = exitFailed
		}
		if r.code != exitOK && r.code != exitPending {
			failed++
		}
		if severity(r.code) > severity(worst) {
			worst = r.code
		}
	}
	writeFleetTable(stdout, results)
	if failed > 0 {
		return worst, fmt.Errorf("%d of %d targets did not finish cleanly (see the table)", failed, len(results))
	}
	return worst, nil
}

// severity orders exit codes for "the worst": changes pending is no
// failure; a refusal changed nothing; an invalid target never ran; a failure
// may have half-applied.
func severity(code int) int {
	switch code {
	case exitOK:
		return 0
	case exitPending:
		return 1
	case exitRefused:
		return 2
	case exitInvalid:
		return 3
	}
	return 4
}

func runTarget(ctx context.Context, t fleetTarget, mu *sync.Mutex, stdout, stderr io.Writer) (res targetResult) {
	res = targetResult{target: t, started: true}
	start := time.Now()
	out := &targetWriter{name: t.name, mu: mu, w: stdout, env: t.env}
	errw := &targetWriter{name: t.name, mu: mu, w: stderr, env: t.env}
	defer func() {
		out.Flush()
		errw.Flush()
		res.took = time.Since(start)
	}()
	// A panic in one target must not take the others down with it.
	defer func() {
		if p := recover(); p != nil {
			res.code, res.err = exitFailed, fmt.Errorf("internal error: %v", p)
			fmt.Fprintf(errw, "invitesync run: target %s: %v\n", t.name, res.err)
		}
	}()
	res.code, res.err = runReconcile(ctx, t.mode, t.args, out, errw)
	if res.err != nil {
		res.err = explainUpstreamError(providerArg(t.args), res.err)
		fmt.Fprintf(errw, "invitesync %s: %v\n", t.mode, res.err)
	}
	res.summary = readSummary(t.reportDir, start)
	return res
}

func providerArg(args []string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--provider="); ok {
			return v
		}
	}
	return ""
}

// readSummary reads the counts of the report this target's run wrote, if
// it wrote one (an older report.json is not this run's).
func readSummary(dir string, since time.Time) *reconcile.Summary {
	path := filepath.Join(dir, "report.json")
	fi, err := os.Stat(path)
	if err != nil || fi.ModTime().Before(since.Add(-time.Second)) {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	// The summary comes before the actions: decode only up to it.
	dec := json.NewDecoder(f)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil
		}
		if k == "summary" {
			var s reconcile.Summary
			if dec.Decode(&s) != nil {
				return nil
			}
			return &s
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return nil
		}
	}
	return nil
}

func writeFleetTable(w io.Writer, results []targetResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tMODE\tEXIT\tRESULT\tCREATE\tREINVITE\tREVOKE\tLEAVE\tUNMANAGED\tFAILED\tTOOK\tREPORT")
	for _, r := range results {
		counts := "-\t-\t-\t-\t-\t-"
		if s := r.summary; s != nil {
			counts = fmt.Sprintf("%d\t%d\t%d\t%d\t%d\t%d", s.Create, s.Reinvite, s.Revoke, s.Leave, s.Unmanaged, s.Failed)
		}
		code := fmt.Sprint(r.code)
		if !r.started {
			code = "-"
		}
		took := "-"
		if r.started {
			took = r.took.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.target.name, r.target.mode, code, outcome(r), counts, took, r.target.reportDir)
	}
	tw.Flush()
}

func outcome(r targetResult) string {
	if !r.started {
		return "not started (interrupted)"
	}
	switch r.code {
	case exitOK:
		if r.target.mode == "plan" {
			return "nothing to change"
		}
		return "applied"
	case exitPending:
		return "changes pending"
	case exitRefused:
		return "refused by a guard"
	case exitInvalid:
		return "invalid roster or flags"
	}
	return "failed"
}

// targetWriter prefixes a target's output lines with its name (inside JSON
// log lines as a "target" field, so they stay JSON) and writes whole lines
// only, so parallel targets never mix within a line. As stdout of
// runReconcile it also gives the target's own credential variables.
type targetWriter struct {
	name string
	mu   *sync.Mutex
	w    io.Writer
	env  map[string]string
	buf  []byte
}

func (t *targetWriter) Getenv(k string) string {
	if v, ok := t.env[k]; ok {
		return v
	}
	return os.Getenv(k)
}

func (t *targetWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			break
		}
		if err := t.emit(t.buf[:i+1]); err != nil {
			return len(p), err
		}
		t.buf = t.buf[i+1:]
	}
	return len(p), nil
}

// Flush writes a last unterminated line (a prompt, say).
func (t *targetWriter) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) > 0 {
		_ = t.emit(append(t.buf, '\n'))
		t.buf = nil
	}
}

func (t *targetWriter) emit(line []byte) error {
	var out []byte
	if len(line) > 1 && line[0] == '{' {
		name, _ := json.Marshal(t.name)
		out = append(append(append([]byte(`{"target":`), name...), ','), line[1:]...)
		if bytes.HasPrefix(line, []byte("{}")) {
			out = append(append([]byte(`{"target":`), name...), line[1:]...)
		}
	} else {
		out = append([]byte("["+t.name+"] "), line...)
	}
	_, err := t.w.Write(out)
	return err
}
