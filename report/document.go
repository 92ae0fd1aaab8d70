package report

import (
	"time"

	"github.com/invitesync/invitesync/reconcile"
)

// DocumentVersion is the version of the report.json schema.
const DocumentVersion = 1

// Document is report.json (design.md, "Report"). Every format renders from it,
// so they all agree on the counts.
type Document struct {
	Version      int               `json:"version"`
	Mode         string            `json:"mode"`
	Provider     string            `json:"provider"`
	Organization string            `json:"organization"`
	StartedAt    time.Time         `json:"started_at"`
	FinishedAt   time.Time         `json:"finished_at"`
	Roster       Roster            `json:"roster"`
	Summary      reconcile.Summary `json:"summary"` // "unsupported" is an extension
	Cancelled    bool              `json:"cancelled,omitempty"`
	Actions      []Action          `json:"actions"`
}

// Roster names the roster a run read.
type Roster struct {
	File string `json:"file"`
	Rows int    `json:"rows"`
}

// Action is one row of report.json. Every key is always present (empty when
// unknown) so consumers such as jq need no defaults; "unmanaged" is added
// only when true.
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
}

// Kind is the report's grouping of an action: its op, or "unmanaged" for a
// leave of someone else's pending invitation (Summary counts them apart).
func (a Action) Kind() string {
	if a.Op == reconcile.OpLeave && a.Unmanaged {
		return "unmanaged"
	}
	return string(a.Op)
}

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
	d.Summary = reconcile.Summarize(actions)
	d.Actions = make([]Action, len(actions))
	for i, a := range actions {
		d.Actions[i] = Action{
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
	}
	return d
}
