package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers/emulator"
)

// cliEmulator serves the sample seed on loopback and sets the emulator's
// credentials in the environment, as a user would.
func cliEmulator(t *testing.T, cfg emulator.Config) (*emulator.Server, string) {
	t.Helper()
	srv, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.LoadSeedFile(filepath.Join("..", "..", "samples", "emulator-seed.yaml")); err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Setenv("CONFLUENT_CLOUD_API_KEY", emulator.DefaultConfluentKey)
	t.Setenv("CONFLUENT_CLOUD_API_SECRET", emulator.DefaultConfluentSecret)
	t.Setenv("CSP_REFRESH_TOKEN", emulator.DefaultCSPRefreshToken)
	t.Setenv("AZURE_ACCESS_TOKEN", emulator.DefaultAzureToken)
	return srv, url
}

// notTerminal makes stdin look like a pipe (a job), whatever runs the tests.
func notTerminal(t *testing.T) {
	old := stdinIsTerminal
	stdinIsTerminal = func() bool { return false }
	t.Cleanup(func() { stdinIsTerminal = old })
}

type cliResult struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return cliResult{code, out.String(), errb.String()}
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// changingRequests counts the requests that could change the upstream.
func changingRequests(st emulator.Stats) int64 {
	var n int64
	for route, c := range st.ByRoute {
		if (strings.HasPrefix(route, "POST ") && !strings.Contains(route, "list") && !strings.Contains(route, "authorize")) || strings.HasPrefix(route, "DELETE ") {
			n += c
		}
	}
	return n
}

var sampleRoster = filepath.Join("..", "..", "samples", "roster.csv")

func readReport(t *testing.T, dir string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// The sample roster against the sample seed, for each provider: plan shows
// the changes (exit 2), apply makes them (exit 0), the next plan is clean (exit 0).
func TestPlanApplyPlan(t *testing.T) {
	notTerminal(t)
	for _, tc := range []struct {
		provider string
		flags    []string
		changes  []string // "op email" lines expected in the plan's stdout
		absent   []string
	}{
		{provider: "confluent",
			changes: []string{"~ reinvite bob@example.com", "auth type differs: AUTH_TYPE_LOCAL -> AUTH_TYPE_SSO", "~ reinvite cy@example.com",
				"+ create   eve@example.com", "- revoke   old-contractor@example.com", "not in roster; created by this tool"},
			absent: []string{"ada@example.com", "partner@example.org", "dee@example.com"}},
		{provider: "csp", flags: []string{"--org-id", "demo-org"},
			changes: []string{"+ create   eve@example.com", "- revoke   old-contractor@example.com"},
			absent:  []string{"partner@example.org"}},
		{provider: "azure", flags: []string{"--subscription-id", "00000000-0000-0000-0000-000000000000", "--resource-group", "rg-demo", "--organization", "org-demo"},
			// Azure cannot revoke, and without a ledger nothing there is ours.
			changes: []string{"+ create   eve@example.com", "~ reinvite cy@example.com"},
			absent:  []string{"old-contractor@example.com", "partner@example.org"}},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			srv, url := cliEmulator(t, emulator.Config{})
			dir := t.TempDir()
			// The sample's two reinvites and one revoke are over the default 10%.
			common := append([]string{"--roster", sampleRoster, "--provider", tc.provider, "--endpoint", url, "--rate", "1000", "--max-revoke", "100%",
				"--no-progress", "--log-format", "json", "--ledger", filepath.Join(dir, "ledger.jsonl")}, tc.flags...)
			args := func(cmd, report string, extra ...string) []string {
				return append(append([]string{cmd, "--report", filepath.Join(dir, report)}, common...), extra...)
			}

			r := runCLI(t, args("plan", "plan")...)
			if r.code != exitPending {
				t.Fatalf("plan: %v", r)
			}
			for _, c := range tc.changes {
				if !strings.Contains(r.stdout, c) {
					t.Errorf("plan output lacks %q:\n%s", c, r.stdout)
				}
			}
			for _, e := range tc.absent {
				for _, line := range strings.Split(r.stdout, "\n") {
					if strings.Contains(line, e) && !strings.Contains(line, "unsupported") && !strings.HasPrefix(line, "  ? ") {
						t.Errorf("plan lists %s as a change: %q", e, line)
					}
				}
			}
			if doc := readReport(t, filepath.Join(dir, "plan")); doc["mode"] != "plan" {
				t.Errorf("report mode = %v", doc["mode"])
			}
			if n := changingRequests(srv.Stats()); n != 0 {
				t.Fatalf("plan made %d changing requests", n)
			}

			r = runCLI(t, args("apply", "apply", "--yes")...)
			if r.code != exitOK {
				t.Fatalf("apply: %v", r)
			}
			doc := readReport(t, filepath.Join(dir, "apply"))
			if doc["mode"] != "apply" {
				t.Errorf("report mode = %v", doc["mode"])
			}
			if s := doc["summary"].(map[string]any); s["failed"].(float64) != 0 {
				t.Errorf("summary: %v", s)
			}
			if _, err := os.Stat(filepath.Join(dir, "apply", "audit.jsonl")); err != nil {
				t.Errorf("no audit log: %v", err)
			}
			if st := srv.Stats(); st.DuplicateCreates != 0 {
				t.Errorf("duplicate_creates = %d", st.DuplicateCreates)
			}

			r = runCLI(t, args("plan", "replan")...)
			if r.code != exitOK || !strings.Contains(r.stdout, "Plan: 0 to create, ") {
				t.Fatalf("plan after apply: %v", r)
			}
		})
	}
}

