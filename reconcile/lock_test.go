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
	l, err := AcquireLock([]string{path}, h)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock([]string{path}, Holder{PID: 1})
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
	l2, err := AcquireLock([]string{path}, Holder{PID: 2})
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
		l, err := AcquireLock([]string{path}, Holder{})
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
		l, err := AcquireLock([]string{path}, Holder{PID: 3})
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

func TestLockPathsKeyedByOrgAndRealLedger(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	locks := filepath.Join(dir, "locks")
	a, err := LockPaths(locks, filepath.Join(real, "ledger.jsonl"), "csp", "org-a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := LockPaths(locks, filepath.Join(link, "ledger.jsonl"), "csp", "org-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Fatalf("one ledger through a symlink gave other locks: %v vs %v", a, b)
	}
	other, _ := LockPaths(locks, "", "csp", "org-b")
	if other[0] == a[0] {
		t.Fatalf("two orgs share a lock: %v", other)
	}
	// One org, two ledgers: still one lock in common.
	c, _ := LockPaths(locks, filepath.Join(dir, "elsewhere.jsonl"), "csp", "org-a")
	if c[0] != a[0] {
		t.Fatalf("two ledgers of one org do not share the org lock: %v vs %v", c, a)
	}
	held, err := AcquireLock(a, Holder{PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	var le *LockedError
	if _, err := AcquireLock(c, Holder{PID: 2}); !errors.As(err, &le) {
		t.Fatalf("second run of the same org with another ledger: %v, want *LockedError", err)
	}
}

// A symlink planted where the lock goes is refused, and its target is
// never created, truncated or written.
func TestLockRefusesPlantedSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "precious")
	if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.lock")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if l, err := AcquireLock([]string{path}, Holder{PID: 1}); err == nil {
		l.Release()
		t.Fatal("took a lock through a planted symlink")
	} else if !strings.Contains(err.Error(), "symlink") {
		t.Errorf("error %q does not say why", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep me" {
		t.Fatalf("the symlink's target was changed: %q", b)
	}
}
