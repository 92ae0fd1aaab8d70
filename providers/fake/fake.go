// Package fake is an in-memory upstream for tests of what drives providers
// (reconcile, the CLI): a providers.Provider that also implements Access and
// Members, with no socket and no vendor package. It is deterministic (ids
// are counters, time comes from Options.Now) and can be told to misbehave
// per person: refuse a create, leave a create's outcome unknown (landed or
// not), refuse a revoke, grant or removal, list an invitation twice (a page
// overlap), or fail the listing.
package fake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/invitesync/invitesync/providers"
)

// Options shape a fake upstream. Zero values mean the defaults noted.
type Options struct {
	Name      string // "fake"
	Org       string // "fake-org": Identity.Org and Organization()
	Principal string // "u-invitesync": creator of what Create makes
	// Capabilities: nil = DefaultCapabilities().
	Capabilities *providers.Capabilities
	// Roles that CheckRole accepts; nil = any role without white space.
	Roles []string
	Now   func() time.Time // nil = a fixed clock at 2026-01-01T00:00:00Z
	TTL   time.Duration    // an invitation's life; 0 = 72 h
}

// DefaultCapabilities: everything, one person per create call.
func DefaultCapabilities() providers.Capabilities {
	return providers.Capabilities{
		Revoke: true, MaxBatch: 1, AuthType: true, OrgRoles: true, Groups: true, Expiry: true,
		MinExpiryDays: 1, MaxExpiryDays: 90,
		Access: true, AccessBeforeAccept: true, Members: true, RemoveMembers: true,
	}
}

// Call is one operation the fake was asked to do, in order.
type Call struct {
	Op    string // whoami, list, create, revoke, list-access, grant, ungrant, list-members, blast-radius, remove-member
	Email string // the person, when the call has one
	Role  string // grant, ungrant
}

// Unknown outcomes: what an UnknownCreate leaves upstream.
const (
	NotLanded = false
	Landed    = true
)

// Provider is the fake upstream. It is safe for concurrent use.
type Provider struct {
	opts Options
	caps providers.Capabilities

	mu      sync.Mutex
	invs    []providers.Invitation // listing order
	members []providers.User
	grants  []providers.Grant
	seq     int
	calls   []Call

	fail      map[string]error // op + "\x00" + folded email (+ "\x00" + role)
	unknown   map[string]bool  // folded email -> landed
	listTwice map[string]bool  // folded email
	listErr   error
}

var (
	_ providers.Provider = (*Provider)(nil)
	_ providers.Access   = (*Provider)(nil)
	_ providers.Members  = (*Provider)(nil)
)

// New makes an empty fake upstream.
func New(opts Options) *Provider {
	if opts.Name == "" {
		opts.Name = "fake"
	}
	if opts.Org == "" {
		opts.Org = "fake-org"
	}
	if opts.Principal == "" {
		opts.Principal = "u-invitesync"
	}
	if opts.Now == nil {
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		opts.Now = func() time.Time { return t }
	}
	if opts.TTL <= 0 {
		opts.TTL = 72 * time.Hour
	}
	caps := DefaultCapabilities()
	if opts.Capabilities != nil {
		caps = *opts.Capabilities
	}
	return &Provider{opts: opts, caps: caps, fail: map[string]error{}, unknown: map[string]bool{}, listTwice: map[string]bool{}}
}