// Exit 3: an invalid roster or bad flags, before any upstream request.
func TestExitInvalid(t *testing.T) {
	notTerminal(t)
	srv, url := cliEmulator(t, emulator.Config{})
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("email,auth_type\nada@example.com,AUTH_TYPE_SSO\nnot-an-email,\nada@example.com,\n"), 0o644)
	many := filepath.Join(dir, "groups.csv")
	var groups []string
	for i := range 16 {
		groups = append(groups, fmt.Sprintf("g%d", i))
	}
	os.WriteFile(many, []byte("email,groups\nada@example.com,g1;g2\nbob@example.com,"+strings.Join(groups, ";")+"\n"), 0o644)
	ok := []string{"--provider", "confluent", "--endpoint", url, "--report", filepath.Join(dir, "r"), "--no-progress"}
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{name: "invalid roster", args: append([]string{"plan", "--roster", bad}, ok...), want: "bad.csv:3"},
		{name: "missing roster file", args: append([]string{"plan", "--roster", filepath.Join(dir, "none.csv")}, ok...), want: "none.csv"},
		{name: "no roster", args: append([]string{"plan"}, ok...), want: "--roster is required"},
		{name: "no provider", args: []string{"plan", "--roster", sampleRoster}, want: "--provider is required"},
		{name: "unknown flag", args: append([]string{"plan", "--roster", sampleRoster, "--frobnicate"}, ok...), want: "frobnicate"},
		{name: "bad policy", args: append([]string{"plan", "--roster", sampleRoster, "--policy", "all"}, ok...), want: "--policy"},
		{name: "bad max-revoke", args: append([]string{"plan", "--roster", sampleRoster, "--max-revoke", "lots"}, ok...), want: "--max-revoke"},
		{name: "bad format", args: append([]string{"plan", "--roster", sampleRoster, "--format", "pdf"}, ok...), want: "pdf"},
		{name: "bad refresh-before", args: append([]string{"plan", "--roster", sampleRoster, "--refresh-before", "soon"}, ok...), want: "--refresh-before"},
		{name: "apply without --yes off a terminal", args: append([]string{"apply", "--roster", sampleRoster}, ok...), want: "apply needs --yes when not run from a terminal"},
		{name: "16 groups", args: []string{"plan", "--roster", many, "--provider", "csp", "--org-id", "o", "--endpoint", url, "--report", filepath.Join(dir, "r")}, want: "groups.csv:3"},
		{name: "missing credentials", args: append([]string{"plan", "--roster", sampleRoster}, ok...), want: "CONFLUENT_CLOUD_API_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "missing credentials" {
				t.Setenv("CONFLUENT_CLOUD_API_SECRET", "")
			}
			before := srv.Stats().Requests
			r := runCLI(t, tc.args...)
			if r.code != exitInvalid || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("want exit 3 and %q in stderr; got %v", tc.want, r)
			}
			if n := srv.Stats().Requests - before; n != 0 {
				t.Errorf("%d upstream requests made", n)
			}
		})
	}
	// Every problem is listed, one per line.
	r := runCLI(t, append([]string{"plan", "--roster", bad}, ok...)...)
	if !strings.Contains(r.stderr, "bad.csv:3") || !strings.Contains(r.stderr, "bad.csv:4") {
		t.Errorf("not every problem listed:\n%s", r.stderr)
	}
}

