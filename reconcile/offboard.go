package reconcile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// Offboarding modes (--offboard).
const (
	OffboardRemove     = "remove"      // remove the member from the org
	OffboardStripRoles = "strip-roles" // remove the access this tool manages, keep the member
)

// DefaultMaxRemove is the removal guard when none is given: small, because a
// roster cut short must never empty an org.
const DefaultMaxRemove = "10%"

// AdminRoles are the roles that administer an org, in roster syntax, per
// upstream (Confluent OrganizationAdmin, CSP org_owner): the last holder of
// one is never removed, nor stripped of it.
var AdminRoles = []string{"OrganizationAdmin", "org_owner"}

// OffboardInput is what offboarding reads besides the roster.
type OffboardInput struct {
	Mode    string // OffboardRemove or OffboardStripRoles
	Members []providers.User
	// Pending are the email keys with a pending invitation: such a person
	// is an invitee (revoked by the invitation rules), not a member.
	Pending  map[string]bool
	Identity providers.Identity
	// Owned reports whether a member is this tool's to remove: joined
	// through one of its invitations, or adopted.
	Owned func(u providers.User) bool
	// Radius is what goes with each candidate's removal, by user id.
	Radius       map[string]providers.Radius
	AllowKeyLoss bool
	Caps         providers.Capabilities
	Access       AccessInput // the grants held, for strip-roles and the last-admin check
}

// PlanOffboarding appends the actions for members absent from the roster.
func PlanOffboarding(members []sources.Member, in OffboardInput) []Action {
	inRoster := make(map[string]bool, len(members))
	for i := range members {
		inRoster[sources.Key(members[i].Email)] = true
	}
	held := map[string][]providers.Grant{}
	for _, g := range in.Access.Grants {
		k := sources.Key(g.Email)
		held[k] = append(held[k], g)
	}
	// Admins now, to keep at least one.
	admins := 0
	isAdmin := func(u providers.User) bool {
		for _, r := range append(slices.Clone(u.Roles), roleNames(held[sources.Key(u.Email)])...) {
			if slices.Contains(AdminRoles, strings.SplitN(r, "@", 2)[0]) {
				return true
			}
		}
		return false
	}
	for _, u := range in.Members {
		if isAdmin(u) {
			admins++
		}
	}
	users := slices.Clone(in.Members)
	slices.SortFunc(users, func(a, b providers.User) int { return strings.Compare(sources.Key(a.Email), sources.Key(b.Email)) })
	var out []Action
	for _, u := range users {
		k := sources.Key(u.Email)
		if inRoster[k] || in.Pending[k] {
			continue
		}
		u := u
		a := Action{Email: u.Email, Status: StatusPlanned, User: &u}
		switch {
		case u.ID != "" && u.ID == in.Identity.Principal || k == sources.Key(in.Identity.Principal):
			a.Op, a.Reason = OpLeave, "member not in roster; it is the principal invitesync runs as, never removed"
			out = append(out, a)
			continue
		case !in.Owned(u):
			a.Op, a.Unmanaged = OpLeave, true
			a.Reason = "member not in roster; did not join through this tool's invitation (unmanaged member; list it in --adopt to manage it)"
			out = append(out, a)
			continue
		}
		if in.Mode == OffboardStripRoles {
			for _, g := range held[k] {
				g := g
				act := ungrantOrLeave(u.Email, &g, in.Access, "member not in roster (--offboard strip-roles)")
				if act.Op == OpUngrant && isAdminRole(g.Role) && admins <= 1 {
					act.Status = StatusSkipped
					act.Reason += "; refused: the last organization admin keeps the role"
				}
				out = append(out, act)
			}
			continue
		}
		a.Op = OpRemoveMember
		a.Reason = "member not in roster; joined through this tool (or adopted)"
		if r, ok := in.Radius[u.ID]; ok {
			rc := r
			a.Radius = &rc
			a.Reason += "; " + radiusWords(r)
		}
		switch {
		case !in.Caps.RemoveMembers:
			a.Status = StatusUnsupported
			hint := in.Caps.RemoveHint
			if hint == "" {
				hint = "the provider cannot remove members"
			}
			a.Reason += "; unsupported: " + hint
		case isAdmin(u) && admins <= 1:
			a.Status = StatusSkipped
			a.Reason += "; refused: it is the last organization admin"
		case a.Radius != nil && len(a.Radius.APIKeys) > 0 && !in.AllowKeyLoss:
			a.Status = StatusSkipped
			a.Reason += "; not removed: its API keys would be deleted with it and a running service may use them (pass --allow-key-loss to remove anyway)"
		default:
			if isAdmin(u) {
				admins--
			}
		}
		out = append(out, a)
	}
	return out
}

func roleNames(gs []providers.Grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Role
	}
	return out
}

func isAdminRole(role string) bool {
	return slices.Contains(AdminRoles, strings.SplitN(role, "@", 2)[0])
}

// radiusWords says what goes with a removal, ids only.
func radiusWords(r providers.Radius) string {
	if len(r.APIKeys) == 0 && len(r.Bindings) == 0 {
		return "nothing else goes with it"
	}
	var parts []string
	if n := len(r.APIKeys); n > 0 {
		parts = append(parts, fmt.Sprintf("%d API %s (%s)", n, plural(n, "key", "keys"), strings.Join(r.APIKeys, ", ")))
	}
	if n := len(r.Bindings); n > 0 {
		parts = append(parts, fmt.Sprintf("%d role %s", n, plural(n, "binding", "bindings")))
	}
	return "removing it also deletes " + strings.Join(parts, " and ")
}

// Removals counts the planned member removals.
func Removals(actions []Action) int {
	n := 0
	for _, a := range actions {
		if a.Op == OpRemoveMember && a.Status == StatusPlanned {
			n++
		}
	}
	return n
}
