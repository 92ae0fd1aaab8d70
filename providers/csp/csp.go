// Package csp is the VMware Cloud Services (CSP) org invitations client
// (--provider csp): API-token exchange, bulk invites sized by what the
// upstream accepts, revoke by username, the org's members (org users API)
// and their roles.
//
// Vendor facts this client builds on, with where they come from:
//   - invitations: POST/GET /csp/gateway/am/api/orgs/{orgId}/invitations,
//     ?action=revoke with usernames (CSP IAM reference, "Invite Users Using
//     POST"; the list answers one bare array);
//   - organizationRoles is mandatory on an invite in practice (VMware's own
//     saltstack/salt-ext-modules-vmware vmc_org_users.invite: "Its mandatory
//     while sending invitation to user"), so org_member is sent by default;
//   - a re-invite of a pending user or of a member answers 202 like a new
//     one (reported in salt-ext-modules-vmware pull request 289): the only
//     way to know what an invite did is to read;
//   - members: GET /csp/gateway/am/api/v2/orgs/{orgId}/users, paged by
//     pageStart/pageLimit (max 200) with nextLink ("Get Organization Users
//     By Organization ID"); removal: DELETE on the same path with
//     {"ids": [...]}, at most 20 ids ("Remove Users From Organization");
//     roles: PATCH /csp/gateway/am/api/v3/users/{userId}/orgs/{orgId}/roles
//     ("Update User Roles By User ID And Organization ID");
//   - who am I: GET /csp/gateway/am/api/loggedin/user; the org: GET
//     /csp/gateway/am/api/orgs/{orgId}, 404 "Organization with this
//     identifier is not found." for an unknown one.
package csp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/providers"
)

// Defaults and limits.
const (
	DefaultEndpoint = "https://console.cloud.vmware.com"
	DefaultRate     = 10 // requests/second
	// DefaultBatch is how many usernames the first invite call carries. No
	// cap is documented; a refusal that says the batch is too large halves
	// it for the rest of the run (Capabilities().MaxBatch follows).
	DefaultBatch = 200
	// MaxGroups and the expiry range are documented limits of the invite body.
	MaxGroups     = 15
	MinExpiryDays = 1
	MaxExpiryDays = 90
	// DefaultOrgRole is sent when a roster row names no organization role.
	DefaultOrgRole = "org_member"
	// MaxRemove is the documented cap of one removal call ("Cannot remove
	// more than 20 users at the same time").
	MaxRemove = 20
	// UsersPageLimit is the documented maximum pageLimit of the org users list.
	UsersPageLimit = 200
)

const tokenPath = "/csp/gateway/am/api/auth/api-tokens/authorize"

// Options says which org to act on and how.
type Options struct {
	OrgID    string
	APIToken string // the org-scoped API token (formerly "refresh token"); CSP_REFRESH_TOKEN
	// Batch is the usernames per invite call to start with (0 =
	// DefaultBatch). A "too large" refusal still halves it.
	Batch int
}

// Client is one CSP organization.
type Client struct {
	http *providers.Client
	org  string
	tok  *tokenSource
	now  func() time.Time
	log  zerolog.Logger

	batch atomic.Int64 // usernames per invite call now

	whoMu sync.Mutex
	who   string // cached principal

	snapMu sync.Mutex
	snap   *snapshot // what the org held at the last read, for Create

	expiryMu       sync.Mutex
	expiryKnown    bool
	expiryHonoured bool

	domMu   sync.Mutex
	domains map[string]string // userId -> identity domain, from member listings
}

