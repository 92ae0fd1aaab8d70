//go:build reliability

package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// accessStats is the emulator's stats with the access counters.
type accessStats struct {
	DuplicateGrants int64 `json:"duplicate_grants"`
	Access          map[string]struct {
		Users    int `json:"users"`
		Bindings int `json:"role_bindings"`
		APIKeys  int `json:"api_keys"`
	} `json:"access"`
}

func (e *emulatorProc) accessStats() accessStats {
	e.t.Helper()
	var st accessStats
	if err := json.Unmarshal(e.control("GET", "stats", nil), &st); err != nil {
		e.t.Fatalf("stats: %v", err)
	}
	return st
}

// convergeUnderFaults applies (run(report, "apply", "--yes")) with 20% of
// the requests faulted until a run exits 0, at most three runs.
func convergeUnderFaults(t *testing.T, e *emulatorProc, what string, run func(report string, args ...string) result) {
	t.Helper()
	e.setFaults(0.2, "429", "500", "503", "reset")
	defer e.setFaults(0)
	for attempt := 1; ; attempt++ {
		r := run(fmt.Sprintf("%s%d", what, attempt), "apply", "--yes")
		if r.code == 0 {
			return
		}
		if attempt == 3 {
			t.Fatalf("%s under 20%% faults did not converge in 3 runs: %v", what, r)
		}
	}
}

// TestReliabilityAccess: onboarding a roster with roles grants exactly the
// listed access (read back through dump), under 20% injected faults with no
// duplicate binding; the next plan is empty; one changed cell is one grant
// and one ungrant; a binding someone else made is left and listed unmanaged.
func TestReliabilityAccess(t *testing.T) {
	for _, p := range []string{"confluent", "azure"} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			seed := filepath.Join(dir, "seed.yaml")
			var body string
			if p == "confluent" {
				body = "confluent:\n  - email: other@example.com\n    creator: u-someone-else\n    roles: [MetricsViewer]\n"
			} else {
				body = "azure:\n  " + azureOrg + ":\n    - email: other@example.com\n      roles: [MetricsViewer]\n"
			}
			if err := os.WriteFile(seed, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			e := startEmulator(t, "--seed", seed)
			roster := filepath.Join(dir, "roster.csv")
			rows := [][]string{{"email", "roles"}, {"other@example.com", "MetricsViewer;EnvironmentAdmin@env-abc123"}}
			for i := range 12 {
				rows = append(rows, []string{fmt.Sprintf("dev%02d@example.com", i), "EnvironmentAdmin@env-abc123;CloudClusterAdmin@env-abc123/lkc-xyz789"})
			}
			writeRoster(t, roster, rows)
			common := append(providerArgs(p, e.url), "--ledger", filepath.Join(dir, "ledger.jsonl"), "--no-progress", "--log-level", "warn",
				"--rate", "1000", "--max-revoke", "100%")
			run := func(report string, args ...string) result {
				return invitesync(t, runOpts{}, append(append(args, "--roster", roster, "--report", filepath.Join(dir, report)), common...)...)
			}

			converge := func(what string) { convergeUnderFaults(t, e, what, run) }
			converge("invite")
			if p == "azure" {
				// Azure grants only to members: the invitees accept, and
				// the next apply grants their roles.
				for i := range 12 {
					e.accept(p, fmt.Sprintf("dev%02d@example.com", i))
				}
				e.accept(p, "other@example.com")
				converge("grant")
			}
			if r := run("plan", "plan"); r.code != 0 {
				t.Fatalf("plan after onboarding: want exit 0: %v", r)
			}
			// Read the access back as a roster.
			out := filepath.Join(dir, "dump.csv")
			if r := invitesync(t, runOpts{}, append([]string{"dump", "--out", out}, providerArgs(p, e.url)...)...); r.code != 0 {
				t.Fatalf("dump: %v", r)
			}
			data, _ := os.ReadFile(out)
			for i := range 12 {
				want := fmt.Sprintf("dev%02d@example.com,", i)
				line := ""
				for _, l := range strings.Split(string(data), "\n") {
					if strings.HasPrefix(l, want) {
						line = l
					}
				}
				// Exactly the two roles: retries under faults may re-send a
				// grant, never make a second binding.
				if !strings.HasSuffix(line, ",CloudClusterAdmin@env-abc123/lkc-xyz789;EnvironmentAdmin@env-abc123") {
					t.Errorf("dev%02d's access read back: %q", i, line)
				}
			}

			// One changed cell: dev00 moves to another environment.
			rows[2][1] = "EnvironmentAdmin@env-new;CloudClusterAdmin@env-abc123/lkc-xyz789"
			rows[1][1] = "EnvironmentAdmin@env-abc123" // other@ drops MetricsViewer, which someone else granted
			writeRoster(t, roster, rows)
			r := run("changed", "plan")
			if r.code != 2 {
				t.Fatalf("plan after one changed cell: %v", r)
			}
			s := readReportJSON(t, filepath.Join(dir, "changed")).Summary
			if s["grant"] != 1 || s["ungrant"] != 1 || s["unmanaged"] != 1 {
				t.Errorf("one changed cell: summary %v; want 1 grant, 1 ungrant and other@'s MetricsViewer unmanaged", s)
			}
			if !strings.Contains(r.stdout, "MetricsViewer") {
				t.Errorf("the unmanaged binding is not listed:\n%s", r.stdout)
			}
			if r := run("applied", "apply", "--yes"); r.code != 0 {
				t.Fatalf("apply of the change: %v", r)
			}
			data2 := ""
			if r := invitesync(t, runOpts{}, append([]string{"dump", "--out", out}, providerArgs(p, e.url)...)...); r.code == 0 {
				b, _ := os.ReadFile(out)
				data2 = string(b)
			}
			if !strings.Contains(data2, "MetricsViewer") {
				t.Errorf("someone else's binding was removed:\n%s", data2)
			}
		})
	}
}

