// Package azure is the Confluent on Azure client (--provider azure): the
// Microsoft.Confluent "access" actions of Azure Resource Manager, which are
// all POSTs. The API can invite and list, but has no revoke.
package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent"
)

// Defaults (upstream-apis.md, "Confluent on Azure").
const (
	DefaultEndpoint   = "https://management.azure.com"
	DefaultAPIVersion = "2024-07-01"
	// DefaultRate: the list actions are POSTs too and spend ARM's write
	// budget (about 10/s per principal), so stay at half of it.
	DefaultRate = 5
	// PageSize asked for; the real maximum is UNCONFIRMED and a server with a
	// lower one clamps it (we follow metadata.next all the same).
	PageSize = 100
	// Scope is the ARM audience azidentity tokens are requested for.
	Scope = "https://management.azure.com/.default"
)

// RevokeHint says what to do instead of a revoke, which the API lacks.
const RevokeHint = "the Azure access API has no revoke: revoke it with --provider confluent and a Cloud API key for this org"

// ErrRevokeUnsupported is returned by Revoke.
var ErrRevokeUnsupported = errors.New("azure: revoke is not supported: " + RevokeHint)

// Token is a bearer token and when it stops working (zero: never known to).
type Token struct {
	Value     string
	ExpiresOn time.Time
}

// TokenSource fetches a token; the client caches it until near expiry.
type TokenSource func(ctx context.Context) (Token, error)

// StaticToken is a fixed token (AZURE_ACCESS_TOKEN).
func StaticToken(tok string) TokenSource {
	return func(context.Context) (Token, error) { return Token{Value: tok}, nil }
}

// Options says which organization to act on and how.
type Options struct {
	SubscriptionID string
	ResourceGroup  string
	Organization   string
	APIVersion     string // "" = DefaultAPIVersion
	Token          TokenSource
}

// Client is one Confluent organization managed through Azure.
type Client struct {
	http       *providers.Client
	opts       Options
	now        func() time.Time
	actionBase string

	tokMu   sync.Mutex
	tok     Token
	fetched bool
}

// New builds a client; no request is made until the first call.
func New(cfg providers.Config, opts Options) (*Client, error) {
	var missing []string
	for _, f := range []struct{ v, flag string }{
		{opts.SubscriptionID, "--subscription-id"}, {opts.ResourceGroup, "--resource-group"}, {opts.Organization, "--organization"},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.flag)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("azure: %s required", strings.Join(missing, ", "))
	}
	if opts.Token == nil {
		return nil, errors.New("azure: a token source is required")
	}
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	c := &Client{opts: opts, now: time.Now}
	c.actionBase = "/subscriptions/" + url.PathEscape(opts.SubscriptionID) +
		"/resourceGroups/" + url.PathEscape(opts.ResourceGroup) +
		"/providers/Microsoft.Confluent/organizations/" + url.PathEscape(opts.Organization) +
		"/access/default/"
	hc, err := providers.NewClient(cfg, providers.ClientOptions{
		Provider:        "azure",
		DefaultEndpoint: DefaultEndpoint,
		DefaultRate:     DefaultRate,
		Authorize: func(ctx context.Context, r *http.Request) error {
			t, err := c.token(ctx)
			if err != nil {
				return err
			}
			r.Header.Set("Authorization", "Bearer "+t)
			return nil
		},
		Unauthorized:    c.unauthorized,
		DecodeError:     decodeError,
		RequestIDHeader: "x-ms-request-id",
	})
	if err != nil {
		return nil, fmt.Errorf("azure: %w", err)
	}
	c.http = hc
	return c, nil
}

func (c *Client) Name() string { return "azure" }

// Organization names the org as subscription/resource group/organization.
func (c *Client) Organization() string {
	return c.opts.SubscriptionID + "/" + c.opts.ResourceGroup + "/" + c.opts.Organization
}

// Capabilities: invitations carry an email and an auth type; no revoke.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{Revoke: false, RevokeHint: RevokeHint, MaxBatch: 1, AuthType: true}
}

// WhoAmI names no principal (InvitationRecord has no creator, so ownership is
// by ledger only); the org is the ARM resource, whose names are case-insensitive.
func (c *Client) WhoAmI(context.Context) (providers.Identity, error) {
	return providers.Identity{Org: strings.ToLower(c.Organization())}, nil
}

