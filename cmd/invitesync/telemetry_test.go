package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/invitesync/invitesync/providers/emulator"
)

// A scheduled run tells people what happened: the metrics land in the
// textfile, and the webhook gets one summary (counts, no emails unless asked)
// when the run changed something; a run that changed nothing posts nothing.
func TestRunTelemetry(t *testing.T) {
	notTerminal(t)
	_, url := cliEmulator(t, emulator.Config{})
	var mu sync.Mutex
	var posts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(body))
		mu.Unlock()
	}))
	defer hook.Close()
	dir := t.TempDir()
	textfile := filepath.Join(dir, "invitesync.prom")
	args := []string{"apply", "--yes", "--roster", sampleRoster, "--provider", "confluent", "--endpoint", url, "--max-revoke", "100%",
		"--ledger", filepath.Join(dir, "ledger.jsonl"), "--report", filepath.Join(dir, "r"), "--no-progress",
		"--metrics-textfile", textfile, "--notify-webhook", hook.URL}
	if r := runCLI(t, args...); r.code != exitOK {
		t.Fatalf("apply: %v", r)
	}
	prom, err := os.ReadFile(textfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"invitesync_last_run_success", `kind="create"`, "invitesync_last_run_requests", "invitesync_last_success_timestamp_seconds"} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("metrics textfile lacks %s:\n%s", want, prom)
		}
	}
	mu.Lock()
	if len(posts) != 1 {
		t.Fatalf("%d webhook posts, want 1", len(posts))
	}
	var msg struct{ Text string }
	if err := json.Unmarshal([]byte(posts[0]), &msg); err != nil || msg.Text == "" {
		t.Fatalf("webhook body %q: %v", posts[0], err)
	}
	if strings.Contains(posts[0], "eve@example.com") {
		t.Errorf("the webhook named people without --notify-emails: %s", posts[0])
	}
	mu.Unlock()

	// Nothing changed: no post.
	if r := runCLI(t, args...); r.code != exitOK {
		t.Fatalf("second apply: %v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 1 {
		t.Errorf("a run that changed nothing posted to the webhook: %v", posts[1:])
	}
}