// New builds a client; no request is made until the first call.
func New(cfg providers.Config, opts Options) (*Client, error) {
	if opts.OrgID == "" {
		return nil, errors.New("csp: an org id is required")
	}
	if opts.APIToken == "" {
		return nil, errors.New("csp: an API token is required")
	}
	if opts.Batch < 0 {
		return nil, fmt.Errorf("csp: batch %d: want >= 1 (0 = %d)", opts.Batch, DefaultBatch)
	}
	if opts.Batch == 0 {
		opts.Batch = DefaultBatch
	}
	c := &Client{org: opts.OrgID, now: time.Now, log: cfg.Logger, domains: map[string]string{}}
	c.batch.Store(int64(opts.Batch))
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

// Capabilities: CSP invites carry roles, groups and an expiry, not an auth
// type; members and their roles are read and changed through the org users API.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Revoke: true, MaxBatch: c.BatchSize(),
		OrgRoles: true, ServiceRoles: true, Groups: true, Expiry: true,
		MaxGroups: MaxGroups, MinExpiryDays: MinExpiryDays, MaxExpiryDays: MaxExpiryDays,
		Access: true, Members: true, RemoveMembers: true,
	}
}

// BatchSize is how many usernames one invite call carries now.
func (c *Client) BatchSize() int { return int(c.batch.Load()) }

// ExpiryHonoured says whether the upstream honoured invitationExpirationInDays
// on the first invite that asked for an expiry (known false until one did).
func (c *Client) ExpiryHonoured() (honoured, known bool) {
	c.expiryMu.Lock()
	defer c.expiryMu.Unlock()
	return c.expiryHonoured, c.expiryKnown
}

func (c *Client) orgBase() string { return "/csp/gateway/am/api/orgs/" + url.PathEscape(c.org) }

func (c *Client) invitationsPath() string { return c.orgBase() + "/invitations" }

// WhoAmI returns the token's user, as invitations name it in
// invitedByUsername (invitesync sends it as invitedBy), and the org id as the
// upstream knows it. An unknown org is an error that says so.
func (c *Client) WhoAmI(ctx context.Context) (providers.Identity, error) {
	who, err := c.username(ctx)
	if err != nil {
		return providers.Identity{}, err
	}
	org, err := c.organization(ctx)
	if err != nil {
		return providers.Identity{}, err
	}
	return providers.Identity{Principal: who, Org: org}, nil
}

// organization reads the org (GET /csp/gateway/am/api/orgs/{orgId}) and
// returns its id as the answer names it.
func (c *Client) organization(ctx context.Context) (string, error) {
	resp, err := c.http.Do(ctx, providers.Request{Method: http.MethodGet, Path: c.orgBase(), Idempotent: true})
	if err != nil {
		if providers.StatusCode(err) == http.StatusNotFound {
			return "", fmt.Errorf("csp: organization %q not found: check --org-id (the API token must belong to that org): %w", c.org, err)
		}
		return "", fmt.Errorf("csp: read organization %q: %w", c.org, err)
	}
	var o struct {
		ID      string `json:"id"`
		RefLink string `json:"refLink"`
	}
	if err := json.Unmarshal(resp.Body, &o); err != nil {
		return "", fmt.Errorf("csp: read organization %q: decode: %w", c.org, err)
	}
	id := firstNonEmpty(o.ID, RefLinkID(o.RefLink))
	if id == "" {
		return "", fmt.Errorf("csp: organization %q: the answer names no id", c.org)
	}
	return id, nil
}

// username is the token's user, asked once (GET loggedin/user, UserDto).
func (c *Client) username(ctx context.Context) (string, error) {
	c.whoMu.Lock()
	defer c.whoMu.Unlock()
	if c.who != "" {
		return c.who, nil
	}
	resp, err := c.http.Do(ctx, providers.Request{Method: http.MethodGet, Path: "/csp/gateway/am/api/loggedin/user", Idempotent: true})
	if err != nil {
		return "", fmt.Errorf("csp: who am I: %w", err)
	}
	var u struct {
		Username string `json:"username"`
		Email    string `json:"email"`
	}
	if err := json.Unmarshal(resp.Body, &u); err != nil {
		return "", fmt.Errorf("csp: who am I: decode: %w", err)
	}
	who := firstNonEmpty(u.Username, u.Email)
	if who == "" {
		return "", errors.New("csp: who am I: loggedin/user names no username")
	}
	c.who = who
	return who, nil
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

var (
	_ providers.Provider = (*Client)(nil)
	_ providers.Access   = (*Client)(nil)
	_ providers.Members  = (*Client)(nil)
)
