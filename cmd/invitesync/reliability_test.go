//go:build reliability

// The reliability suite drives the real
// binary: TestMain builds it once, every test starts `invitesync emulator` as a
// child process and runs plan, apply, validate and dump as child processes
// against it, checking exit codes, output and the files they write. Run it
// with `make test-reliability` (go test -tags=reliability -run '^TestReliability').
//
// The tests live in package main_test so that their helpers cannot collide
// with the package's own unit tests.
package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the invitesync binary built by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invitesync-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(2)
	}
	bin = filepath.Join(dir, "invitesync")
	// The test runs in the package directory: build this command.
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "reliability: go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// strictMode (INVITESYNC_RELIABILITY_STRICT=1) turns the known product bugs
// the suite documents (BUG lines of the bad-roster corpus) from logged skips
// into failures.
func strictMode() bool { return os.Getenv("INVITESYNC_RELIABILITY_STRICT") == "1" }

// Credentials as the emulator is started with and as invitesync reads them.
type creds struct {
	confluentKey, confluentSecret, cspToken, azureToken string
}

// defaultCreds are the emulator's documented defaults.
var defaultCreds = creds{"emulator-key", "emulator-secret", "emulator-refresh-token", "emulator-token"}

// env is the environment of an invitesync child: this process's, minus any
// credential or CI variable it could pick up by accident, plus c.
func (c creds) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "CONFLUENT_"), strings.HasPrefix(name, "CSP_"), strings.HasPrefix(name, "AZURE_"),
			name == "GITHUB_STEP_SUMMARY":
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"CONFLUENT_CLOUD_API_KEY="+c.confluentKey, "CONFLUENT_CLOUD_API_SECRET="+c.confluentSecret,
		"CSP_REFRESH_TOKEN="+c.cspToken, "AZURE_ACCESS_TOKEN="+c.azureToken)
	return append(env, extra...)
}

// Organizations the tests use on the emulator (both create them on first use).
const (
	cspOrg   = "rel-org"
	azureOrg = "sub-rel/rg-rel/org-rel"
)

var providerNames = []string{"confluent", "csp", "azure"}

// providerArgs are the flags that point invitesync at provider p on the emulator.
func providerArgs(p, url string) []string {
	switch p {
	case "confluent":
		return []string{"--provider", "confluent", "--endpoint", url}
	case "csp":
		return []string{"--provider", "csp", "--org-id", cspOrg, "--endpoint", url}
	case "azure":
		parts := strings.Split(azureOrg, "/")
		sub, rg, org := parts[0], parts[1], parts[2]
		return []string{"--provider", "azure", "--subscription-id", sub, "--resource-group", rg, "--organization", org, "--endpoint", url}
	}
	panic("unknown provider " + p)
}

// orgOf is the org field of the emulator's accept/expire control calls.
func orgOf(p string) string {
	switch p {
	case "csp":
		return cspOrg
	case "azure":
		return azureOrg
	}
	return ""
}

// createRoute is the emulator's by_route key of p's create call.
func createRoute(p string) string {
	switch p {
	case "confluent":
		return "POST /iam/v2/invitations"
	case "csp":
		return "POST /csp/gateway/am/api/orgs/{orgId}/invitations"
	}
	return "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Confluent/organizations/{organizationName}/access/default/createInvitation"
}

// ---- the emulator as a child process ----

type emulatorProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	url     string
	logPath string
	exited  chan struct{}
	stopped bool // SIGSTOPped
}

// startEmulator runs `invitesync emulator --listen 127.0.0.1:0 args...` and
// waits for its "listening on URL" line. It is stopped when the test ends.
func startEmulator(t *testing.T, args ...string) *emulatorProc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "emulator.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, append([]string{"emulator", "--listen", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = defaultCreds.env()
	cmd.SysProcAttr = childAttr()
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &emulatorProc{t: t, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, r) // never let a full pipe block it
	}()
	go func() { cmd.Wait(); close(e.exited) }()
	t.Cleanup(e.stop)
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
		if !ok {
			t.Fatalf("emulator's first line is %q, want \"listening on URL\"; log:\n%s", line, e.log())
		}
		e.url = url
	case <-time.After(60 * time.Second):
		t.Fatalf("emulator said nothing within 60 s; log:\n%s", e.log())
	}
	return e
}