// Exit 4: a roster that would revoke 30% of the pending invitations, over
// the default 10%; nothing is changed upstream.
func TestExitGuard(t *testing.T) {
	notTerminal(t)
	srv, url := cliEmulator(t, emulator.Config{})
	srv.Reset()
	var seed emulator.Seed
	var roster strings.Builder
	roster.WriteString("email\n")
	for i := range 10 {
		email := fmt.Sprintf("p%d@example.com", i)
		seed.Confluent = append(seed.Confluent, emulator.SeedConfluent{Email: email})
		if i >= 3 {
			fmt.Fprintln(&roster, email)
		}
	}
	if err := srv.Seed(seed); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "roster.csv")
	os.WriteFile(path, []byte(roster.String()), 0o644)
	for _, cmd := range [][]string{{"plan"}, {"apply", "--yes"}} {
		args := append(cmd, "--roster", path, "--provider", "confluent", "--endpoint", url, "--report", filepath.Join(dir, cmd[0]), "--no-progress")
		r := runCLI(t, args...)
		if r.code != exitRefused || !strings.Contains(r.stderr, "would revoke 3 pending invitations (reinvites revoke first), over --max-revoke 10%") {
			t.Errorf("%s: want exit 4 naming the guard; got %v", cmd[0], r)
		}
		if n := changingRequests(srv.Stats()); n != 0 {
			t.Fatalf("%s: %d changing requests after a refusal", cmd[0], n)
		}
	}
	// The refused plan is reported, so a reviewer sees what would have been revoked.
	if doc := readReport(t, filepath.Join(dir, "plan")); doc["summary"].(map[string]any)["revoke"].(float64) != 3 {
		t.Errorf("report summary = %v", doc["summary"])
	}
	// Raised on purpose, it goes through.
	r := runCLI(t, "apply", "--yes", "--max-revoke", "3", "--roster", path, "--provider", "confluent", "--endpoint", url,
		"--report", filepath.Join(dir, "ok"), "--no-progress", "--rate", "1000")
	if r.code != exitOK {
		t.Errorf("with --max-revoke 3: %v", r)
	}
}

