//go:build reliability && linux

package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

// The interactive apply as an admin sees it: the plan, the [y/N] question,
// then the progress bar with log lines; on the terminal's screen no line
// mixes a log line with the bar, and the question names the org's id.
func TestReliabilityInteractiveApply(t *testing.T) {
	e := startEmulator(t, "--latency", "15ms")
	dir := t.TempDir()
	rows := [][]string{{"email"}}
	for i := range 60 {
		rows = append(rows, []string{fmt.Sprintf("tty%02d@example.com", i)})
	}
	roster := filepath.Join(dir, "roster.csv")
	writeRoster(t, roster, rows)

	ptm, pts := openPTY(t)
	defer ptm.Close()
	cmd := exec.Command(bin, append([]string{"apply", "--roster", roster, "--ledger", filepath.Join(dir, "ledger.jsonl"),
		"--report", filepath.Join(dir, "r"), "--concurrency", "2", "--rate", "40", "--log-format", "console"}, providerArgs("confluent", e.url)...)...)
	cmd.Env = append(defaultCreds.env(), "INVITESYNC_LOCK_DIR="+lockDirOf(t), "TERM=xterm", "NO_COLOR=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := ptm.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	read := func() string { mu.Lock(); defer mu.Unlock(); return screen.String() }
	waitFor(t, "the [y/N] question", time.Minute, func() bool { return strings.Contains(read(), "[y/N]") })
	if !strings.Contains(read(), "+ create   tty59@example.com") {
		t.Errorf("the plan shown before the question is cut: no tty59\n%s", read())
	}
	if _, err := ptm.Write([]byte("y\n")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("interactive apply: %v\n%s", err, read())
	}
	<-done
	out := read()
	if !strings.Contains(out, "Apply these changes to confluent organization ") {
		t.Errorf("the question does not name the organization:\n%s", out)
	}
	bar := regexp.MustCompile(`^apply .*(ETA|in [0-9])`)
	logs := 0
	for _, l := range ptyScreen(out) {
		isLog := strings.Contains(l, "action finished")
		if isLog {
			logs++
		}
		if isLog && bar.MatchString(l) || isLog && strings.Contains(l, "ETA") {
			t.Errorf("a screen line mixes the bar and a log line: %q", l)
		}
	}
	if !strings.Contains(out, "apply [") {
		t.Errorf("no progress bar was drawn, so nothing was tried:\n%s", out)
	}
	if logs != 60 {
		t.Errorf("%d whole 'action finished' lines on screen, want 60", logs)
	}
}

// ptyScreen replays terminal output into its screen lines: CR returns to
// the line's start, ESC[K clears to its end, other escapes are dropped.
func ptyScreen(s string) []string {
	var lines []string
	var cur []rune
	col := 0
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\r':
			col = 0
			i++
		case c == '\n':
			lines = append(lines, string(cur))
			cur, col = cur[:0], 0
			i++
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j < len(s) && s[j] == 'K' {
				cur = cur[:min(col, len(cur))]
			}
			i = j + 1
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if col < len(cur) {
				cur[col] = r
			} else {
				cur = append(cur, r)
			}
			col++
			i += n
		}
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// openPTY opens a pseudo-terminal pair with plain syscalls.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		m.Close()
		t.Fatalf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		m.Close()
		t.Fatalf("ptsname: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pty slave: %v", err)
	}
	return m, s
}
