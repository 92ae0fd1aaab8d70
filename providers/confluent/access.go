package confluent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent/iam"
)

// Access is role bindings, /iam/v2/role-bindings (confluentinc/ccloud-sdk-go-v2
// mds/v2/api/openapi.yaml): principal User:<user id>, role_name, crn_pattern.
// The roster writes a role NAME (organization), NAME@env-x (an environment)
// or NAME@env-x/lkc-y (a cluster of it); each maps to the CRN pattern
// crn://confluent.cloud/organization=<org>[/environment=env-x[/cloud-cluster=lkc-y]]
// under the key's own organization (from WhoAmI), and back (package iam).

const roleBindingsPath = "/iam/v2/role-bindings"

// CheckRole checks a roster role's syntax, name and scope. No request.
func (c *Client) CheckRole(role string) error {
	_, err := iam.ParseRole(role)
	return err
}

// wireBinding is iam.v2.RoleBinding.
type wireBinding struct {
	ID         string `json:"id"`
	Principal  string `json:"principal"`
	RoleName   string `json:"role_name"`
	CRNPattern string `json:"crn_pattern"`
}

// listMeta is the part of ListMeta a pager reads.
type listMeta struct {
	Next      *string `json:"next"`
	TotalSize *int    `json:"total_size"`
}

// pages fetches a paged iam/v2 collection, following metadata.next's
// page_token until next is absent; each page's data is handed to take.
// stop, when set, is asked after the first page whether to go on.
func (c *Client) pages(ctx context.Context, path string, q url.Values, readBack bool,
	take func(data json.RawMessage) error, stop func(meta listMeta, got int) bool) (int, error) {
	n := 0
	guard := iam.NewGuard(c.http.MaxPages())
	token := ""
	for page := 1; ; page++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page_size", fmt.Sprint(PageSize))
		if token != "" {
			qq.Set("page_token", token)
		}
		resp, err := c.http.Do(ctx, providers.Request{Method: http.MethodGet, Path: path, Query: qq, Idempotent: true, ReadBack: readBack})
		n += providers.Attempts(resp, err)
		if err != nil {
			return n, fmt.Errorf("%s page %d: %w", path, page, err)
		}
		var body struct {
			Metadata listMeta        `json:"metadata"`
			Data     json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			return n, fmt.Errorf("%s page %d: decode: %w", path, page, err)
		}
		if err := take(body.Data); err != nil {
			return n, fmt.Errorf("%s page %d: %w", path, page, err)
		}
		if body.Metadata.Next == nil || *body.Metadata.Next == "" {
			return n, nil
		}
		if page == 1 && stop != nil {
			var items []json.RawMessage
			if json.Unmarshal(body.Data, &items) == nil && stop(body.Metadata, len(items)) {
				return n, errStopped
			}
		}
		if err := guard.Page(page, idsOf(body.Data)); err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		if token, err = PageToken(*body.Metadata.Next); err != nil {
			return n, fmt.Errorf("%s page %d: %w", path, page, err)
		}
		if err := guard.Next(page, token); err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// idsOf reads the ids of a page's items.
func idsOf(data json.RawMessage) []string {
	var items []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &items) != nil {
		return nil
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}

var errStopped = errors.New("listing stopped on purpose")

// listBindings lists the bindings matching q (crn_pattern is required
// upstream), every page.
func (c *Client) listBindings(ctx context.Context, q url.Values, readBack bool, stop func(listMeta, int) bool) ([]wireBinding, error) {
	var out []wireBinding
	_, err := c.pages(ctx, roleBindingsPath, q, readBack, func(data json.RawMessage) error {
		var bs []wireBinding
		if err := json.Unmarshal(data, &bs); err != nil {
			return fmt.Errorf("decode role bindings: %w", err)
		}
		out = append(out, bs...)
		return nil
	}, stop)
	return out, err
}

// ListAccess returns the roles the people hold, as bindings of User:<id>
// anywhere in the organization (crn_pattern organization=<org>/*, the
// Confluent CLI's --inclusive listing). The API requires crn_pattern but not
// principal, so one org-wide listing serves everyone: ceil(B/100) requests
// for B bindings in the org. When its first page shows that more pages
// would remain than there are people, it lists per principal instead (one
// listing each), so the cost is at most 1 + one listing per person. People
// without a user id are looked up in the users listing by email.
func (c *Client) ListAccess(ctx context.Context, people []providers.Person) ([]providers.Grant, error) {
	org, err := c.orgID(ctx)
	if err != nil {
		return nil, fmt.Errorf("list access: %w", err)
	}
	byPrincipal, err := c.principals(ctx, people)
	if err != nil {
		return nil, fmt.Errorf("list access: %w", err)
	}
	if len(byPrincipal) == 0 {
		return nil, nil
	}
	orgWide := iam.OrgWide(org)
	var bindings []wireBinding
	if len(byPrincipal) > 1 {
		bindings, err = c.listBindings(ctx, url.Values{"crn_pattern": {orgWide}}, false, func(m listMeta, got int) bool {
			if m.TotalSize == nil || got == 0 {
				return false
			}
			remaining := (*m.TotalSize - got + got - 1) / got
			return remaining > len(byPrincipal)
		})
	}
	if len(byPrincipal) == 1 || errors.Is(err, errStopped) {
		bindings, err = nil, nil
		for _, p := range slices.Sorted(maps.Keys(byPrincipal)) {
			bs, err := c.listBindings(ctx, url.Values{"crn_pattern": {orgWide}, "principal": {p}}, false, nil)
			if err != nil {
				return nil, fmt.Errorf("list access of %s: %w", byPrincipal[p].Email, err)
			}
			bindings = append(bindings, bs...)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list access: %w", err)
	}
	var out []providers.Grant
	seen := map[string]bool{}
	for _, b := range bindings {
		p, ok := byPrincipal[b.Principal]
		if !ok || seen[b.ID] {
			continue
		}
		seen[b.ID] = true
		role := iam.RoleOf(org, b.RoleName, b.CRNPattern)
		if role == "" {
			continue // a resource-level binding: not the roster's to manage
		}
		out = append(out, providers.Grant{ID: b.ID, Email: p.Email, UserID: p.UserID, Role: role})
	}
	return out, nil
}

// principals maps User:<id> to each person (iam.Principals over the
// members listing).
func (c *Client) principals(ctx context.Context, people []providers.Person) (map[string]providers.Person, error) {
	return iam.Principals(people, func() ([]providers.User, error) { return c.ListMembers(ctx) })
}

// userID is g's user id, looked up by email when the grant has none.
func (c *Client) userID(ctx context.Context, email, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	m, err := c.principals(ctx, []providers.Person{{Email: email}})
	if err != nil {
		return "", err
	}
	for p := range m {
		return strings.TrimPrefix(p, "User:"), nil
	}
	return "", fmt.Errorf("%s has no user id yet (neither an invitation naming one nor a member)", email)
}

// GrantRole creates the binding. A 409 resource_already_exists (documented
// for this create) means it is there already: on the first attempt that is
// someone else's (NotFound set); after an attempt that may have landed it is
// ours. Because of that 409, re-sending a create is safe here.
func (c *Client) GrantRole(ctx context.Context, g providers.Grant) (providers.WriteResult, error) {
	sc, err := iam.ParseRole(g.Role)
	if err != nil {
		return providers.WriteResult{}, fmt.Errorf("grant %s to %s: %w", g.Role, g.Email, err)
	}
	org, err := c.orgID(ctx)
	if err != nil {
		return providers.WriteResult{}, fmt.Errorf("grant %s to %s: %w", g.Role, g.Email, err)
	}
	uid, err := c.userID(ctx, g.Email, g.UserID)
	if err != nil {
		return providers.WriteResult{}, fmt.Errorf("grant %s to %s: %w", g.Role, g.Email, err)
	}
	body, _ := json.Marshal(wireBinding{Principal: "User:" + uid, RoleName: sc.Name, CRNPattern: sc.CRN(org)})
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodPost, Path: roleBindingsPath, Body: body, Idempotent: true,
		Accept: []int{http.StatusConflict},
	})
	if err != nil {
		res := providers.WriteResult{Attempts: providers.Attempts(resp, err), Unknown: providers.IsMaybeApplied(err)}
		if e, ok := providers.AsError(err); ok {
			res.RequestID = e.RequestID
		}
		return res, fmt.Errorf("grant %s to %s: %w", g.Role, g.Email, err)
	}
	res := providers.WriteResult{RequestID: resp.RequestID, Attempts: resp.Attempts}
	if resp.Status == http.StatusConflict {
		if code := decodeError(resp.Status, resp.Header, resp.Body).Code; code != "" && code != "resource_already_exists" {
			return res, fmt.Errorf("grant %s to %s: HTTP 409 %s", g.Role, g.Email, code)
		}
		res.NotFound = resp.Attempts == 1
	}
	return res, nil
}

