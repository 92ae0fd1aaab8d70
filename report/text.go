package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/invitesync/invitesync/reconcile"
	"github.com/invitesync/invitesync/sources"
)

// TextOptions shape the terminal plan of WritePlanText.
type TextOptions struct {
	// Color draws the +, - and ~ markers in colour (ANSI). ColorEnabled
	// says whether a stream should get it.
	Color bool
	// MaxLines bounds the lines listing changes and unmanaged people (the
	// header, summaries and trailer are extra); 0 lists everything. What does
	// not fit is never cut silently: a line says exactly how many actions of
	// which kind were left out and where to read them.
	MaxLines int
	// Width clips free text (reasons, errors) to the terminal's columns; 0
	// clips nothing. Emails and ids are never clipped.
	Width int
	// Paths are the report files written for this run: named at the end, and
	// the cut points at report.md (or report.html) among them.
	Paths []string
}

// ColorEnabled reports whether f should get colour: a terminal, NO_COLOR
// unset or empty (https://no-color.org), and TERM not "dumb".
func ColorEnabled(f *os.File) bool {
	if f == nil || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// ANSI SGR codes for the plan's markers.
const (
	sgrReset  = "\x1b[0m"
	sgrBold   = "\x1b[1m"
	sgrDim    = "\x1b[2m"
	sgrRed    = "\x1b[31m"
	sgrGreen  = "\x1b[32m"
	sgrYellow = "\x1b[33m"
	sgrCyan   = "\x1b[36m"
)

// textWriter renders the plan; every upstream- or roster-sourced string goes
// through Sanitize before it reaches the terminal.
type textWriter struct {
	w    *bufio.Writer
	opts TextOptions
	// sends: the attributes the provider sets (nil: a plan that does not
	// say, all shown).
	sends map[string]bool
}

func (t *textWriter) paint(sgr, s string) string {
	if !t.opts.Color || s == "" {
		return s
	}
	return sgr + s + sgrReset
}

// clip cuts free text to the terminal width, after indent columns.
func (t *textWriter) clip(s string, indent int) string {
	if t.opts.Width <= 0 {
		return s
	}
	room := t.opts.Width - indent
	if room < 10 {
		room = 10
	}
	if utf8.RuneCountInString(s) <= room {
		return s
	}
	r := []rune(s)
	return string(r[:room-1]) + "…"
}

// WritePlanText writes res as a terminal plan in the manner of terraform
// plan: the summary line, then one block per person — "+" create, "~"
// reinvite with what differs (old -> new) and the attributes sent, "-" revoke,
// "-" remove-member with its blast radius (API key ids, role binding count),
// access grants and removals as "+"/"-" lines under the person — then the
// unmanaged invitations left alone, and the summary line again. An apply
// result shows each action's outcome. Leaves are counted, not listed.
func WritePlanText(w io.Writer, res *reconcile.Result, opts TextOptions) error {
	if res == nil {
		return fmt.Errorf("write plan text: no result")
	}
	d := newDocument(res)
	t := &textWriter{w: bufio.NewWriterSize(w, 64<<10), opts: opts}
	if res.Plan != nil && res.Plan.Sends != nil {
		t.sends = map[string]bool{}
		for _, a := range res.Plan.Sends {
			t.sends[a] = true
		}
	}
	s := d.Summary

	verb := "plan"
	if d.Mode == "apply" {
		verb = "apply"
	}
	fmt.Fprintf(t.w, "%s %s: %s %s · roster %s (%d rows)\n", t.paint(sgrBold, "invitesync"), Sanitize(verb),
		Sanitize(d.Provider), t.paint(sgrBold, Sanitize(d.Organization)), Sanitize(orDash(d.Roster.File)), d.Roster.Rows)
	summary := t.summaryLine(d)
	fmt.Fprintln(t.w, summary)
	if d.Cancelled {
		fmt.Fprintln(t.w, t.paint(sgrYellow, "The run was cancelled: actions not attempted are marked skipped."))
	}

	budget := opts.MaxLines
	listed := 0 // lines written in the listing
	fits := func(n int) bool { return budget <= 0 || listed+n <= budget }
	shown := map[reconcile.Op]int{}
	cut := false
	if changes(s) > 0 {
		fmt.Fprintln(t.w)
	}
	// Access actions are listed under their person's invitation or member
	// action wherever the plan puts them; indexed only when there are some.
	var access map[string][]int
	hasHead := map[string]bool{}
	if s.Grant+s.Ungrant > 0 {
		access = map[string][]int{}
		for i := range d.actions {
			if a := &d.actions[i]; isAccess(a.Op) {
				k := strings.ToLower(a.Email)
				access[k] = append(access[k], i)
			}
		}
		for i := range d.actions {
			a := &d.actions[i]
			if k := strings.ToLower(a.Email); a.Op != reconcile.OpLeave && !isAccess(a.Op) && access[k] != nil {
				hasHead[k] = true
			}
		}
	}
	printed := map[string]bool{} // people whose access is listed already
	for i := range d.actions {
		a := &d.actions[i]
		if a.Op == reconcile.OpLeave {
			continue
		}
		var acc []*reconcile.Action
		k := ""
		if access != nil {
			k = strings.ToLower(a.Email)
			if isAccess(a.Op) && (hasHead[k] || printed[k]) {
				continue // listed with the person's other action
			}
			if !printed[k] {
				for _, j := range access[k] {
					acc = append(acc, &d.actions[j])
				}
				printed[k] = true
			}
		}
		head := a
		if isAccess(a.Op) {
			head = nil
		}
		lines := t.block(d, head, acc)
		if !fits(len(lines)) {
			cut = true
			break
		}
		for _, l := range lines {
			fmt.Fprintln(t.w, l)
		}
		listed += len(lines)
		if head != nil {
			shown[head.Op]++
		}
		for _, g := range acc {
			shown[g.Op]++
		}
	}

	shownUnmanaged := 0
	if s.Unmanaged > 0 && !cut && fits(2) {
		fmt.Fprintf(t.w, "\n%s\n", t.paint(sgrBold, fmt.Sprintf("Unmanaged: %d not made by invitesync (invitations, roles, members), left alone:",
			s.Unmanaged)))
		listed += 2
		for i := range d.actions {
			a := &d.actions[i]
			if a.Op != reconcile.OpLeave || !a.Unmanaged {
				continue
			}
			if !fits(1) {
				break
			}
			what := idSuffix("invitation", a.InvitationID)
			switch {
			case a.Grant != nil:
				what = " holds " + Sanitize(a.Grant.Role)
			case a.User != nil:
				what = idSuffix("member", a.User.ID)
			}
			fmt.Fprintf(t.w, "  %s %s%s\n", t.paint(sgrCyan, "?"), Sanitize(a.Email), what)
			listed++
			shownUnmanaged++
		}
	}
	if note := t.cutNote(s, shown, s.Unmanaged-shownUnmanaged); note != "" {
		fmt.Fprintf(t.w, "\n%s\n", t.paint(sgrYellow, note))
	}
	if changes(s) == 0 {
		fmt.Fprintf(t.w, "\nNo changes: the upstream matches the roster.\n")
	}
	fmt.Fprintf(t.w, "\n%s\n", summary)
	if len(opts.Paths) > 0 {
		paths := make([]string, len(opts.Paths))
		for i, p := range opts.Paths {
			paths[i] = Sanitize(p)
		}
		fmt.Fprintf(t.w, "Reports: %s\n", strings.Join(paths, " "))
	}
	return t.w.Flush()
}

// summaryLine is "Plan: 3 to create, 1 to reinvite, ... " and, for an
// apply, the outcomes.
func (t *textWriter) summaryLine(d *Document) string {
	s := d.Summary
	apply := d.Mode == "apply"
	// A plan says what it will do ("3 to create"); an apply what it had to
	// do ("3 create"), then how it went.
	count := func(sgr string, n int, what string) string {
		if apply {
			return t.paint(sgr, fmt.Sprintf("%d %s", n, what))
		}
		return t.paint(sgr, fmt.Sprintf("%d to %s", n, what))
	}
	parts := []string{count(sgrGreen, s.Create, "create"), count(sgrYellow, s.Reinvite, "reinvite"), count(sgrRed, s.Revoke, "revoke")}
	if s.Grant > 0 {
		parts = append(parts, count(sgrGreen, s.Grant, "grant"))
	}
	if s.Ungrant > 0 {
		parts = append(parts, count(sgrRed, s.Ungrant, "ungrant"))
	}
	if s.RemoveMember > 0 {
		parts = append(parts, count(sgrRed, s.RemoveMember, "remove-member"))
	}
	line := "Plan: " + strings.Join(parts, ", ")
	if apply {
		line = "Apply: " + strings.Join(parts, ", ")
	}
	line += fmt.Sprintf("; %d unchanged, %d unmanaged", s.Leave, s.Unmanaged)
	if s.Unsupported > 0 {
		line += fmt.Sprintf(", %d unsupported", s.Unsupported)
	}
	if apply {
		done := 0
		for i := range d.actions {
			if d.actions[i].Status == reconcile.StatusDone {
				done++
			}
		}
		line += fmt.Sprintf("; %d done, %s, %d skipped", done, t.paint(failColor(s.Failed), fmt.Sprintf("%d failed", s.Failed)), s.Skipped)
		if s.Unknown > 0 {
			line += ", " + t.paint(sgrYellow, fmt.Sprintf("%d outcome unknown", s.Unknown))
		}
	}
	return line + "."
}

func failColor(n int) string {
	if n > 0 {
		return sgrRed
	}
	return ""
}

func isAccess(op reconcile.Op) bool { return op == reconcile.OpGrant || op == reconcile.OpUngrant }

// block renders one person's action (head; nil when the person has only
// access changes) with the access changes listed under it.
func (t *textWriter) block(d *Document, head *reconcile.Action, access []*reconcile.Action) []string {
	apply := d.Mode == "apply"
	var lines []string
	if head != nil {
		lines = t.actionLines(head, apply)
	} else {
		lines = []string{fmt.Sprintf("  %s %-8s %s", t.paint(sgrYellow, "~"), "access", Sanitize(access[0].Email))}
	}
	for _, a := range access {
		mark, sgr := "+", sgrGreen
		if a.Op == reconcile.OpUngrant {
			mark, sgr = "-", sgrRed
		}
		role := ""
		if a.Grant != nil {
			role = Sanitize(a.Grant.Role)
		}
		line := fmt.Sprintf("      %s %-7s %s", t.paint(sgr, mark), a.Op, role)
		if a.Reason != "" {
			line += t.paint(sgrDim, "  # "+t.clip(Sanitize(a.Reason), 18+utf8.RuneCountInString(role)))
		}
		lines = append(lines, line+t.outcome(a, apply))
		lines = append(lines, t.errorLines(a, 8)...)
	}
	return lines
}

// actionLines renders an invitation or member action and what goes with it.
func (t *textWriter) actionLines(a *reconcile.Action, apply bool) []string {
	var mark, sgr string
	switch a.Op {
	case reconcile.OpCreate:
		mark, sgr = "+", sgrGreen
	case reconcile.OpReinvite:
		mark, sgr = "~", sgrYellow
	case reconcile.OpRevoke, reconcile.OpRemoveMember:
		mark, sgr = "-", sgrRed
	default:
		mark, sgr = "?", sgrCyan // an op this renderer does not know yet: shown, never hidden
	}
	ra := toAction(a)
	id := idSuffix("invitation", ra.InvitationID)
	if a.Op == reconcile.OpRemoveMember {
		id = idSuffix("user", ra.UserID)
	}
	lines := []string{fmt.Sprintf("  %s %-8s %s%s%s", t.paint(sgr, mark), a.Op, Sanitize(a.Email), id, t.outcome(a, apply))}
	const indent = "      "
	reason := Sanitize(a.Reason)
	switch a.Op {
	case reconcile.OpReinvite:
		// The reconciler words each difference as "X differs: old -> new".
		for part := range strings.SplitSeq(reason, "; ") {
			if strings.Contains(part, "differ") {
				lines = append(lines, indent+t.paint(sgrYellow, "~ ")+t.clip(part, 8))
			} else if part != "" {
				lines = append(lines, indent+t.paint(sgrDim, "# "+t.clip(part, 8)))
			}
		}
		lines = append(lines, t.attributeLines(a.Member)...)
	case reconcile.OpCreate:
		lines = append(lines, t.attributeLines(a.Member)...)
		if reason != "" {
			lines = append(lines, indent+t.paint(sgrDim, "# "+t.clip(reason, 8)))
		}
	case reconcile.OpRemoveMember:
		if reason != "" {
			lines = append(lines, indent+t.paint(sgrDim, "# "+t.clip(reason, 8)))
		}
		if a.Radius != nil {
			lines = append(lines, indent+t.paint(sgrRed, "! takes with it: ")+Sanitize(radiusText(Action{APIKeys: ra.APIKeys, Bindings: ra.Bindings}, 10)))
		}
	default:
		if reason != "" {
			lines = append(lines, indent+t.paint(sgrDim, "# "+t.clip(reason, 8)))
		}
	}
	return append(lines, t.errorLines(a, 6)...)
}

// attributeLines are the attributes a create sends, one per line.
func (t *textWriter) attributeLines(m *sources.Member) []string {
	if m == nil {
		return nil
	}
	var lines []string
	add := func(name, value string) {
		if t.sends != nil && !t.sends[name] {
			return // the provider does not set it: not sent
		}
		lines = append(lines, fmt.Sprintf("      %-15s = %s", name, value))
	}
	if m.AuthType != "" {
		add("auth_type", strconv.Quote(Sanitize(m.AuthType)))
	}
	if len(m.OrgRoles) > 0 {
		add("org_roles", quoteList(m.OrgRoles))
	}
	if len(m.ServiceRoles) > 0 {
		roles := make([]string, len(m.ServiceRoles))
		for i, r := range m.ServiceRoles {
			roles[i] = r.String()
		}
		add("service_roles", quoteList(roles))
	}
	if len(m.Groups) > 0 {
		add("groups", quoteList(m.Groups))
	}
	if m.ExpiresInDays > 0 {
		add("expires_in_days", strconv.Itoa(m.ExpiresInDays))
	}
	return lines
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(Sanitize(v))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// outcome is an apply's result for the action line, or an unsupported note.
func (t *textWriter) outcome(a *reconcile.Action, apply bool) string {
	switch {
	case a.Status == reconcile.StatusUnsupported:
		return "  " + t.paint(sgrCyan, "[unsupported]")
	case !apply || a.Status == reconcile.StatusPlanned:
		return ""
	case a.Status == reconcile.StatusDone:
		return "  " + t.paint(sgrGreen, "[done]")
	case a.Status == reconcile.StatusFailed:
		return "  " + t.paint(sgrRed, "[failed]")
	case a.Status == reconcile.StatusUnknown:
		return "  " + t.paint(sgrYellow, "[outcome unknown]")
	}
	return "  [" + Sanitize(string(a.Status)) + "]"
}

func (t *textWriter) errorLines(a *reconcile.Action, indent int) []string {
	if a.Error == "" {
		return nil
	}
	return []string{strings.Repeat(" ", indent) + t.paint(sgrRed, "! ") + t.clip(Sanitize(a.Error), indent+2)}
}

// cutNote says exactly what the listing left out and where to read it; ""
// when nothing was.
func (t *textWriter) cutNote(s reconcile.Summary, shown map[reconcile.Op]int, leftUnmanaged int) string {
	var parts, kinds []string
	left := 0
	for _, op := range []reconcile.Op{reconcile.OpCreate, reconcile.OpReinvite, reconcile.OpRevoke, reconcile.OpGrant, reconcile.OpUngrant, reconcile.OpRemoveMember} {
		if n := summaryCount(s, string(op)) - shown[op]; n > 0 {
			left += n
			kinds = append(kinds, fmt.Sprintf("%d %s", n, op))
		}
	}
	if left > 0 {
		parts = append(parts, fmt.Sprintf("%d more %s (%s)", left, plural(left, "change", "changes"), strings.Join(kinds, ", ")))
	}
	if leftUnmanaged > 0 {
		parts = append(parts, fmt.Sprintf("%d more unmanaged", leftUnmanaged))
	}
	if len(parts) == 0 {
		return ""
	}
	where := "run plan with --format md (or html) and read report.md"
	for _, p := range t.opts.Paths {
		switch filepath.Base(p) {
		case "report.md":
			where = "see " + Sanitize(p)
		case "report.html":
			if !strings.HasPrefix(where, "see ") {
				where = "see " + Sanitize(p)
			}
		}
	}
	return fmt.Sprintf("… %s not shown here: %s", strings.Join(parts, " and "), where)
}

func idSuffix(what, id string) string {
	if id == "" {
		return ""
	}
	return " (" + what + " " + Sanitize(id) + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// TerminalWidth is f's width in columns when it is a terminal, else 0 (no
// clipping): the Width to give WritePlanText.
func TerminalWidth(f *os.File) int {
	if f == nil || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil || cols <= 0 {
		return 0
	}
	return cols
}
