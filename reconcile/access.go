package reconcile

import (
	"cmp"
	"slices"
	"strings"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// AccessInput is what access planning reads besides the roster.
type AccessInput struct {
	// Grants are the roles people hold upstream now (providers.Access.ListAccess).
	Grants []providers.Grant
	// UserIDs maps email keys to upstream user ids (from invitations that
	// name their user, and from members).
	UserIDs map[string]string
	// ManageAllRoles removes roles this tool did not grant, too.
	ManageAllRoles bool
	// BeforeAccept: the provider can grant to someone invited in this run
	// (the create names the user); otherwise they wait for acceptance.
	BeforeAccept bool
	Ledger       *Ledger
}

// PlanAccess appends the access actions for the roster members whose roles
// column is present (Roles != nil): a grant for each role the roster lists
// that the person lacks, an ungrant for each role the person holds that the
// roster does not list, when this tool granted it (ledger) or with
// ManageAllRoles; other roles are listed as unmanaged and left. invActions
// are the plan's invitation actions: a person created in this run gets
// their grants once the create names their user.
func PlanAccess(members []sources.Member, invActions []Action, in AccessInput) []Action {
	held := map[string][]providers.Grant{}
	for _, g := range in.Grants {
		k := sources.Key(g.Email)
		held[k] = append(held[k], g)
	}
	invitedNow := map[string]bool{}
	for _, a := range invActions {
		if (a.Op == OpCreate || a.Op == OpReinvite) && a.Status == StatusPlanned {
			invitedNow[sources.Key(a.Email)] = true
		}
	}
	var out []Action
	for i := range members {
		m := &members[i]
		if m.Roles == nil {
			continue // the roster does not manage this person's access
		}
		k := sources.Key(m.Email)
		uid := in.UserIDs[k]
		have := held[k]
		if uid == "" && !(invitedNow[k] && in.BeforeAccept) && len(have) == 0 {
			// Nobody to grant to yet (an invitee whose API names no user
			// before acceptance): the roles go with the invitation, and
			// the first run after acceptance settles the rest.
			continue
		}
		want := map[string]bool{}
		for _, r := range m.Roles {
			want[r] = true
		}
		holds := map[string]bool{}
		for _, g := range have {
			holds[g.Role] = true
		}
		for _, r := range m.Roles {
			if holds[r] {
				continue
			}
			reason := "adds " + RoleWords(r)
			if uid == "" {
				reason += " once the invitation names the user"
			}
			out = append(out, Action{Op: OpGrant, Email: m.Email, Reason: reason, Status: StatusPlanned, Member: m,
				Grant: &providers.Grant{Email: m.Email, UserID: uid, Role: r}})
		}
		for _, g := range have {
			if want[g.Role] {
				continue
			}
			g := g
			out = append(out, ungrantOrLeave(m.Email, &g, in, "not in the roster's roles"))
		}
	}
	slices.SortStableFunc(out, func(a, b Action) int {
		return cmp.Or(strings.Compare(sources.Key(a.Email), sources.Key(b.Email)), cmp.Compare(opRank[a.Op], opRank[b.Op]),
			strings.Compare(a.Grant.Role, b.Grant.Role))
	})
	return out
}

// ungrantOrLeave is the action for a role held that should not be: removed
// when this tool granted it or ManageAllRoles, else left as unmanaged.
func ungrantOrLeave(email string, g *providers.Grant, in AccessInput, why string) Action {
	switch {
	case in.Ledger.OwnsGrant(g.Email, g.Role):
		return Action{Op: OpUngrant, Email: email, Status: StatusPlanned, Grant: g,
			Reason: "removes " + RoleWords(g.Role) + ": " + why + "; granted by this tool"}
	case in.ManageAllRoles:
		return Action{Op: OpUngrant, Email: email, Status: StatusPlanned, Grant: g,
			Reason: "removes " + RoleWords(g.Role) + ": " + why + "; not granted by this tool, removed because of --manage-all-roles"}
	default:
		return Action{Op: OpLeave, Email: email, Status: StatusPlanned, Grant: g, Unmanaged: true,
			Reason: "holds " + RoleWords(g.Role) + ", " + why + "; not granted by this tool (unmanaged)"}
	}
}

// RoleWords says a role in words a reviewer reads: "EnvironmentAdmin on
// env-abc123", "CloudClusterAdmin on env-abc123/lkc-xyz789".
func RoleWords(role string) string {
	name, scope, ok := strings.Cut(role, "@")
	if !ok {
		return name + " (organization)"
	}
	return name + " on " + scope
}

// Ungrants counts the access removals among actions.
func Ungrants(actions []Action) int {
	n := 0
	for _, a := range actions {
		if a.Op == OpUngrant && a.Status == StatusPlanned {
			n++
		}
	}
	return n
}
