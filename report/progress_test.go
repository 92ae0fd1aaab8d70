package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRenderProgress(t *testing.T) {
	tests := []struct {
		name    string
		label   string
		done    int
		total   int
		elapsed time.Duration
		width   int
		want    string
	}{
		{"start", "apply", 0, 1000, 0, 80,
			"apply [>                                       ]    0/1000   0% 0.0/s ETA --"},
		{"middle", "apply", 450, 1000, 45 * time.Second, 80,
			"apply [==================>                     ]  450/1000  45% 10.0/s ETA 55s"},
		{"done", "apply", 1000, 1000, 100 * time.Second, 80,
			"apply [========================================] 1000/1000 100% 10.0/s in 1m40s"},
		{"over total is clamped", "apply", 12, 10, time.Second, 80,
			"apply [========================================] 10/10 100% 12.0/s in 1s"},
		{"fast, long ETA", "apply", 500, 1_000_000, time.Second, 80,
			"apply [>                                 ]     500/1000000   0% 500/s ETA 33m19s"},
		{"hours", "apply", 1, 10_000, 2 * time.Second, 80,
			"apply [>                                      ]     1/10000   0% 0.5/s ETA 5h33m"},
		{"unknown total", "list", 300, 0, 2 * time.Second, 80,
			"list 300 done 150/s"},
		{"narrow terminal drops the bar", "apply", 5, 10, time.Second, 30,
			"apply  5/10  50% 5.0/s ETA 1s"},
		{"very narrow terminal truncates", "apply", 5, 10, time.Second, 12,
			"apply  5/10 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderProgress(tt.label, tt.done, tt.total, tt.elapsed, tt.width)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if len(got) > tt.width {
				t.Errorf("%d columns, wider than %d", len(got), tt.width)
			}
		})
	}
}

// TestProgressNotTerminal: a buffer, a regular file and a pipe are not
// terminals, so nothing is written, enabled or not.
func TestProgressNotTerminal(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var buf bytes.Buffer
	for _, enabled := range []bool{true, false} {
		for _, w := range []interface{ Write([]byte) (int, error) }{&buf, file, pw} {
			p := NewProgress(w, "apply", 100, enabled)
			for range 100 {
				p.Add(1)
			}
			p.Done()
			p.Done()
		}
	}
	pw.Close()
	var piped bytes.Buffer
	if _, err := piped.ReadFrom(pr); err != nil {
		t.Fatal(err)
	}
	info, err := file.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 || info.Size() != 0 || piped.Len() != 0 {
		t.Errorf("wrote %d bytes to a buffer, %d to a file, %d to a pipe; want none", buf.Len(), info.Size(), piped.Len())
	}
}

func TestProgressNil(t *testing.T) {
	var p *Progress
	p.Add(1)
	p.Done()
}

// TestProgressTerminal draws on a real pseudo-terminal: redraws are throttled
// and Done ends with the final count and a newline.
func TestProgressTerminal(t *testing.T) {
	ptm, pts := openPTY(t)
	var (
		mu  sync.Mutex
		out bytes.Buffer
	)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
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

	// A fake clock: 1000 Adds 1 ms apart span 1 s, room for about ten redraws.
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewProgress(pts, "apply", 1000, true)
	if p.w == nil {
		t.Fatal("a pseudo-terminal was not taken for a terminal")
	}
	p.now = func() time.Time { return clock }
	p.start = clock
	p.lastDraw = clock
	for range 1000 {
		clock = clock.Add(time.Millisecond)
		p.Add(1)
	}
	p.Done()

	// Wait (generously) for the reader to see the final line.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		s := out.String()
		mu.Unlock()
		if strings.Contains(s, "1000/1000") && strings.Contains(s, "\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal got %q", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	s := out.String()
	mu.Unlock()
	if n := strings.Count(s, "\r") - strings.Count(s, "\r\n"); n < 5 || n > 12 {
		t.Errorf("%d redraws over 1 s, want about 10:\n%q", n, s)
	}
	if !strings.Contains(s, "100% 1000.0/s") && !strings.Contains(s, "100% 1000/s") {
		t.Errorf("final line lacks the rate: %q", s)
	}
	pts.Close()
	ptm.Close()
	<-readDone
}
