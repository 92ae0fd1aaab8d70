package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/invitesync/invitesync/reconcile"
)

// DocumentVersion is the version of the report.json schema.
const DocumentVersion = 1

// Document is what every format renders (report.json's content), so they all
// agree on the counts. It reads the result's actions in place rather than
// copying them: a 1M-action run needs no second copy of its plan to report it.
type Document struct {
	Version      int
	Mode         string
	Provider     string
	Organization string
	StartedAt    time.Time
	FinishedAt   time.Time
	Roster       Roster
	Summary      reconcile.Summary // reconcile.Summarize: every format agrees on the counts
	Cancelled    bool

	actions []reconcile.Action
}

// Roster names the roster a run read.
type Roster struct {
	File string `json:"file"`
	Rows int    `json:"rows"`
}

// changes is how many actions would change the upstream (every kind but
// leave and unmanaged).
func changes(s reconcile.Summary) int {
	return s.Create + s.Reinvite + s.Revoke + s.Grant + s.Ungrant + s.RemoveMember
}

// summaryCount returns the summary's count for a kind name ("failed",
// "unknown", "skipped" and "unsupported" are statuses).
func summaryCount(s reconcile.Summary, kind string) int {
	switch kind {
	case "create":
		return s.Create
	case "reinvite":
		return s.Reinvite
	case "revoke":
		return s.Revoke
	case "leave":
		return s.Leave
	case "unmanaged":
		return s.Unmanaged
	case "grant":
		return s.Grant
	case "ungrant":
		return s.Ungrant
	case "remove-member":
		return s.RemoveMember
	case "failed":
		return s.Failed
	case "unknown":
		return s.Unknown
	case "skipped":
		return s.Skipped
	case "unsupported":
		return s.Unsupported
	}
	return 0
}

// Action is one row of report.json. The first keys are always present (empty
// when unknown) so consumers such as jq need no defaults; "unmanaged" is added
// only when true, and the access/offboarding keys only where they apply.
type Action struct {
	Op           reconcile.Op           `json:"op"`
	Email        string                 `json:"email"`
	Reason       string                 `json:"reason"`
	InvitationID string                 `json:"invitation_id"`
	Status       reconcile.ActionStatus `json:"status"`
	Attempts     int                    `json:"attempts"`
	Error        string                 `json:"error"`
	RequestID    string                 `json:"request_id"`
	Unmanaged    bool                   `json:"unmanaged,omitempty"`
	// Role is the role granted or removed (grant, ungrant), NAME[@SCOPE].
	Role string `json:"role,omitempty"`
	// BindingID is the upstream's id of that grant, where it has one.
	BindingID string `json:"binding_id,omitempty"`
	// UserID is the upstream user (remove-member; grants where known).
	UserID string `json:"user_id,omitempty"`
	// APIKeys and Bindings are the blast radius of a remove-member: the ids
	// of the API keys and role bindings that go with the user (never a secret).
	APIKeys  []string `json:"api_keys,omitempty"`
	Bindings []string `json:"bindings,omitempty"`
}

// Kind is the report's grouping of an action: its op, or "unmanaged" for a
// leave of someone else's pending invitation (Summary counts them apart).
func (a Action) Kind() string { return kindOf(a.Op, a.Unmanaged) }

func kindOf(op reconcile.Op, unmanaged bool) string {
	if op == reconcile.OpLeave && unmanaged {
		return "unmanaged"
	}
	return string(op)
}

// IsChange reports whether the action changes the upstream (not a leave).
func (a Action) IsChange() bool { return a.Op != reconcile.OpLeave }

// NewDocument builds the report document of res.
func NewDocument(res *reconcile.Result) *Document { return newDocument(res) }

func newDocument(res *reconcile.Result) *Document {
	actions := res.Actions
	d := &Document{
		Version:    DocumentVersion,
		Mode:       res.Mode,
		StartedAt:  res.StartedAt.UTC(),
		FinishedAt: res.FinishedAt.UTC(),
		Cancelled:  res.Cancelled,
	}
	if p := res.Plan; p != nil {
		d.Provider = p.Provider
		d.Organization = p.Organization
		d.Roster = Roster{File: p.RosterFile, Rows: p.RosterRows}
		// A result built straight from a plan may not have copied the actions yet.
		if actions == nil {
			actions = p.Actions
		}
	}
	d.actions = actions
	d.Summary = reconcile.Summarize(actions)
	return d
}

// Len is the number of actions.
func (d *Document) Len() int { return len(d.actions) }

// Action returns row i of report.json.
func (d *Document) Action(i int) Action { return toAction(&d.actions[i]) }

func toAction(a *reconcile.Action) Action {
	out := Action{
		Op:           a.Op,
		Email:        a.Email,
		Reason:       a.Reason,
		InvitationID: a.InvitationID,
		Status:       a.Status,
		Attempts:     a.Attempts,
		Error:        a.Error,
		RequestID:    a.RequestID,
		Unmanaged:    a.Unmanaged,
	}
	if g := a.Grant; g != nil {
		out.Role, out.BindingID, out.UserID = g.Role, g.ID, g.UserID
	}
	if u := a.User; u != nil {
		out.UserID = u.ID
	}
	if r := a.Radius; r != nil {
		out.APIKeys, out.Bindings = r.APIKeys, r.Bindings
	}
	return out
}

// detailText is what an access or offboarding action carries beyond its
// reason: the role, or a removal's blast radius (ids only, at most maxIDs
// key ids named, the rest counted).
func detailText(a Action, maxIDs int) string {
	switch a.Op {
	case reconcile.OpGrant, reconcile.OpUngrant:
		if a.BindingID != "" {
			return a.Role + " (binding " + a.BindingID + ")"
		}
		return a.Role
	case reconcile.OpRemoveMember:
		return radiusText(a, maxIDs)
	}
	return ""
}

// radiusText describes what goes with a removed user, e.g.
// "user u-42; 2 API keys: AK1, AK2; 3 role bindings".
func radiusText(a Action, maxIDs int) string {
	var b strings.Builder
	if a.UserID != "" {
		b.WriteString("user " + a.UserID + "; ")
	}
	switch n := len(a.APIKeys); n {
	case 0:
		b.WriteString("no API keys")
	default:
		fmt.Fprintf(&b, "%d API %s: ", n, plural(n, "key", "keys"))
		shown := min(n, maxIDs)
		b.WriteString(strings.Join(a.APIKeys[:shown], ", "))
		if n > shown {
			fmt.Fprintf(&b, " and %d more", n-shown)
		}
	}
	n := len(a.Bindings)
	fmt.Fprintf(&b, "; %d role %s", n, plural(n, "binding", "bindings"))
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