// token returns the cached token, fetching a new one within 5 minutes of expiry.
func (c *Client) token(ctx context.Context) (string, error) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.fetched && (c.tok.ExpiresOn.IsZero() || c.now().Add(5*time.Minute).Before(c.tok.ExpiresOn)) {
		return c.tok.Value, nil
	}
	t, err := c.opts.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("azure token: %w", err)
	}
	if t.Value == "" {
		return "", errors.New("azure token: empty")
	}
	c.http.AddSecret(t.Value)
	c.tok, c.fetched = t, true
	return t.Value, nil
}

// unauthorized drops a refreshable token after a 401 so the one retry gets a
// new one; a static token would only fail again.
func (c *Client) unauthorized(sent *http.Request) bool {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if !c.fetched || c.tok.ExpiresOn.IsZero() || sent.Header.Get("Authorization") != "Bearer "+c.tok.Value {
		return false
	}
	c.fetched = false
	return true
}

// do POSTs one access action.
func (c *Client) do(ctx context.Context, action string, body any, idempotent bool, accept []int, maxAttempts int) (*providers.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return c.http.Do(ctx, providers.Request{
		Method: http.MethodPost, Path: c.actionBase + action,
		Query: url.Values{"api-version": {c.opts.APIVersion}},
		Body:  b, Idempotent: idempotent, Accept: accept, MaxAttempts: maxAttempts,
	})
}

// List returns every invitation, paging with searchFilters.pageToken.
func (c *Client) List(ctx context.Context) ([]providers.Invitation, error) {
	invs, _, err := c.list(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return invs, nil
}

// list pages through listInvitations. The loop (pageToken taken from
// metadata.next's page_token, stop on an empty next) is UNCONFIRMED upstream:
// inferred from the spec's example pair (contracts.md).
func (c *Client) list(ctx context.Context, filters map[string]string) ([]providers.Invitation, int, error) {
	var out []providers.Invitation
	n := 0
	seen := map[string]bool{}
	token := ""
	for page := 1; ; page++ {
		sf := map[string]string{"pageSize": fmt.Sprint(PageSize)} // string-typed on the wire
		for k, v := range filters {
			sf[k] = v
		}
		if token != "" {
			sf["pageToken"] = token
		}
		resp, err := c.do(ctx, "listInvitations", map[string]any{"searchFilters": sf}, true, nil, 0)
		n += providers.Attempts(resp, err)
		if err != nil {
			return nil, n, fmt.Errorf("page %d: %w", page, err)
		}
		var body struct {
			Metadata struct {
				Next string `json:"next"`
			} `json:"metadata"`
			Data []record `json:"data"`
		}
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			return nil, n, fmt.Errorf("page %d: decode: %w", page, err)
		}
		now := c.now()
		for _, r := range body.Data {
			inv, err := r.invitation(now)
			if err != nil {
				return nil, n, fmt.Errorf("page %d: %w", page, err)
			}
			out = append(out, inv)
		}
		if body.Metadata.Next == "" {
			return out, n, nil
		}
		token, err = confluent.PageToken(body.Metadata.Next)
		if err != nil {
			return nil, n, fmt.Errorf("page %d: %w", page, err)
		}
		if seen[token] {
			return nil, n, fmt.Errorf("page %d: metadata.next repeats an earlier page token: the listing would never end", page)
		}
		seen[token] = true
	}
}

// findPending reads back the pending invitation of email. The email filter
// is UNCONFIRMED upstream, so the answer is filtered again here.
func (c *Client) findPending(ctx context.Context, email string) (*providers.Invitation, int, error) {
	invs, n, err := c.list(ctx, map[string]string{"email": email})
	if err != nil {
		return nil, n, err
	}
	for i := range invs {
		if strings.EqualFold(strings.TrimSpace(invs[i].Email), strings.TrimSpace(email)) && invs[i].Status == providers.StatusPending {
			return &invs[i], n, nil
		}
	}
	return nil, n, nil
}

// Create invites each person with its own createInvitation call.
func (c *Client) Create(ctx context.Context, reqs []providers.InviteRequest) ([]providers.CreateResult, error) {
	return providers.CreateEach(ctx, reqs, c.createOne)
}

