package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// LedgerEntry is one line of the ledger file: an invitation this tool created.
type LedgerEntry struct {
	Provider     string    `json:"provider"`
	Organization string    `json:"organization"`
	ID           string    `json:"id"` // "" when the upstream did not say (CSP's 202)
	Email        string    `json:"email"`
	CreatedAt    time.Time `json:"created_at"`
}

// Ledger is the record of invitations this tool created in one provider's
// organization (--ledger FILE, JSON lines). It proves ownership where the
// upstream has no creator (Azure) or the tool's principal changed. Each
// successful create is appended and fsynced before the next action is
// reported, so a run killed at any point can be resumed. Safe for concurrent use.
type Ledger struct {
	path         string // "" = in memory only
	provider     string
	organization string

	mu      sync.Mutex
	f       *os.File
	entries []LedgerEntry
	ids     map[string]struct{}
	emails  map[string]time.Time // keys of entries without an id -> latest entry
}

// LoadLedger reads the ledger at path, keeping the entries of provider and
// organization (others are ignored: one file may serve several jobs). A
// missing file is an empty ledger; path "" is an in-memory ledger that
// persists nothing. A final line cut short by a crash is ignored; any other
// malformed line is an error naming it.
func LoadLedger(path, provider, organization string) (*Ledger, error) {
	l := &Ledger{path: path, provider: provider, organization: organization,
		ids: map[string]struct{}{}, emails: map[string]time.Time{}}
	if path == "" {
		return l, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	for n, line := range bytes.SplitAfter(data, []byte("\n")) {
		complete := bytes.HasSuffix(line, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var e LedgerEntry
		if err := json.Unmarshal(line, &e); err != nil {
			if !complete {
				break // the last write of a killed run: the create it records is re-planned
			}
			return nil, fmt.Errorf("read ledger %s:%d: %w", path, n+1, err)
		}
		if e.Provider == provider && e.Organization == organization {
			l.index(e)
		}
	}
	return l, nil
}

func (l *Ledger) index(e LedgerEntry) {
	l.entries = append(l.entries, e)
	if e.ID != "" {
		l.ids[e.ID] = struct{}{}
	} else if k := sources.Key(e.Email); e.CreatedAt.After(l.emails[k]) {
		l.emails[k] = e.CreatedAt
	}
}

// ledgerSkew is how far the upstream's clock may run ahead of ours when an
// id-less entry is matched by time.
const ledgerSkew = 10 * time.Minute

// Owns reports whether the ledger lists inv: by id, or, for entries recorded
// without an id, by email for an invitation created no later than the entry
// was written (give or take ledgerSkew): one made later is someone else's.
// A nil ledger owns nothing.
func (l *Ledger) Owns(inv providers.Invitation) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if inv.ID != "" {
		if _, ok := l.ids[inv.ID]; ok {
			return true
		}
	}
	at, ok := l.emails[sources.Key(inv.Email)]
	return ok && (inv.CreatedAt.IsZero() || !inv.CreatedAt.After(at.Add(ledgerSkew)))
}

// Entries returns the ledger's entries for its provider and organization.
func (l *Ledger) Entries() []LedgerEntry {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}

// Record appends that this tool created an invitation (id may be "") and,
// for a file ledger, writes it through to disk (one write, then fsync)
// before returning.
func (l *Ledger) Record(id, email string, at time.Time) error {
	e := LedgerEntry{Provider: l.provider, Organization: l.organization, ID: id, Email: email, CreatedAt: at.UTC()}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("record in ledger: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.path != "" {
		if err := l.open(); err != nil {
			return err
		}
		if _, err := l.f.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("record in ledger: %w", err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("record in ledger: %w", err)
		}
	}
	l.index(e)
	return nil
}

// open opens the file for appending on first use (plan never writes it), and
// cuts a last line a crash left unfinished (LoadLedger ignored it) so the
// next entry starts on a line of its own.
func (l *Ledger) open() error {
	if l.f != nil {
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	if err := cutTornLine(f); err != nil {
		f.Close()
		return fmt.Errorf("open ledger: %w", err)
	}
	l.f = f
	return nil
}

// cutTornLine truncates f after its last newline, reading backwards from the end.
func cutTornLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	buf := make([]byte, 4096)
	for pos := end; pos > 0; {
		n := int64(len(buf))
		if pos < n {
			n = pos
		}
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			if keep := pos + int64(i) + 1; keep < end {
				return f.Truncate(keep)
			}
			return nil
		}
	}
	if end > 0 {
		return f.Truncate(0) // one line, never finished
	}
	return nil
}

// Close closes the ledger file, if one was opened.
func (l *Ledger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("close ledger: %w", err)
	}
	return nil
}
