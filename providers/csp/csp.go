// Package csp is the VMware Cloud Services (CSP) org invitations client
// (--provider csp): API-token exchange, bulk invites, revoke, and a list that
// comes back as one bare array.
package csp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/invitesync/invitesync/providers"
)

// Defaults and limits (upstream-apis.md, "VMware CSP").
const (
	DefaultEndpoint = "https://console.cloud.vmware.com"
	DefaultRate     = 10 // requests/second
	// DefaultBatch is the most usernames per invite call. The real cap is
	// UNCONFIRMED upstream; the CLI's --csp-batch changes it.
	DefaultBatch = 20
	// MaxGroups and the expiry range are documented limits of the invite body.
	MaxGroups     = 15
	MinExpiryDays = 1
	MaxExpiryDays = 90
)

const tokenPath = "/csp/gateway/am/api/auth/api-tokens/authorize"

// Options says which org to act on and how.
type Options struct {
	OrgID    string
	APIToken string // the org-scoped API token (formerly "refresh token"); CSP_REFRESH_TOKEN
	Batch    int    // usernames per invite call; 0 = DefaultBatch
}

// Client is one CSP organization.
type Client struct {
	http  *providers.Client
	org   string
	batch int
	tok   *tokenSource
	now   func() time.Time

	whoMu sync.Mutex
	who   string // cached principal, for read-backs after a lost invite
}

// New builds a client; no request is made until the first call.
func New(cfg providers.Config, opts Options) (*Client, error) {
	if opts.OrgID == "" {
		return nil, errors.New("csp: an org id is required")
	}
	if opts.APIToken == "" {
		return nil, errors.New("csp: an API token is required")
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	c := &Client{org: opts.OrgID, batch: opts.Batch, now: time.Now}
	c.tok = &tokenSource{apiToken: opts.APIToken, now: time.Now}
	hc, err := providers.NewClient(cfg, providers.ClientOptions{
		Provider:        "csp",
		DefaultEndpoint: DefaultEndpoint,
		DefaultRate:     DefaultRate,
		Authorize: func(ctx context.Context, r *http.Request) error {
			t, err := c.tok.get(ctx)
			if err != nil {
				return err
			}
			r.Header.Set("csp-auth-token", t)
			return nil
		},
		Unauthorized: func(sent *http.Request) bool {
			// CSP says: refresh the token on 401. Once per request (the client
			// guarantees it), so a bad API token cannot loop.
			c.tok.invalidate(sent.Header.Get("csp-auth-token"))
			return true
		},
		DecodeError:     decodeError,
		RequestIDHeader: "X-Request-Id", // not documented for CSP; the body's requestId is the fallback
		Secrets:         []string{opts.APIToken},
	})
	if err != nil {
		return nil, fmt.Errorf("csp: %w", err)
	}
	c.http = hc
	c.tok.http = hc
	return c, nil
}

func (c *Client) Name() string         { return "csp" }
func (c *Client) Organization() string { return c.org }

// Capabilities: CSP invites carry roles, groups and an expiry, not an auth type.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Revoke: true, MaxBatch: c.batch,
		OrgRoles: true, ServiceRoles: true, Groups: true, Expiry: true,
		MaxGroups: MaxGroups, MinExpiryDays: MinExpiryDays, MaxExpiryDays: MaxExpiryDays,
	}
}

func (c *Client) orgPath() string {
	return "/csp/gateway/am/api/orgs/" + url.PathEscape(c.org) + "/invitations"
}

// WhoAmI returns the token's user, as invitations name it in
// invitedByUsername, and the org id the client acts on.
func (c *Client) WhoAmI(ctx context.Context) (providers.Identity, error) {
	who, err := c.username(ctx)
	if err != nil {
		return providers.Identity{}, err
	}
	return providers.Identity{Principal: who, Org: c.org}, nil
}

// username is the token's user, asked once.
// The loggedin/user answer's shape is UNCONFIRMED.
func (c *Client) username(ctx context.Context) (string, error) {
	c.whoMu.Lock()
	defer c.whoMu.Unlock()
	if c.who != "" {
		return c.who, nil
	}
	resp, err := c.http.Do(ctx, providers.Request{Method: http.MethodGet, Path: "/csp/gateway/am/api/loggedin/user", Idempotent: true})
	if err != nil {
		return "", fmt.Errorf("who am I: %w", err)
	}
	var u struct {
		Username string `json:"username"`
		Email    string `json:"email"`
	}
	if err := json.Unmarshal(resp.Body, &u); err != nil {
		return "", fmt.Errorf("who am I: decode: %w", err)
	}
	who := firstNonEmpty(u.Username, u.Email)
	if who == "" {
		return "", errors.New("who am I: loggedin/user names no username")
	}
	c.who = who
	return who, nil
}

