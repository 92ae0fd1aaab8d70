package main

import (
	"errors"
	"fmt"
	"os"
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
			"--ledger", ledger, "--report", filepath.Join(dir, report), "--concurrency", "1", "--no-progress", "--max-revoke", "100%"}
	}

	first := make(chan cliResult, 1)
	go func() { first <- runCLI(t, args("first")...) }()
	// Wait until the first run holds the lock.
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := reconcile.AcquireLock([]string{realDir(t, dir) + "/ledger.jsonl.lock"}, reconcile.Holder{})
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
	// One org is one lock whatever the spelling: another ledger, the
	// endpoint as localhost, is refused while a run holds the org.
	many := filepath.Join(dir, "many.csv")
	rows := "email\n"
	for i := range 50 {
		rows += fmt.Sprintf("late%02d@example.com\n", i)
	}
	if err := os.WriteFile(many, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	first = make(chan cliResult, 1)
	go func() {
		a := args("fourth")
		a[3] = many
		first <- runCLI(t, append(a, "--max-revoke", "100%")...)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		l, err := reconcile.AcquireLock([]string{realDir(t, dir) + "/ledger.jsonl.lock"}, reconcile.Holder{})
		var le *reconcile.LockedError
		if errors.As(err, &le) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
		select {
		case r := <-first:
			t.Fatalf("the fourth apply ended before it was seen holding the lock: %v", r)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the fourth apply never took the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	other := runCLI(t, "apply", "--yes", "--roster", sampleRoster, "--provider", "confluent",
		"--endpoint", strings.Replace(url, "127.0.0.1", "localhost", 1), "--ledger", filepath.Join(dir, "other-ledger.jsonl"),
		"--report", filepath.Join(dir, "other"), "--no-progress")
	if other.code != exitRefused || !strings.Contains(other.stderr, "another run holds the lock") {
		t.Fatalf("apply of the same org through another spelling and ledger: want exit 4, got %v", other)
	}
	if r := <-first; r.code != exitOK {
		t.Fatalf("fourth apply: %v", r)
	}

	// The lock is free again: a third apply has nothing more to do and exits 0.
	if r := runCLI(t, args("third")...); r.code != exitOK {
		t.Fatalf("apply after the lock was released: %v", r)
	}
}

func realDir(t *testing.T, dir string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Each test process keeps its org locks to itself: the emulator gives every
// instance the same org ids, and packages run in parallel.
func init() {
	dir, err := os.MkdirTemp("", "invitesync-locks-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("INVITESYNC_LOCK_DIR", dir)
}
