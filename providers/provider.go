// Package providers holds the Provider interface the reconciler drives and the
// HTTP plumbing every upstream client shares (rate limit, retries, typed errors).
// Providers know nothing of roster files nor of dry runs.
package providers

import (
	"context"
	"time"
)

// Status is an invitation's state normalised across the upstream APIs.
type Status string

const (
	StatusPending  Status = "pending"
	StatusAccepted Status = "accepted"
	StatusExpired  Status = "expired"
	StatusRevoked  Status = "revoked"
	StatusUnknown  Status = "unknown" // an upstream value we do not know: never acted on
)

// ServiceRole is one role on one service (CSP serviceRolesDtos, flattened).
type ServiceRole struct {
	Link string `json:"service_definition_link"`
	Role string `json:"role"`
}

// Invitation is one current upstream invitation.
type Invitation struct {
	ID           string        `json:"id"`
	Email        string        `json:"email"`
	AuthType     string        `json:"auth_type,omitempty"`
	Status       Status        `json:"status"`
	RawStatus    string        `json:"raw_status"`
	OrgRoles     []string      `json:"org_roles,omitempty"`
	ServiceRoles []ServiceRole `json:"service_roles,omitempty"`
	Groups       []string      `json:"groups,omitempty"`
	CreatedAt    time.Time     `json:"created_at,omitzero"`
	ExpiresAt    time.Time     `json:"expires_at,omitzero"`
	AcceptedAt   time.Time     `json:"accepted_at,omitzero"`
	CreatorID    string        `json:"creator_id,omitempty"` // empty where the API has no creator (Azure)
}

// InviteRequest is what to create for one person.
type InviteRequest struct {
	Email         string
	AuthType      string // "" = upstream default
	OrgRoles      []string
	ServiceRoles  []ServiceRole
	Groups        []string
	ExpiresInDays int // 0 = upstream default
}

// CreateResult is the outcome of one person's create within a (possibly batched) call.
type CreateResult struct {
	Email string
	// Invitation is the created (or, on "already invited", the existing) invitation
	// when the API tells us; CSP's 202 carries no body, so ID may be empty there.
	Invitation     *Invitation
	AlreadyInvited bool  // upstream said a pending invitation already existed (Confluent 409 + Location)
	Err            error // nil on success; *Error for upstream refusals
	RequestID      string
	Attempts       int
}

// Capabilities says what a provider can do and which limits it enforces.
// reconcile uses it to plan (unsupported ops, attributes to compare) and to
// validate members before any request.
type Capabilities struct {
	Revoke     bool   // false: the plan marks revokes "unsupported"
	RevokeHint string // what to do instead when Revoke is false
	MaxBatch   int    // most people one create call may carry (1 = no batching)

	AuthType     bool // the API sets and reports auth type
	OrgRoles     bool
	ServiceRoles bool
	Groups       bool
	Expiry       bool // the API takes an expiry in days at create

	MaxGroups     int // 0 = no limit known
	MinExpiryDays int
	MaxExpiryDays int
}

// Provider is one upstream organization's invitations.
type Provider interface {
	// Name is the provider's CLI name: confluent, csp, azure.
	Name() string
	// Organization names the org acted on, for reports (never a secret).
	Organization() string
	Capabilities() Capabilities
	// WhoAmI returns the principal id the tool acts as, as it appears in
	// Invitation.CreatorID; "" when the API cannot tell (ownership by ledger only).
	WhoAmI(ctx context.Context) (string, error)
	// List returns every current invitation (all pages).
	List(ctx context.Context) ([]Invitation, error)
	// Create invites the people in reqs, which share one set of attributes when
	// len(reqs) > 1 (at most Capabilities().MaxBatch). It returns one result per
	// request, in order; the error is for failures of the whole call (context).
	Create(ctx context.Context, reqs []InviteRequest) ([]CreateResult, error)
	// Revoke revokes one pending invitation. A missing invitation is not an error.
	Revoke(ctx context.Context, inv Invitation) (RevokeResult, error)
}

// RevokeResult tells how a revoke went on the wire.
type RevokeResult struct {
	RequestID string
	Attempts  int
	NotFound  bool // it was already gone
}

// Attempt is one HTTP request attempt, reported to Config.OnAttempt (the audit log).
type Attempt struct {
	Time      time.Time     `json:"time"`
	Action    string        `json:"action,omitempty"` // from WithAction, e.g. "create ada@example.com"
	Method    string        `json:"method"`
	Path      string        `json:"path"`   // no query secrets
	Status    int           `json:"status"` // 0 when no response (connection error)
	Latency   time.Duration `json:"latency_ns"`
	Attempt   int           `json:"attempt"`
	RequestID string        `json:"request_id,omitempty"`
	Error     string        `json:"error,omitempty"`
}

type actionKey struct{}

// WithAction labels the requests made under ctx for the audit log.
func WithAction(ctx context.Context, action string) context.Context {
	return context.WithValue(ctx, actionKey{}, action)
}

// ActionFrom returns the label set by WithAction, or "".
func ActionFrom(ctx context.Context) string {
	s, _ := ctx.Value(actionKey{}).(string)
	return s
}
