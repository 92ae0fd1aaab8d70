// Package azure is the Confluent on Azure client (--provider azure): the
// Microsoft.Confluent "access" actions of Azure Resource Manager, which are
// POSTs (deleteRoleBinding is a DELETE). The API can invite, list
// invitations and users, and manage role bindings (access.go), but has no
// revoke and no user removal.
package azure

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
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent/iam"
)

// Defaults.
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

// RemoveHint says what to do instead of removing a member, which the access
// API cannot do either (no user deletion in any api-version).
const RemoveHint = "the Azure access API cannot remove users: use --provider confluent with a Cloud API key of that org to remove users"

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
	log        zerolog.Logger
	orgPath    string // the ARM organization resource
	actionBase string

	orgMu        sync.Mutex
	confluentOrg string // properties.organizationId, from WhoAmI (cached)
	pageRule     string // the page-token rule that last worked ("" = ruleQuery)

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
	c := &Client{opts: opts, now: time.Now, log: cfg.Logger}
	c.orgPath = "/subscriptions/" + url.PathEscape(opts.SubscriptionID) +
		"/resourceGroups/" + url.PathEscape(opts.ResourceGroup) +
		"/providers/Microsoft.Confluent/organizations/" + url.PathEscape(opts.Organization)
	c.actionBase = c.orgPath + "/access/default/"
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

// Capabilities: invitations carry an email and an auth type; no revoke;
// role bindings (access.go); members can be listed, not removed.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Revoke: false, RevokeHint: RevokeHint, MaxBatch: 1, AuthType: true,
		Access: true, Members: true, RemoveMembers: false, RemoveHint: RemoveHint,
	}
}

