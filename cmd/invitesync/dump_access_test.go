package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/providers/emulator"
)

// Onboarding with roles, then dump: the roster written back holds the access
// granted, and a plan from it has nothing to change.
func TestDumpWritesAccess(t *testing.T) {
	notTerminal(t)
	_, url := cliEmulator(t, emulator.Config{})
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.csv")
	os.WriteFile(roster, []byte("email,roles\nada@example.com,EnvironmentAdmin@env-abc123\nbob@example.com,MetricsViewer;CloudClusterAdmin@env-abc123/lkc-xyz789\n"), 0o644)
	common := []string{"--provider", "confluent", "--endpoint", url}
	ledger := filepath.Join(dir, "ledger.jsonl")
	if r := runCLI(t, append([]string{"apply", "--yes", "--roster", roster, "--ledger", ledger, "--report", filepath.Join(dir, "a"), "--no-progress"}, common...)...); r.code != exitOK {
		t.Fatalf("apply with roles: %v", r)
	}
	out := filepath.Join(dir, "dump.csv")
	if r := runCLI(t, append([]string{"dump", "--out", out}, common...)...); r.code != exitOK {
		t.Fatalf("dump: %v", r)
	}
	data, _ := os.ReadFile(out)
	for _, want := range []string{"roles", "EnvironmentAdmin@env-abc123", "CloudClusterAdmin@env-abc123/lkc-xyz789;MetricsViewer"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("dump lacks %q:\n%s", want, data)
		}
	}
	if r := runCLI(t, append([]string{"plan", "--roster", out, "--ledger", ledger, "--report", filepath.Join(dir, "p")}, common...)...); r.code != exitOK {
		t.Errorf("plan from the dump: want nothing to change: %v", r)
	}
}
