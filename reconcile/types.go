// Package reconcile computes a Plan from a roster and the current invitations
// (pure, no I/O) and applies it through a providers.Provider. It knows no HTTP.
package reconcile

import (
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// Op is what a plan does for one person.
type Op string

const (
	OpCreate   Op = "create"
	OpReinvite Op = "reinvite" // revoke the pending one (if any), then create
	OpRevoke   Op = "revoke"
	OpLeave    Op = "leave"
	// Access: one role for one person (providers.Grant).
	OpGrant   Op = "grant"
	OpUngrant Op = "ungrant"
	// Offboarding: a member absent from the roster leaves the org
	// (--remove-members; --offboard remove).
	OpRemoveMember Op = "remove-member"
)

// ActionStatus is where an action stands.
type ActionStatus string

const (
	StatusPlanned     ActionStatus = "planned"
	StatusDone        ActionStatus = "done"
	StatusFailed      ActionStatus = "failed"
	StatusSkipped     ActionStatus = "skipped"     // not attempted (cancelled run, policy)
	StatusUnsupported ActionStatus = "unsupported" // the provider cannot do it; reason says what to do instead
	// StatusUnknown: the request may have taken effect upstream and no
	// answer or read-back said whether. It is never re-sent blindly; the
	// next run's listing settles it (and the ledger records it then).
	StatusUnknown ActionStatus = "unknown"
)

// Policy decides which changes a run may make.
type Policy string

const (
	PolicySync       Policy = "sync"        // create, reinvite, revoke
	PolicyCreateOnly Policy = "create-only" // never revokes
)

// Action is one row of a plan, and later of its result.
type Action struct {
	Op           Op                    `json:"op"`
	Email        string                `json:"email"`
	Reason       string                `json:"reason"`
	InvitationID string                `json:"invitation_id,omitempty"` // current one; after a create, the new one
	Status       ActionStatus          `json:"status"`
	Unmanaged    bool                  `json:"unmanaged,omitempty"` // leave: pending, not ours, not in roster
	Attempts     int                   `json:"attempts"`
	Error        string                `json:"error,omitempty"`
	RequestID    string                `json:"request_id,omitempty"`
	Member       *sources.Member       `json:"member,omitempty"`  // desired (nil for revoke/leave of absent)
	Current      *providers.Invitation `json:"current,omitempty"` // nil for create
	Grant        *providers.Grant      `json:"grant,omitempty"`   // grant, ungrant
	User         *providers.User       `json:"user,omitempty"`    // remove-member
	Radius       *providers.Radius     `json:"radius,omitempty"`  // remove-member: what goes with the user
}

// Summary counts planned actions by kind; Failed counts failed ones.
// Leave excludes Unmanaged (the two are disjoint).
type Summary struct {
	Create       int `json:"create"`
	Reinvite     int `json:"reinvite"`
	Revoke       int `json:"revoke"`
	Leave        int `json:"leave"`
	Unmanaged    int `json:"unmanaged"`
	Grant        int `json:"grant"`
	Ungrant      int `json:"ungrant"`
	RemoveMember int `json:"remove_member"`
	Failed       int `json:"failed"`
	Unknown      int `json:"unknown"`
	Skipped      int `json:"skipped"`
	Unsupported  int `json:"unsupported"`
}

// Plan is a computed, reviewable set of actions, sorted by email.
type Plan struct {
	Version      int    `json:"version"`
	Provider     string `json:"provider"`
	Organization string `json:"organization"` // the org's canonical id (providers.Identity.Org)
	// Principal is who the plan was computed as (ownership by creator).
	Principal  string    `json:"principal,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Policy     Policy    `json:"policy"`
	RosterFile string    `json:"roster_file"`
	RosterRows int       `json:"roster_rows"`
	// RosterDigest is the sha256 of the roster file: apply --plan re-reads
	// that file, refuses another one, and re-derives the plan from it.
	RosterDigest string `json:"roster_digest"`
	// Options are everything besides the roster and the upstream that
	// shaped the plan; apply --plan re-derives with them.
	Options PlanOptions `json:"options"`
	// Sends names the roster attributes this provider sets on an
	// invitation (auth_type, org_roles, service_roles, groups,
	// expires_in_days): the others are not sent, so not shown as sent.
	Sends []string `json:"sends,omitempty"`
	// Fingerprint is a digest of the upstream invitations the plan was
	// computed from, for the record (apply --plan re-derives the plan).
	Fingerprint string   `json:"fingerprint"`
	Actions     []Action `json:"actions"`
	// Digest is a sha256 over the rest of the file as written: an edit by
	// hand is caught before anything else is read. It is a seal against
	// mistakes and naive edits; what protects the org is that apply --plan
	// re-derives every action and refuses any difference.
	Digest string `json:"digest,omitempty"`
}

// PlanOptions are the operator's choices that shape a plan.
type PlanOptions struct {
	Policy          Policy        `json:"policy"`
	MaxRevoke       string        `json:"max_revoke"`
	RevokeUnmanaged bool          `json:"revoke_unmanaged,omitempty"`
	RefreshBefore   time.Duration `json:"refresh_before_ns,omitempty"`
	ManageAllRoles  bool          `json:"manage_all_roles,omitempty"`
	RemoveMembers   bool          `json:"remove_members,omitempty"`
	Offboard        string        `json:"offboard,omitempty"` // remove | strip-roles (with RemoveMembers)
	MaxRemove       string        `json:"max_remove,omitempty"`
	AllowKeyLoss    bool          `json:"allow_key_loss,omitempty"`
	// Adopt is the sha256 of the --adopt file's email list, if any.
	Adopt string `json:"adopt,omitempty"`
}

// Result is a finished plan or apply run, what report writes.
type Result struct {
	Mode       string    `json:"mode"` // "plan" | "apply"
	Plan       *Plan     `json:"plan"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Actions    []Action  `json:"actions"` // plan's actions with their outcome
	Cancelled  bool      `json:"cancelled,omitempty"`
}

// Summarize counts actions as the report's summary does.
func Summarize(actions []Action) Summary {
	var s Summary
	for _, a := range actions {
		switch {
		case a.Op == OpCreate:
			s.Create++
		case a.Op == OpReinvite:
			s.Reinvite++
		case a.Op == OpRevoke:
			s.Revoke++
		case a.Op == OpLeave && a.Unmanaged:
			s.Unmanaged++
		case a.Op == OpLeave:
			s.Leave++
		case a.Op == OpGrant:
			s.Grant++
		case a.Op == OpUngrant:
			s.Ungrant++
		case a.Op == OpRemoveMember:
			s.RemoveMember++
		}
		switch a.Status {
		case StatusFailed:
			s.Failed++
		case StatusUnknown:
			s.Unknown++
		case StatusSkipped:
			s.Skipped++
		case StatusUnsupported:
			s.Unsupported++
		}
	}
	return s
}

// Changes reports whether any action would change the upstream (what makes
// plan exit 2): one the provider can carry out that is not done.
func Changes(actions []Action) bool {
	for _, a := range actions {
		if a.Op != OpLeave && a.Status != StatusUnsupported && a.Status != StatusDone && a.Status != StatusSkipped {
			return true
		}
	}
	return false
}

// Destructive reports whether op takes something away upstream.
func Destructive(a *Action) bool {
	switch a.Op {
	case OpRevoke, OpUngrant, OpRemoveMember:
		return true
	case OpReinvite:
		return a.Current != nil && a.Current.Status == providers.StatusPending
	}
	return false
}