// createOne sends one createInvitation under the shared never-twice rule
// (providers.Client.CreateVerified).
func (c *Client) createOne(ctx context.Context, r providers.InviteRequest) providers.CreateResult {
	type details struct {
		InvitedEmail string `json:"invitedEmail"`
		AuthType     string `json:"auth_type,omitempty"`
	}
	body := map[string]any{"invitedUserDetails": details{r.Email, r.AuthType}}
	send := func(ctx context.Context, maxAttempts int) (*providers.Response, error) {
		return c.do(ctx, "createInvitation", body, false, []int{http.StatusConflict}, maxAttempts)
	}
	answer := func(resp *providers.Response, res *providers.CreateResult) { c.createAnswer(ctx, resp, res) }
	find := func(ctx context.Context) (*providers.Invitation, int, error) { return c.findPending(ctx, r.Email) }
	return c.http.CreateVerified(ctx, r.Email, send, answer, find)
}

// createAnswer reads a 200 record or a 409. How the RP relays "already
// exists" is UNCONFIRMED; contracts.md fixes InvitationAlreadyExists (pending)
// and UserAlreadyExists (a member).
func (c *Client) createAnswer(ctx context.Context, resp *providers.Response, res *providers.CreateResult) {
	if resp.Status != http.StatusConflict {
		var r record
		if err := json.Unmarshal(resp.Body, &r); err != nil {
			res.Err = fmt.Errorf("create %s: decode: %w", res.Email, err)
			return
		}
		inv, err := r.invitation(c.now())
		if err != nil {
			res.Err = fmt.Errorf("create %s: %w", res.Email, err)
			return
		}
		res.Invitation = &inv
		return
	}
	ae := decodeError(resp.Status, resp.Header, resp.Body)
	switch ae.Code {
	case "UserAlreadyExists":
		res.AlreadyInvited = true
	case "InvitationAlreadyExists":
		res.AlreadyInvited = true
		inv, n, err := c.findPending(ctx, res.Email)
		res.Attempts += n
		if err != nil {
			res.Err = fmt.Errorf("create %s: already invited, read existing invitation: %w", res.Email, err)
			return
		}
		res.Invitation = inv // nil if it lapsed meanwhile
	default:
		res.Err = fmt.Errorf("create %s: %w", res.Email, &providers.Error{
			Method: http.MethodPost, Path: c.actionBase + "createInvitation", Status: resp.Status,
			Code: ae.Code, Message: c.http.Scrub(ae.Message), RequestID: resp.RequestID, Attempts: res.Attempts,
		})
	}
}

// Revoke is not possible through Azure (no such operation in any api-version).
func (c *Client) Revoke(context.Context, providers.Invitation) (providers.RevokeResult, error) {
	return providers.RevokeResult{}, ErrRevokeUnsupported
}

// record is InvitationRecord: every field an optional string.
type record struct {
	ID       string `json:"id"`
	Metadata struct {
		CreatedAt string `json:"created_at"`
	} `json:"metadata"`
	Email      string `json:"email"`
	AuthType   string `json:"auth_type"`
	Status     string `json:"status"`
	AcceptedAt string `json:"accepted_at"`
	ExpiresAt  string `json:"expires_at"`
}

func (r record) invitation(now time.Time) (providers.Invitation, error) {
	inv := providers.Invitation{ID: r.ID, Email: r.Email, AuthType: r.AuthType, RawStatus: r.Status}
	var err error
	if inv.CreatedAt, err = parseTime(r.Metadata.CreatedAt); err != nil {
		return inv, fmt.Errorf("invitation %s: created_at: %w", r.ID, err)
	}
	if inv.ExpiresAt, err = parseTime(r.ExpiresAt); err != nil {
		return inv, fmt.Errorf("invitation %s: expires_at: %w", r.ID, err)
	}
	if inv.AcceptedAt, err = parseTime(r.AcceptedAt); err != nil {
		return inv, fmt.Errorf("invitation %s: accepted_at: %w", r.ID, err)
	}
	inv.Status = confluent.Status(r.Status, inv.ExpiresAt, now) // the RP passes Confluent's values through
	return inv, nil
}

// parseTime reads Azure's plain-string timestamps (RFC 3339 in the examples).
func parseTime(s string) (time.Time, error) {
	if s == "" || s == "null" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// decodeError reads an ARM error body {"error":{"code","message"}}.
func decodeError(_ int, _ http.Header, body []byte) providers.APIError {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return providers.APIError{}
	}
	return providers.APIError{Code: e.Error.Code, Message: e.Error.Message}
}
