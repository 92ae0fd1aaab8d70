package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers/emulator"
)

// lockedBuffer is a bytes.Buffer safe for the server's logging goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runningEmulator is `invitesync emulator` started in-process.
type runningEmulator struct {
	url    string
	stderr *lockedBuffer
	cancel context.CancelFunc
	done   chan int
}

func startEmulatorCmd(t *testing.T, args ...string) *runningEmulator {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	e := &runningEmulator{stderr: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		code := run(ctx, append([]string{"emulator"}, args...), pw, e.stderr)
		pw.Close()
		e.done <- code
	}()
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		first <- line
		io.Copy(io.Discard, pr)
	}()
	select {
	case line := <-first:
		if !strings.HasPrefix(line, "listening on http://127.0.0.1:") || !strings.HasSuffix(line, "\n") {
			cancel()
			t.Fatalf("first stdout line %q; stderr: %s", line, e.stderr.String())
		}
		e.url = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("no listening line within 30 s; stderr: %s", e.stderr.String())
	}
	t.Cleanup(func() { e.stop(t) })
	return e
}

// stop cancels (as SIGINT/SIGTERM do) and returns the exit code.
func (e *runningEmulator) stop(t *testing.T) int {
	t.Helper()
	e.cancel()
	select {
	case code := <-e.done:
		e.done <- code // later calls see it too
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("the emulator did not stop within 30 s")
		return -1
	}
}

func confluentList(t *testing.T, base string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/iam/v2/invitations?page_size=100", nil)
	req.SetBasicAuth(emulator.DefaultConfluentKey, emulator.DefaultConfluentSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var l struct {
		Kind string `json:"kind"`
		Data []struct {
			Email string `json:"email"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&l); err != nil || res.StatusCode != 200 || l.Kind != "InvitationList" {
		t.Fatalf("list: %d %v", res.StatusCode, err)
	}
	var emails []string
	for _, d := range l.Data {
		emails = append(emails, d.Email)
	}
	return emails
}

func TestEmulatorCommand(t *testing.T) {
	e := startEmulatorCmd(t, "--listen", "127.0.0.1:0", "--seed", "../../samples/emulator-seed.yaml", "--log-level", "debug", "--log-format", "json")
	if got := confluentList(t, e.url); len(got) != 6 || got[0] != "ada@example.com" {
		t.Errorf("seeded invitations %v", got)
	}
	if code := e.stop(t); code != exitOK {
		t.Errorf("exit %d; stderr %s", code, e.stderr.String())
	}
	logs := e.stderr.String()
	if !strings.Contains(logs, `"route":"GET /iam/v2/invitations"`) {
		t.Errorf("no debug line for the request: %s", logs)
	}
	for _, secret := range []string{emulator.DefaultConfluentSecret, emulator.DefaultCSPRefreshToken, emulator.DefaultAzureToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a credential %q", secret)
		}
	}
}

func TestEmulatorCommandState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	args := []string{"--listen", "127.0.0.1:0", "--seed", "../../samples/emulator-seed.yaml", "--state", state}
	e := startEmulatorCmd(t, args...)
	req, _ := http.NewRequest("POST", e.url+"/iam/v2/invitations", strings.NewReader(`{"email":"new@example.com"}`))
	req.SetBasicAuth(emulator.DefaultConfluentKey, emulator.DefaultConfluentSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %v %v", err, res)
	}
	res.Body.Close()
	if code := e.stop(t); code != exitOK {
		t.Fatalf("exit %d: %s", code, e.stderr.String())
	}
	// Restarted with the same flags: the state wins, the seed is not loaded twice.
	e2 := startEmulatorCmd(t, args...)
	if got := confluentList(t, e2.url); len(got) != 7 || got[6] != "new@example.com" {
		t.Errorf("after restart %v", got)
	}
	if !strings.Contains(e2.stderr.String(), "seed not loaded") {
		t.Errorf("stderr %s", e2.stderr.String())
	}
}

func TestEmulatorCommandRefuses(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all interfaces", []string{"--listen", ":0"}, "not a loopback"},
		{"remote address", []string{"--listen", "0.0.0.0:0"}, "not a loopback"},
		{"no port", []string{"--listen", "127.0.0.1"}, "HOST:PORT"},
		{"unknown fault", []string{"--listen", "127.0.0.1:0", "--faults", "429,boom"}, "boom"},
		{"fault rate over 1", []string{"--listen", "127.0.0.1:0", "--fault-rate", "2"}, "fault rate"},
		{"negative rate", []string{"--listen", "127.0.0.1:0", "--rate", "-1"}, "rate"},
		{"missing seed", []string{"--listen", "127.0.0.1:0", "--seed", "nope.yaml"}, "nope.yaml"},
		{"unknown flag", []string{"--colour"}, "colour"},
		{"argument", []string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"emulator"}, tt.args...), &stdout, &stderr)
			if code != exitInvalid || !strings.Contains(stderr.String(), tt.want) || stdout.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 3 mentioning %q", code, stdout.String(), stderr.String(), tt.want)
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:8787", false, true},
		{"127.0.0.2:0", false, true},
		{"[::1]:0", false, true},
		{"localhost:0", false, true},
		{"0.0.0.0:0", false, false},
		{":8787", false, false},
		{"192.168.1.10:80", false, false},
		{"example.com:80", false, false},
		{"0.0.0.0:0", true, true},
		{"nonsense", true, false},
	}
	for _, tt := range tests {
		if err := checkListen(tt.addr, tt.remote); (err == nil) != tt.ok {
			t.Errorf("checkListen(%q, %v) = %v, want ok %v", tt.addr, tt.remote, err, tt.ok)
		}
	}
}