// fold is the email key: ASCII case only (a Unicode fold would make
// look-alikes one person).
func fold(email string) string {
	b := []byte(email)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func failKey(op, email, role string) string { return op + "\x00" + fold(email) + "\x00" + role }

// Refusal is the error the fake answers when told to fail and given no
// error of its own: a permanent 400 in the providers' error type.
func Refusal(op, email string) error {
	return &providers.Error{Method: http.MethodPost, Path: "/fake/" + op, Status: http.StatusBadRequest,
		Code: "refused", Message: "refused by the fake upstream for " + email, Attempts: 1}
}

// FailCreate makes every create of email fail with err (nil = Refusal).
func (p *Provider) FailCreate(email string, err error) { p.setFail("create", email, "", err) }

// FailRevoke makes every revoke of email's invitation fail with err.
func (p *Provider) FailRevoke(email string, err error) { p.setFail("revoke", email, "", err) }

// FailGrant makes granting role to email fail with err.
func (p *Provider) FailGrant(email, role string, err error) { p.setFail("grant", email, role, err) }

// FailUngrant makes removing role from email fail with err.
func (p *Provider) FailUngrant(email, role string, err error) { p.setFail("ungrant", email, role, err) }

// FailRemoveMember makes removing the member email fail with err.
func (p *Provider) FailRemoveMember(email string, err error) {
	p.setFail("remove-member", email, "", err)
}

func (p *Provider) setFail(op, email, role string, err error) {
	if err == nil {
		err = Refusal(op, email)
	}
	p.mu.Lock()
	p.fail[failKey(op, email, role)] = err
	p.mu.Unlock()
}

// Heal drops every injected failure, unknown outcome and listing quirk.
func (p *Provider) Heal() {
	p.mu.Lock()
	p.fail, p.unknown, p.listTwice, p.listErr = map[string]error{}, map[string]bool{}, map[string]bool{}, nil
	p.mu.Unlock()
}

// UnknownCreate makes creates of email end "outcome unknown" (as after a
// timeout nobody could read back); landed says whether the invitation
// nonetheless exists upstream afterwards.
func (p *Provider) UnknownCreate(email string, landed bool) {
	p.mu.Lock()
	p.unknown[fold(email)] = landed
	p.mu.Unlock()
}

// ListTwice makes the listing carry email's invitations twice (as two
// overlapping pages do), the repeat at the end.
func (p *Provider) ListTwice(email string) {
	p.mu.Lock()
	p.listTwice[fold(email)] = true
	p.mu.Unlock()
}

// FailList makes List (and ListMembers) fail with err; nil heals it.
func (p *Provider) FailList(err error) {
	p.mu.Lock()
	p.listErr = err
	p.mu.Unlock()
}

// Seed adds invitations as they are (an empty ID gets one; an empty
// CreatorID stays empty: someone else's; an empty Status is pending).
func (p *Provider) Seed(invs ...providers.Invitation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, inv := range invs {
		if inv.ID == "" {
			inv.ID = p.newID("inv")
		}
		if inv.Status == "" {
			inv.Status = providers.StatusPending
		}
		if inv.RawStatus == "" {
			inv.RawStatus = strings.ToUpper(string(inv.Status))
		}
		p.invs = append(p.invs, inv)
	}
}

// SeedMember adds a member (an empty ID gets one).
func (p *Provider) SeedMember(u providers.User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u.ID == "" {
		u.ID = p.newID("u")
	}
	p.members = append(p.members, u)
}

// SeedGrant adds a role binding (an empty ID gets one).
func (p *Provider) SeedGrant(g providers.Grant) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g.ID == "" {
		g.ID = p.newID("rb")
	}
	p.grants = append(p.grants, g)
}

// Accept turns email's pending invitation into a member, as the invitee
// clicking the link does. It reports whether there was one.
func (p *Provider) Accept(email string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.invs {
		if fold(p.invs[i].Email) == fold(email) && p.invs[i].Status == providers.StatusPending {
			p.invs[i].Status, p.invs[i].RawStatus, p.invs[i].AcceptedAt = providers.StatusAccepted, "ACCEPTED", p.opts.Now()
			uid := p.invs[i].UserID
			if uid == "" {
				uid = p.newID("u")
				p.invs[i].UserID = uid
			}
			p.members = append(p.members, providers.User{ID: uid, Email: p.invs[i].Email, CreatedAt: p.opts.Now()})
			return true
		}
	}
	return false
}

func (p *Provider) newID(prefix string) string {
	p.seq++
	return fmt.Sprintf("%s-%06d", prefix, p.seq)
}

// Invitations returns the upstream's invitations now (each once).
func (p *Provider) Invitations() []providers.Invitation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.invs)
}

// Pending returns email's pending invitations.
func (p *Provider) Pending(email string) []providers.Invitation {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []providers.Invitation
	for _, inv := range p.invs {
		if fold(inv.Email) == fold(email) && inv.Status == providers.StatusPending {
			out = append(out, inv)
		}
	}
	return out
}

// Grants returns the role bindings now.
func (p *Provider) Grants() []providers.Grant {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.grants)
}

// Members returns the members now.
func (p *Provider) Members() []providers.User {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.members)
}

// Calls returns every call made so far, in order.
func (p *Provider) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// Count returns how many calls of op were made (for email, when not "").
func (p *Provider) Count(op, email string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		if c.Op == op && (email == "" || fold(c.Email) == fold(email)) {
			n++
		}
	}
	return n
}

func (p *Provider) call(c Call) { p.calls = append(p.calls, c) }

// Name implements providers.Provider.
func (p *Provider) Name() string { return p.opts.Name }

// Organization implements providers.Provider.
func (p *Provider) Organization() string { return p.opts.Org }

// Capabilities implements providers.Provider.
func (p *Provider) Capabilities() providers.Capabilities { return p.caps }

// WhoAmI implements providers.Provider.
func (p *Provider) WhoAmI(ctx context.Context) (providers.Identity, error) {
	if err := ctx.Err(); err != nil {
		return providers.Identity{}, err
	}
	p.mu.Lock()
	p.call(Call{Op: "whoami"})
	p.mu.Unlock()
	return providers.Identity{Principal: p.opts.Principal, Org: p.opts.Org}, nil
}

