package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// RunLock keeps two applies against one org (or one ledger) from acting at
// once. It is an flock(2) on a file, so the kernel drops it when its holder
// dies, even by SIGKILL: a lock file left behind is never mistaken for a live
// holder, and nothing has to guess whether a pid is stale.
type RunLock struct {
	f *os.File
}

// Holder is what a lock file says about the run that holds it.
type Holder struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	StartedAt time.Time `json:"started_at"`
	Provider  string    `json:"provider"`
	Org       string    `json:"organization"`
}

// LockedError says another run holds the lock.
type LockedError struct {
	Path   string
	Holder Holder // zero when the file could not be read
}

func (e *LockedError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("another run holds the lock %s; wait for it to finish", e.Path)
	}
	return fmt.Sprintf("another run holds the lock %s (pid %d on %s, started %s); wait for it to finish",
		e.Path, e.Holder.PID, e.Holder.Host, e.Holder.StartedAt.Format(time.RFC3339))
}

// LockPath is the lock for a run: next to the ledger when there is one (runs
// sharing a ledger share a lock), else one per provider and organization in
// the temporary directory (runs on this machine against one org share it).
func LockPath(ledger, provider, org string) string {
	if ledger != "" {
		return ledger + ".lock"
	}
	sum := sha256.Sum256([]byte(provider + "\x00" + org))
	return filepath.Join(os.TempDir(), "invitesync-"+provider+"-"+hex.EncodeToString(sum[:6])+".lock")
}

// AcquireLock takes the lock at path without waiting: a *LockedError when
// another run holds it.
func AcquireLock(path string, h Holder) (*RunLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			le := &LockedError{Path: path}
			if b, rerr := os.ReadFile(path); rerr == nil {
				_ = json.Unmarshal(b, &le.Holder) // best effort: the message is still right without it
			}
			return nil, le
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock: %w", err)
	}
	if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock: %w", err)
	}
	return &RunLock{f: f}, nil
}

// Release drops the lock. The file stays (removing it would race with a
// run that has just opened it); its contents say who held it last.
func (l *RunLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
