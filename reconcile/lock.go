package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// RunLock keeps two applies against one org from acting at once. It is an
// advisory file lock (flock(2) on Unix, LockFileEx on Windows), so the kernel
// drops it when its holder dies, even by SIGKILL: a lock file left behind is
// never mistaken for a live holder. A run takes one lock per key (see
// LockPaths) and holds all of them or none.
type RunLock struct {
	locks []*flock.Flock
}

// Holder is what a lock's holder file says about the run that holds it.
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
	Holder Holder // zero when the holder file could not be read
}

func (e *LockedError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("another run holds the lock %s; wait for it to finish", e.Path)
	}
	return fmt.Sprintf("another run holds the lock %s (pid %d on %s, started %s); wait for it to finish",
		e.Path, e.Holder.PID, e.Holder.Host, e.Holder.StartedAt.Format(time.RFC3339))
}

// LockDir is where the per-org locks of this machine live:
// $INVITESYNC_LOCK_DIR, else invitesync-locks-UID in the temporary
// directory (one per user: a directory another user made could not be
// written, and a run must never fail on that).
func LockDir() string {
	if d := os.Getenv("INVITESYNC_LOCK_DIR"); d != "" {
		return d
	}
	name := "invitesync-locks"
	if uid := os.Getuid(); uid >= 0 {
		name += "-" + strconv.Itoa(uid)
	}
	return filepath.Join(os.TempDir(), name)
}

// LockPaths are the locks a run against provider's org takes: one keyed by
// the org's canonical identity (so every run on this machine against that
// org excludes the others, whatever endpoint spelling, ledger or working
// directory it uses), and, with a ledger, one next to the ledger's real path
// (symlinks resolved), so runs on other machines sharing that ledger's
// volume exclude each other too.
func LockPaths(dir, ledger, provider, org string) ([]string, error) {
	sum := sha256.Sum256([]byte(provider + "\x00" + org))
	paths := []string{filepath.Join(dir, provider+"-"+hex.EncodeToString(sum[:8])+".lock")}
	if ledger != "" {
		real, err := realPath(ledger)
		if err != nil {
			return nil, fmt.Errorf("lock: ledger %s: %w", ledger, err)
		}
		paths = append(paths, real+".lock")
	}
	return paths, nil
}

// realPath resolves symlinks in path's directory and in path itself when it
// exists, so two spellings of one file give one lock.
func realPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// AcquireLock takes every lock in paths without waiting, in order: a
// *LockedError when another run holds one of them (and none is kept).
// A lock file is opened without following a symlink planted in its place
// and is never truncated; who holds it is written to a holder file beside
// it, replaced whole.
func AcquireLock(paths []string, h Holder) (*RunLock, error) {
	rl := &RunLock{}
	for _, path := range paths {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			rl.Release()
			return nil, fmt.Errorf("lock: %w", err)
		}
		fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR|noFollow), flock.SetPermissions(0o600))
		ok, err := fl.TryLock()
		if err != nil {
			rl.Release()
			if isSymlinkRefusal(path) {
				return nil, fmt.Errorf("lock %s: it is a symlink; refusing to follow it (remove it)", path)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !ok {
			rl.Release()
			le := &LockedError{Path: path}
			if b, rerr := os.ReadFile(holderPath(path)); rerr == nil {
				_ = json.Unmarshal(b, &le.Holder) // best effort: the message is still right without it
			}
			return nil, le
		}
		rl.locks = append(rl.locks, fl)
		if err := writeHolder(holderPath(path), h); err != nil {
			rl.Release()
			return nil, err
		}
	}
	return rl, nil
}

func holderPath(lock string) string { return strings.TrimSuffix(lock, ".lock") + ".lock.holder" }

func isSymlinkRefusal(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}

// writeHolder replaces the holder file (temp file and rename: a symlink
// planted at its name is replaced, never written through).
func writeHolder(path string, h Holder) error {
	b, _ := json.Marshal(h)
	f, err := os.CreateTemp(filepath.Dir(path), ".holder.*")
	if err != nil {
		return fmt.Errorf("write lock holder: %w", err)
	}
	_, werr := f.Write(append(b, '\n'))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write lock holder: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write lock holder: %w", err)
	}
	return nil
}

// Release drops every lock held. The files stay (removing one would race
// with a run that has just opened it).
func (l *RunLock) Release() error {
	if l == nil {
		return nil
	}
	var errs []error
	for i := len(l.locks) - 1; i >= 0; i-- {
		errs = append(errs, l.locks[i].Close())
	}
	l.locks = nil
	return errors.Join(errs...)
}
