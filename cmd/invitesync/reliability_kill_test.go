//go:build reliability

package main_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReliabilityKill: an apply of 1,000 creates and 50 revokes is SIGKILLed
// at a point picked per seed (a share of the audit lines it will write, plus
// jitter), under light faults (5% 500/reset, so some kills land between a
// create that may have applied and its read-back). A second apply converges:
// exit 0, every roster person invited exactly once (no duplicate create
// reached the upstream, no extra invitation exists), the final plan exits 0,
// and the accepted person this tool invited, absent from the roster, was
// never revoked. Ownership is the creator (Confluent, CSP) plus --ledger.
func TestReliabilityKill(t *testing.T) {
	for _, sc := range []struct {
		provider string
		seed     uint64
		share    float64 // of the kill run's expected audit lines
	}{
		{"confluent", 1, 0.10},
		{"confluent", 2, 0.50},
		{"confluent", 3, 0.90},
		{"csp", 4, 0.30},
		{"csp", 5, 0.80},
		{"azure", 6, 0.50},
	} {
		t.Run(fmt.Sprintf("%s/seed%d", sc.provider, sc.seed), func(t *testing.T) {
			t.Parallel()
			killAndResume(t, sc.provider, sc.seed, sc.share)
		})
	}
}

func killAndResume(t *testing.T, p string, seed uint64, share float64) {
	const (
		creates = 1000
		revokes = 50
		kept    = 10
		acc     = "accepted@example.com"
	)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	emu := startEmulator(t, "--latency", "2ms", "--fault-seed", fmt.Sprint(seed))
	dir := t.TempDir()
	ledger := filepath.Join(dir, "ledger.jsonl")
	common := append(providerArgs(p, emu.url), "--ledger", ledger, "--no-progress", "--log-format", "json", "--log-level", "warn",
		"--rate", "100000", "--concurrency", "16", "--max-revoke", "100%", "--format", "json")
	apply := func(roster, report string) []string {
		return append([]string{"apply", "--yes", "--roster", roster, "--report", filepath.Join(dir, report)}, common...)
	}

	// Before: the accepted person, 50 people who will leave, 10 who stay.
	setup := [][]string{{"email"}, {acc}}
	for i := range revokes {
		setup = append(setup, []string{fmt.Sprintf("old%02d@example.com", i)})
	}
	after := [][]string{{"email"}}
	for i := range kept {
		row := []string{fmt.Sprintf("keep%02d@example.com", i)}
		setup, after = append(setup, row), append(after, row)
	}
	for i := range creates {
		after = append(after, []string{fmt.Sprintf("person%04d@example.com", i)})
	}
	setupRoster, roster := filepath.Join(dir, "setup.csv"), filepath.Join(dir, "roster.csv")
	writeRoster(t, setupRoster, setup)
	writeRoster(t, roster, after)
	if r := invitesync(t, runOpts{}, apply(setupRoster, "setup")...); r.code != 0 {
		t.Fatalf("setup apply: %v", r)
	}
	emu.accept(p, acc)
	before := emu.stats().Invitations[p]

	// The kill run's requests: one per create (CSP: per batch of 20), one per
	// revoke (none on Azure), plus who-am-I and the listing.
	expected := creates + revokes
	switch p {
	case "csp":
		expected = creates/20 + revokes
	case "azure":
		expected = creates
	}
	killAt := int(share*float64(expected)) + rng.IntN(expected/20+1)
	emu.setFaults(0.05, "500", "reset")
	cmd := startInvitesync(t, runOpts{}, apply(roster, "kill")...)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	audit := filepath.Join(dir, "kill", "audit.jsonl")
	deadline := time.Now().Add(2 * time.Minute)
poll:
	for countLines(audit) < killAt {
		select {
		case <-exited:
			t.Fatalf("apply ended (exit %d) before audit line %d of ~%d: the kill would not land mid-run\n%s",
				cmd.ProcessState.ExitCode(), killAt, expected, cmd.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			break poll
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	<-exited
	if cmd.ProcessState.ExitCode() != -1 {
		t.Fatalf("the apply was not killed mid-run: exit %d", cmd.ProcessState.ExitCode())
	}
	mid := emu.stats().Invitations[p]
	t.Logf("killed at audit line %d of ~%d: %d pending upstream (from %d)", countLines(audit), expected, mid["pending"], before["pending"])
	if _, err := os.Stat(filepath.Join(dir, "kill", "report.json")); err == nil {
		t.Errorf("a killed apply left a report.json: it cannot have finished")
	}

	r := invitesync(t, runOpts{}, apply(roster, "resume")...)
	if r.code != 0 {
		t.Fatalf("apply after the kill: %v", r)
	}
	if st := readReportJSON(t, filepath.Join(dir, "resume")).statuses(); st["failed"]+st["skipped"] != 0 {
		t.Errorf("resume statuses %v", st)
	}
	if r := invitesync(t, runOpts{}, append([]string{"plan", "--roster", roster, "--report", filepath.Join(dir, "plan")}, common...)...); r.code != 0 {
		t.Errorf("final plan: want exit 0 (nothing to change): %v", r)
	}

	st := emu.stats()
	got := st.Invitations[p]
	if st.DuplicateCreates != 0 {
		t.Errorf("duplicate_creates = %d, want 0", st.DuplicateCreates)
	}
	// Every roster person holds one pending invitation, the accepted one is
	// still accepted, and nothing else was created: the total is the setup's
	// invitations plus one per new person.
	wantPending, wantRevoked := int64(creates+kept), int64(revokes)
	if p == "azure" {
		wantPending, wantRevoked = creates+kept+revokes, 0 // no revoke on Azure
	}
	if got["pending"] != wantPending || got["accepted"] != 1 || got["revoked"] != wantRevoked {
		t.Errorf("upstream after resume: %v; want %d pending, 1 accepted, %d revoked", got, wantPending, wantRevoked)
	}
	total := got["pending"] + got["accepted"] + got["revoked"] + got["expired"]
	if want := int64(1 + revokes + kept + creates); total != want {
		t.Errorf("%d invitations upstream, want %d: someone was invited twice", total, want)
	}
	for _, run := range []string{"kill", "resume"} {
		for _, a := range readAudit(t, filepath.Join(dir, run)) {
			if strings.Contains(a.Action, acc) {
				t.Errorf("%s run touched the accepted invitation: %+v", run, a)
			}
		}
	}
	if !dumpEmails(t, p, emu.url)[acc] {
		t.Errorf("%s is no longer in the upstream", acc)
	}
	checkLedger(t, ledger)

	// Ownership survived the kill: every invitation upstream was made by
	// this tool, so a roster without them owns them all (none unmanaged),
	// including the ones whose create was on the wire when it died.
	only := filepath.Join(dir, "only.csv")
	writeRoster(t, only, [][]string{{"email"}, {acc}})
	r = invitesync(t, runOpts{}, append([]string{"plan", "--roster", only, "--report", filepath.Join(dir, "owned")}, common...)...)
	if r.code != 2 && r.code != 0 { // 0 on Azure: its revokes are unsupported
		t.Fatalf("plan without the roster people: %v", r)
	}
	if n := readReportJSON(t, filepath.Join(dir, "owned")).Summary["unmanaged"]; n != 0 {
		t.Errorf("%d invitations this tool made count as unmanaged after the kill", n)
	}
}

// checkLedger: the ledger parses (a torn last line of a killed run is cut by
// the next run) and names no invitation, and no email, twice: this tool
// created one invitation per person.
func checkLedger(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	ids, emails := map[string]int{}, map[string]int{}
	for i, line := range lines {
		var e struct {
			Kind  string `json:"kind"`
			ID    string `json:"id"`
			Email string `json:"email"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("ledger line %d of %d does not parse: %q", i+1, len(lines), line)
			continue
		}
		if e.Kind != "" {
			continue // intents (one per create sent) and access lines
		}
		if e.ID != "" {
			if prev, dup := ids[e.ID]; dup {
				t.Errorf("ledger lines %d and %d name invitation %s", prev, i+1, e.ID)
			}
			ids[e.ID] = i + 1
		}
		k := strings.ToLower(e.Email)
		if prev, dup := emails[k]; dup {
			t.Errorf("ledger lines %d and %d both record a create for %s", prev, i+1, e.Email)
		}
		emails[k] = i + 1
	}
}