// UngrantRole deletes the binding by id (found by listing when g has none).
// A 404 means it is gone already.
func (c *Client) UngrantRole(ctx context.Context, g providers.Grant) (providers.WriteResult, error) {
	id := g.ID
	if id == "" {
		found, err := c.findBinding(ctx, g)
		if err != nil {
			return providers.WriteResult{}, fmt.Errorf("ungrant %s from %s: %w", g.Role, g.Email, err)
		}
		if found == "" {
			return providers.WriteResult{NotFound: true}, nil
		}
		id = found
	}
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodDelete, Path: roleBindingsPath + "/" + url.PathEscape(id),
		Idempotent: true, Accept: []int{http.StatusNotFound},
	})
	if err != nil {
		res := providers.WriteResult{Attempts: providers.Attempts(resp, err), Unknown: providers.IsMaybeApplied(err)}
		if e, ok := providers.AsError(err); ok {
			res.RequestID = e.RequestID
		}
		return res, fmt.Errorf("ungrant %s from %s (%s): %w", g.Role, g.Email, id, err)
	}
	return providers.WriteResult{RequestID: resp.RequestID, Attempts: resp.Attempts, NotFound: resp.Status == http.StatusNotFound}, nil
}

// findBinding returns the id of g's binding, "" when there is none.
func (c *Client) findBinding(ctx context.Context, g providers.Grant) (string, error) {
	sc, err := iam.ParseRole(g.Role)
	if err != nil {
		return "", err
	}
	org, err := c.orgID(ctx)
	if err != nil {
		return "", err
	}
	uid, err := c.userID(ctx, g.Email, g.UserID)
	if err != nil {
		return "", err
	}
	crn := sc.CRN(org)
	// A lookup before a delete, not the verification of a write.
	bs, err := c.listBindings(ctx, url.Values{"crn_pattern": {crn}, "principal": {"User:" + uid}, "role_name": {sc.Name}}, false, nil)
	if err != nil {
		return "", err
	}
	for _, b := range bs {
		if b.Principal == "User:"+uid && b.RoleName == sc.Name && b.CRNPattern == crn {
			return b.ID, nil
		}
	}
	return "", nil
}
