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
	"strings"
	"sync"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// Ledger entry kinds. The zero kind is an invitation this tool created.
const (
	KindInvitation = ""
	KindIntent     = "intent" // a create is about to be sent (written before it)
	KindGrant      = "grant"  // a role this tool granted
	KindUngrant    = "ungrant"
	KindMember     = "member" // an existing member adopted as managed (--adopt)
)

// LedgerEntry is one line of the ledger file.
type LedgerEntry struct {
	Provider     string `json:"provider"`
	Organization string `json:"organization"`
	Kind         string `json:"kind,omitempty"`
	ID           string `json:"id"` // invitation or binding id; "" when the upstream did not say
	Email        string `json:"email"`
	// UpstreamCreatedAt is the invitation's creation time as the upstream
	// itself reported it: an id-less invitation is ours only when the
	// upstream reports exactly this time again. Our clock is never compared
	// with the upstream's.
	UpstreamCreatedAt time.Time `json:"upstream_created_at,omitzero"`
	// Known (intent) lists the ids of the email's invitations that existed
	// before the create, so the one the create made can be told apart.
	Known []string `json:"known,omitempty"`
	Role  string   `json:"role,omitempty"` // grant, ungrant
	// CreatedAt is when the line was written (this machine's clock; for people).
	CreatedAt time.Time `json:"created_at"`
}

// Ledger is the record of what this tool did in one provider's organization
// (--ledger FILE, JSON lines): invitations it created (ownership where the
// upstream has no creator, or the principal changed), creates it was about
// to send (intents, so a crash mid-create never turns its own invitation
// into someone else's), roles it granted, members adopted. Each line is
// appended and fsynced before the step it records counts as done. Safe for
// concurrent use.
type Ledger struct {
	path         string // "" = in memory only
	provider     string
	organization string

	mu      sync.Mutex
	f       *os.File
	written uint64     // lines written to f
	syncMu  sync.Mutex // one fsync at a time
	synced  uint64     // lines known durable
	entries []LedgerEntry
	ids     map[string]struct{}
	idless  map[string][]time.Time // email key -> upstream creation times of id-less entries
	invited map[string]struct{}    // email keys with any invitation entry
	intents map[string]LedgerEntry // email key -> latest unresolved intent
	grants  map[string]struct{}    // grantKey -> granted by this tool (and not ungranted since)
	adopted map[string]struct{}    // email keys
}

// LoadLedger reads the ledger at path, keeping the entries of provider and
// organization (the org's canonical id); others are ignored (one file may
// serve several jobs). Entries an older build keyed by a legacy display
// name (Confluent's API host) are kept only when they name an invitation id,
// which is unique across orgs. A missing file is an empty ledger; path "" is
// an in-memory ledger that persists nothing. A final line cut short by a
// crash is ignored; any other malformed line is an error naming it.
func LoadLedger(path, provider, organization string, legacy ...string) (*Ledger, error) {
	l := &Ledger{path: path, provider: provider, organization: organization,
		ids: map[string]struct{}{}, idless: map[string][]time.Time{}, invited: map[string]struct{}{},
		intents: map[string]LedgerEntry{}, grants: map[string]struct{}{}, adopted: map[string]struct{}{}}
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
				break // the last write of a killed run: its intent line (if any) came first
			}
			return nil, fmt.Errorf("read ledger %s:%d: %w", path, n+1, err)
		}
		switch {
		case e.Provider != provider:
		case e.Organization == organization:
			l.index(e)
		case e.Kind == KindInvitation && e.ID != "" && slices.Contains(legacy, e.Organization):
			l.index(e)
		}
	}
	return l, nil
}

func grantKey(email, role string) string { return sources.Key(email) + "\x00" + role }

func (l *Ledger) index(e LedgerEntry) {
	l.entries = append(l.entries, e)
	k := sources.Key(e.Email)
	switch e.Kind {
	case KindInvitation:
		if e.ID != "" {
			l.ids[e.ID] = struct{}{}
		} else if !e.UpstreamCreatedAt.IsZero() {
			l.idless[k] = append(l.idless[k], e.UpstreamCreatedAt)
		}
		l.invited[k] = struct{}{}
		delete(l.intents, k)
	case KindIntent:
		l.intents[k] = e
	case KindGrant:
		l.grants[grantKey(e.Email, e.Role)] = struct{}{}
	case KindUngrant:
		delete(l.grants, grantKey(e.Email, e.Role))
	case KindMember:
		l.adopted[k] = struct{}{}
	}
}

// Owns reports whether the ledger lists inv: by id, or, for id-less
// entries, by email and the exact creation time the upstream reported when
// the entry was written. A nil ledger owns nothing.
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
	if inv.CreatedAt.IsZero() {
		return false
	}
	for _, at := range l.idless[sources.Key(inv.Email)] {
		if at.Equal(inv.CreatedAt) {
			return true
		}
	}
	return false
}

// OwnsMember reports whether a member with this email joined through an
// invitation this tool made, or was adopted.
func (l *Ledger) OwnsMember(email string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := sources.Key(email)
	_, inv := l.invited[k]
	_, ad := l.adopted[k]
	return inv || ad
}

