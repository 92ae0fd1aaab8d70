package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/reconcile"
)

// Two applies started together on one ledger: one applies, the other exits 4
// saying another run holds the lock, and nothing is invited twice.
func TestApplyLockOnLedger(t *testing.T) {
	notTerminal(t)
	// Slow answers keep the first apply running while the second starts.
	srv, url := cliEmulator(t, emulator.Config{Latency: 40 * time.Millisecond})
	dir := t.TempDir()
	ledger := filepath.Join(dir, "ledger.jsonl")
	args := func(report string) []string {
		return []string{"apply", "--yes", "--roster", sampleRoster, "--provider", "confluent", "--endpoint", url,
			"--ledger", ledger, "--report", filepath.Join(dir, report), "--concurrency", "1", "--no-progress"}
	}

	first := make(chan cliResult, 1)
	go func() { first <- runCLI(t, args("first")...) }()
	// Wait until the first run holds the lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := reconcile.AcquireLock(reconcile.LockPath(ledger, "", ""), reconcile.Holder{})
		var le *reconcile.LockedError
		if errors.As(err, &le) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
		if time.Now().After(deadline) {
			t.Fatal("the first apply never took the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	second := runCLI(t, args("second")...)
	if second.code != exitRefused || !strings.Contains(second.stderr, "another run holds the lock") {
		t.Fatalf("second apply: want exit 4 and the lock message, got %v", second)
	}
	if r := <-first; r.code != exitOK {
		t.Fatalf("first apply: %v", r)
	}
	if d := srv.Stats().DuplicateCreates; d != 0 {
		t.Fatalf("duplicate_creates = %d", d)
	}
	// The lock is free again: a third apply has nothing to do and exits 0.
	if r := runCLI(t, args("third")...); r.code != exitOK {
		t.Fatalf("apply after the lock was released: %v", r)
	}
}
