package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/invitesync/invitesync/providers/emulator"
)

func writeFleet(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tableRow finds a target's row in the summary table.
func tableRow(out, name string) []string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 3 && f[0] == name {
			return f
		}
	}
	return nil
}

// Three orgs in one process: a plan, an apply, and an org whose upstream is
// gone. The gone one fails alone; the others finish; each has its own report
// folder; the table lists every target and the exit code is the worst.
func TestFleetRunIsolatesTargets(t *testing.T) {
	notTerminal(t)
	srv, url := cliEmulator(t, emulator.Config{})
	dir := t.TempDir()
	roster, _ := filepath.Abs(sampleRoster)
	cfg := writeFleet(t, dir, `
parallel: 2
defaults:
  endpoint: `+url+`
  max-revoke: 100%
  roster: `+roster+`
  log-format: json
targets:
  - name: conf-plan
    provider: confluent
    ledger: `+filepath.Join(dir, "conf.jsonl")+`
    report: `+filepath.Join(dir, "r", "conf")+`
  - name: csp-apply
    mode: apply
    yes: true
    provider: csp
    org-id: demo-org
    ledger: `+filepath.Join(dir, "csp.jsonl")+`
    report: `+filepath.Join(dir, "r", "csp")+`
  - name: gone
    provider: confluent
    endpoint: http://127.0.0.1:1
    max-attempts: 1
    report: `+filepath.Join(dir, "r", "gone")+`
`)
	r := runCLI(t, "run", "--config", cfg)
	if r.code != exitFailed {
		t.Fatalf("want exit 1 (the worst target failed): %v", r)
	}
	for name, code := range map[string]string{"conf-plan": "2", "csp-apply": "0", "gone": "1"} {
		row := tableRow(r.stdout, name)
		if row == nil || row[2] != code {
			t.Errorf("target %s: row %q, want exit %s\n%s", name, row, code, r.stdout)
		}
	}
	if row := tableRow(r.stdout, "csp-apply"); row != nil && row[4] == "-" {
		t.Errorf("csp-apply has no counts: %q", row)
	}
	for _, sub := range []string{"conf", "csp"} {
		if _, err := os.Stat(filepath.Join(dir, "r", sub, "report.json")); err != nil {
			t.Errorf("target %s wrote no report of its own: %v", sub, err)
		}
	}
	// The apply landed although another org failed.
	if n := changingRequests(srv.Stats()); n == 0 {
		t.Errorf("the fleet's apply sent no change upstream")
	}
	// Each target's lines are marked with it: JSON log lines as a field.
	sawJSON := false
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "{") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Errorf("a log line is no longer JSON: %q", l)
				continue
			}
			if m["target"] == nil {
				t.Errorf("log line without its target: %q", l)
			}
			sawJSON = true
		}
	}
	if !sawJSON {
		t.Errorf("no JSON log lines seen:\n%s", r.stderr)
	}
	if !regexp.MustCompile(`(?m)^\[gone\] invitesync plan: `).MatchString(r.stderr) {
		t.Errorf("the failing target's error is not marked with its name:\n%s", r.stderr)
	}
}

// Each target may take its own credentials from other variables: the
// process's wrong secret fails one target, the other uses its own.
func TestFleetTargetCredentials(t *testing.T) {
	notTerminal(t)
	_, url := cliEmulator(t, emulator.Config{})
	t.Setenv(envConfluentSecret, "wrong-secret-0002")
	t.Setenv("PROD_CONFLUENT_SECRET", emulator.DefaultConfluentSecret)
	dir := t.TempDir()
	cfg := writeFleet(t, dir, `
defaults: {endpoint: `+url+`, roster: `+sampleRoster+`, max-revoke: 100%}
targets:
  - name: own
    provider: confluent
    report: `+filepath.Join(dir, "own")+`
    env:
      CONFLUENT_CLOUD_API_SECRET: ${PROD_CONFLUENT_SECRET}
  - name: inherited
    provider: confluent
    report: `+filepath.Join(dir, "inh")+`
`)
	r := runCLI(t, "run", "--config", cfg, "--parallel", "1")
	if row := tableRow(r.stdout, "own"); row == nil || row[2] != "2" {
		t.Errorf("target with its own secret: %q\n%v", row, r)
	}
	if row := tableRow(r.stdout, "inherited"); row == nil || row[2] != "1" {
		t.Errorf("target with the wrong process secret: %q\n%v", row, r)
	}
	if !strings.Contains(r.stderr, "CONFLUENT_CLOUD_API_SECRET") {
		t.Errorf("the refused target does not name the variable to check:\n%s", r.stderr)
	}
	for _, s := range []string{"wrong-secret-0002", emulator.DefaultConfluentSecret} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("a secret was printed")
		}
	}
	if r := runCLI(t, "run", "--config", cfg, "--only", "own"); tableRow(r.stdout, "inherited") != nil || tableRow(r.stdout, "own") == nil {
		t.Errorf("--only own: %v", r)
	}
}

