package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/invitesync/invitesync/reconcile"
)

// Markdown limits: a GitHub comment holds at most 65,536 characters and a job
// summary 1 MiB, so the page stays short whatever the run's size.
const (
	mdVisibleRows = 50     // rows shown per list before it folds
	mdBudget      = 60_000 // bytes after which folded rows are only counted
	mdCellMax     = 300    // runes of a reason or error shown in a cell
)

// section is one list of the Markdown report: the actions keep selects, in
// plan order, and how many there are (the summary's count).
type section struct {
	title string
	keep  func(a *reconcile.Action) bool
	count int
	cols  string // header row
	row   func(cw *countingWriter, a Action)
}

// mdSections groups the changes a reviewer must see. Each kind's list holds
// every action of that kind (its count is the summary table's), whatever its
// status; failures are listed again first, with their errors. "leave" is
// counted in the summary table only: it changes nothing.
func mdSections(d *Document) []section {
	s := d.Summary
	ofOp := func(op reconcile.Op) func(a *reconcile.Action) bool {
		return func(a *reconcile.Action) bool { return a.Op == op }
	}
	plain := func(cw *countingWriter, a Action) {
		cw.printf("| %s | %s | %s | %s |\n", mdCode(a.Email), mdText(a.Reason), mdText(string(a.Status)), mdCode(a.InvitationID))
	}
	const plainCols = "| email | reason | status | invitation |\n| --- | --- | --- | --- |\n"
	access := func(cw *countingWriter, a Action) {
		cw.printf("| %s | %s | %s | %s |\n", mdCode(a.Email), mdCode(a.Role), mdText(a.Reason), mdText(string(a.Status)))
	}
	const accessCols = "| email | role | reason | status |\n| --- | --- | --- | --- |\n"
	return []section{
		{title: "Failed", count: s.Failed,
			keep: func(a *reconcile.Action) bool { return a.Status == reconcile.StatusFailed },
			cols: "| op | email | error | attempts | request id |\n| --- | --- | --- | ---: | --- |\n",
			row: func(cw *countingWriter, a Action) {
				cw.printf("| %s | %s | %s | %d | %s |\n", mdText(a.Kind()), mdCode(a.Email), mdText(a.Error), a.Attempts, mdCode(a.RequestID))
			}},
		{title: "Outcome unknown (may have taken effect; the next plan shows whether)", count: s.Unknown,
			keep: func(a *reconcile.Action) bool { return a.Status == reconcile.StatusUnknown },
			cols: "| op | email | error | attempts | request id |\n| --- | --- | --- | ---: | --- |\n",
			row: func(cw *countingWriter, a Action) {
				cw.printf("| %s | %s | %s | %d | %s |\n", mdText(a.Kind()), mdCode(a.Email), mdText(a.Error), a.Attempts, mdCode(a.RequestID))
			}},
		{title: "Create", count: s.Create, keep: ofOp(reconcile.OpCreate), cols: plainCols, row: plain},
		{title: "Reinvite", count: s.Reinvite, keep: ofOp(reconcile.OpReinvite), cols: plainCols, row: plain},
		{title: "Revoke", count: s.Revoke, keep: ofOp(reconcile.OpRevoke), cols: plainCols, row: plain},
		{title: "Grant", count: s.Grant, keep: ofOp(reconcile.OpGrant), cols: accessCols, row: access},
		{title: "Ungrant", count: s.Ungrant, keep: ofOp(reconcile.OpUngrant), cols: accessCols, row: access},
		{title: "Remove member", count: s.RemoveMember, keep: ofOp(reconcile.OpRemoveMember),
			cols: "| email | goes with the user | reason | status |\n| --- | --- | --- | --- |\n",
			row: func(cw *countingWriter, a Action) {
				cw.printf("| %s | %s | %s | %s |\n", mdCode(a.Email), mdText(radiusText(a, 10)), mdText(a.Reason), mdText(string(a.Status)))
			}},
		{title: "Unmanaged (pending, not ours, left alone)", count: s.Unmanaged,
			keep: func(a *reconcile.Action) bool { return a.Op == reconcile.OpLeave && a.Unmanaged }, cols: plainCols, row: plain},
	}
}

// countingWriter counts what went through, for the size budget.
type countingWriter struct {
	w *bufio.Writer
	n int
}

func (c *countingWriter) printf(format string, args ...any) {
	n, _ := fmt.Fprintf(c.w, format, args...) // bufio keeps the first error for Flush
	c.n += n
}

