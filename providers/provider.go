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
	// UserID is the invitee's user id where the API names it before acceptance
	// (Confluent's user reference): access can be granted to it at once.
	UserID string `json:"user_id,omitempty"`
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
	// Unknown: the call may have landed (timeout, reset after send, 5xx,
	// undecodable 2xx) and patient read-backs could not tell. Err says why.
	// Never re-sent blindly; the next run's listing settles it.
	Unknown   bool
	RequestID string
	Attempts  int
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

	// Access: the provider implements Access (roles from the roster's roles
	// column are granted and, when ours, removed).
	Access bool
	// AccessBeforeAccept: a create names the invitee's user at once, so
	// roles can be granted before the invitation is accepted (Confluent);
	// elsewhere they wait for the person to be a member.
	AccessBeforeAccept bool
	// Members: the provider implements Members (accepted users are listed;
	// RemoveMembers says whether they can also be removed).
	Members       bool
	RemoveMembers bool
	RemoveHint    string // what to do instead when RemoveMembers is false
}

// Provider is one upstream organization's invitations.
type Provider interface {
	// Name is the provider's CLI name: confluent, csp, azure.
	Name() string
	// Organization names the org acted on, for reports (never a secret).
	Organization() string
	Capabilities() Capabilities
	// WhoAmI asks the upstream who the tool acts as and which organization
	// the credentials reach. Identity.Org must come from the upstream (never
	// from a host name): it keys the lock, the ledger and saved plans.
	WhoAmI(ctx context.Context) (Identity, error)
	// List returns every current invitation (all pages).
	List(ctx context.Context) ([]Invitation, error)
	// Create invites the people in reqs, which share one set of attributes when
	// len(reqs) > 1 (at most Capabilities().MaxBatch). It returns one result per
	// request, in order; the error is for failures of the whole call (context).
	Create(ctx context.Context, reqs []InviteRequest) ([]CreateResult, error)
	// Revoke revokes one pending invitation. A missing invitation is not an error.
	Revoke(ctx context.Context, inv Invitation) (RevokeResult, error)
}

// Identity is who the tool runs as, and where, as the upstream says.
type Identity struct {
	// Principal is the id the tool acts as, as it appears in
	// Invitation.CreatorID; "" when the API cannot tell (ownership by ledger only).
	Principal string `json:"principal,omitempty"`
	// Org is the organization's canonical id: Confluent's organization uuid
	// (from the API key's resource name), CSP's org id, Azure's
	// subscription/resourceGroup/organization in lower case.
	Org string `json:"org"`
}

// WriteResult tells how one write (revoke, grant, ungrant, removal) went on the wire.
type WriteResult struct {
	RequestID string
	Attempts  int
	NotFound  bool // it was already gone (a removal or revoke), or already there (a grant)
	// Unknown: the write may have landed and a read-back could not tell.
	Unknown bool
}

// RevokeResult is the WriteResult of a revoke.
type RevokeResult = WriteResult

// Grant is one role a person holds (or should hold) upstream. Role is in the
// roster's syntax, NAME or NAME@SCOPE (see sources.Role); each provider maps
// it to its own access model and back.
type Grant struct {
	ID     string `json:"id,omitempty"`      // upstream binding id; "" where the API has none (CSP roles)
	Email  string `json:"email"`             // the person, as the upstream spells it
	UserID string `json:"user_id,omitempty"` // upstream user id where the API has one
	Role   string `json:"role"`
}

// Person is someone whose access is read: an invitee or a member.
type Person struct {
	Email  string `json:"email"`
	UserID string `json:"user_id,omitempty"`
}

// Access is implemented by providers whose Capabilities().Access is true.
type Access interface {
	// CheckRole says whether role (roster syntax) can be granted here; the
	// error names what is wrong. No request is made.
	CheckRole(role string) error
	// ListAccess returns the roles every given person holds, in as few
	// requests as the API allows (never one per person when a listing serves).
	ListAccess(ctx context.Context, people []Person) ([]Grant, error)
	// GrantRole gives g.Role to g's person; an existing equal grant is success (NotFound set).
	GrantRole(ctx context.Context, g Grant) (WriteResult, error)
	// UngrantRole removes g (by g.ID where the API has ids); a missing one is success (NotFound set).
	UngrantRole(ctx context.Context, g Grant) (WriteResult, error)
}

// User is one member of the organization (someone who accepted).
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	Roles     []string  `json:"roles,omitempty"` // where the member listing carries them (CSP)
}

// Radius is what goes with a user when the user is removed, as the upstream
// describes it (Confluent: API keys and role bindings). Ids only, never a secret.
type Radius struct {
	APIKeys  []string `json:"api_keys,omitempty"`
	Bindings []string `json:"bindings,omitempty"`
}

// Members is implemented by providers whose Capabilities().Members is true.
type Members interface {
	// ListMembers returns every member of the organization (all pages).
	ListMembers(ctx context.Context) ([]User, error)
	// BlastRadius lists what a removal of u takes with it.
	BlastRadius(ctx context.Context, u User) (Radius, error)
	// RemoveMember removes u from the organization; done only when a
	// read-back shows u gone. A missing user is success (NotFound set).
	RemoveMember(ctx context.Context, u User) (WriteResult, error)
}

// Attempt is one HTTP request attempt, reported to Config.OnAttempt (the audit log).
type Attempt struct {
	Time    time.Time     `json:"time"`
	Action  string        `json:"action,omitempty"` // from WithAction, e.g. "create ada@example.com"
	Method  string        `json:"method"`
	Path    string        `json:"path"`   // no query secrets
	Status  int           `json:"status"` // 0 when no response (connection error)
	Latency time.Duration `json:"latency_ns"`
	Attempt int           `json:"attempt"`
	// ReadBack marks a request made to verify a write (not itself a change),
	// so the executor can tell "the upstream answered" from "the write landed".
	ReadBack  bool   `json:"read_back,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Error     string `json:"error,omitempty"`
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
