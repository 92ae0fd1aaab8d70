package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// redrawEvery caps redraws at about ten a second: faster only costs CPU and
// makes a slow terminal (or an SSH link) the bottleneck.
const redrawEvery = 100 * time.Millisecond

// Console is one terminal stream (stderr) shared by log lines and a
// progress bar. It owns the terminal's last line: a log line written through
// it clears the bar, is written whole, and the bar is redrawn under it, so a
// screen line never holds part of both. Give the logger the Console as its
// writer and draw bars with Console.NewProgress. Safe for concurrent use.
type Console struct {
	mu      sync.Mutex
	w       io.Writer
	bar     *Progress // drawn on the last line, or nil
	pending []byte    // the unfinished end of a log write while a bar is drawn
	midLine bool      // the last write without a bar left the cursor mid-line
}

// NewConsole returns a Console writing to w.
func NewConsole(w io.Writer) *Console { return &Console{w: w} }

// Write writes log output. While a bar is on screen, complete lines are
// written above it (the bar is cleared first and redrawn after) and an
// unfinished line is held until its newline or the bar's end.
func (c *Console) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bar == nil {
		if len(b) > 0 {
			c.midLine = b[len(b)-1] != '\n'
		}
		return c.w.Write(b)
	}
	c.pending = append(c.pending, b...)
	end := bytes.LastIndexByte(c.pending, '\n')
	if end < 0 {
		return len(b), nil
	}
	out := make([]byte, 0, len(c.pending)+len(clearLine)+c.bar.width+16)
	out = append(out, clearLine...)
	out = append(out, c.pending[:end+1]...)
	c.pending = append(c.pending[:0], c.pending[end+1:]...)
	out = append(out, c.bar.line(c.bar.now())...)
	// One write: the terminal never shows the cleared line without the bar.
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// clearLine returns to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// Progress draws a one-line progress bar on a terminal: done/total, rate and
// ETA. It writes nothing unless enabled and its stream is a terminal, so logs
// and CI output stay clean. Safe for concurrent use; a nil *Progress does
// nothing.
type Progress struct {
	c     *Console
	w     io.Writer // nil: not drawing (disabled or not a terminal)
	label string
	total int
	width int // terminal columns

	// Guarded by c.mu.
	done     int
	start    time.Time
	lastDraw time.Time
	finished bool
	now      func() time.Time
}

// NewProgress returns a progress bar for total items (0 or less: unknown, the
// bar shows only a count and a rate). It is active only when enabled and w is
// a terminal; otherwise its methods only count. Log lines written to w
// meanwhile would collide with it: use Console.NewProgress and log through
// the Console instead.
func NewProgress(w io.Writer, label string, total int, enabled bool) *Progress {
	return NewConsole(w).NewProgress(label, total, enabled)
}

// NewProgress returns a bar drawn on c's stream (see the package-level
// NewProgress); log lines written to c while it runs are written above it.
func (c *Console) NewProgress(label string, total int, enabled bool) *Progress {
	p := &Progress{c: c, label: label, total: total, now: time.Now}
	p.start = p.now()
	if f, ok := c.w.(*os.File); ok && enabled && term.IsTerminal(int(f.Fd())) {
		p.w = c.w
		p.width = 80
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			p.width = cols
		}
	}
	return p
}

// Add counts n more items done and redraws if the last redraw is old enough.
func (p *Progress) Add(n int) {
	if p == nil {
		return
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	p.done += n
	if p.w == nil || p.finished {
		return
	}
	now := p.now()
	if now.Sub(p.lastDraw) < redrawEvery {
		return
	}
	p.lastDraw = now
	if p.c.bar != p {
		// Another bar holds the line, or a log line is half written: a bar
		// drawn now would share its line. Wait for the next redraw.
		if p.c.bar != nil || p.c.midLine {
			return
		}
		p.c.bar = p
	}
	p.draw(now)
}

// Done draws the final state and ends the line; later calls do nothing. A
// log line held unfinished is written after it.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.w == nil || p.finished {
		p.finished = true
		return
	}
	p.finished = true
	if p.c.bar != nil && p.c.bar != p {
		return
	}
	p.draw(p.now())
	_, _ = fmt.Fprint(p.w, "\n")
	p.c.bar = nil
	if len(p.c.pending) > 0 {
		_, _ = p.w.Write(p.c.pending)
		p.c.pending = p.c.pending[:0]
	}
}

// draw writes the bar over the current line; p.c.mu is held. A failed write
// to the terminal is not worth failing a run for, so its error is dropped.
func (p *Progress) draw(now time.Time) {
	_, _ = io.WriteString(p.w, p.line(now))
}

func (p *Progress) line(now time.Time) string {
	return "\r" + renderProgress(p.label, p.done, p.total, now.Sub(p.start), p.width) + "\x1b[K"
}

// renderProgress renders one progress line at most width columns wide, e.g.
//
//	apply [=========>          ]  450/1000  45% 9.8/s ETA 56s
func renderProgress(label string, done, total int, elapsed time.Duration, width int) string {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	if total <= 0 {
		line := fmt.Sprintf("%s %d done %s", label, done, formatRate(rate))
		return truncate(line, width)
	}
	if done > total {
		done = total
	}
	pct := done * 100 / total
	eta := "ETA --"
	switch {
	case done == total:
		eta = "in " + formatDuration(elapsed)
	case rate > 0:
		eta = "ETA " + formatDuration(time.Duration(float64(total-done)/rate*float64(time.Second)))
	}
	digits := len(fmt.Sprint(total))
	tail := fmt.Sprintf(" %*d/%d %3d%% %s %s", digits, done, total, pct, formatRate(rate), eta)
	barWidth := width - len(label) - len(tail) - 3 // label, space, brackets
	if barWidth > 40 {
		barWidth = 40
	}
	if barWidth < 5 {
		return truncate(label+tail, width)
	}
	fill := done * barWidth / total
	bar := strings.Repeat("=", fill)
	if fill < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-fill-1)
	}
	return truncate(label+" ["+bar+"]"+tail, width)
}

func formatRate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f/s", r)
	}
	return fmt.Sprintf("%.1f/s", r)
}

// formatDuration rounds to what a person reads at a glance: 56s, 3m07s, 1h02m.
func formatDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
}

func truncate(s string, width int) string {
	if width > 0 && len(s) > width {
		return s[:width]
	}
	return s
}
