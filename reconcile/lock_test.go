package reconcile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLockExcludesSecondHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.jsonl.lock")
	h := Holder{PID: os.Getpid(), Host: "here", StartedAt: time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC), Provider: "confluent"}
	l, err := AcquireLock(path, h)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(path, Holder{PID: 1})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second acquire: %v, want *LockedError", err)
	}
	if le.Holder.PID != os.Getpid() || !strings.Contains(err.Error(), "another run holds the lock") || !strings.Contains(err.Error(), "2026-11-24T01:02:03Z") {
		t.Fatalf("message %q does not name the holder", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := AcquireLock(path, Holder{PID: 2})
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	l2.Release()
}

// A holder killed without releasing leaves its file behind; the kernel has
// dropped its flock, so the next run takes the lock.
func TestLockLeftByKilledProcessIsFree(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("flock(1) not installed")
	}
	path := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command("flock", "-o", "-x", path, "sleep", "60") // -o: only flock itself holds it
	// Its own process group, so the kill below also reaches sleep, which
	// holds a copy of the descriptor for the instant before -o closes it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := AcquireLock(path, Holder{})
		var le *LockedError
		if errors.As(err, &le) {
			break // the child holds it
		}
		if err != nil {
			t.Fatal(err)
		}
		l.Release() // we won the race with the child: let it take the lock
		if time.Now().After(deadline) {
			t.Fatal("child never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	// The kernel drops the lock as the killed processes' files are closed:
	// allow it a moment, never a guess about a pid.
	for deadline := time.Now().Add(5 * time.Second); ; {
		l, err := AcquireLock(path, Holder{PID: 3})
		if err == nil {
			l.Release()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock left by a killed holder: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLockPath(t *testing.T) {
	if got := LockPath("/var/lib/invitesync/ledger.jsonl", "csp", "o"); got != "/var/lib/invitesync/ledger.jsonl.lock" {
		t.Errorf("with ledger: %s", got)
	}
	a, b := LockPath("", "csp", "org-a"), LockPath("", "csp", "org-b")
	if a == b || !strings.HasPrefix(filepath.Base(a), "invitesync-csp-") {
		t.Errorf("per-org locks: %s %s", a, b)
	}
}