func (e *emulatorProc) log() string {
	data, _ := os.ReadFile(e.logPath)
	return string(data)
}

// stop ends the emulator: SIGTERM (it saves its state and exits), SIGKILL if
// it does not within 10 s.
func (e *emulatorProc) stop() {
	select {
	case <-e.exited:
		return
	default:
	}
	if e.stopped {
		e.cmd.Process.Signal(syscall.SIGCONT)
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		e.cmd.Process.Kill()
		<-e.exited
	}
}

// kill SIGKILLs the emulator and waits for it to be gone.
func (e *emulatorProc) kill() {
	e.cmd.Process.Kill()
	<-e.exited
}

// pause and resume freeze and thaw the emulator (SIGSTOP, SIGCONT): the
// kernel still accepts connections and requests, nobody answers them.
func (e *emulatorProc) pause() {
	e.t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		e.t.Fatal(err)
	}
	e.stopped = true
}

func (e *emulatorProc) resume() {
	e.t.Helper()
	if err := e.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		e.t.Fatal(err)
	}
	e.stopped = false
}

var controlClient = &http.Client{Timeout: 30 * time.Second}

// control calls a /_emulator/ endpoint; body is JSON-encoded when non-nil.
func (e *emulatorProc) control(method, path string, body any) []byte {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+"/_emulator/"+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := controlClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s /_emulator/%s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		e.t.Fatalf("%s /_emulator/%s: HTTP %d %s", method, path, resp.StatusCode, data)
	}
	return data
}

// emuStats is GET /_emulator/stats.
type emuStats struct {
	Requests         int64                       `json:"requests"`
	ByStatus         map[string]int64            `json:"by_status"`
	ByRoute          map[string]int64            `json:"by_route"`
	RateLimited      int64                       `json:"rate_limited"`
	FaultsInjected   int64                       `json:"faults_injected"`
	FaultsByKind     map[string]int64            `json:"faults_by_kind"`
	Invitations      map[string]map[string]int64 `json:"invitations"`
	DuplicateCreates int64                       `json:"duplicate_creates"`
}

func (e *emulatorProc) stats() emuStats {
	e.t.Helper()
	var st emuStats
	if err := json.Unmarshal(e.control("GET", "stats", nil), &st); err != nil {
		e.t.Fatalf("stats: %v", err)
	}
	return st
}

// setFaults turns fault injection on (rate > 0) or off at run time.
func (e *emulatorProc) setFaults(rate float64, kinds ...string) {
	e.t.Helper()
	if kinds == nil {
		kinds = []string{}
	}
	e.control("POST", "faults", map[string]any{"rate": rate, "kinds": kinds})
}

func (e *emulatorProc) accept(provider, email string) {
	e.t.Helper()
	e.control("POST", "accept", map[string]string{"api": provider, "org": orgOf(provider), "email": email})
}

func (e *emulatorProc) expire(provider, email string) {
	e.t.Helper()
	e.control("POST", "expire", map[string]string{"api": provider, "org": orgOf(provider), "email": email})
}

// ---- invitesync as a child process ----

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %s\nstdout:\n%s\nstderr:\n%s", r.code, r.took.Round(time.Millisecond), clipText(r.stdout), clipText(r.stderr))
}

// clipText keeps a failure message readable when a run printed a lot.
func clipText(s string) string {
	const max = 6000
	if len(s) <= max {
		return s
	}
	return s[:max/2] + fmt.Sprintf("\n... %d bytes ...\n", len(s)-max) + s[len(s)-max/2:]
}

