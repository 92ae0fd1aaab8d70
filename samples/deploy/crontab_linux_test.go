package deploy

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the unprivileged user the crontab line runs as when the test is root.
const nobody = 65534

// TestCrontabRunsAsShipped runs the crontab's command line itself, with only
// the install paths moved into a temporary directory and --endpoint added so
// it reaches the emulator: as an unprivileged user, it applies, appends JSON
// logs to its log file, keeps the ledger, and gives up at once while another
// run holds the cron lock.
func TestCrontabRunsAsShipped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts the emulator")
	}
	flock, err := exec.LookPath("flock")
	if err != nil {
		t.Skip("flock(1) is not installed")
	}
	job := readCrontab(t)
	const stateDir, binary, flockPath = "/var/lib/invitesync", "/usr/local/bin/invitesync", "/usr/bin/flock"
	for _, p := range []string{stateDir, binary, flockPath} {
		if !strings.Contains(job.command, p) {
			t.Fatalf("the crontab line no longer uses %s; update this test with it", p)
		}
	}

	root := os.Geteuid() == 0
	mkdir := func(pattern string) string {
		d, err := os.MkdirTemp("", pattern)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	binDir, state := mkdir("invitesync-bin-"), mkdir("invitesync-state-")
	bin := filepath.Join(binDir, "invitesync")
	build := exec.Command("go", "build", "-o", bin, "./cmd/invitesync")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	endpoint := startEmulator(t, bin)

	// The setup the crontab's comment describes: an env file only its user can
	// read, the roster, the state directory owned by that user.
	roster, err := os.ReadFile(filepath.Join("..", "roster.csv"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]struct {
		data string
		mode os.FileMode
	}{
		"invitesync.env": {"CONFLUENT_CLOUD_API_KEY=emulator-key\nCONFLUENT_CLOUD_API_SECRET=emulator-secret\n", 0o600},
		"roster.csv":     {string(roster), 0o644},
	}
	for name, f := range files {
		if err := os.WriteFile(filepath.Join(state, name), []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if root {
		for _, p := range []string{state, filepath.Join(state, "invitesync.env"), filepath.Join(state, "roster.csv")} {
			if err := os.Chown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmdline := strings.NewReplacer(stateDir, state, binary, bin, flockPath, flock,
		"--provider confluent", "--provider confluent --endpoint "+endpoint).Replace(job.command)

	run := func() (int, string) {
		t.Helper()
		var cmd *exec.Cmd
		if root {
			cmd = exec.Command("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "/bin/sh", "-c", cmdline)
		} else {
			cmd = exec.Command("/bin/sh", "-c", cmdline)
		}
		// cron's environment: the crontab's variables and little else.
		cmd.Env = []string{"HOME=" + state, "LOGNAME=invitesync"}
		for k, v := range job.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatalf("run the crontab command: %v", err)
		}
		return 0, string(out)
	}

	code, out := run()
	logFile := filepath.Join(state, "invitesync.log")
	logData, _ := os.ReadFile(logFile)
	if code != 0 {
		t.Fatalf("the crontab command exited %d\noutput: %s\nlog:\n%s", code, out, logData)
	}
	if out != "" {
		t.Errorf("the command wrote to cron's mail instead of its log: %q", out)
	}
	// The log holds stderr's JSON log lines and stdout's summary of what was done.
	jsonLines := 0
	for i, l := range strings.Split(string(logData), "\n") {
		if strings.HasPrefix(l, "{") {
			jsonLines++
			if !json.Valid([]byte(l)) {
				t.Errorf("log line %d is not valid JSON: %q", i+1, l)
			}
		}
	}
	if jsonLines == 0 {
		t.Errorf("no JSON log line in the log (--log-format json):\n%s", logData)
	}
	if !strings.Contains(string(logData), "0 failed") {
		t.Errorf("the log does not say what the apply did:\n%s", logData)
	}
	if strings.Contains(string(logData), "emulator-secret") {
		t.Error("the log holds the credential")
	}
	ledger := filepath.Join(state, "ledger.jsonl")
	before, err := os.ReadFile(ledger)
	if err != nil || len(before) == 0 {
		t.Fatalf("no ledger after the run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(state, "reports", "latest", "report.json")); err != nil {
		t.Errorf("no report: %v", err)
	}
	if root {
		for _, p := range []string{logFile, ledger} {
			if st, err := os.Stat(p); err == nil && st.Sys().(*syscall.Stat_t).Uid != nobody {
				t.Errorf("%s is not owned by the unprivileged user", p)
			}
		}
	}

	// While another run holds the cron lock, flock -n gives up at once (exit 1)
	// and invitesync never starts.
	lf, err := os.OpenFile(filepath.Join(state, "cron.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	logLen := len(logData)
	if code, out := run(); code != 1 {
		t.Errorf("with the cron lock held the command exited %d, want 1 (flock -n)\n%s", code, out)
	}
	if b, _ := os.ReadFile(logFile); len(b) != logLen {
		t.Errorf("invitesync ran although the cron lock was held:\n%s", b[logLen:])
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}

	// The next hour's run finds nothing to do and keeps the ledger.
	if code, out := run(); code != 0 {
		b, _ := os.ReadFile(logFile)
		t.Fatalf("the second run exited %d\n%s\n%s", code, out, b[logLen:])
	}
	after, _ := os.ReadFile(ledger)
	if string(after) != string(before) {
		t.Errorf("the converged run changed the ledger:\nbefore %s\nafter %s", before, after)
	}
}

// startEmulator runs `invitesync emulator` on a free loopback port with an
// empty org and returns its URL.
func startEmulator(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "emulator", "--listen", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("the emulator printed no address: %v", err)
	}
	go io.Copy(io.Discard, r) // a full pipe must never stall it
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("the emulator's first line is %q", line)
	}
	return url
}