// A fleet file with a mistake runs nothing (exit 3) and says where.
func TestFleetConfigRefused(t *testing.T) {
	srv, url := cliEmulator(t, emulator.Config{})
	t.Setenv("SOME_SECRET", "s3cr3t-0003")
	dir := t.TempDir()
	ok := "  - {name: a, provider: confluent, endpoint: " + url + ", roster: " + sampleRoster + ", report: " + filepath.Join(dir, "a") + "}\n"
	for _, tc := range []struct {
		name, body, want string
	}{
		{"top-level typo", "target:\n" + ok, `did you mean "targets"?`},
		{"no targets", "parallel: 2\n", "no targets"},
		{"key typo in a target", "targets:\n  - {name: b, provider: confluent, rostr: x.csv}\n", `did you mean "roster"?`},
		{"provider flag typo", "targets:\n  - {name: b, provider: csp, orgid: x, roster: x.csv}\n", `did you mean "org-id"?`},
		{"duplicate name", "targets:\n" + ok + ok, `the name is taken`},
		{"shared ledger", "targets:\n  - {name: a, provider: confluent, roster: x.csv, ledger: l.jsonl}\n  - {name: b, provider: confluent, roster: x.csv, ledger: l.jsonl}\n", "is also target \"a\"'s"},
		{"shared report folder", "targets:\n  - {name: a, provider: confluent, roster: x.csv, report: r}\n  - {name: b, provider: confluent, roster: x.csv, report: r}\n", "report folder r is also"},
		{"apply without yes", "targets:\n  - {name: a, mode: apply, provider: confluent, roster: x.csv}\n", "needs yes: true"},
		{"bad mode", "targets:\n  - {name: a, mode: destroy, provider: confluent}\n", "want plan or apply"},
		{"literal credential in env", "targets:\n  - {name: a, provider: confluent, env: {CONFLUENT_CLOUD_API_SECRET: hunter2}}\n", "never in a file"},
		{"credential copied into a flag", "targets:\n  - {name: a, provider: confluent, roster: x.csv, endpoint: 'https://${SOME_SECRET}@h'}\n", "credential variable"},
		{"bad name", "targets:\n  - {name: '../x', provider: confluent}\n", "want a name"},
		{"nested config", "targets:\n  - {name: a, provider: confluent, config: c.yaml}\n", "cannot name another"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Stats().Requests
			r := runCLI(t, "run", "--config", writeFleet(t, t.TempDir(), tc.body))
			if r.code != exitInvalid || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit 3 and %q: %v", tc.want, r)
			}
			if strings.Contains(r.stderr, "hunter2") || strings.Contains(r.stderr, "s3cr3t-0003") {
				t.Errorf("a secret was printed: %s", r.stderr)
			}
			if n := srv.Stats().Requests - before; n != 0 {
				t.Errorf("%d upstream requests from a refused fleet file", n)
			}
		})
	}
	if r := runCLI(t, "run"); r.code != exitInvalid || !strings.Contains(r.stderr, "--config is required") {
		t.Errorf("run without --config: %v", r)
	}
	if r := runCLI(t, "run", "--config", writeFleet(t, dir, "targets:\n"+ok), "--only", "b"); r.code != exitInvalid || !strings.Contains(r.stderr, "no such target") {
		t.Errorf("--only with an unknown name: %v", r)
	}
}

func TestSeverityOrder(t *testing.T) {
	order := []int{exitOK, exitPending, exitRefused, exitInvalid, exitFailed}
	for i := 1; i < len(order); i++ {
		if severity(order[i]) <= severity(order[i-1]) {
			t.Errorf("exit %d should be worse than %d", order[i], order[i-1])
		}
	}
}

func TestTargetWriterKeepsLinesWhole(t *testing.T) {
	var out strings.Builder
	tw := &targetWriter{name: "prod", mu: new(sync.Mutex), w: &out}
	tw.Write([]byte(`{"level":"info","msg":"a"}` + "\nplain "))
	tw.Write([]byte("line\n{}\npartial"))
	tw.Flush()
	want := `{"target":"prod","level":"info","msg":"a"}` + "\n[prod] plain line\n" + `{"target":"prod"}` + "\n[prod] partial\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

// Interrupted before a target starts: none runs, each is listed as not
// started, and the run fails.
func TestFleetInterruptedStartsNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb strings.Builder
	targets := []fleetTarget{{name: "a", mode: "plan", reportDir: "ra"}, {name: "b", mode: "plan", reportDir: "rb"}}
	code, err := runFleet(ctx, targets, 1, &out, &errb)
	if code != exitFailed || err == nil {
		t.Errorf("exit %d, err %v; want 1 and an error", code, err)
	}
	for _, n := range []string{"a", "b"} {
		if row := tableRow(out.String(), n); row == nil || row[2] != "-" || !strings.Contains(out.String(), "not started") {
			t.Errorf("target %s: row %q\n%s", n, row, out.String())
		}
	}
}
