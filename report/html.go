package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/invitesync/invitesync/reconcile"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate renders report.html's fixed parts ("head" and "tail").
// html/template escapes every value for its context (text, attribute,
// script), so a hostile roster cannot inject markup or script. The actions
// themselves are written between the two as one JSON document inside a
// <script type="application/json"> element, every '<', '>' and '&' escaped,
// and the page's script puts them in the DOM with textContent only.
var htmlTemplate = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.Format(time.RFC3339) },
}).Parse(htmlSource))

// htmlKinds are the chart's bars and the filter's buttons, in order. "failed"
// and "unsupported" are statuses; the rest are kinds (Action.Kind).
var htmlKinds = []struct{ name, color string }{
	{"create", "#1a7f37"},
	{"reinvite", "#9a6700"},
	{"revoke", "#cf222e"},
	{"grant", "#116329"},
	{"ungrant", "#bc4c00"},
	{"remove-member", "#82071e"},
	{"leave", "#6e7781"},
	{"unmanaged", "#8250df"},
	{"failed", "#a40e26"},
	{"unknown", "#7d4e00"},
	{"unsupported", "#0969da"},
}

// Past htmlFoldAbove rows, the kinds that change nothing (leave, unmanaged)
// are counted and sampled, not listed: a 1M x 1M plan is mostly leave, and a
// page listing a million of them is one no browser opens. Every change stays
// listed.
const (
	htmlFoldAbove = 5000
	htmlSamples   = 1000
	// Reasons and errors repeat ("not invited"): each distinct text is sent
	// once and rows point at it, up to this many distinct texts.
	htmlMaxInterned  = 1 << 16
	htmlMaxInternLen = 512
)

// htmlMaxChanges is the most changes listed: the page of a plan that
// changes a million people must still open in seconds. Past it, the first
// htmlMaxChanges in plan order are listed and the rest counted by kind in a
// note (report.json and report.xlsx list every one). A variable: a test
// lowers it.
var htmlMaxChanges = 200_000

// Chart geometry, in SVG user units.
const (
	chartLabelW = 125
	chartBarMax = 395
	chartRowH   = 30
	chartBarH   = 20
)

type htmlBar struct {
	Kind, Color  string
	Count        int
	Width, Y, TY int // bar width, bar top, text baseline
	TX           int // count label x
}

// htmlFold says what was folded for one kind that changes nothing.
type htmlFold struct {
	Kind, What    string
	Count, Listed int
	stride        int
}

// htmlCut says what was left out of the changes past htmlMaxChanges.
type htmlCut struct {
	Listed, Total int
	Kinds         string // e.g. "700000 create, 100000 revoke"
}

// htmlSelector decides, in plan order, which actions the page lists.
type htmlSelector struct {
	folds   map[string]*htmlFold
	seen    map[string]int // rows of a folded kind met so far
	changes int            // changes listed so far
}

func newHTMLSelector(folds map[string]*htmlFold) *htmlSelector {
	return &htmlSelector{folds: folds, seen: map[string]int{}}
}

func (h *htmlSelector) keep(a *reconcile.Action, kind string) bool {
	if f := h.folds[kind]; f != nil {
		n := h.seen[kind]
		h.seen[kind] = n + 1
		return n%f.stride == 0 && n/f.stride < f.Listed
	}
	if a.Op == reconcile.OpLeave {
		return true
	}
	if h.changes >= htmlMaxChanges {
		return false
	}
	h.changes++
	return true
}

type htmlPage struct {
	Mode, Provider, Organization string
	Roster                       Roster
	StartedAt                    time.Time
	Summary                      reconcile.Summary
	Cancelled                    bool
	Duration                     string
	Bars                         []htmlBar
	ChartHeight                  int
	Total                        int
	Folded                       []htmlFold
	Cut                          *htmlCut
	KindNames                    []string
}