// TestReliabilityOffboarding: 50 members joined through this tool; three
// leave the roster: the plan shows three removals with their blast radius;
// a roster cut to 5 rows is refused by --max-remove; an apply SIGKILLed
// mid-removal converges on rerun, removing exactly the three; the next plan
// is empty; a member the tool did not invite is never removed.
func TestReliabilityOffboarding(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.yaml")
	var b strings.Builder
	b.WriteString("confluent:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - email: m%02d@example.com\n    status: INVITE_STATUS_ACCEPTED\n", i)
		if i == 49 {
			b.WriteString("    api_keys: [KEYM49]\n")
		}
	}
	b.WriteString("  - email: stranger@example.com\n    status: INVITE_STATUS_ACCEPTED\n    creator: u-someone-else\n")
	if err := os.WriteFile(seed, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--seed", seed, "--latency", "30ms")
	roster := filepath.Join(dir, "roster.csv")
	rows := [][]string{{"email"}}
	for i := range 47 {
		rows = append(rows, []string{fmt.Sprintf("m%02d@example.com", i)})
	}
	writeRoster(t, roster, rows)
	common := append(providerArgs("confluent", e.url), "--ledger", filepath.Join(dir, "ledger.jsonl"), "--no-progress",
		"--log-level", "warn", "--remove-members", "--allow-key-loss", "--concurrency", "1")
	run := func(report string, args ...string) result {
		return invitesync(t, runOpts{}, append(append(args, "--report", filepath.Join(dir, report)), common...)...)
	}

	r := run("plan", "plan", "--roster", roster)
	if r.code != 2 {
		t.Fatalf("plan: %v", r)
	}
	usersBefore := e.accessStats().Access["confluent"].Users
	doc := readReportJSON(t, filepath.Join(dir, "plan"))
	if doc.Summary["remove_member"] != 3 {
		t.Fatalf("plan: %d removals, want 3 (m47..m49)\n%s", doc.Summary["remove_member"], r.stdout)
	}
	if !strings.Contains(r.stdout, "KEYM49") {
		t.Errorf("m49's removal does not show the API key that goes with it:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "stranger@example.com") || doc.Summary["unmanaged"] < 1 {
		t.Errorf("the stranger is not listed as an unmanaged member:\n%s", r.stdout)
	}

	cut := filepath.Join(dir, "cut.csv")
	writeRoster(t, cut, rows[:6])
	if r := run("cut", "apply", "--yes", "--roster", cut); r.code != 4 || !strings.Contains(r.stderr, "--max-remove") {
		t.Fatalf("a roster cut to 5 rows: want exit 4 from --max-remove: %v", r)
	}

	// Kill the apply once its first removal is on the wire.
	cmd := startInvitesync(t, runOpts{}, append([]string{"apply", "--yes", "--roster", roster, "--report", filepath.Join(dir, "kill")}, common...)...)
	audit := filepath.Join(dir, "kill", "audit.jsonl")
	waitFor(t, "the first removal", 60e9, func() bool {
		data, _ := os.ReadFile(audit)
		return strings.Contains(string(data), "DELETE")
	})
	cmd.Process.Kill()
	cmd.Wait()
	if r := run("resume", "apply", "--yes", "--roster", roster); r.code != 0 {
		t.Fatalf("apply after the kill: %v", r)
	}
	if r := run("final", "plan", "--roster", roster); r.code != 0 {
		t.Fatalf("final plan: want exit 0: %v", r)
	}
	if gone := usersBefore - e.accessStats().Access["confluent"].Users; gone != 3 {
		t.Errorf("%d users removed, want exactly the 3 who left the roster", gone)
	}
	final := readReportJSON(t, filepath.Join(dir, "final"))
	have := map[string]bool{}
	for _, a := range final.Actions {
		have[a.Email] = true
		if a.Op == "remove-member" {
			t.Errorf("the final plan still removes %s", a.Email)
		}
	}
	if !have["stranger@example.com"] || final.Summary["unmanaged"] != 1 {
		t.Errorf("the member the tool did not invite is not listed unmanaged any more (removed?): %v", final.Summary)
	}
}

// TestReliabilityAccessCSP: CSP gives roles with the invitation and changes
// an org user's roles once they accept. Under 20% faults: invite, accept,
// grant; dump reads the roles back; the next plan is empty; the default
// org_member sent with the invitation is not this tool's grant, so it is
// listed unmanaged and never removed; a role this tool granted is removed
// when the roster's cell drops it.
func TestReliabilityAccessCSP(t *testing.T) {
	const p = "csp"
	e := startEmulator(t)
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.csv")
	rows := [][]string{{"email", "roles"}}
	for i := range 6 {
		rows = append(rows, []string{fmt.Sprintf("ops%02d@example.com", i), "org_owner"})
	}
	writeRoster(t, roster, rows)
	common := append(providerArgs(p, e.url), "--ledger", filepath.Join(dir, "ledger.jsonl"), "--no-progress", "--log-level", "warn",
		"--rate", "1000", "--max-revoke", "100%")
	run := func(report string, args ...string) result {
		return invitesync(t, runOpts{}, append(append(args, "--roster", roster, "--report", filepath.Join(dir, report)), common...)...)
	}
	converge := func(what string) { convergeUnderFaults(t, e, what, run) }
	converge("invite")
	for i := range 6 {
		e.accept(p, fmt.Sprintf("ops%02d@example.com", i))
	}
	converge("grant")
	if r := run("plan", "plan"); r.code != 0 {
		t.Fatalf("plan after onboarding: want exit 0: %v", r)
	}
	out := filepath.Join(dir, "dump.csv")
	if r := invitesync(t, runOpts{}, append([]string{"dump", "--out", out}, providerArgs(p, e.url)...)...); r.code != 0 {
		t.Fatalf("dump: %v", r)
	}
	data, _ := os.ReadFile(out)
	if n := strings.Count(string(data), "org_member;org_owner"); n != 6 {
		t.Errorf("%d of 6 members read back holding org_member and org_owner:\n%s", n, data)
	}
	// ops00 drops org_owner: the one role this tool granted goes.
	rows[1][1] = "org_member"
	writeRoster(t, roster, rows)
	r := run("changed", "plan")
	s := readReportJSON(t, filepath.Join(dir, "changed")).Summary
	if r.code != 2 || s["ungrant"] != 1 || s["grant"] != 0 {
		t.Fatalf("one changed cell: exit %d, summary %v; want 1 ungrant\n%s", r.code, s, r.stdout)
	}
	if r := run("applied", "apply", "--yes"); r.code != 0 {
		t.Fatalf("apply of the change: %v", r)
	}
	if r := run("final", "plan"); r.code != 0 {
		t.Fatalf("final plan: %v", r)
	}
}
