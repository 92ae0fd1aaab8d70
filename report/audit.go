package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/invitesync/invitesync/providers"
)

// AuditFile is the audit log's name inside the report directory.
const AuditFile = "audit.jsonl"

// auditSyncEvery bounds what a machine crash (not just a killed process, whose
// writes the kernel already holds) can lose from the audit log.
const (
	auditSyncEvery   = time.Second
	auditSyncRecords = 256
)

// Audit is the append-only audit.jsonl: one JSON line per upstream request
// attempt, written as it happens so a killed run keeps what it did. Earlier
// runs' lines are kept (the file is opened for append). Safe for concurrent
// use; a nil *Audit records nothing.
type Audit struct {
	mu       sync.Mutex
	f        *os.File
	buf      []byte
	unsynced int
	lastSync time.Time
	err      error // first write error, returned by Close
	closed   bool
	timer    *time.Timer // syncs a quiet log auditSyncEvery after its last unsynced line
}

// auditLine is one line of audit.jsonl.
type auditLine struct {
	Time      time.Time `json:"time"`
	Action    string    `json:"action"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
	Attempt   int       `json:"attempt"`
	RequestID string    `json:"request_id"`
	Error     string    `json:"error"`
}

// OpenAudit opens (creating dir and the file if needed) dir/audit.jsonl for
// append, keeping earlier runs' lines. It never writes through something
// planted at that name: a symlink is refused (O_NOFOLLOW), and so is anything
// that is not a regular file with a single name (a FIFO, a device, a hard
// link to another file).
func OpenAudit(dir string) (*Audit, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	path := filepath.Join(dir, AuditFile)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("open audit log: %s is a symlink: remove it; the audit log is never written through one", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|auditOpenFlags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open audit log: %s is not a regular file (%s): remove it", path, fi.Mode().Type())
	}
	if n := linkCount(fi); n > 1 {
		f.Close()
		return nil, fmt.Errorf("open audit log: %s has %d hard links: remove it; the audit log is never written into another file", path, n)
	}
	return &Audit{f: f, lastSync: time.Now()}, nil
}

// Record appends one attempt as one line in a single write(2), so concurrent
// lines never interleave and a kill never leaves half a line behind an
// earlier one. Its signature has no error (it is a provider callback): the
// first failure is kept and returned by Close.
func (a *Audit) Record(at providers.Attempt) {
	if a == nil {
		return
	}
	line := auditLine{
		Time:      at.Time.UTC(),
		Action:    at.Action,
		Method:    at.Method,
		Path:      redactPath(at.Path),
		Status:    at.Status,
		LatencyMS: float64(at.Latency.Microseconds()) / 1000,
		Attempt:   at.Attempt,
		RequestID: at.RequestID,
		Error:     at.Error,
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		a.keep(errors.New("record after close"))
		return
	}
	b, err := json.Marshal(line)
	if err != nil {
		a.keep(err)
		return
	}
	a.buf = append(append(a.buf[:0], b...), '\n')
	if _, err := a.f.Write(a.buf); err != nil {
		a.keep(err)
		return
	}
	a.unsynced++
	switch {
	case a.unsynced >= auditSyncRecords || time.Since(a.lastSync) >= auditSyncEvery:
		a.sync()
	case a.timer == nil:
		// The run may go quiet (a long Retry-After): sync what is pending then.
		a.timer = time.AfterFunc(auditSyncEvery, a.syncPending)
	default:
		a.timer.Reset(auditSyncEvery)
	}
}

// syncPending is the timer's sync of lines written since the last one.
func (a *Audit) syncPending() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed && a.unsynced > 0 {
		a.sync()
	}
}

// sync flushes the file to disk; a.mu is held.
func (a *Audit) sync() {
	if err := a.f.Sync(); err != nil {
		a.keep(err)
	}
	a.unsynced = 0
	a.lastSync = time.Now()
}

func (a *Audit) keep(err error) {
	if a.err == nil {
		a.err = fmt.Errorf("audit log: %w", err)
	}
}

// Close syncs and closes the log and returns the first error met since Open.
func (a *Audit) Close() error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return a.err
	}
	a.closed = true
	if a.timer != nil {
		a.timer.Stop()
	}
	a.sync()
	if err := a.f.Close(); err != nil {
		a.keep(err)
	}
	return a.err
}

// secretParams are query parameters whose values never reach the audit log.
// Providers already keep secrets out of Attempt.Path; this is a second guard.
var secretParams = []string{"token", "secret", "password", "key", "code", "sig", "signature", "auth", "credential"}

// redactPath replaces the values of secret-looking query parameters with
// REDACTED. page_token is kept: it is an opaque cursor, useful to debug paging.
func redactPath(p string) string {
	path, rawQuery, ok := strings.Cut(p, "?")
	if !ok || rawQuery == "" {
		return p
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		// Unparseable: keep only the path rather than risk a secret.
		return path + "?REDACTED"
	}
	changed := false
	for name, vals := range q {
		if !isSecretParam(name) {
			continue
		}
		for i := range vals {
			vals[i] = "REDACTED"
		}
		changed = true
	}
	if !changed {
		return p
	}
	return path + "?" + q.Encode()
}

func isSecretParam(name string) bool {
	n := strings.ToLower(name)
	if n == "page_token" || n == "pagetoken" {
		return false
	}
	for _, s := range secretParams {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