// OwnsGrant reports whether this tool granted role to email (and has not
// removed it since).
func (l *Ledger) OwnsGrant(email, role string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.grants[grantKey(email, role)]
	return ok
}

// Intents returns the creates that were about to be sent and whose outcome
// no later line records.
func (l *Ledger) Intents() []LedgerEntry {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LedgerEntry, 0, len(l.intents))
	for _, e := range l.intents {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b LedgerEntry) int { return strings.Compare(a.Email, b.Email) })
	return out
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
// before returning. An id-less entry owns nothing (see RecordInvitation).
func (l *Ledger) Record(id, email string, at time.Time) error {
	return l.RecordInvitation(providers.Invitation{ID: id, Email: email}, email, at)
}

// RecordInvitation records that inv, created for email, is this tool's: by
// its id, or, with none, by the creation time the upstream reported.
func (l *Ledger) RecordInvitation(inv providers.Invitation, email string, at time.Time) error {
	return l.write(LedgerEntry{ID: inv.ID, Email: email, UpstreamCreatedAt: inv.CreatedAt.UTC(), CreatedAt: at})
}

// RecordIntent records, before a create is sent, that it is about to be,
// with the ids of the email's invitations that exist already.
func (l *Ledger) RecordIntent(email string, known []string, at time.Time) error {
	return l.write(LedgerEntry{Kind: KindIntent, Email: email, Known: known, CreatedAt: at})
}

// RecordGrant records a role this tool granted (id: the binding's, if any).
func (l *Ledger) RecordGrant(email, role, id string, at time.Time) error {
	return l.write(LedgerEntry{Kind: KindGrant, Email: email, Role: role, ID: id, CreatedAt: at})
}

// RecordUngrant records that a role this tool granted was removed.
func (l *Ledger) RecordUngrant(email, role string, at time.Time) error {
	return l.write(LedgerEntry{Kind: KindUngrant, Email: email, Role: role, CreatedAt: at})
}

// Adopt records an existing member as managed by this tool.
func (l *Ledger) Adopt(email string, at time.Time) error {
	return l.write(LedgerEntry{Kind: KindMember, Email: email, CreatedAt: at})
}

// ResolveIntents settles creates whose outcome a crash (or an unanswered
// request) left unknown, from the current listing: an invitation for the
// intent's email that did not exist before it (not in Known) is the one the
// create made, and is recorded as ours (on disk too when persist is set,
// i.e. in apply). It returns the emails resolved.
func (l *Ledger) ResolveIntents(current []providers.Invitation, persist bool, at time.Time) ([]string, error) {
	intents := l.Intents()
	if len(intents) == 0 {
		return nil, nil
	}
	byKey := map[string]LedgerEntry{}
	for _, e := range intents {
		byKey[sources.Key(e.Email)] = e
	}
	found := map[string]*providers.Invitation{}
	for i := range current {
		inv := &current[i]
		k := sources.Key(inv.Email)
		e, ok := byKey[k]
		if !ok || slices.Contains(e.Known, inv.ID) && inv.ID != "" {
			continue
		}
		// The oldest new one: anything later was made after ours.
		if prev := found[k]; prev == nil || inv.CreatedAt.Before(prev.CreatedAt) {
			found[k] = inv
		}
	}
	var resolved []string
	for k, inv := range found {
		e := LedgerEntry{ID: inv.ID, Email: byKey[k].Email, UpstreamCreatedAt: inv.CreatedAt.UTC(), CreatedAt: at}
		var err error
		if persist {
			err = l.write(e)
		} else {
			l.mu.Lock()
			e.Provider, e.Organization = l.provider, l.organization
			l.index(e)
			l.mu.Unlock()
		}
		if err != nil {
			return resolved, err
		}
		resolved = append(resolved, e.Email)
	}
	slices.Sort(resolved)
	return resolved, nil
}

// write appends e (stamped with the ledger's provider and org) and indexes it.
func (l *Ledger) write(e LedgerEntry) error {
	if l == nil {
		return nil
	}
	e.Provider, e.Organization = l.provider, l.organization
	e.CreatedAt = e.CreatedAt.UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("record in ledger: %w", err)
	}
	l.mu.Lock()
	if l.path == "" {
		l.index(e)
		l.mu.Unlock()
		return nil
	}
	if err := l.open(); err != nil {
		l.mu.Unlock()
		return err
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		l.mu.Unlock()
		return fmt.Errorf("record in ledger: %w", err)
	}
	l.written++
	seq, f := l.written, l.f
	l.mu.Unlock()
	// Group commit: one fsync covers every line written before it started,
	// so concurrent creates do not queue behind each other's fsync.
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.synced < seq {
		l.mu.Lock()
		upTo := l.written
		l.mu.Unlock()
		if err := f.Sync(); err != nil {
			return fmt.Errorf("record in ledger: %w", err)
		}
		l.synced = upTo
	}
	// Indexed only once durable: nothing counts as ours before it is on disk.
	l.mu.Lock()
	l.index(e)
	l.mu.Unlock()
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