// A saved plan is applied as reviewed, and refused once the upstream moved.
func TestApplySavedPlan(t *testing.T) {
	notTerminal(t)
	srv, url := cliEmulator(t, emulator.Config{})
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.json")
	flags := []string{"--endpoint", url, "--no-progress", "--rate", "1000"}
	r := runCLI(t, append([]string{"plan", "--roster", sampleRoster, "--provider", "confluent", "--max-revoke", "100%", "--out", planFile, "--report", filepath.Join(dir, "p")}, flags...)...)
	if r.code != exitPending || !strings.Contains(r.stdout, planFile) {
		t.Fatalf("plan --out: %v", r)
	}
	// Someone accepts old-contractor's invitation after the review: the plan's revoke is stale.
	if err := srv.Accept(emulator.APIConfluent, "", "old-contractor@example.com"); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, append([]string{"apply", "--plan", planFile, "--yes", "--report", filepath.Join(dir, "a")}, flags...)...)
	if r.code != exitRefused || !strings.Contains(r.stderr, "old-contractor@example.com") {
		t.Fatalf("stale plan: want exit 4 naming old-contractor; got %v", r)
	}
	if n := changingRequests(srv.Stats()); n != 0 {
		t.Fatalf("%d changing requests for a stale plan", n)
	}

	// A fresh plan, applied as saved (the provider comes from the plan).
	r = runCLI(t, append([]string{"plan", "--roster", sampleRoster, "--provider", "confluent", "--max-revoke", "100%", "--out", planFile, "--report", filepath.Join(dir, "p2")}, flags...)...)
	if r.code != exitPending {
		t.Fatalf("plan: %v", r)
	}
	r = runCLI(t, append([]string{"apply", "--plan", planFile, "--roster", sampleRoster, "--yes", "--report", filepath.Join(dir, "a2")}, flags...)...)
	if r.code != exitOK {
		t.Fatalf("apply --plan: %v", r)
	}
	// A roster that is not the reviewed one is refused.
	other := filepath.Join(dir, "other.csv")
	os.WriteFile(other, []byte("email\nada@example.com\n"), 0o644)
	r = runCLI(t, append([]string{"apply", "--plan", planFile, "--roster", other, "--yes", "--report", filepath.Join(dir, "a3")}, flags...)...)
	if r.code != exitRefused || !strings.Contains(r.stderr, "is not the one the plan was made from") {
		t.Errorf("other roster: %v", r)
	}
}

// On a terminal, apply asks; anything but y/yes applies nothing.
func TestApplyConfirm(t *testing.T) {
	old, oldIn := stdinIsTerminal, stdin
	t.Cleanup(func() { stdinIsTerminal, stdin = old, oldIn })
	stdinIsTerminal = func() bool { return true }
	srv, url := cliEmulator(t, emulator.Config{})
	dir := t.TempDir()
	args := []string{"apply", "--roster", sampleRoster, "--provider", "confluent", "--endpoint", url, "--report", dir, "--no-progress", "--rate", "1000", "--max-revoke", "100%"}

	stdin = strings.NewReader("n\n")
	r := runCLI(t, args...)
	if r.code == exitOK || !strings.Contains(r.stdout, "[y/N]") || !strings.Contains(r.stderr, "not confirmed") {
		t.Fatalf("declined: %v", r)
	}
	if n := changingRequests(srv.Stats()); n != 0 {
		t.Fatalf("%d changing requests after no", n)
	}
	stdin = strings.NewReader("y\n")
	if r := runCLI(t, args...); r.code != exitOK {
		t.Fatalf("confirmed: %v", r)
	}
}

func TestPrintConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("provider: confluent\nmax-revoke: 5%\nformat: [json, md]\n"), 0o644)
	r := runCLI(t, "plan", "--config", cfg, "--max-revoke", "7", "--print-config")
	if r.code != exitOK {
		t.Fatalf("%v", r)
	}
	for _, want := range []string{"provider: confluent", "max-revoke: 7\n", "format: json,md", "policy: sync"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("print-config lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, "plan", "--config", filepath.Join(dir, "missing.yaml"))
	if r.code != exitInvalid {
		t.Errorf("missing config: %v", r)
	}
	os.WriteFile(cfg, []byte("provider: confluent\napi-secret: hunter2\n"), 0o644)
	r = runCLI(t, "plan", "--config", cfg, "--print-config")
	if r.code != exitInvalid || strings.Contains(r.stderr+r.stdout, "hunter2") {
		t.Errorf("secret in config: %v", r)
	}
}

// An apply interrupted (SIGINT) or killed (SIGKILL) mid-run and run again
// converges: all 2,000 people invited exactly once. This runs the real binary.
func TestApplyInterruptedResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "invitesync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv, url := cliEmulator(t, emulator.Config{Latency: 5 * time.Millisecond})
	srv.Reset() // unlimited, empty
	dir := t.TempDir()
	const n = 2000
	var roster strings.Builder
	roster.WriteString("email,auth_type\n")
	for i := range n {
		fmt.Fprintf(&roster, "person%04d@example.com,AUTH_TYPE_SSO\n", i)
	}
	rosterPath := filepath.Join(dir, "roster.csv")
	os.WriteFile(rosterPath, []byte(roster.String()), 0o644)
	ledger := filepath.Join(dir, "ledger.jsonl")
	apply := func(report string) *exec.Cmd {
		cmd := exec.Command(bin, "apply", "--yes", "--roster", rosterPath, "--provider", "confluent", "--endpoint", url,
			"--rate", "100000", "--concurrency", "16", "--ledger", ledger, "--report", filepath.Join(dir, report),
			"--no-progress", "--log-level", "warn")
		cmd.Env = os.Environ() // the emulator's credentials, set by cliEmulator
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s output:\n%s", report, out.String())
			}
		})
		return cmd
	}
	creates := func() int64 { return srv.Stats().ByRoute["POST /iam/v2/invitations"] }
	// interrupt starts an apply and signals it once `after` more creates arrived.
	interrupt := func(report string, sig os.Signal, after int64) int {
		cmd := apply(report)
		start := creates()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for creates()-start < after {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("%s: only %d creates after 2 minutes", report, creates()-start)
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		return cmd.ProcessState.ExitCode()
	}

	// SIGINT: in-flight creates finish, the rest are skipped, the report is written, exit 1.
	if code := interrupt("int", os.Interrupt, 300); code != exitFailed {
		t.Errorf("after SIGINT: exit %d, want 1", code)
	}
	doc := readReport(t, filepath.Join(dir, "int"))
	statuses := map[string]int{}
	for _, a := range doc["actions"].([]any) {
		statuses[a.(map[string]any)["status"].(string)]++
	}
	pending := srv.Stats().Invitations[emulator.APIConfluent].Pending
	if statuses["skipped"] == 0 || statuses["failed"] != 0 || statuses["done"] != pending {
		t.Errorf("after SIGINT: report statuses %v, %d invitations upstream", statuses, pending)
	}

	// SIGKILL: no report, no goodbye; the ledger and the upstream hold what happened.
	if code := interrupt("kill", os.Kill, 300); code != -1 {
		t.Errorf("after SIGKILL: exit %d, want -1 (killed)", code)
	}
	st := srv.Stats()
	if got := st.Invitations[emulator.APIConfluent].Pending; got >= n || got <= pending {
		t.Fatalf("after SIGKILL: %d invited; want between %d and %d: the kill did not land mid-run", got, pending, n)
	}

	cmd := apply("resume")
	if err := cmd.Run(); err != nil {
		t.Fatalf("resume: %v", err)
	}
	st = srv.Stats()
	if got := st.Invitations[emulator.APIConfluent].Pending; got != n {
		t.Errorf("after resume: %d pending invitations, want %d", got, n)
	}
	if st.DuplicateCreates != 0 {
		t.Errorf("duplicate_creates = %d, want 0", st.DuplicateCreates)
	}
	// The ledger names each created invitation once (a kill may lose the last line, never add one twice).
	data, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e struct{ ID, Kind string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("ledger line %q: %v", line, err)
		}
		if e.Kind != "" {
			continue // the intent written before each create
		}
		if ids[e.ID] {
			t.Errorf("ledger lists %s twice", e.ID)
		}
		ids[e.ID] = true
	}
	if len(ids) < n-16 || len(ids) > n {
		t.Errorf("ledger has %d ids for %d invitations", len(ids), n)
	}
	if r := runCLI(t, "plan", "--roster", rosterPath, "--provider", "confluent", "--endpoint", url, "--report", filepath.Join(dir, "final"), "--no-progress"); r.code != exitOK {
		t.Errorf("final plan: %v", r)
	}
}
