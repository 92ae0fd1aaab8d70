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

// section is one list of the Markdown report.
type section struct {
	title string
	rows  []Action
	fail  bool // columns for failures: op, email, error, attempts, request id
}

// mdSections groups the changes a reviewer must see. Each kind's list holds
// every action of that kind (its count is the summary table's), whatever its
// status; failures are listed again first, with their errors. "leave" is
// counted in the summary table only: it changes nothing.
func mdSections(d *Document) []section {
	var failed, create, reinvite, revoke, unmanaged []Action
	for _, a := range d.Actions {
		if a.Status == reconcile.StatusFailed {
			failed = append(failed, a)
		}
		switch a.Kind() {
		case "create":
			create = append(create, a)
		case "reinvite":
			reinvite = append(reinvite, a)
		case "revoke":
			revoke = append(revoke, a)
		case "unmanaged":
			unmanaged = append(unmanaged, a)
		}
	}
	return []section{
		{title: "Failed", rows: failed, fail: true},
		{title: "Create", rows: create},
		{title: "Reinvite", rows: reinvite},
		{title: "Revoke", rows: revoke},
		{title: "Unmanaged (pending, not ours, left alone)", rows: unmanaged},
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
	cw.printf("| create | reinvite | revoke | leave | unmanaged | failed | unsupported |\n")
	cw.printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	cw.printf("| %d | %d | %d | %d | %d | %d | %d |\n\n", s.Create, s.Reinvite, s.Revoke, s.Leave, s.Unmanaged, s.Failed, s.Unsupported)

	changes := 0
	for _, sec := range mdSections(d) {
		if len(sec.rows) == 0 {
			continue
		}
		changes += len(sec.rows)
		cw.printf("### %s (%d)\n\n", sec.title, len(sec.rows))
		shown := min(len(sec.rows), mdVisibleRows)
		mdTable(cw, sec, sec.rows[:shown], -1)
		if rest := sec.rows[shown:]; len(rest) > 0 {
			// Fold the rest while the page stays within budget; count what is left.
			cw.printf("\n<details><summary>%d more</summary>\n\n", len(rest))
			n := 0
			if cw.n < mdBudget {
				n = mdTable(cw, sec, rest, mdBudget)
			}
			if n < len(rest) {
				cw.printf("\n…and %d more: see report.json or report.html.\n", len(rest)-n)
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

// mdTable writes a table of rows, stopping once the page passes budget
// (budget < 0: no limit); it returns how many rows it wrote.
func mdTable(cw *countingWriter, sec section, rows []Action, budget int) int {
	if sec.fail {
		cw.printf("| op | email | error | attempts | request id |\n| --- | --- | --- | ---: | --- |\n")
	} else {
		cw.printf("| email | reason | status | invitation |\n| --- | --- | --- | --- |\n")
	}
	for i, a := range rows {
		if budget >= 0 && cw.n >= budget {
			return i
		}
		if sec.fail {
			cw.printf("| %s | %s | %s | %d | %s |\n", mdText(a.Kind()), mdCode(a.Email), mdText(a.Error), a.Attempts, mdCode(a.RequestID))
		} else {
			cw.printf("| %s | %s | %s | %s |\n", mdCode(a.Email), mdText(a.Reason), mdText(string(a.Status)), mdCode(a.InvitationID))
		}
	}
	return len(rows)
}

// mdText escapes free text for a GitHub-flavoured Markdown table cell: HTML
// is entity-encoded (no tag, comment or entity of the roster's survives),
// Markdown punctuation is backslash-escaped, line breaks become spaces, and
// long text is cut so one row cannot flood the page.
func mdText(s string) string {
	s = clip(s, mdCellMax)
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
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, clip(s, mdCellMax))
	return "`" + s + "`"
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