// writeMarkdown writes report.md: a header, the summary table, and each kind
// of change with its reasons, folded after mdVisibleRows rows.
func writeMarkdown(w io.Writer, d *Document) error {
	cw := &countingWriter{w: bufio.NewWriter(w)}
	verb := "plan"
	if d.Mode == "apply" {
		verb = "apply"
	}
	cw.printf("## invitesync %s: %s %s\n\n", mdText(verb), mdText(d.Provider), mdCode(d.Organization))
	cw.printf("Roster %s (%d rows) · started %s · took %s\n\n",
		mdCode(d.Roster.File), d.Roster.Rows, d.StartedAt.Format(time.RFC3339), d.FinishedAt.Sub(d.StartedAt).Round(time.Millisecond))
	if d.Cancelled {
		cw.printf("> [!WARNING]\n> The run was cancelled: actions not attempted are marked skipped.\n\n")
	}
	s := d.Summary
	if s.Grant+s.Ungrant+s.RemoveMember+s.Unknown > 0 {
		cw.printf("| create | reinvite | revoke | grant | ungrant | remove member | leave | unmanaged | failed | unknown | unsupported |\n")
		cw.printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		cw.printf("| %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n\n", s.Create, s.Reinvite, s.Revoke, s.Grant, s.Ungrant, s.RemoveMember, s.Leave, s.Unmanaged, s.Failed, s.Unknown, s.Unsupported)
	} else {
		cw.printf("| create | reinvite | revoke | leave | unmanaged | failed | unsupported |\n")
		cw.printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		cw.printf("| %d | %d | %d | %d | %d | %d | %d |\n\n", s.Create, s.Reinvite, s.Revoke, s.Leave, s.Unmanaged, s.Failed, s.Unsupported)
	}

	changes := 0
	for _, sec := range mdSections(d) {
		if sec.count == 0 {
			continue
		}
		changes += sec.count
		cw.printf("### %s (%d)\n\n", sec.title, sec.count)
		// One pass over the plan per section: rows are rendered as they are
		// met, the first mdVisibleRows in view, the rest folded while the page
		// stays within budget, and what is left only counted.
		cw.printf("%s", sec.cols)
		shown, folded := 0, false
		for i := range d.actions {
			ra := &d.actions[i]
			if !sec.keep(ra) {
				continue
			}
			if shown == mdVisibleRows && !folded {
				folded = true
				cw.printf("\n<details><summary>%d more</summary>\n\n%s", sec.count-shown, sec.cols)
			}
			if folded && cw.n >= mdBudget {
				break
			}
			sec.row(cw, toAction(ra))
			shown++
		}
		if folded {
			if shown < sec.count {
				cw.printf("\n…and %d more: see report.json or report.html.\n", sec.count-shown)
			}
			cw.printf("\n</details>\n")
		}
		cw.printf("\n")
	}
	if changes == 0 {
		cw.printf("Nothing to change.\n")
	}
	return cw.w.Flush()
}

// mdText escapes free text for a GitHub-flavoured Markdown table cell: HTML
// is entity-encoded (no tag, comment or entity of the roster's survives),
// Markdown punctuation is backslash-escaped, line breaks become spaces, and
// long text is cut so one row cannot flood the page.
func mdText(s string) string {
	s = Sanitize(strings.Map(lineBreakToSpace, clip(s, mdCellMax)))
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\r', '\n', '\t':
			b.WriteByte(' ')
		case '\\', '`', '*', '_', '[', ']', '(', ')', '#', '!', '|', '~', ':':
			// ':' keeps GFM from autolinking a URL the text holds.
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			if r < 0x20 || r == 0x7f {
				continue // other control characters: dropped
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode renders an identifier (email, id) as a code span: no formatting,
// link or @mention can form inside, which escaping alone does not promise.
// Code spans cannot escape, so a value holding a backslash, a backtick or a
// pipe (GFM splits table cells before it sees code) is escaped text instead.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, "\\`|") {
		return mdText(s)
	}
	s = Sanitize(clip(s, mdCellMax))
	if strings.ContainsAny(s, "\\`|") { // Sanitize escaped something
		return mdText(s)
	}
	return "`" + s + "`"
}

func lineBreakToSpace(r rune) rune {
	if r == '\r' || r == '\n' || r == '\t' {
		return ' '
	}
	return r
}

// clip cuts s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// appendStepSummary appends the Markdown report to the GitHub Actions job
// summary when GITHUB_STEP_SUMMARY names one.
func appendStepSummary(d *Document) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("append to GITHUB_STEP_SUMMARY: %w", err)
	}
	if err := writeMarkdown(f, d); err != nil {
		f.Close()
		return fmt.Errorf("append to GITHUB_STEP_SUMMARY: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("append to GITHUB_STEP_SUMMARY: %w", err)
	}
	return nil
}