// List implements providers.Provider: every invitation, in the order made,
// then the repeats ListTwice asked for.
func (p *Provider) List(ctx context.Context) ([]providers.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.call(Call{Op: "list"})
	if p.listErr != nil {
		return nil, p.listErr
	}
	out := slices.Clone(p.invs)
	for _, inv := range p.invs {
		if p.listTwice[fold(inv.Email)] {
			out = append(out, inv)
		}
	}
	return out, nil
}

// Create implements providers.Provider.
func (p *Provider) Create(ctx context.Context, reqs []providers.InviteRequest) ([]providers.CreateResult, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	if max(p.caps.MaxBatch, 1) < len(reqs) {
		return nil, fmt.Errorf("fake: %d people in one create, the most is %d", len(reqs), max(p.caps.MaxBatch, 1))
	}
	out := make([]providers.CreateResult, len(reqs))
	if err := ctx.Err(); err != nil {
		return out, providers.NotAttempted(out, reqs, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range reqs {
		p.call(Call{Op: "create", Email: r.Email})
		res := providers.CreateResult{Email: r.Email, Attempts: 1, RequestID: p.newID("req")}
		if err, ok := p.fail[failKey("create", r.Email, "")]; ok {
			res.Err = fmt.Errorf("create %s: %w", r.Email, err)
			out[i] = res
			continue
		}
		if landed, ok := p.unknown[fold(r.Email)]; ok {
			if landed {
				p.invs = append(p.invs, p.invitation(r))
			}
			res.Unknown = true
			res.Err = fmt.Errorf("create %s: no answer, and reading back could not tell whether it landed", r.Email)
			out[i] = res
			continue
		}
		if j := p.pendingIndex(r.Email); j >= 0 {
			inv := p.invs[j]
			res.Invitation, res.AlreadyInvited = &inv, true
			out[i] = res
			continue
		}
		inv := p.invitation(r)
		p.invs = append(p.invs, inv)
		res.Invitation = &inv
		out[i] = res
	}
	return out, nil
}

func (p *Provider) pendingIndex(email string) int {
	for j, inv := range p.invs {
		if fold(inv.Email) == fold(email) && inv.Status == providers.StatusPending {
			return j
		}
	}
	return -1
}

func (p *Provider) invitation(r providers.InviteRequest) providers.Invitation {
	now := p.opts.Now()
	ttl := p.opts.TTL
	if r.ExpiresInDays > 0 {
		ttl = time.Duration(r.ExpiresInDays) * 24 * time.Hour
	}
	return providers.Invitation{
		ID: p.newID("inv"), Email: r.Email, AuthType: r.AuthType,
		Status: providers.StatusPending, RawStatus: "PENDING",
		OrgRoles: slices.Clone(r.OrgRoles), ServiceRoles: slices.Clone(r.ServiceRoles), Groups: slices.Clone(r.Groups),
		CreatedAt: now, ExpiresAt: now.Add(ttl), CreatorID: p.opts.Principal,
		UserID: p.newID("u"),
	}
}

// Revoke implements providers.Provider: a pending invitation becomes
// revoked (and stays listed, as Confluent's deactivated ones do).
func (p *Provider) Revoke(ctx context.Context, inv providers.Invitation) (providers.RevokeResult, error) {
	if err := ctx.Err(); err != nil {
		return providers.RevokeResult{}, err
	}
	if !p.caps.Revoke {
		return providers.RevokeResult{}, errors.New("fake: revoke is not supported")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.call(Call{Op: "revoke", Email: inv.Email})
	res := providers.RevokeResult{Attempts: 1, RequestID: p.newID("req")}
	if err, ok := p.fail[failKey("revoke", inv.Email, "")]; ok {
		return res, fmt.Errorf("revoke %s: %w", inv.Email, err)
	}
	for j := range p.invs {
		if p.invs[j].ID != inv.ID {
			continue
		}
		switch p.invs[j].Status {
		case providers.StatusPending:
			p.invs[j].Status, p.invs[j].RawStatus = providers.StatusRevoked, "REVOKED"
			return res, nil
		case providers.StatusAccepted:
			return res, &providers.Error{Method: http.MethodDelete, Path: "/fake/invitations/" + inv.ID, Status: http.StatusBadRequest,
				Code: "already_accepted", Message: "the invitation was already accepted", Attempts: 1}
		default:
			res.NotFound = true
			return res, nil
		}
	}
	res.NotFound = true
	return res, nil
}

// CheckRole implements providers.Access.
func (p *Provider) CheckRole(role string) error {
	if strings.TrimSpace(role) == "" || strings.ContainsAny(role, " \t\r\n") {
		return fmt.Errorf("role %q: want NAME or NAME@SCOPE", role)
	}
	if p.opts.Roles != nil && !slices.Contains(p.opts.Roles, role) {
		return fmt.Errorf("role %q: not one of %s", role, strings.Join(p.opts.Roles, ", "))
	}
	return nil
}

func samePerson(g providers.Grant, email, userID string) bool {
	return (email != "" && fold(g.Email) == fold(email)) || (userID != "" && g.UserID == userID)
}

// ListAccess implements providers.Access (one call, whatever the number of people).
func (p *Provider) ListAccess(ctx context.Context, people []providers.Person) ([]providers.Grant, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.call(Call{Op: "list-access"})
	var out []providers.Grant
	for _, g := range p.grants {
		for _, who := range people {
			if samePerson(g, who.Email, who.UserID) {
				out = append(out, g)
				break
			}
		}
	}
	return out, nil
}

// GrantRole implements providers.Access: an equal grant is success with NotFound set.
func (p *Provider) GrantRole(ctx context.Context, g providers.Grant) (providers.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return providers.WriteResult{}, err
	}
	if err := p.CheckRole(g.Role); err != nil {
		return providers.WriteResult{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.call(Call{Op: "grant", Email: g.Email, Role: g.Role})
	res := providers.WriteResult{Attempts: 1, RequestID: p.newID("req")}
	if err, ok := p.fail[failKey("grant", g.Email, g.Role)]; ok {
		return res, fmt.Errorf("grant %s to %s: %w", g.Role, g.Email, err)
	}
	for _, have := range p.grants {
		if have.Role == g.Role && samePerson(have, g.Email, g.UserID) {
			res.NotFound = true
			return res, nil
		}
	}
	g.ID = p.newID("rb")
	p.grants = append(p.grants, g)
	return res, nil
}

// UngrantRole implements providers.Access: by ID when set, else by person
// and role; a missing grant is success with NotFound set.
func (p *Provider) UngrantRole(ctx context.Context, g providers.Grant) (providers.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return providers.WriteResult{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.call(Call{Op: "ungrant", Email: g.Email, Role: g.Role})
	res := providers.WriteResult{Attempts: 1, RequestID: p.newID("req")}
	if err, ok := p.fail[failKey("ungrant", g.Email, g.Role)]; ok {
		return res, fmt.Errorf("ungrant %s from %s: %w", g.Role, g.Email, err)
	}
	for j, have := range p.grants {
		if (g.ID != "" && have.ID == g.ID) || (g.ID == "" && have.Role == g.Role && samePerson(have, g.Email, g.UserID)) {
			p.grants = slices.Delete(p.grants, j, j+1)
			return res, nil
		}
	}
	res.NotFound = true
	return res, nil
}

// ListMembers implements providers.Members.
func (p *Provider) ListMembers(ctx context.Context) ([]providers.User, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.call(Call{Op: "list-members"})
	if p.listErr != nil {
		return nil, p.listErr
	}
	return slices.Clone(p.members), nil
}

// BlastRadius implements providers.Members: the member's role bindings.
func (p *Provider) BlastRadius(ctx context.Context, u providers.User) (providers.Radius, error) {
	if err := ctx.Err(); err != nil {
		return providers.Radius{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.call(Call{Op: "blast-radius", Email: u.Email})
	var r providers.Radius
	for _, g := range p.grants {
		if samePerson(g, u.Email, u.ID) {
			r.Bindings = append(r.Bindings, g.ID)
		}
	}
	return r, nil
}

// RemoveMember implements providers.Members: the member and their bindings
// go; a missing member is success with NotFound set.
func (p *Provider) RemoveMember(ctx context.Context, u providers.User) (providers.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return providers.WriteResult{}, err
	}
	if !p.caps.RemoveMembers {
		return providers.WriteResult{}, errors.New("fake: removing members is not supported")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.call(Call{Op: "remove-member", Email: u.Email})
	res := providers.WriteResult{Attempts: 1, RequestID: p.newID("req")}
	if err, ok := p.fail[failKey("remove-member", u.Email, "")]; ok {
		return res, fmt.Errorf("remove %s: %w", u.Email, err)
	}
	for j, m := range p.members {
		if (u.ID != "" && m.ID == u.ID) || (u.ID == "" && fold(m.Email) == fold(u.Email)) {
			p.members = slices.Delete(p.members, j, j+1)
			p.grants = slices.DeleteFunc(p.grants, func(g providers.Grant) bool { return samePerson(g, m.Email, m.ID) })
			return res, nil
		}
	}
	res.NotFound = true
	return res, nil
}
