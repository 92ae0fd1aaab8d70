package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/invitesync/invitesync/reconcile"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate renders report.html. html/template escapes every value for
// its context (text, attribute, script), so a hostile roster cannot inject
// markup or script.
var htmlTemplate = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.Format(time.RFC3339) },
}).Parse(htmlSource))

// htmlKinds are the chart's bars and the filter's buttons, in order. "failed"
// and "unsupported" are statuses; the rest are kinds (Action.Kind).
var htmlKinds = []struct{ name, color string }{
	{"create", "#1a7f37"},
	{"reinvite", "#9a6700"},
	{"revoke", "#cf222e"},
	{"leave", "#6e7781"},
	{"unmanaged", "#8250df"},
	{"failed", "#a40e26"},
	{"unsupported", "#0969da"},
}

// Chart geometry, in SVG user units.
const (
	chartLabelW = 100
	chartBarMax = 420
	chartRowH   = 30
	chartBarH   = 20
)

type htmlBar struct {
	Kind, Color  string
	Count        int
	Width, Y, TY int // bar width, bar top, text baseline
	TX           int // count label x
}

type htmlRow struct {
	Action
	Kind string
}

type htmlPage struct {
	*Document
	Duration    string
	Bars        []htmlBar
	ChartHeight int
	Total       int
	Rows        []htmlRow
}

func writeHTML(w io.Writer, d *Document) error {
	s := d.Summary
	counts := map[string]int{
		"create": s.Create, "reinvite": s.Reinvite, "revoke": s.Revoke, "leave": s.Leave,
		"unmanaged": s.Unmanaged, "failed": s.Failed, "unsupported": s.Unsupported,
	}
	most := 1
	for _, c := range counts {
		most = max(most, c)
	}
	page := htmlPage{
		Document:    d,
		Duration:    d.FinishedAt.Sub(d.StartedAt).Round(time.Millisecond).String(),
		Total:       len(d.Actions),
		ChartHeight: len(htmlKinds)*chartRowH + 4,
		Rows:        make([]htmlRow, len(d.Actions)),
	}
	for i, k := range htmlKinds {
		c := counts[k.name]
		width := c * chartBarMax / most
		if c > 0 {
			width = max(width, 2) // a non-zero count stays visible
		}
		y := i*chartRowH + 4
		page.Bars = append(page.Bars, htmlBar{
			Kind: k.name, Color: k.color, Count: c,
			Width: width, Y: y, TY: y + chartBarH/2 + 5, TX: chartLabelW + width + 8,
		})
	}
	for i, a := range d.Actions {
		page.Rows[i] = htmlRow{Action: a, Kind: a.Kind()}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := htmlTemplate.Execute(bw, page); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return bw.Flush()
}

// statusClass is used by the template to colour a status cell.
func (r htmlRow) StatusClass() string {
	switch r.Status {
	case reconcile.StatusFailed:
		return "st-failed"
	case reconcile.StatusDone:
		return "st-done"
	case reconcile.StatusUnsupported:
		return "st-unsupported"
	case reconcile.StatusSkipped:
		return "st-skipped"
	}
	return "st-planned"
}
