package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openLogTestPTY opens a pseudo-terminal pair with plain syscalls (no extra module).
func openLogTestPTY(t *testing.T) (master, slave *os.File) {
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

// TestNewLoggerConsoleOnTerminal: on a real terminal the default format is
// the console one, coloured unless NO_COLOR is set; "json" still wins.
func TestNewLoggerConsoleOnTerminal(t *testing.T) {
	tests := []struct {
		format, noColor string
		json, colour    bool
	}{
		{"", "", false, true},
		{"auto", "1", false, false},
		{"console", "", false, true},
		{"json", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.noColor, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			ptm, pts := openLogTestPTY(t)
			var (
				mu  sync.Mutex
				out bytes.Buffer
			)
			done := make(chan struct{})
			go func() {
				defer close(done)
				b := make([]byte, 4096)
				for {
					n, err := ptm.Read(b)
					mu.Lock()
					out.Write(b[:n])
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
			log, err := newLogger(pts, tt.format, "")
			if err != nil {
				t.Fatal(err)
			}
			log.Info().Str("provider", "csp").Msg("listed invitations")
			deadline := time.Now().Add(10 * time.Second)
			var s string
			for {
				mu.Lock()
				s = out.String()
				mu.Unlock()
				if strings.Contains(s, "listed invitations") && strings.Contains(s, "\n") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("terminal got %q", s)
				}
				time.Sleep(20 * time.Millisecond)
			}
			pts.Close()
			ptm.Close()
			<-done
			if isJSON := strings.HasPrefix(strings.TrimSpace(s), "{"); isJSON != tt.json {
				t.Errorf("JSON = %v, want %v: %q", isJSON, tt.json, s)
			}
			if hasColour := strings.Contains(s, "\x1b["); hasColour != tt.colour {
				t.Errorf("colour = %v, want %v: %q", hasColour, tt.colour, s)
			}
		})
	}
}