// WhoAmI reads the organization resource (Organization_Get), so a wrong
// subscription, resource group or name fails here with ARM's 404, and keeps
// its properties.organizationId (the Confluent organization, for role
// bindings' crn_pattern). It names no principal: InvitationRecord has no
// creator, so ownership is by ledger only. The org is the ARM resource,
// whose names are case-insensitive.
func (c *Client) WhoAmI(ctx context.Context) (providers.Identity, error) {
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodGet, Path: c.orgPath,
		Query: url.Values{"api-version": {c.opts.APIVersion}}, Idempotent: true,
	})
	if err != nil {
		return providers.Identity{}, fmt.Errorf("who am I: organization %s: %w", c.Organization(), err)
	}
	var o struct {
		ID         string `json:"id"`
		Properties struct {
			OrganizationID string `json:"organizationId"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(resp.Body, &o); err != nil {
		return providers.Identity{}, fmt.Errorf("who am I: decode organization %s: %w", c.Organization(), err)
	}
	if o.Properties.OrganizationID == "" {
		return providers.Identity{}, fmt.Errorf("who am I: organization %s names no properties.organizationId", c.Organization())
	}
	c.orgMu.Lock()
	c.confluentOrg = o.Properties.OrganizationID
	c.orgMu.Unlock()
	return providers.Identity{Org: strings.ToLower(c.Organization())}, nil
}

// orgID is the Confluent organization id, asking WhoAmI once.
func (c *Client) orgID(ctx context.Context) (string, error) {
	c.orgMu.Lock()
	id := c.confluentOrg
	c.orgMu.Unlock()
	if id != "" {
		return id, nil
	}
	if _, err := c.WhoAmI(ctx); err != nil {
		return "", err
	}
	c.orgMu.Lock()
	defer c.orgMu.Unlock()
	return c.confluentOrg, nil
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

// call is one access action.
type call struct {
	action      string
	body        any
	idempotent  bool
	readBack    bool
	accept      []int
	maxAttempts int
}

// do POSTs one access action.
func (c *Client) do(ctx context.Context, k call) (*providers.Response, error) {
	b, err := json.Marshal(k.body)
	if err != nil {
		return nil, err
	}
	return c.http.Do(ctx, providers.Request{
		Method: http.MethodPost, Path: c.actionBase + k.action,
		Query: url.Values{"api-version": {c.opts.APIVersion}},
		Body:  b, Idempotent: k.idempotent, ReadBack: k.readBack, Accept: k.accept, MaxAttempts: k.maxAttempts,
	})
}

// List returns every invitation, paging with searchFilters.pageToken.
func (c *Client) List(ctx context.Context) ([]providers.Invitation, error) {
	invs, _, err := c.listInvitations(ctx, nil, false)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return invs, nil
}

func (c *Client) listInvitations(ctx context.Context, filters map[string]string, readBack bool) ([]providers.Invitation, int, error) {
	var out []providers.Invitation
	n, err := c.pages(ctx, "listInvitations", filters, readBack, func(data json.RawMessage) error {
		var recs []record
		if err := json.Unmarshal(data, &recs); err != nil {
			return fmt.Errorf("decode invitations: %w", err)
		}
		now := c.now()
		for _, r := range recs {
			out = append(out, r.invitation(now, c.warnTime))
		}
		return nil
	})
	out, _ = providers.DedupeInvitations(out) // pages that overlapped
	return out, n, err
}

// Page-token rules: how metadata.next becomes the next searchFilters.pageToken.
// The API marks none of these actions pageable; the examples pair a request
// pageToken with a Confluent next link carrying page_token, so that is
// tried first. The whole next string is the fallback.
const (
	ruleQuery = "the page_token query value of metadata.next"
	ruleWhole = "the whole metadata.next string"
)

// pages pages through one list action. take decodes a page's data. The
// next token is taken by the rule that has worked so far; when a page
// repeats the previous one (the token was not understood) or next yields no
// page_token, the other rule is tried; when neither advances, it stops with
// an error naming both rules.
func (c *Client) pages(ctx context.Context, action string, filters map[string]string, readBack bool,
	take func(data json.RawMessage) error) (int, error) {
	n := 0
	rule := c.workingRule()
	guard := iam.NewGuard(c.http.MaxPages())
	var prevIDs []string
	token, prevNext := "", ""
	for page := 1; ; page++ {
		body, m, err := c.page(ctx, action, filters, token, readBack)
		n += m
		if err != nil {
			return n, fmt.Errorf("%s page %d: %w", action, page, err)
		}
		ids := idsOf(body.Data)
		if page > 1 && len(ids) > 0 && slices.Equal(ids, prevIDs) {
			other := otherRule(rule)
			alt, ok := tokenBy(other, prevNext)
			if !ok || alt == token {
				return n, fmt.Errorf("%s page %d: the same page came back for the token taken as %s, and %s gives no other: the paging rule is not known, listing stopped", action, page, rule, other)
			}
			c.log.Warn().Str("action", action).Str("rule", other).Msg("azure: the page token did not advance the listing; taking it by the other rule")
			body, m, err = c.page(ctx, action, filters, alt, readBack)
			n += m
			if err != nil {
				return n, fmt.Errorf("%s page %d: the same page came back for the token taken as %s, and the token taken as %s failed (the paging rule is not known): %w", action, page, rule, other, err)
			}
			rule = other
			if ids = idsOf(body.Data); len(ids) > 0 && slices.Equal(ids, prevIDs) {
				return n, fmt.Errorf("%s page %d: the same page came back for the token taken as %s and as %s: the paging rule is not known, listing stopped", action, page, ruleQuery, ruleWhole)
			}
			c.setRule(rule)
		}
		if err := take(body.Data); err != nil {
			return n, fmt.Errorf("%s page %d: %w", action, page, err)
		}
		next := body.Metadata.Next
		if next == "" {
			return n, nil
		}
		t, ok := tokenBy(rule, next)
		if !ok {
			other := otherRule(rule)
			if t, ok = tokenBy(other, next); !ok {
				return n, fmt.Errorf("%s page %d: metadata.next yields no page token as %s nor as %s", action, page, ruleQuery, ruleWhole)
			}
			c.log.Warn().Str("action", action).Str("rule", other).Msg("azure: metadata.next holds no page_token; taking the next page token by the other rule")
			rule = other
			c.setRule(rule)
		}
		if err := guard.Page(page, ids); err != nil {
			return n, fmt.Errorf("%s: %w", action, err)
		}
		if err := guard.Next(page, t); err != nil {
			return n, fmt.Errorf("%s: %w", action, err)
		}
		token, prevNext, prevIDs = t, next, ids
	}
}

// workingRule is the page-token rule to try first: the one that worked last
// (later listings of the run then cost no discovery request).
func (c *Client) workingRule() string {
	c.orgMu.Lock()
	defer c.orgMu.Unlock()
	if c.pageRule == "" {
		return ruleQuery
	}
	return c.pageRule
}

func (c *Client) setRule(r string) {
	c.orgMu.Lock()
	c.pageRule = r
	c.orgMu.Unlock()
}

func otherRule(r string) string {
	if r == ruleQuery {
		return ruleWhole
	}
	return ruleQuery
}

// tokenBy takes the next page token out of metadata.next by rule.
func tokenBy(rule, next string) (string, bool) {
	if rule == ruleWhole {
		return next, next != ""
	}
	t, err := iam.PageToken(next)
	return t, err == nil
}

// listBody is the list answers' envelope.
type listBody struct {
	Metadata struct {
		Next string `json:"next"`
	} `json:"metadata"`
	Data json.RawMessage `json:"data"`
}

// page fetches one page of a list action.
func (c *Client) page(ctx context.Context, action string, filters map[string]string, token string, readBack bool) (listBody, int, error) {
	sf := map[string]string{"pageSize": fmt.Sprint(PageSize)} // string-typed on the wire
	for k, v := range filters {
		sf[k] = v
	}
	if token != "" {
		sf["pageToken"] = token
	}
	resp, err := c.do(ctx, call{action: action, body: map[string]any{"searchFilters": sf}, idempotent: true, readBack: readBack})
	n := providers.Attempts(resp, err)
	if err != nil {
		return listBody{}, n, err
	}
	var body listBody
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		return listBody{}, n, fmt.Errorf("decode: %w", err)
	}
	return body, n, nil
}

// idsOf reads the ids of a page's records (nil when they have none).
func idsOf(data json.RawMessage) []string {
	var recs []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &recs) != nil {
		return nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

// findPending reads back the pending invitation of email: the whole listing
// narrowed by the documented status filter (the email filter is not
// documented), compared here ASCII-case-insensitively.
func (c *Client) findPending(ctx context.Context, email string) (*providers.Invitation, int, error) {
	invs, n, err := c.listInvitations(ctx, map[string]string{"status": "INVITE_STATUS_SENT"}, true)
	if err != nil {
		return nil, n, err
	}
	for i := range invs {
		if iam.SameEmail(invs[i].Email, email) && invs[i].Status == providers.StatusPending {
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
		return c.do(ctx, call{action: "createInvitation", body: body, accept: duplicateStatuses, maxAttempts: maxAttempts})
	}
	answer := func(resp *providers.Response, res *providers.CreateResult) { c.createAnswer(ctx, resp, res) }
	find := func(ctx context.Context) (*providers.Invitation, int, error) { return c.findPending(ctx, r.Email) }
	return c.http.CreateVerified(ctx, r.Email, send, answer, find)
}

// duplicateStatuses are the answers a create for someone already invited
// or a member may get: the API documents only "the ARM default error", with
// no status or code, so these are read back rather than trusted.
var duplicateStatuses = []int{http.StatusBadRequest, http.StatusConflict}

// createAnswer reads a 200 record, or a 400/409 ARM default error, which is
// a duplicate only if a read-back shows the person pending or a member.
func (c *Client) createAnswer(ctx context.Context, resp *providers.Response, res *providers.CreateResult) {
	if resp.Status/100 == 2 {
		var r record
		if err := json.Unmarshal(resp.Body, &r); err != nil {
			res.Err = fmt.Errorf("create %s: decode: %w", res.Email, err)
			return
		}
		inv := r.invitation(c.now(), c.warnTime)
		res.Invitation = &inv
		return
	}
	refusal := func() error {
		ae := decodeError(resp.Status, resp.Header, resp.Body)
		return &providers.Error{
			Method: http.MethodPost, Path: c.actionBase + "createInvitation", Status: resp.Status,
			Code: ae.Code, Message: c.http.Scrub(ae.Message), RequestID: resp.RequestID, Attempts: res.Attempts,
		}
	}
	inv, n, err := c.findPending(ctx, res.Email)
	res.Attempts += n
	if err != nil {
		res.Err = fmt.Errorf("create %s: %w; reading back whether it is a duplicate: %w", res.Email, refusal(), err)
		return
	}
	if inv != nil {
		res.AlreadyInvited, res.Invitation = true, inv
		return
	}
	member, n, err := c.isMember(ctx, res.Email)
	res.Attempts += n
	if err != nil {
		res.Err = fmt.Errorf("create %s: %w; reading back whether it is a member: %w", res.Email, refusal(), err)
		return
	}
	if member {
		res.AlreadyInvited = true
		return
	}
	res.Err = fmt.Errorf("create %s: %w", res.Email, refusal())
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

// invitation maps a record. A timestamp that is no date is reported to warn
// and left zero: one odd record must not cost the whole listing.
func (r record) invitation(now time.Time, warn func(id, field, value string)) providers.Invitation {
	inv := providers.Invitation{ID: r.ID, Email: r.Email, AuthType: r.AuthType, RawStatus: r.Status}
	for _, f := range []struct {
		name, value string
		into        *time.Time
	}{
		{"metadata.created_at", r.Metadata.CreatedAt, &inv.CreatedAt},
		{"expires_at", r.ExpiresAt, &inv.ExpiresAt},
		{"accepted_at", r.AcceptedAt, &inv.AcceptedAt},
	} {
		t, ok := ParseTime(f.value)
		if !ok {
			warn(r.ID, f.name, f.value)
		}
		*f.into = t
	}
	inv.Status = iam.Status(r.Status) // the RP passes Confluent's values through
	return inv
}

// warnTime logs a timestamp that could not be read (the record is kept).
func (c *Client) warnTime(id, field, value string) {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	c.log.Warn().Str("provider", "azure").Str("id", id).Str("field", field).Str("value", value).
		Msg("timestamp is not a date in any known form: record kept without it")
}

// timeLayouts are the forms an Azure timestamp has been seen or may plausibly
// take: the spec declares them plain strings with no format. RFC 3339 (the
// examples), .NET's round-trip form without a zone, space-separated forms,
// and the US short form .NET prints by default. Zone-less forms are UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02 15:04:05.9999999Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05.9999999",
	"1/2/2006 3:04:05 PM",
	"01/02/2006 15:04:05",
	"2006-01-02",
}

// ParseTime reads an Azure timestamp leniently: ok is false (and the time
// zero) when s is in no known form; "" and "null" are no time, and fine.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return time.Time{}, true
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UTC(), true
		}
	}
	// Epoch seconds or milliseconds, told apart by magnitude.
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		if n >= 1e11 {
			return time.UnixMilli(n).UTC(), true
		}
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
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