func writeHTML(w io.Writer, d *Document) error {
	s := d.Summary
	most := 1
	for _, k := range htmlKinds {
		most = max(most, summaryCount(s, k.name))
	}
	page := htmlPage{
		Mode: Sanitize(d.Mode), Provider: Sanitize(d.Provider), Organization: Sanitize(d.Organization),
		Roster:    Roster{File: Sanitize(d.Roster.File), Rows: d.Roster.Rows},
		StartedAt: d.StartedAt, Summary: s, Cancelled: d.Cancelled,
		Duration:    d.FinishedAt.Sub(d.StartedAt).Round(time.Millisecond).String(),
		Total:       d.Len(),
		ChartHeight: len(htmlKinds)*chartRowH + 4,
	}
	for i, k := range htmlKinds {
		c := summaryCount(s, k.name)
		width := c * chartBarMax / most
		if c > 0 {
			width = max(width, 2) // a non-zero count stays visible
		}
		y := i*chartRowH + 4
		page.Bars = append(page.Bars, htmlBar{
			Kind: k.name, Color: k.color, Count: c,
			Width: width, Y: y, TY: y + chartBarH/2 + 5, TX: chartLabelW + width + 8,
		})
		page.KindNames = append(page.KindNames, k.name)
	}
	folds := map[string]*htmlFold{}
	for _, f := range []htmlFold{
		{Kind: "leave", What: "nothing to change", Count: s.Leave},
		{Kind: "unmanaged", What: "pending, not ours, left alone", Count: s.Unmanaged},
	} {
		if f.Count > htmlFoldAbove {
			f.stride = f.Count / htmlSamples
			f.Listed = min((f.Count+f.stride-1)/f.stride, htmlSamples)
			folds[f.Kind] = &f
			page.Folded = append(page.Folded, f)
		}
	}
	// What is not listed, by kind and by status, so the page's counts stay
	// the summary's: one pass with the selector the rows will be chosen by.
	unlisted := map[string]int{}
	if len(folds) > 0 || changes(s) > htmlMaxChanges {
		sel := newHTMLSelector(folds)
		for i := range d.actions {
			a := &d.actions[i]
			kind := kindOf(a.Op, a.Unmanaged)
			if sel.keep(a, kind) {
				continue
			}
			unlisted[kind]++
			if st := string(a.Status); st == "failed" || st == "unknown" || st == "unsupported" {
				unlisted[st]++
			}
		}
	}
	if n := changes(s); n > htmlMaxChanges {
		cut := &htmlCut{Listed: htmlMaxChanges, Total: n}
		var kinds []string
		for _, k := range []string{"create", "reinvite", "revoke", "grant", "ungrant", "remove-member"} {
			if unlisted[k] > 0 {
				kinds = append(kinds, fmt.Sprintf("%d %s", unlisted[k], k))
			}
		}
		cut.Kinds = strings.Join(kinds, ", ")
		page.Cut = cut
	}

	bw := bufio.NewWriterSize(w, 256<<10)
	if err := htmlTemplate.ExecuteTemplate(bw, "head", page); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	if err := writeHTMLData(bw, d, newHTMLSelector(folds), unlisted); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	if err := htmlTemplate.ExecuteTemplate(bw, "tail", page); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return bw.Flush()
}

// writeHTMLData writes the actions as
//
//	<script type="application/json" id="report-data">{"rows":[[kind, status,
//	email, reason, invitation, attempts, error, request id, detail], ...],
//	"kinds":[...], "statuses":[...], "text":[...], "unlisted":{kind or status: count}}</script>
//
// kind and status index "kinds" and "statuses"; a reason, error or detail is a
// string or an index into "text". Each row is appended by hand: no
// reflection, a few hundred nanoseconds a row.
func writeHTMLData(bw *bufio.Writer, d *Document, sel *htmlSelector, unlisted map[string]int) error {
	var (
		kinds, statuses, texts []string
		kindIdx                = map[string]int{}
		statusIdx              = map[string]int{}
		textIdx                = map[string]int{}
	)
	index := func(m map[string]int, list *[]string, v string) int {
		i, ok := m[v]
		if !ok {
			i = len(*list)
			m[v] = i
			*list = append(*list, v)
		}
		return i
	}
	appendText := func(buf []byte, v string) []byte {
		if v == "" {
			return append(buf, `""`...)
		}
		if i, ok := textIdx[v]; ok {
			return strconv.AppendInt(buf, int64(i), 10)
		}
		if len(texts) < htmlMaxInterned && len(v) <= htmlMaxInternLen {
			return strconv.AppendInt(buf, int64(index(textIdx, &texts, v)), 10)
		}
		return appendJSONString(buf, v, true)
	}

	buf := make([]byte, 0, 64<<10)
	buf = append(buf, `<script type="application/json" id="report-data">{"rows":[`...)
	first := true
	for i := range d.actions {
		ra := &d.actions[i]
		kind := kindOf(ra.Op, ra.Unmanaged)
		if !sel.keep(ra, kind) {
			continue
		}
		a := toAction(ra)
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, '[')
		buf = strconv.AppendInt(buf, int64(index(kindIdx, &kinds, kind)), 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(index(statusIdx, &statuses, string(a.Status))), 10)
		buf = append(buf, ',')
		buf = appendJSONString(buf, Sanitize(a.Email), true)
		buf = append(buf, ',')
		buf = appendText(buf, Sanitize(a.Reason))
		buf = append(buf, ',')
		buf = appendJSONString(buf, Sanitize(a.InvitationID), true)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(a.Attempts), 10)
		buf = append(buf, ',')
		buf = appendText(buf, Sanitize(a.Error))
		buf = append(buf, ',')
		buf = appendJSONString(buf, Sanitize(a.RequestID), true)
		buf = append(buf, ',')
		buf = appendText(buf, Sanitize(detailText(a, 20)))
		buf = append(buf, ']')
		if len(buf) >= 48<<10 {
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, `],"kinds":`...)
	buf = appendJSONStrings(buf, kinds)
	buf = append(buf, `,"statuses":`...)
	buf = appendJSONStrings(buf, statuses)
	buf = append(buf, `,"text":`...)
	buf = appendJSONStrings(buf, texts)
	buf = append(buf, `,"unlisted":{`...)
	names := make([]string, 0, len(unlisted))
	for k := range unlisted {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k, true)
		buf = append(buf, ':')
		buf = strconv.AppendInt(buf, int64(unlisted[k]), 10)
	}
	buf = append(buf, "}}</script>\n"...)
	_, err := bw.Write(buf)
	return err
}

func appendJSONStrings(buf []byte, vs []string) []byte {
	buf = append(buf, '[')
	for i, v := range vs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, v, true)
	}
	return append(buf, ']')
}
