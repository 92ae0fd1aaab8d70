package csp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/invitesync/invitesync/providers"
)

// Role syntax in the roster: an organization role by name (org_owner,
// org_member), or a service role as ROLE@SERVICE_DEFINITION_ID, the id the
// org users API names services by (serviceDefinitionId).

// OrgRoles are the organization role names CheckRole accepts.
var OrgRoles = []string{"org_owner", "org_member"}

var (
	serviceRoleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)
	serviceDefID    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// parsedRole is a role in roster syntax, split.
type parsedRole struct {
	name    string
	service string // "" for an organization role
}

func parseRole(role string) (parsedRole, error) {
	name, svc, isService := strings.Cut(strings.TrimSpace(role), "@")
	if !isService {
		if slices.Contains(OrgRoles, name) {
			return parsedRole{name: name}, nil
		}
		return parsedRole{}, fmt.Errorf("csp role %q: not an organization role (%s) nor ROLE@SERVICE_DEFINITION_ID", role, strings.Join(OrgRoles, ", "))
	}
	if !serviceRoleName.MatchString(name) {
		return parsedRole{}, fmt.Errorf("csp role %q: service role name %q: want letters, digits and _ . : -", role, name)
	}
	if !serviceDefID.MatchString(svc) {
		return parsedRole{}, fmt.Errorf("csp role %q: service definition id %q: want letters, digits and _ . -", role, svc)
	}
	return parsedRole{name: name, service: svc}, nil
}

// CheckRole validates role's syntax and, for organization roles, its name.
// Service role names are not listed by any documented call: the upstream
// judges them on the grant.
func (c *Client) CheckRole(role string) error {
	_, err := parseRole(role)
	return err
}

// ListAccess returns the roles each person holds: a member's from the org
// users list, an invitee's from their pending invitation (CSP grants those
// with the invitation). Two listings in all, whatever the number of people.
func (c *Client) ListAccess(ctx context.Context, people []providers.Person) ([]providers.Grant, error) {
	if len(people) == 0 {
		return nil, nil
	}
	ms, _, err := c.listMembers(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list access: %w", err)
	}
	invs, _, err := c.listInvitations(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list access: %w", err)
	}
	c.remember(invs, ms)
	live := liveInvitations(invs)
	var out []providers.Grant
	for _, p := range people {
		if m, ok := findMember(ms, p.UserID, p.Email); ok {
			for _, r := range m.roles() {
				out = append(out, providers.Grant{Email: m.Email, UserID: m.ID, Role: r})
			}
			continue
		}
		inv, ok := live[emailKey(p.Email)]
		if !ok {
			continue
		}
		var roles []string
		roles = append(roles, inv.OrgRoles...)
		for _, s := range inv.ServiceRoles {
			roles = append(roles, s.Role+"@"+RefLinkID(s.Link))
		}
		slices.Sort(roles)
		for _, r := range slices.Compact(roles) {
			out = append(out, providers.Grant{Email: inv.Email, Role: r})
		}
	}
	return out, nil
}

// GrantRole gives a member g.Role; an invitee's roles come only with the
// invitation (an error says so). Done when a read-back shows the role.
func (c *Client) GrantRole(ctx context.Context, g providers.Grant) (providers.WriteResult, error) {
	return c.changeRole(ctx, g, true)
}

// UngrantRole takes g.Role from a member; a role not held is success
// (NotFound). Done when a read-back no longer shows the role.
func (c *Client) UngrantRole(ctx context.Context, g providers.Grant) (providers.WriteResult, error) {
	return c.changeRole(ctx, g, false)
}

type roleRef struct {
	Name string `json:"name"`
}

type rolesChange struct {
	RolesToAdd    []roleRef `json:"rolesToAdd,omitempty"`
	RolesToRemove []roleRef `json:"rolesToRemove,omitempty"`
}

type serviceRolesChange struct {
	ServiceDefinitionLink string `json:"serviceDefinitionLink"`
	rolesChange
}