// List returns every invitation of the org (one bare array, no pagination),
// with roles (expand).
func (c *Client) List(ctx context.Context) ([]providers.Invitation, error) {
	invs, _, err := c.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return invs, nil
}

func (c *Client) list(ctx context.Context) ([]providers.Invitation, int, error) {
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodGet, Path: c.orgPath(), Idempotent: true,
		Query: url.Values{"expand": {"true"}}, // roles come only with expand (a presence flag)
	})
	n := providers.Attempts(resp, err)
	if err != nil {
		return nil, n, err
	}
	var ws []wireInvitation
	if err := json.Unmarshal(resp.Body, &ws); err != nil {
		return nil, n, fmt.Errorf("decode: %w", err)
	}
	now := c.now()
	out := make([]providers.Invitation, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.invitation(now))
	}
	return out, n, nil
}

// Create invites reqs. People with identical attributes share calls of at
// most Batch usernames; limits are checked before anything is sent.
func (c *Client) Create(ctx context.Context, reqs []providers.InviteRequest) ([]providers.CreateResult, error) {
	out := make([]providers.CreateResult, len(reqs))
	groups := map[string][]int{}
	var order []string
	for i, r := range reqs {
		out[i].Email = r.Email
		if err := validate(r); err != nil {
			out[i].Err = fmt.Errorf("create %s: %w", r.Email, err)
			continue
		}
		k := attrKey(r)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	done := make([]bool, len(reqs))
	for _, k := range order {
		idx := groups[k]
		for len(idx) > 0 {
			if err := ctx.Err(); err != nil {
				for i := range out {
					if !done[i] && out[i].Err == nil {
						out[i].Err = fmt.Errorf("create %s: not attempted: %w", reqs[i].Email, err)
					}
				}
				return out, err
			}
			for _, i := range idx[:min(len(idx), c.batch)] {
				done[i] = true
			}
			n := min(len(idx), c.batch)
			c.createBatch(ctx, reqs, idx[:n], out)
			idx = idx[n:]
		}
	}
	return out, nil
}

// validate applies the documented limits of the invite body.
func validate(r providers.InviteRequest) error {
	if strings.TrimSpace(r.Email) == "" {
		return errors.New("no email")
	}
	if len(r.Groups) > MaxGroups {
		return fmt.Errorf("%d custom groups: CSP takes at most %d", len(r.Groups), MaxGroups)
	}
	if r.ExpiresInDays != 0 && (r.ExpiresInDays < MinExpiryDays || r.ExpiresInDays > MaxExpiryDays) {
		return fmt.Errorf("expiry of %d days: CSP takes %d..%d", r.ExpiresInDays, MinExpiryDays, MaxExpiryDays)
	}
	return nil
}

// attrKey groups requests that can share one invite call.
func attrKey(r providers.InviteRequest) string {
	roles := slices.Clone(r.OrgRoles)
	sort.Strings(roles)
	srs := make([]string, 0, len(r.ServiceRoles))
	for _, s := range r.ServiceRoles {
		srs = append(srs, s.Link+"="+s.Role)
	}
	sort.Strings(srs)
	gs := slices.Clone(r.Groups)
	sort.Strings(gs)
	b, _ := json.Marshal([]any{roles, srs, gs, r.ExpiresInDays})
	return string(b)
}

type roleName struct {
	Name string `json:"name"`
}

type serviceRolesDto struct {
	ServiceDefinitionLink string     `json:"serviceDefinitionLink"`
	ServiceRoles          []roleName `json:"serviceRoles"`
}

type inviteBody struct {
	Usernames                  []string          `json:"usernames"`
	OrganizationRoles          []roleName        `json:"organizationRoles,omitempty"`
	ServiceRolesDtos           []serviceRolesDto `json:"serviceRolesDtos,omitempty"`
	CustomGroupsIds            []string          `json:"customGroupsIds,omitempty"`
	InvitationExpirationInDays int               `json:"invitationExpirationInDays,omitempty"`
}

// newInviteBody builds the body for usernames sharing r's attributes;
// service roles are grouped by service definition link.
func newInviteBody(usernames []string, r providers.InviteRequest) inviteBody {
	b := inviteBody{Usernames: usernames, CustomGroupsIds: r.Groups, InvitationExpirationInDays: r.ExpiresInDays}
	for _, name := range r.OrgRoles {
		b.OrganizationRoles = append(b.OrganizationRoles, roleName{name})
	}
	byLink := map[string]int{}
	for _, s := range r.ServiceRoles {
		i, ok := byLink[s.Link]
		if !ok {
			i = len(b.ServiceRolesDtos)
			byLink[s.Link] = i
			b.ServiceRolesDtos = append(b.ServiceRolesDtos, serviceRolesDto{ServiceDefinitionLink: s.Link})
		}
		b.ServiceRolesDtos[i].ServiceRoles = append(b.ServiceRolesDtos[i].ServiceRoles, roleName{s.Role})
	}
	return b
}

// createBatch sends one invite call for reqs[idx...] (identical attributes)
// and fills out[idx...]. The create rule of contracts.md, per username:
//   - 202: every username invited;
//   - 409 (nothing applied, the emulator's guess of CSP): read back, mark
//     usernames that now have an AVAILABLE unexpired invitation as
//     AlreadyInvited, re-send the rest;
//   - 500/502/504/reset/timeout (may have landed): read back, count
//     usernames with an AVAILABLE invitation of ours as created, re-send the rest.
func (c *Client) createBatch(ctx context.Context, reqs []providers.InviteRequest, idx []int, out []providers.CreateResult) {
	attrs := reqs[idx[0]]
	pending := slices.Clone(idx)
	var attemptsTotal int
	var reqID string
	finish := func(i int, err error) {
		out[i].Err = err
		out[i].Attempts = attemptsTotal
		if out[i].RequestID == "" {
			out[i].RequestID = reqID
		}
	}
	budget, sent := c.http.MaxAttempts(), 0
	for round := 1; len(pending) > 0; round++ {
		names := make([]string, len(pending))
		for j, i := range pending {
			names[j] = reqs[i].Email
		}
		body, err := json.Marshal(newInviteBody(names, attrs))
		if err != nil {
			for _, i := range pending {
				finish(i, fmt.Errorf("create %s: %w", reqs[i].Email, err))
			}
			return
		}
		resp, err := c.http.Do(ctx, providers.Request{
			Method: http.MethodPost, Path: c.orgPath(), Body: body,
			Accept: []int{http.StatusConflict}, MaxAttempts: budget - sent,
		})
		n := providers.Attempts(resp, err)
		sent += n
		attemptsTotal += n
		if resp != nil {
			reqID = resp.RequestID
		}
		if err == nil && resp.Status != http.StatusConflict {
			for _, i := range pending {
				finish(i, nil)
			}
			return
		}
		conflict := err == nil
		if !conflict && (!providers.IsMaybeApplied(err) || sent >= budget || ctx.Err() != nil) {
			for _, i := range pending {
				finish(i, fmt.Errorf("create %s: %w", reqs[i].Email, err))
			}
			return
		}
		if !conflict {
			if berr := c.http.Backoff(ctx, round); berr != nil {
				for _, i := range pending {
					finish(i, fmt.Errorf("create %s: %w", reqs[i].Email, err))
				}
				return
			}
		}
		// Read back before sending anything again.
		invs, ln, lerr := c.list(ctx)
		attemptsTotal += ln
		var me string
		if lerr == nil && !conflict {
			me, lerr = c.username(ctx)
		}
		if lerr != nil {
			for _, i := range pending {
				cause := "409"
				if err != nil {
					cause = err.Error()
				}
				finish(i, fmt.Errorf("create %s: read back after %s: %w", reqs[i].Email, cause, lerr))
			}
			return
		}
		live := liveInvitations(invs)
		var rest []int
		for _, i := range pending {
			inv, ok := live[emailKey(reqs[i].Email)]
			switch {
			case ok && conflict:
				// Upstream refused because a pending invitation exists. Its
				// creator is in Invitation.CreatorID: it may not be ours.
				out[i].AlreadyInvited = true
				out[i].Invitation = inv
				finish(i, nil)
			case ok && inv.CreatorID == me: // our lost call landed
				out[i].Invitation = inv
				finish(i, nil)
			default:
				rest = append(rest, i)
			}
		}
		if conflict && len(rest) == len(pending) {
			// A 409 naming nobody we can see: re-sending would loop.
			ae := decodeError(resp.Status, resp.Header, resp.Body)
			for _, i := range pending {
				finish(i, fmt.Errorf("create %s: %w", reqs[i].Email, &providers.Error{
					Method: http.MethodPost, Path: c.orgPath(), Status: resp.Status, Code: ae.Code,
					Message: c.http.Scrub(ae.Message), RequestID: resp.RequestID, Attempts: attemptsTotal,
				}))
			}
			return
		}
		if conflict && sent >= budget {
			for _, i := range rest {
				finish(i, fmt.Errorf("create %s: conflicts left no attempts to re-send it", reqs[i].Email))
			}
			return
		}
		pending = rest
	}
}

// liveInvitations indexes AVAILABLE, unexpired invitations by email key.
func liveInvitations(invs []providers.Invitation) map[string]*providers.Invitation {
	m := map[string]*providers.Invitation{}
	for i := range invs {
		if invs[i].Status == providers.StatusPending {
			m[emailKey(invs[i].Email)] = &invs[i]
		}
	}
	return m
}

// Revoke revokes one invitation. With an id we DELETE that very invitation:
// it touches nothing else, whereas ?action=revoke by username revokes every
// AVAILABLE invitation of the person, other admins' included. Without an id
// (refLink missing) we fall back to revoke by username.
func (c *Client) Revoke(ctx context.Context, inv providers.Invitation) (providers.RevokeResult, error) {
	req := providers.Request{Method: http.MethodDelete, Path: c.orgPath() + "/" + url.PathEscape(inv.ID), Idempotent: true, Accept: []int{http.StatusNotFound}}
	if inv.ID == "" {
		if inv.Email == "" {
			return providers.RevokeResult{}, errors.New("revoke: the invitation has neither id nor email")
		}
		body, err := json.Marshal(struct {
			Usernames []string `json:"usernames"`
		}{[]string{inv.Email}})
		if err != nil {
			return providers.RevokeResult{}, fmt.Errorf("revoke %s: %w", inv.Email, err)
		}
		// Revoking twice is harmless: safe to retry.
		req = providers.Request{Method: http.MethodPost, Path: c.orgPath(), Query: url.Values{"action": {"revoke"}}, Body: body, Idempotent: true}
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		res := providers.RevokeResult{Attempts: providers.Attempts(resp, err)}
		if e, ok := providers.AsError(err); ok {
			res.RequestID = e.RequestID
		}
		return res, fmt.Errorf("revoke %s (%s): %w", inv.Email, inv.ID, err)
	}
	return providers.RevokeResult{RequestID: resp.RequestID, Attempts: resp.Attempts, NotFound: resp.Status == http.StatusNotFound}, nil
}

// wireInvitation is UserOrganizationInvitationResponse. Times are epoch
// milliseconds (the unit is UNCONFIRMED upstream; the emulator uses ms).
type wireInvitation struct {
	Username          string     `json:"username"`
	Status            string     `json:"status"`
	RefLink           string     `json:"refLink"`
	ExpirationTime    int64      `json:"expirationTime"`
	GeneratedAt       int64      `json:"generatedAt"`
	RedeemedAt        int64      `json:"redeemedAt"`
	InvitedByUsername string     `json:"invitedByUsername"`
	OrgRoleNames      []string   `json:"orgRoleNames"`
	OrganizationRoles []roleName `json:"organizationRoles"`
	ServiceRolesDtos  []struct {
		ServiceDefinitionLink string     `json:"serviceDefinitionLink"`
		ServiceRoleNames      []string   `json:"serviceRoleNames"`
		ServiceRoles          []roleName `json:"serviceRoles"`
	} `json:"serviceRolesDtos"`
	CustomGroupsIds []string `json:"customGroupsIds"`
}

func (w wireInvitation) invitation(now time.Time) providers.Invitation {
	inv := providers.Invitation{
		ID:         RefLinkID(w.RefLink),
		Email:      w.Username,
		RawStatus:  w.Status,
		CreatedAt:  epochMillis(w.GeneratedAt),
		ExpiresAt:  epochMillis(w.ExpirationTime),
		AcceptedAt: epochMillis(w.RedeemedAt),
		CreatorID:  w.InvitedByUsername,
		Groups:     w.CustomGroupsIds,
	}
	for _, r := range w.OrganizationRoles {
		inv.OrgRoles = append(inv.OrgRoles, r.Name)
	}
	for _, r := range w.OrgRoleNames { // deprecated twin: keep what the new field lacks
		if !slices.Contains(inv.OrgRoles, r) {
			inv.OrgRoles = append(inv.OrgRoles, r)
		}
	}
	for _, d := range w.ServiceRolesDtos {
		names := make([]string, 0, len(d.ServiceRoles))
		for _, r := range d.ServiceRoles {
			names = append(names, r.Name)
		}
		if len(names) == 0 {
			names = d.ServiceRoleNames
		}
		for _, n := range names {
			inv.ServiceRoles = append(inv.ServiceRoles, providers.ServiceRole{Link: d.ServiceDefinitionLink, Role: n})
		}
	}
	inv.Status = Status(w.Status, inv.ExpiresAt, now)
	return inv
}

// Status maps CSP's closed enum. CSP has no expired status: an AVAILABLE
// invitation past its expirationTime is expired.
func Status(raw string, expiresAt, now time.Time) providers.Status {
	switch raw {
	case "AVAILABLE":
		if !expiresAt.IsZero() && expiresAt.Before(now) {
			return providers.StatusExpired
		}
		return providers.StatusPending
	case "REDEEMED":
		return providers.StatusAccepted
	case "REVOKED":
		return providers.StatusRevoked
	}
	return providers.StatusUnknown
}

// RefLinkID is the invitation id: refLink's last segment (CSP has no id
// field; UNCONFIRMED upstream, contracts.md).
func RefLinkID(refLink string) string {
	if refLink == "" {
		return ""
	}
	p := refLink
	if u, err := url.Parse(refLink); err == nil {
		p = u.Path
	}
	id := path.Base(strings.TrimRight(p, "/"))
	if id == "." || id == "/" {
		return ""
	}
	return id
}

// emailKey compares emails as the roster does: trimmed, lower-cased.
func emailKey(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func epochMillis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// decodeError reads a CspErrorResponse.
func decodeError(_ int, _ http.Header, body []byte) providers.APIError {
	var e struct {
		CspErrorCode string `json:"cspErrorCode"`
		ErrorCode    string `json:"errorCode"`
		Message      string `json:"message"`
		RequestID    string `json:"requestId"`
	}
	if json.Unmarshal(body, &e) != nil {
		return providers.APIError{}
	}
	return providers.APIError{Code: firstNonEmpty(e.ErrorCode, e.CspErrorCode), Message: e.Message, RequestID: e.RequestID}
}

// tokenSource exchanges the API token for access tokens and refreshes them
// before expires_in runs out (with a margin) and after a 401.
type tokenSource struct {
	http     *providers.Client
	apiToken string
	now      func() time.Time

	mu      sync.Mutex // held across an exchange: one exchange for all workers
	token   string
	refresh time.Time // when to exchange again
}

func (t *tokenSource) get(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Before(t.refresh) {
		return t.token, nil
	}
	resp, err := t.http.Do(ctx, providers.Request{
		Method: http.MethodPost, Path: tokenPath, NoAuth: true,
		Body:        []byte(url.Values{"api_token": {t.apiToken}}.Encode()),
		ContentType: "application/x-www-form-urlencoded",
		Idempotent:  true, // an exchange changes nothing upstream
	})
	if err != nil {
		return "", fmt.Errorf("exchange API token: %w", err)
	}
	var a struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return "", errors.New("exchange API token: undecodable answer")
	}
	if a.AccessToken == "" {
		return "", errors.New("exchange API token: no access_token in the answer")
	}
	t.http.AddSecret(a.AccessToken)
	life := time.Duration(a.ExpiresIn) * time.Second
	// Refresh early: a quarter of the lifetime, at most a minute, so a
	// request never leaves with a token about to lapse.
	margin := min(life/4, time.Minute)
	t.token, t.refresh = a.AccessToken, t.now().Add(life-margin)
	return t.token, nil
}

// invalidate drops the token a 401 came back for (not a newer one).
func (t *tokenSource) invalidate(used string) {
	t.mu.Lock()
	if used != "" && used == t.token {
		t.token = ""
	}
	t.mu.Unlock()
}