// runOpts steer one invitesync run.
type runOpts struct {
	env []string // nil = defaultCreds.env()
	dir string   // working directory ("" = the test's)
}

// invitesync runs the binary to completion (at most 3 minutes) and returns
// its exit code and output.
func invitesync(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	cmd := startInvitesync(t, o, args...)
	start := time.Now()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("invitesync %s: still running after 3 minutes (killed)", strings.Join(args, " "))
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: cmd.Stdout.(*syncBuffer).String(),
		stderr: cmd.Stderr.(*syncBuffer).String(), took: time.Since(start)}
}

// startInvitesync starts the binary; the caller waits for it. A process still
// running when the test ends is killed.
func startInvitesync(t *testing.T, o runOpts, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = o.env
	if cmd.Env == nil {
		cmd.Env = defaultCreds.env()
	}
	// Every emulator gives its org the same id: tests running side by side
	// keep their org locks apart, each test's runs sharing one.
	cmd.Env = append(cmd.Env, "INVITESYNC_LOCK_DIR="+lockDirOf(t))
	cmd.Dir = o.dir
	cmd.SysProcAttr = childAttr()
	cmd.Stdout, cmd.Stderr = &syncBuffer{}, &syncBuffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

var lockDirs sync.Map // test name -> its lock directory

// lockDirOf is t's own lock directory (each test runs its own emulator).
func lockDirOf(t *testing.T) string {
	if d, ok := lockDirs.Load(t.Name()); ok {
		return d.(string)
	}
	d := t.TempDir()
	lockDirs.Store(t.Name(), d)
	return d
}

// syncBuffer is a bytes.Buffer the test may read while the child writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---- files invitesync writes ----

// reportDoc is report.json.
type reportDoc struct {
	Version  int            `json:"version"`
	Mode     string         `json:"mode"`
	Provider string         `json:"provider"`
	Summary  map[string]int `json:"summary"`
	Actions  []struct {
		Op       string `json:"op"`
		Email    string `json:"email"`
		Reason   string `json:"reason"`
		Status   string `json:"status"`
		Attempts int    `json:"attempts"`
		Error    string `json:"error"`
	} `json:"actions"`
}

func readReportJSON(t *testing.T, dir string) reportDoc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatalf("report.json: %v", err)
	}
	var doc reportDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	return doc
}

// statuses counts the report's actions by status, leaves apart.
func (d reportDoc) statuses() map[string]int {
	n := map[string]int{}
	for _, a := range d.Actions {
		if a.Op != "leave" {
			n[a.Status]++
		}
	}
	return n
}

// countLines counts the newline-terminated lines of a file (0 if absent).
func countLines(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte{'\n'})
}

// auditLines reads audit.jsonl.
type auditLine struct {
	Action string `json:"action"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	Error  string `json:"error"`
}

func readAudit(t *testing.T, dir string) []auditLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []auditLine
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var a auditLine
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			// A SIGKILLed writer may leave a torn last line; anything else is a bug.
			continue
		}
		out = append(out, a)
	}
	return out
}

// writeRoster writes a CSV roster of rows (the header first).
func writeRoster(t *testing.T, path string, rows [][]string) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, ","))
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dumpEmails runs `invitesync dump` and returns the emails the upstream
// holds a pending or accepted invitation for, lower-cased.
func dumpEmails(t *testing.T, provider, url string) map[string]bool {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dump.csv")
	r := invitesync(t, runOpts{}, append([]string{"dump", "--out", out, "--log-level", "warn"}, providerArgs(provider, url)...)...)
	if r.code != 0 {
		t.Fatalf("dump: %v", r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	emails := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i == 0 || line == "" {
			continue
		}
		email, _, _ := strings.Cut(line, ",")
		emails[strings.ToLower(strings.Trim(email, `"`))] = true
	}
	return emails
}

// waitFor polls cond every 2 ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s", what, deadline)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
