package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
)

func readAudit(t *testing.T, dir string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for i, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %q", i+1, err, l)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestAuditRecord(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenAudit(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	a.Record(providers.Attempt{
		Time: at, Action: "create ada@example.com", Method: "POST", Path: "/iam/v2/invitations",
		Status: 201, Latency: 12345 * time.Microsecond, Attempt: 1, RequestID: "req-1",
	})
	a.Record(providers.Attempt{
		Time: at, Action: "list", Method: "GET", Path: "/iam/v2/invitations?page_size=100&page_token=abc",
		Status: 0, Latency: time.Second, Attempt: 3, Error: "connection reset by peer",
	})
	// Written as it happens: visible before Close.
	if got := readAudit(t, dir); len(got) != 2 {
		t.Fatalf("before Close: %d lines, want 2", len(got))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAudit(t, dir)
	want := []map[string]any{
		{"time": "2026-03-01T09:00:00Z", "action": "create ada@example.com", "method": "POST", "path": "/iam/v2/invitations",
			"status": float64(201), "latency_ms": 12.345, "attempt": float64(1), "request_id": "req-1", "error": ""},
		{"time": "2026-03-01T09:00:00Z", "action": "list", "method": "GET", "path": "/iam/v2/invitations?page_size=100&page_token=abc",
			"status": float64(0), "latency_ms": float64(1000), "attempt": float64(3), "request_id": "", "error": "connection reset by peer"},
	}
	for i := range want {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("line %d = %v\nwant %v", i+1, got[i], want[i])
		}
	}

	// A second run appends: the audit of an earlier (maybe killed) run stays.
	b, err := OpenAudit(dir)
	if err != nil {
		t.Fatal(err)
	}
	b.Record(providers.Attempt{Time: at, Method: "DELETE", Path: "/iam/v2/invitations/i-1", Status: 204, Attempt: 1})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAudit(t, dir); len(got) != 3 {
		t.Errorf("after a second run: %d lines, want 3", len(got))
	}
	// Record after Close is an error Close reports, not a panic.
	b.Record(providers.Attempt{Method: "GET"})
	if err := b.Close(); err == nil {
		t.Error("Record after Close: Close returned nil")
	}
}

func TestAuditNil(t *testing.T) {
	var a *Audit
	a.Record(providers.Attempt{Method: "GET"})
	if err := a.Close(); err != nil {
		t.Error(err)
	}
}

func TestAuditConcurrent(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenAudit(dir)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				a.Record(providers.Attempt{
					Time: time.Now(), Action: fmt.Sprintf("create w%d-%d@example.com", w, i), Method: "POST",
					Path: "/iam/v2/invitations", Status: 201, Attempt: 1, RequestID: strings.Repeat("r", 200),
				})
			}
		})
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readAudit(t, dir) // fails on any interleaved (non-JSON) line
	if len(lines) != workers*each {
		t.Fatalf("%d lines, want %d", len(lines), workers*each)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l["action"].(string)] = true
	}
	if len(seen) != workers*each {
		t.Errorf("%d distinct actions, want %d", len(seen), workers*each)
	}
}

func TestRedactPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/iam/v2/invitations", "/iam/v2/invitations"},
		{"/iam/v2/invitations?page_size=100&page_token=T1", "/iam/v2/invitations?page_size=100&page_token=T1"},
		{"/csp/gateway/am/api/auth/api-tokens/authorize?refresh_token=s3cr3t", "/csp/gateway/am/api/auth/api-tokens/authorize?refresh_token=REDACTED"},
		{"/x?api_token=s3cr3t&page_size=10", "/x?api_token=REDACTED&page_size=10"},
		{"/x?client_secret=a&client_secret=b", "/x?client_secret=REDACTED&client_secret=REDACTED"},
		{"/x?sig=abc&api-version=2024-07-01", "/x?api-version=2024-07-01&sig=REDACTED"},
		{"/x?access_token=%zz", "/x?REDACTED"},
		{"/x?", "/x?"},
	}
	for _, tt := range tests {
		if got := redactPath(tt.in); got != tt.want {
			t.Errorf("redactPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(redactPath(tt.in), "s3cr3t") {
			t.Errorf("redactPath(%q) leaks the secret", tt.in)
		}
	}
}

// TestAuditSurvivesKill records in a child process that is then SIGKILLed:
// every line it recorded before the kill must be in the file, whole.
func TestAuditSurvivesKill(t *testing.T) {
	if dir := os.Getenv("INVITESYNC_AUDIT_CHILD"); dir != "" {
		a, err := OpenAudit(dir)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		for i := range 100 {
			a.Record(providers.Attempt{Time: time.Now(), Action: fmt.Sprintf("create p%d@example.com", i), Method: "POST", Path: "/p", Status: 201, Attempt: 1})
		}
		fmt.Println("ready")
		time.Sleep(time.Hour) // killed by the parent; never closes the log
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAuditSurvivesKill$")
	cmd.Env = append(os.Environ(), "INVITESYNC_AUDIT_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if got := readAudit(t, dir); len(got) != 100 {
		t.Errorf("after SIGKILL: %d lines, want 100", len(got))
	}
}

// TestAuditSyncsWhenQuiet: a line recorded just before the run goes quiet is
// synced by the timer, not left for Close.
func TestAuditSyncsWhenQuiet(t *testing.T) {
	a, err := OpenAudit(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.mu.Lock()
	a.lastSync = time.Now() // the line below must wait for the timer
	a.mu.Unlock()
	a.Record(providers.Attempt{Time: time.Now(), Method: "GET", Path: "/iam/v2/invitations", Status: 200, Attempt: 1})
	deadline := time.Now().Add(20 * time.Second)
	for {
		a.mu.Lock()
		pending := a.unsynced
		a.mu.Unlock()
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the quiet log was never synced")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
