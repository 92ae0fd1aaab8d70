package azure

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

// Access and members through the access API (armconfluent AccessClient:
// ListUsers, ListRoleBindings, CreateRoleBinding, DeleteRoleBinding). Role
// bindings are Confluent's: principal User:<user id>, role_name,
// crn_pattern under the Confluent organization (properties.organizationId
// of the organization resource), so the roster's roles map as they do for
// --provider confluent (package iam). Invitation records carry no user id
// here: access can be granted once a person is a member (listUsers).

// ErrRemoveUnsupported is returned by RemoveMember.
var ErrRemoveUnsupported = errors.New("azure: removing a member is not supported: " + RemoveHint)

type userRecord struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Metadata struct {
		CreatedAt string `json:"created_at"`
	} `json:"metadata"`
}

// ListMembers returns every user of the organization (listUsers, all pages).
func (c *Client) ListMembers(ctx context.Context) ([]providers.User, error) {
	users, _, err := c.listUsers(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return users, nil
}

func (c *Client) listUsers(ctx context.Context, readBack bool) ([]providers.User, int, error) {
	var out []providers.User
	n, err := c.pages(ctx, "listUsers", nil, readBack, func(data json.RawMessage) error {
		var recs []userRecord
		if err := json.Unmarshal(data, &recs); err != nil {
			return fmt.Errorf("decode users: %w", err)
		}
		for _, r := range recs {
			t, ok := ParseTime(r.Metadata.CreatedAt)
			if !ok {
				c.warnTime(r.ID, "metadata.created_at", r.Metadata.CreatedAt)
			}
			out = append(out, providers.User{ID: r.ID, Email: r.Email, CreatedAt: t})
		}
		return nil
	})
	return out, n, err
}

// isMember reads back whether email is a user of the organization.
func (c *Client) isMember(ctx context.Context, email string) (bool, int, error) {
	users, n, err := c.listUsers(ctx, true)
	if err != nil {
		return false, n, err
	}
	return slices.ContainsFunc(users, func(u providers.User) bool { return iam.SameEmail(u.Email, email) }), n, nil
}

// BlastRadius lists u's role bindings. The access API lists no API keys, so
// keys a deletion would take are not known here (and Azure cannot delete).
func (c *Client) BlastRadius(ctx context.Context, u providers.User) (providers.Radius, error) {
	bs, err := c.listBindings(ctx, "User:"+u.ID, false)
	if err != nil {
		return providers.Radius{}, fmt.Errorf("blast radius of %s: %w", u.Email, err)
	}
	var r providers.Radius
	for _, b := range bs {
		if b.Principal == "User:"+u.ID {
			r.Bindings = append(r.Bindings, b.ID)
		}
	}
	return r, nil
}

// RemoveMember is not possible through Azure (no such operation).
func (c *Client) RemoveMember(context.Context, providers.User) (providers.WriteResult, error) {
	return providers.WriteResult{}, ErrRemoveUnsupported
}

// CheckRole checks a roster role's syntax, name and scope. No request.
func (c *Client) CheckRole(role string) error {
	_, err := iam.ParseRole(role)
	return err
}

type bindingRecord struct {
	ID         string `json:"id"`
	Principal  string `json:"principal"`
	RoleName   string `json:"role_name"`
	CRNPattern string `json:"crn_pattern"`
}

// listBindings lists the organization's bindings (of principal, when
// given). The searchFilters keys of listRoleBindings are not documented:
// crn_pattern (the key of the listRoleBindingNameList example, and the
// filter Confluent requires underneath) and principal are sent, and every
// record is checked here again.
func (c *Client) listBindings(ctx context.Context, principal string, readBack bool) ([]bindingRecord, error) {
	org, err := c.orgID(ctx)
	if err != nil {
		return nil, err
	}
	f := map[string]string{"crn_pattern": iam.OrgWide(org)}
	if principal != "" {
		f["principal"] = principal
	}
	var out []bindingRecord
	_, err = c.pages(ctx, "listRoleBindings", f, readBack, func(data json.RawMessage) error {
		var bs []bindingRecord
		if err := json.Unmarshal(data, &bs); err != nil {
			return fmt.Errorf("decode role bindings: %w", err)
		}
		for _, b := range bs {
			if principal == "" || b.Principal == principal {
				out = append(out, b)
			}
		}
		return nil
	})
	return out, err
}

// ListAccess returns the roles the people hold: one org-wide listing of
// role bindings (ceil(B/100) requests for B bindings) and, for people
// without a user id, one listing of the users.
func (c *Client) ListAccess(ctx context.Context, people []providers.Person) ([]providers.Grant, error) {
	byPrincipal, err := c.principals(ctx, people)
	if err != nil {
		return nil, fmt.Errorf("list access: %w", err)
	}
	if len(byPrincipal) == 0 {
		return nil, nil
	}
	org, err := c.orgID(ctx)
	if err != nil {
		return nil, fmt.Errorf("list access: %w", err)
	}
	only := ""
	if len(byPrincipal) == 1 {
		only = slices.Collect(maps.Keys(byPrincipal))[0]
	}
	bs, err := c.listBindings(ctx, only, false)
	if err != nil {
		return nil, fmt.Errorf("list access: %w", err)
	}
	var out []providers.Grant
	seen := map[string]bool{}
	for _, b := range bs {
		p, ok := byPrincipal[b.Principal]
		if !ok || seen[b.ID] {
			continue
		}
		seen[b.ID] = true
		if role := iam.RoleOf(org, b.RoleName, b.CRNPattern); role != "" {
			out = append(out, providers.Grant{ID: b.ID, Email: p.Email, UserID: p.UserID, Role: role})
		}
	}
	return out, nil
}

// principals maps User:<id> to each person (iam.Principals over listUsers).
func (c *Client) principals(ctx context.Context, people []providers.Person) (map[string]providers.Person, error) {
	return iam.Principals(people, func() ([]providers.User, error) {
		users, _, err := c.listUsers(ctx, false)
		return users, err
	})
}

// binding resolves g to its wire form.
func (c *Client) binding(ctx context.Context, g providers.Grant) (bindingRecord, error) {
	r, err := iam.ParseRole(g.Role)
	if err != nil {
		return bindingRecord{}, err
	}
	org, err := c.orgID(ctx)
	if err != nil {
		return bindingRecord{}, err
	}
	uid := g.UserID
	if uid == "" {
		m, err := c.principals(ctx, []providers.Person{{Email: g.Email}})
		if err != nil {
			return bindingRecord{}, err
		}
		for p := range m {
			uid = strings.TrimPrefix(p, "User:")
		}
		if uid == "" {
			return bindingRecord{}, fmt.Errorf("%s is not a member yet (Azure names no user before acceptance)", g.Email)
		}
	}
	return bindingRecord{Principal: "User:" + uid, RoleName: r.Name, CRNPattern: r.CRN(org)}, nil
}

// find returns b's id in the organization, "" when there is none;
// readBack marks a look that verifies a write.
func (c *Client) find(ctx context.Context, b bindingRecord, readBack bool) (string, error) {
	bs, err := c.listBindings(ctx, b.Principal, readBack)
	if err != nil {
		return "", err
	}
	for _, x := range bs {
		if x.RoleName == b.RoleName && x.CRNPattern == b.CRNPattern {
			return x.ID, nil
		}
	}
	return "", nil
}

// GrantRole creates the binding. What a duplicate answers is not
// documented (only "the ARM default error"), so a refusal is read back:
// the binding there means done (someone else's when it was the first
// attempt). An answer that may have landed is read back before anything is
// sent again; still not there, it is sent once more.
func (c *Client) GrantRole(ctx context.Context, g providers.Grant) (providers.WriteResult, error) {
	b, err := c.binding(ctx, g)
	if err != nil {
		return providers.WriteResult{}, fmt.Errorf("grant %s to %s: %w", g.Role, g.Email, err)
	}
	var res providers.WriteResult
	for round := 1; ; round++ {
		resp, err := c.do(ctx, call{action: "createRoleBinding", body: b, accept: duplicateStatuses})
		res.Attempts += providers.Attempts(resp, err)
		if err == nil && resp.Status/100 == 2 {
			res.RequestID = resp.RequestID
			return res, nil
		}
		if err != nil && !providers.IsMaybeApplied(err) {
			return res, fmt.Errorf("grant %s to %s: %w", g.Role, g.Email, err)
		}
		id, ferr := c.find(ctx, b, true)
		if ferr != nil {
			res.Unknown = err != nil
			return res, fmt.Errorf("grant %s to %s: reading back: %w", g.Role, g.Email, ferr)
		}
		if id != "" {
			res.NotFound = round == 1 && err == nil // refused at once: it was there before us
			return res, nil
		}
		if err == nil { // refused, and not there: a real refusal
			ae := decodeError(resp.Status, resp.Header, resp.Body)
			return res, fmt.Errorf("grant %s to %s: HTTP %d %s: %s", g.Role, g.Email, resp.Status, ae.Code, c.http.Scrub(ae.Message))
		}
		if round >= 2 || res.Attempts >= c.http.MaxAttempts() {
			res.Unknown = true
			return res, fmt.Errorf("grant %s to %s: outcome unknown: %w", g.Role, g.Email, err)
		}
		if err := c.http.Backoff(ctx, round); err != nil {
			res.Unknown = true
			return res, fmt.Errorf("grant %s to %s: %w", g.Role, g.Email, err)
		}
	}
}

// UngrantRole deletes the binding (DELETE deleteRoleBinding/{id}; found by
// listing when g has no id). 200 deleted it; 204 (ARM's "does not exist")
// or a binding already gone is NotFound.
func (c *Client) UngrantRole(ctx context.Context, g providers.Grant) (providers.WriteResult, error) {
	id := g.ID
	if id == "" {
		b, err := c.binding(ctx, g)
		if err != nil {
			return providers.WriteResult{}, fmt.Errorf("ungrant %s from %s: %w", g.Role, g.Email, err)
		}
		if id, err = c.find(ctx, b, false); err != nil {
			return providers.WriteResult{}, fmt.Errorf("ungrant %s from %s: %w", g.Role, g.Email, err)
		}
		if id == "" {
			return providers.WriteResult{NotFound: true}, nil
		}
	}
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodDelete, Path: c.actionBase + "deleteRoleBinding/" + url.PathEscape(id),
		Query: url.Values{"api-version": {c.opts.APIVersion}}, Idempotent: true, Accept: []int{http.StatusNotFound},
	})
	if err != nil {
		res := providers.WriteResult{Attempts: providers.Attempts(resp, err), Unknown: providers.IsMaybeApplied(err)}
		if e, ok := providers.AsError(err); ok {
			res.RequestID = e.RequestID
		}
		return res, fmt.Errorf("ungrant %s from %s (%s): %w", g.Role, g.Email, id, err)
	}
	return providers.WriteResult{
		RequestID: resp.RequestID, Attempts: resp.Attempts,
		NotFound: resp.Status == http.StatusNoContent || resp.Status == http.StatusNotFound,
	}, nil
}

// RoleNames lists the role names the organization offers
// (listRoleBindingNameList), for check and validate --provider.
func (c *Client) RoleNames(ctx context.Context) ([]string, error) {
	org, err := c.orgID(ctx)
	if err != nil {
		return nil, fmt.Errorf("role names: %w", err)
	}
	resp, err := c.do(ctx, call{action: "listRoleBindingNameList", idempotent: true,
		body: map[string]any{"searchFilters": map[string]string{"crn_pattern": iam.OrgCRN(org)}}})
	if err != nil {
		return nil, fmt.Errorf("role names: %w", err)
	}
	var body struct {
		Data []string `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return nil, fmt.Errorf("role names: decode: %w", err)
	}
	return body.Data, nil
}