// updateRolesBody is NotifiableUpdateMemberRolesRequest.
type updateRolesBody struct {
	OrganizationRoles *rolesChange         `json:"organizationRoles,omitempty"`
	ServiceRoles      []serviceRolesChange `json:"serviceRoles,omitempty"`
	NotifyUsers       bool                 `json:"notifyUsers"`
}

// serviceLink is the link UserServiceRolesUpdateRequest documents for a
// service definition id (pattern /csp/slc/api/definitions/{internal|external}/ID;
// which of the two a service is cannot be read from the users list, and
// services granted to customers are external).
func serviceLink(id string) string { return "/csp/slc/api/definitions/external/" + id }

func (c *Client) changeRole(ctx context.Context, g providers.Grant, add bool) (providers.WriteResult, error) {
	verb := "grant"
	if !add {
		verb = "ungrant"
	}
	what := fmt.Sprintf("%s %s to %s", verb, g.Role, g.Email)
	pr, err := parseRole(g.Role)
	if err != nil {
		return providers.WriteResult{}, fmt.Errorf("%s: %w", what, err)
	}
	ms, n, err := c.listMembers(ctx, false)
	res := providers.WriteResult{Attempts: n}
	if err != nil {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	m, ok := findMember(ms, g.UserID, g.Email)
	if !ok {
		if add {
			return res, fmt.Errorf("%s: %w", what, errNotMember)
		}
		res.NotFound = true // nobody to take it from
		return res, nil
	}
	if slices.Contains(m.roles(), canonical(pr)) == add {
		res.NotFound = true // already as asked
		return res, nil
	}
	change := rolesChange{}
	if add {
		change.RolesToAdd = []roleRef{{pr.name}}
	} else {
		change.RolesToRemove = []roleRef{{pr.name}}
	}
	body := updateRolesBody{}
	if pr.service == "" {
		body.OrganizationRoles = &change
	} else {
		body.ServiceRoles = []serviceRolesChange{{ServiceDefinitionLink: serviceLink(pr.service), rolesChange: change}}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return res, fmt.Errorf("%s: %w", what, err)
	}
	// Path from the CSP IAM reference page "Update User Roles By User ID And
	// Organization ID" (PATCH .../am/api/v3/users/{userId}/orgs/{orgId}/roles).
	p := "/csp/gateway/am/api/v3/users/" + url.PathEscape(m.ID) + "/orgs/" + url.PathEscape(c.org) + "/roles"
	// Adding or removing the same role twice is harmless: safe to retry.
	resp, err := c.http.Do(ctx, providers.Request{Method: http.MethodPatch, Path: p, Body: b, Idempotent: true})
	res.Attempts += providers.Attempts(resp, err)
	if err != nil {
		if e, ok := providers.AsError(err); ok {
			res.RequestID = e.RequestID
		}
		res.Unknown = providers.IsMaybeApplied(err)
		return res, fmt.Errorf("%s: %w", what, err)
	}
	res.RequestID = resp.RequestID
	for try := 1; ; try++ {
		ms, n, err := c.listMembers(ctx, true)
		res.Attempts += n
		if err != nil {
			res.Unknown = true
			return res, fmt.Errorf("%s: sent, but the read-back failed: %w", what, err)
		}
		m, ok := findMember(ms, m.ID, m.Email)
		if !ok && !add {
			return res, nil // the member left: the role is gone with them
		}
		if ok && slices.Contains(m.roles(), canonical(pr)) == add {
			return res, nil
		}
		if try >= readBacks {
			res.Unknown = true
			return res, fmt.Errorf("%s: sent, but %d read-backs do not show the change", what, try)
		}
		if err := c.http.Backoff(ctx, try); err != nil {
			res.Unknown = true
			return res, fmt.Errorf("%s: %w", what, err)
		}
	}
}

func canonical(p parsedRole) string {
	if p.service == "" {
		return p.name
	}
	return p.name + "@" + p.service
}
