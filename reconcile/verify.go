package reconcile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/invitesync/invitesync/sources"
)

// DriftError says a saved plan is not what a fresh plan from the same
// reviewed roster, the same options and the current upstream would do.
type DriftError struct {
	Differences []string // one line each: "+ ..." the fresh plan would do, "- ..." only the saved plan has
}

func (e *DriftError) Error() string {
	const show = 20
	lines := e.Differences
	more := ""
	if len(lines) > show {
		more = fmt.Sprintf("\n  ... and %d more", len(lines)-show)
		lines = lines[:show]
	}
	return fmt.Sprintf("the saved plan is not what a fresh plan would do now (%d %s; '-' only in the saved plan, '+' only in a fresh one): make a new plan and review it\n  %s%s",
		len(e.Differences), plural(len(e.Differences), "difference", "differences"), strings.Join(lines, "\n  "), more)
}

// Diff compares a saved plan's changes with a fresh plan's: every action
// that changes something (not leave), by what it does and to whom, with
// everything it would send. Reasons and timestamps are words, not deeds,
// and are not compared. nil when both would do the same.
func Diff(saved, fresh []Action) error {
	a, b := deeds(saved), deeds(fresh)
	var diffs []string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			diffs = append(diffs, "- "+a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			diffs = append(diffs, "+ "+b[j])
			j++
		default:
			i++
			j++
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return &DriftError{Differences: diffs}
}

// deeds renders each changing action as one canonical line, sorted.
func deeds(actions []Action) []string {
	var out []string
	for i := range actions {
		a := &actions[i]
		if a.Op == OpLeave {
			continue
		}
		out = append(out, deed(a))
	}
	slices.Sort(out)
	return out
}

func deed(a *Action) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q [%s]", a.Op, sources.Key(a.Email), a.Status)
	if a.Current != nil {
		fmt.Fprintf(&b, " invitation=%s(%s)", strconv.Quote(a.Current.ID), a.Current.Status)
	} else if a.InvitationID != "" {
		fmt.Fprintf(&b, " invitation=%s", strconv.Quote(a.InvitationID))
	}
	if m := a.Member; m != nil && (a.Op == OpCreate || a.Op == OpReinvite) {
		fmt.Fprintf(&b, " send{email=%s auth=%s org_roles=%s service_roles=%s groups=%s expiry=%d}",
			strconv.Quote(m.Email), strings.ToUpper(m.AuthType), list(setOf(m.OrgRoles)), list(serviceRoles(m)), list(setOf(m.Groups)), m.ExpiresInDays)
	}
	if g := a.Grant; g != nil {
		fmt.Fprintf(&b, " role=%s user=%s binding=%s", strconv.Quote(g.Role), strconv.Quote(g.UserID), strconv.Quote(g.ID))
	}
	if u := a.User; u != nil {
		fmt.Fprintf(&b, " user=%s(%s)", strconv.Quote(u.ID), strconv.Quote(u.Email))
	}
	return b.String()
}

func serviceRoles(m *sources.Member) []string {
	out := make([]string, len(m.ServiceRoles))
	for i, r := range m.ServiceRoles {
		out[i] = r.Link + "=" + r.Role
	}
	slices.Sort(out)
	return out
}

func list(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ",") + "]"
}
