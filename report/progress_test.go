package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
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

// ptyReader collects what a pseudo-terminal's master side receives.
type ptyReader struct {
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func readPTY(ptm *os.File) *ptyReader {
	r := &ptyReader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		b := make([]byte, 4096)
		for {
			n, err := ptm.Read(b)
			r.mu.Lock()
			r.out.Write(b[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return r
}

// waitFor waits (generously) until the terminal received marker.
func (r *ptyReader) waitFor(t *testing.T, marker string) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.mu.Lock()
		s := bytes.Clone(r.out.Bytes())
		r.mu.Unlock()
		if bytes.Contains(s, []byte(marker)) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %q; got %q", marker, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screenLines replays terminal output the way a terminal shows it: \r
// returns to column 0, ESC[K erases to the end of the line, other CSI
// sequences are ignored, text overwrites from the cursor, \n ends the line.
func screenLines(out []byte) []string {
	var lines []string
	var cur []rune
	col := 0
	s := string(out)
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

var (
	logLineRE = regexp.MustCompile(`^INF action finished worker=\d n=\d{3}$`)
	barLineRE = regexp.MustCompile(`^apply \[[=> ]*\] +\d+/\d+ +\d+% [0-9.]+/s (ETA \S+|in \S+)$`)
)

// mixedLines returns the screen lines that are neither a whole log line nor
// a whole progress bar, and how many whole log lines were seen.
func mixedLines(lines []string) (mixed []string, logs int) {
	for _, l := range lines {
		switch {
		case logLineRE.MatchString(l):
			logs++
		case barLineRE.MatchString(l), l == "END", l == "":
		default:
			mixed = append(mixed, l)
		}
	}
	return mixed, logs
}

// TestConsoleLogsNeverMixWithBar interleaves log lines from several
// goroutines (some written in pieces) with a redrawing progress bar on a real
// pseudo-terminal: every screen line is a whole log line or the bar.
func TestConsoleLogsNeverMixWithBar(t *testing.T) {
	ptm, pts := openPTY(t)
	r := readPTY(ptm)
	defer func() { pts.Close(); ptm.Close(); <-r.done }()

	const workers, perWorker = 4, 50
	const total = workers * (perWorker + (perWorker+2)/3) // one Add a line, one more between the pieces of every third
	con := NewConsole(pts)
	p := con.NewProgress("apply", total, true)
	if p.w == nil {
		t.Fatal("a pseudo-terminal was not taken for a terminal")
	}
	// A fake clock 200 ms further on every reading: every Add redraws.
	var clock atomic.Int64
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return base.Add(time.Duration(clock.Add(int64(200 * time.Millisecond)))) }
	p.start = base

	var wg sync.WaitGroup
	// The logger serialises its own writes (as zerolog's writers do); one
	// line in three is written in two pieces with a redraw due between them.
	var logMu sync.Mutex
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perWorker {
				line := fmt.Sprintf("INF action finished worker=%d n=%03d\n", w, n)
				if n%3 == 0 {
					half := len(line) / 2
					logMu.Lock()
					fmt.Fprint(con, line[:half])
					p.Add(1) // the bar may want to redraw between the pieces
					fmt.Fprint(con, line[half:])
					logMu.Unlock()
				} else {
					logMu.Lock()
					fmt.Fprint(con, line)
					logMu.Unlock()
				}
				p.Add(1)
			}
		}()
	}
	wg.Wait()
	p.Done()
	fmt.Fprint(con, "END\n")

	lines := screenLines(r.waitFor(t, "END"))
	mixed, logs := mixedLines(lines)
	for _, m := range mixed {
		t.Errorf("screen line mixes log and bar: %q", m)
	}
	if logs != workers*perWorker {
		t.Errorf("%d whole log lines on screen, want %d", logs, workers*perWorker)
	}
	if last := lines[len(lines)-2]; !strings.Contains(last, fmt.Sprintf("%d/%d 100%%", total, total)) {
		t.Errorf("the bar's final state is not the last line before END: %q", last)
	}

	// The check can fail: logging straight to the terminal while the bar is
	// drawn (what the CLI did) leaves mixed lines.
	ptm2, pts2 := openPTY(t)
	r2 := readPTY(ptm2)
	defer func() { pts2.Close(); ptm2.Close(); <-r2.done }()
	bare := NewProgress(pts2, "apply", 400, true)
	bare.now = p.now
	bare.start = base
	for n := range 5 {
		bare.Add(1)
		fmt.Fprintf(pts2, "INF action finished worker=0 n=%03d\n", n)
	}
	bare.Done()
	fmt.Fprint(pts2, "END\n")
	if mixed, _ := mixedLines(screenLines(r2.waitFor(t, "END"))); len(mixed) == 0 {
		t.Error("direct logging produced no mixed line: the screen check cannot fail")
	}
}
