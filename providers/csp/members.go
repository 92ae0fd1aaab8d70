package csp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/invitesync/invitesync/providers"
)

// member is one org user as the org users API lists it.
type member struct {
	ID       string // userId
	Domain   string
	Email    string
	OrgRoles []string
	Services []serviceRole // by service definition id
	Joined   time.Time     // earliest createdDate of an org role binding, when given
}

type serviceRole struct{ ID, Role string }

// roles is the member's access in roster syntax: org role names, and
// ROLE@SERVICE_DEFINITION_ID for service roles.
func (m member) roles() []string {
	out := slices.Clone(m.OrgRoles)
	for _, s := range m.Services {
		out = append(out, s.Role+"@"+s.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// invitation is how List shows a member: accepted.
func (m member) invitation() providers.Invitation {
	return providers.Invitation{
		ID: "user:" + m.ID, Email: m.Email, Status: providers.StatusAccepted, RawStatus: MemberStatus,
		OrgRoles: slices.Clone(m.OrgRoles), AcceptedAt: m.Joined, UserID: m.ID,
	}
}

func (c *Client) usersPath() string {
	return "/csp/gateway/am/api/v2/orgs/" + url.PathEscape(c.org) + "/users"
}

type wireBinding struct {
	Name        string `json:"name"`
	CreatedDate string `json:"createdDate"`
}

// wireUsersPage is PagedResponseExpandedTypedUserDto.
type wireUsersPage struct {
	Results []struct {
		User struct {
			Username string `json:"username"`
			Email    string `json:"email"`
			UserID   string `json:"userId"`
			Domain   string `json:"domain"`
		} `json:"user"`
		OrganizationRoles []wireBinding `json:"organizationRoles"`
		ServiceRoles      []struct {
			ServiceDefinitionID string        `json:"serviceDefinitionId"`
			ServiceRoleNames    []string      `json:"serviceRoleNames"`
			ServiceRoles        []wireBinding `json:"serviceRoles"`
		} `json:"serviceRoles"`
	} `json:"results"`
	TotalResults *int   `json:"totalResults"`
	NextLink     string `json:"nextLink"`
}

// listMembers reads every org user, page by page. It follows nextLink;
// without one it asks for the next page itself while totalResults says more
// are left: first reading pageStart as an item index (as documented), and
// as a page number if that comes back empty. Repeated users (page overlap)
// are kept once; a cycle or a listing that stops short is an error.
func (c *Client) listMembers(ctx context.Context, readBack bool) ([]member, int, error) {
	q := url.Values{"pageStart": {"1"}, "pageLimit": {strconv.Itoa(UsersPageLimit)}}
	var (
		out        []member
		attempts   int
		seen       = map[string]bool{}
		asked      = map[string]bool{}
		start      = 1 // pageStart of the page being read
		pageNumber = false
		pages      int
	)
	for {
		pages++
		if pages > c.http.MaxPages() {
			return nil, attempts, fmt.Errorf("org users: still paging after %d pages: stopped", pages-1)
		}
		if asked[q.Encode()] {
			return nil, attempts, fmt.Errorf("org users: the upstream sent page %q twice: stopped", q.Encode())
		}
		asked[q.Encode()] = true
		resp, err := c.http.Do(ctx, providers.Request{Method: http.MethodGet, Path: c.usersPath(), Query: q, Idempotent: true, ReadBack: readBack})
		attempts += providers.Attempts(resp, err)
		if err != nil {
			return nil, attempts, err
		}
		var p wireUsersPage
		if err := json.Unmarshal(resp.Body, &p); err != nil {
			return nil, attempts, fmt.Errorf("org users: decode: %w", err)
		}
		for _, r := range p.Results {
			id := r.User.UserID
			email := firstNonEmpty(r.User.Email, r.User.Username)
			if id == "" || email == "" {
				return nil, attempts, fmt.Errorf("org users: a user without userId or email (%q)", firstNonEmpty(email, id))
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			m := member{ID: id, Domain: r.User.Domain, Email: email}
			for _, b := range r.OrganizationRoles {
				m.OrgRoles = append(m.OrgRoles, b.Name)
				if t := epochString(b.CreatedDate); !t.IsZero() && (m.Joined.IsZero() || t.Before(m.Joined)) {
					m.Joined = t
				}
			}
			for _, s := range r.ServiceRoles {
				names := s.ServiceRoleNames
				for _, b := range s.ServiceRoles {
					if !slices.Contains(names, b.Name) {
						names = append(names, b.Name)
					}
				}
				for _, n := range names {
					m.Services = append(m.Services, serviceRole{ID: s.ServiceDefinitionID, Role: n})
				}
			}
			out = append(out, m)
		}
		if p.NextLink != "" {
			u, err := url.Parse(p.NextLink)
			if err != nil || (u.Path != "" && u.Path != c.usersPath()) {
				return nil, attempts, fmt.Errorf("org users: nextLink %q is not a page of this listing", p.NextLink)
			}
			q = u.Query()
			start, _ = strconv.Atoi(q.Get("pageStart"))
			continue
		}
		total := -1
		if p.TotalResults != nil {
			total = *p.TotalResults
		}
		if total < 0 || len(out) >= total {
			break
		}
		if len(p.Results) == 0 {
			if pageNumber || start == 1 {
				return nil, attempts, fmt.Errorf("org users: the listing stopped at %d of the %d users it announced", len(out), total)
			}
			// An item index ran past the end: pageStart counts pages here.
			pageNumber = true
			start = pages // the pages read so far, the empty one excluded, plus one
		} else if pageNumber {
			start++
		} else {
			start += len(p.Results)
		}
		q = url.Values{"pageStart": {strconv.Itoa(start)}, "pageLimit": {strconv.Itoa(UsersPageLimit)}}
	}
	c.domMu.Lock()
	for _, m := range out {
		if m.Domain != "" {
			c.domains[m.ID] = m.Domain
		}
	}
	c.domMu.Unlock()
	return out, attempts, nil
}

// ListMembers returns every member of the org with its roles in roster syntax.
func (c *Client) ListMembers(ctx context.Context) ([]providers.User, error) {
	ms, _, err := c.listMembers(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list org users: %w", err)
	}
	out := make([]providers.User, 0, len(ms))
	for _, m := range ms {
		out = append(out, providers.User{ID: m.ID, Email: m.Email, CreatedAt: m.Joined, Roles: m.roles()})
	}
	return out, nil
}

// BlastRadius: removing a CSP user takes its org and service roles with it;
// CSP has no per-user API keys to list.
func (c *Client) BlastRadius(ctx context.Context, u providers.User) (providers.Radius, error) {
	if len(u.Roles) > 0 {
		return providers.Radius{Bindings: slices.Clone(u.Roles)}, nil
	}
	ms, _, err := c.listMembers(ctx, false)
	if err != nil {
		return providers.Radius{}, fmt.Errorf("blast radius of %s: %w", u.Email, err)
	}
	if m, ok := findMember(ms, u.ID, u.Email); ok {
		return providers.Radius{Bindings: m.roles()}, nil
	}
	return providers.Radius{}, nil
}

func findMember(ms []member, id, email string) (member, bool) {
	for _, m := range ms {
		if (id != "" && (m.ID == id || m.Domain+":"+m.ID == id)) || (email != "" && emailKey(m.Email) == emailKey(email)) {
			return m, true
		}
	}
	return member{}, false
}

// removalID is the id the removal call takes: "domain:userId", the format
// VMware's tooling documents (e.g. vmware.com:820e7ca5-...).
func (c *Client) removalID(id string) string {
	if strings.Contains(id, ":") {
		return id
	}
	c.domMu.Lock()
	d := c.domains[id]
	c.domMu.Unlock()
	if d == "" {
		return id
	}
	return d + ":" + id
}

// readBacks is how many times a write is read back before its outcome is
// reported unknown.
const readBacks = 3

// RemoveMember removes u from the org (DELETE .../v2/orgs/{orgId}/users,
// one id; the cap is 20). It is done only when a read-back no longer lists u.
func (c *Client) RemoveMember(ctx context.Context, u providers.User) (providers.WriteResult, error) {
	if u.ID == "" {
		return providers.WriteResult{}, fmt.Errorf("remove %s: no user id", u.Email)
	}
	body, err := json.Marshal(struct {
		IDs         []string `json:"ids"`
		NotifyUsers bool     `json:"notifyUsers"`
	}{[]string{c.removalID(u.ID)}, false})
	if err != nil {
		return providers.WriteResult{}, fmt.Errorf("remove %s: %w", u.Email, err)
	}
	// Removing twice is harmless: safe to retry.
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodDelete, Path: c.usersPath(), Body: body, Idempotent: true,
		Accept: []int{http.StatusNotFound},
	})
	res := providers.WriteResult{Attempts: providers.Attempts(resp, err)}
	if err != nil {
		if e, ok := providers.AsError(err); ok {
			res.RequestID = e.RequestID
		}
		return res, fmt.Errorf("remove %s: %w", u.Email, err)
	}
	res.RequestID = resp.RequestID
	notFound := resp.Status == http.StatusNotFound
	var partial struct {
		Failed []string `json:"failed"`
	}
	if !notFound && len(resp.Body) > 0 {
		_ = json.Unmarshal(resp.Body, &partial) // the read-back decides; this only words the error
	}
	if notFound {
		// 404 is "Organization with this identifier is not found. | Users
		// [...] not found": only the second is a missing user.
		if ae := decodeError(resp.Status, resp.Header, resp.Body); strings.Contains(ae.Message, "Organization") {
			return res, fmt.Errorf("remove %s: organization %q not found: %s", u.Email, c.org, c.http.Scrub(ae.Message))
		}
	}
	for try := 1; ; try++ {
		ms, n, err := c.listMembers(ctx, true)
		res.Attempts += n
		if err != nil {
			res.Unknown = true
			return res, fmt.Errorf("remove %s: sent, but the read-back failed: %w", u.Email, err)
		}
		if _, still := findMember(ms, u.ID, u.Email); !still {
			res.NotFound = notFound
			return res, nil
		}
		if len(partial.Failed) > 0 {
			return res, fmt.Errorf("remove %s: the upstream reports the removal failed (%s)", u.Email, strings.Join(partial.Failed, ", "))
		}
		if try >= readBacks {
			res.Unknown = true
			return res, fmt.Errorf("remove %s: sent, but %d read-backs still list the user", u.Email, try)
		}
		if err := c.http.Backoff(ctx, try); err != nil {
			res.Unknown = true
			return res, fmt.Errorf("remove %s: %w", u.Email, err)
		}
	}
}

// errNotMember: roles of someone who has not accepted come only with the
// invitation (CSP has no call that changes an invitation's roles).
var errNotMember = errors.New("not a member of the org yet: CSP takes an invitee's roles only with the invitation")
