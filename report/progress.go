package report

import (
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

// Progress draws a one-line progress bar on a terminal: done/total, rate and
// ETA. It writes nothing unless enabled and w is a terminal, so logs and CI
// output stay clean. Safe for concurrent use; a nil *Progress does nothing.
type Progress struct {
	w     io.Writer
	label string
	total int
	width int // terminal columns

	mu       sync.Mutex
	done     int
	start    time.Time
	lastDraw time.Time
	finished bool
	now      func() time.Time
}

// NewProgress returns a progress bar for total items (0 or less: unknown, the
// bar shows only a count and a rate). It is active only when enabled and w is
// a terminal; otherwise its methods only count.
func NewProgress(w io.Writer, label string, total int, enabled bool) *Progress {
	p := &Progress{label: label, total: total, now: time.Now}
	p.start = p.now()
	if f, ok := w.(*os.File); ok && enabled && term.IsTerminal(int(f.Fd())) {
		p.w = w
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
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.w == nil || p.finished {
		return
	}
	now := p.now()
	if now.Sub(p.lastDraw) < redrawEvery {
		return
	}
	p.lastDraw = now
	p.draw(now)
}

// Done draws the final state and ends the line; later calls do nothing.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil || p.finished {
		p.finished = true
		return
	}
	p.finished = true
	p.draw(p.now())
	fmt.Fprint(p.w, "\n")
}

// draw writes the bar over the current line; p.mu is held. A failed write to
// the terminal is not worth failing a run for, so its error is dropped.
func (p *Progress) draw(now time.Time) {
	line := renderProgress(p.label, p.done, p.total, now.Sub(p.start), p.width)
	_, _ = fmt.Fprint(p.w, "\r"+line+"\x1b[K")
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
