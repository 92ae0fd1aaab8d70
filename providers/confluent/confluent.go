// Package confluent is the Confluent Cloud IAM v2 client (--provider
// confluent): Basic auth with a Cloud API key, cursor pagination through
// metadata.next, invitations (create/delete), who-am-I through api-keys,
// role bindings (access.go) and users (members.go).
//
// The key must be a Cloud API key owned by a user who holds
// OrganizationAdmin: invitations, role bindings and user removal need that
// role, and a key owned by a service account has been seen to fail creates
// with 400 "Must not use GetUser for service account"
// (confluentinc/terraform-provider-confluent issue 323).
package confluent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent/iam"
)

// Defaults.
const (
	DefaultEndpoint = "https://api.confluent.cloud"
	DefaultRate     = 10 // requests/second
	// PageSize is the documented maximum page_size; a server with a lower
	// maximum clamps it and we follow metadata.next all the same.
	PageSize = 100
)

const invitationsPath = "/iam/v2/invitations"

// Client is one Confluent Cloud organization, as seen through one API key.
type Client struct {
	http *providers.Client
	key  string
	now  func() time.Time

	orgMu sync.Mutex
	org   string // the key's organization id, from WhoAmI (cached)
}

// New builds a client. key and secret are the Cloud API key and its secret
// (the CLI reads them from CONFLUENT_CLOUD_API_KEY / CONFLUENT_CLOUD_API_SECRET).
func New(cfg providers.Config, key, secret string) (*Client, error) {
	if key == "" || secret == "" {
		return nil, errors.New("confluent: API key and secret are required")
	}
	hc, err := providers.NewClient(cfg, providers.ClientOptions{
		Provider:        "confluent",
		DefaultEndpoint: DefaultEndpoint,
		DefaultRate:     DefaultRate,
		Authorize: func(_ context.Context, r *http.Request) error {
			r.SetBasicAuth(key, secret)
			return nil
		},
		DecodeError:      decodeError,
		RequestIDHeader:  "X-Request-Id",
		RateLimitHeaders: true,
		// The key id is no secret by itself, but it is half a credential and
		// who-am-I puts it in a path: keep it out of logs and the audit log.
		Secrets: []string{secret, key, url.PathEscape(key)},
	})
	if err != nil {
		return nil, fmt.Errorf("confluent: %w", err)
	}
	return &Client{http: hc, key: key, now: time.Now}, nil
}

func (c *Client) Name() string { return "confluent" }

// Organization names the org for reports: the API host (the key's org is
// not known without a call, and the key id is better kept out of reports).
func (c *Client) Organization() string { return c.http.Endpoint().Host }

// Capabilities: IAM v2 invitations carry only an email and an auth type;
// access is role bindings (access.go); members can be listed and removed
// (members.go).
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Revoke: true, MaxBatch: 1, AuthType: true,
		Access: true, AccessBeforeAccept: true, Members: true, RemoveMembers: true,
	}
}

// WhoAmI returns the owner of the API key (the id invitations carry as
// creator.id) and the organization in the key's resource name
// (crn://confluent.cloud/organization=<uuid>/...): the API host is not an org.
func (c *Client) WhoAmI(ctx context.Context) (providers.Identity, error) {
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodGet, Path: "/iam/v2/api-keys/" + url.PathEscape(c.key), Idempotent: true,
	})
	if err != nil {
		return providers.Identity{}, fmt.Errorf("who am I: %w", err)
	}
	var k struct {
		Metadata struct {
			ResourceName string `json:"resource_name"`
		} `json:"metadata"`
		Spec struct {
			Owner struct {
				ID string `json:"id"`
			} `json:"owner"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(resp.Body, &k); err != nil {
		return providers.Identity{}, fmt.Errorf("who am I: decode api key: %w", err)
	}
	if k.Spec.Owner.ID == "" {
		return providers.Identity{}, errors.New("who am I: the API key answer names no spec.owner.id")
	}
	org := CRNSegment(k.Metadata.ResourceName, "organization")
	if org == "" {
		return providers.Identity{}, errors.New("who am I: the API key's metadata.resource_name names no organization")
	}
	c.orgMu.Lock()
	c.org = org
	c.orgMu.Unlock()
	return providers.Identity{Principal: k.Spec.Owner.ID, Org: org}, nil
}

// orgID is the key's organization id, asking WhoAmI once.
func (c *Client) orgID(ctx context.Context) (string, error) {
	c.orgMu.Lock()
	org := c.org
	c.orgMu.Unlock()
	if org != "" {
		return org, nil
	}
	id, err := c.WhoAmI(ctx)
	if err != nil {
		return "", err
	}
	return id.Org, nil
}

// CRNSegment returns the value of kind=VALUE in a Confluent resource name, or "".
func CRNSegment(crn, kind string) string { return iam.CRNSegment(crn, kind) }

// List returns every invitation, following metadata.next until it is absent.
func (c *Client) List(ctx context.Context) ([]providers.Invitation, error) {
	invs, _, err := c.list(ctx, nil, false)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return invs, nil
}

// list pages through /iam/v2/invitations with the given filters. Filters are
// only an optimisation (older servers ignore them): callers filter again.
func (c *Client) list(ctx context.Context, filters url.Values, readBack bool) ([]providers.Invitation, int, error) {
	var out []providers.Invitation
	n := 0
	guard := iam.NewGuard(c.http.MaxPages())
	token := ""
	for page := 1; ; page++ {
		q := url.Values{}
		for k, v := range filters {
			q[k] = v
		}
		q.Set("page_size", fmt.Sprint(PageSize))
		if token != "" {
			q.Set("page_token", token)
		}
		resp, err := c.http.Do(ctx, providers.Request{Method: http.MethodGet, Path: invitationsPath, Query: q, Idempotent: true, ReadBack: readBack})
		n += providers.Attempts(resp, err)
		if err != nil {
			return nil, n, fmt.Errorf("page %d: %w", page, err)
		}
		var body struct {
			Metadata struct {
				Next *string `json:"next"`
			} `json:"metadata"`
			Data []wireInvitation `json:"data"`
		}
		if err := json.Unmarshal(resp.Body, &body); err != nil {
			return nil, n, fmt.Errorf("page %d: decode: %w", page, err)
		}
		now := c.now()
		ids := make([]string, 0, len(body.Data))
		for _, w := range body.Data {
			inv, err := w.invitation(now)
			if err != nil {
				return nil, n, fmt.Errorf("page %d: %w", page, err)
			}
			out = append(out, inv)
			ids = append(ids, inv.ID)
		}
		if body.Metadata.Next == nil || *body.Metadata.Next == "" {
			out, _ = providers.DedupeInvitations(out) // pages that overlapped
			return out, n, nil
		}
		if err := guard.Page(page, ids); err != nil {
			return nil, n, err
		}
		if token, err = PageToken(*body.Metadata.Next); err != nil {
			return nil, n, fmt.Errorf("page %d: %w", page, err)
		}
		if err := guard.Next(page, token); err != nil {
			return nil, n, err
		}
	}
}

// PageToken reads page_token out of a metadata.next link.
func PageToken(next string) (string, error) { return iam.PageToken(next) }

// findPending returns the pending invitation for email, if any (read-back
// after a create that may have landed). The email filter is an exact match
// (openapi.yaml) and the case the upstream stores is not documented, so it
// asks for the email as sent, then in lower case, and only then lists the
// pending invitations without it; every answer is compared
// ASCII-case-insensitively.
// wide adds that last listing; a patient caller asks for it now and then,
// not on every look.
func (c *Client) findPending(ctx context.Context, email string, wide bool) (*providers.Invitation, int, error) {
	n := 0
	pick := func(invs []providers.Invitation) *providers.Invitation {
		for i := range invs {
			if sameEmail(invs[i].Email, email) && invs[i].Status == providers.StatusPending {
				return &invs[i]
			}
		}
		return nil
	}
	tries := []url.Values{{"email": {email}}}
	if lower := iam.ASCIILower(email); lower != email {
		tries = append(tries, url.Values{"email": {lower}})
	}
	if wide {
		// Last, every pending invitation (status is a documented exact
		// filter; the answer is filtered here again): no case can hide it.
		tries = append(tries, url.Values{"status": {"INVITE_STATUS_SENT"}})
	}
	for _, f := range tries {
		invs, m, err := c.list(ctx, f, true)
		n += m
		if err != nil {
			return nil, n, err
		}
		if inv := pick(invs); inv != nil {
			return inv, n, nil
		}
	}
	return nil, n, nil
}

// Create invites each person with its own call (Confluent has no bulk invite).
func (c *Client) Create(ctx context.Context, reqs []providers.InviteRequest) ([]providers.CreateResult, error) {
	return providers.CreateEach(ctx, reqs, c.createOne)
}

// createOne sends one create under the shared never-twice rule
// (providers.Client.CreateVerified); the read-back uses the email filter.
func (c *Client) createOne(ctx context.Context, r providers.InviteRequest) providers.CreateResult {
	body, err := json.Marshal(struct {
		Email    string `json:"email"`
		AuthType string `json:"auth_type,omitempty"`
	}{r.Email, r.AuthType})
	if err != nil {
		return providers.CreateResult{Email: r.Email, Err: fmt.Errorf("create %s: %w", r.Email, err)}
	}
	send := func(ctx context.Context, maxAttempts int) (*providers.Response, error) {
		return c.http.Do(ctx, providers.Request{
			Method: http.MethodPost, Path: invitationsPath, Body: body,
			Accept: []int{http.StatusConflict}, MaxAttempts: maxAttempts,
		})
	}
	answer := func(resp *providers.Response, res *providers.CreateResult) { c.createAnswer(ctx, resp, res) }
	looks := 0
	find := func(ctx context.Context) (*providers.Invitation, int, error) {
		looks++ // the wide look on the first and every fourth: read-backs may go on for a while
		return c.findPending(ctx, r.Email, looks%4 == 1)
	}
	return c.http.CreateVerified(ctx, r.Email, send, answer, find)
}

// createAnswer reads a 201 or a 409.
func (c *Client) createAnswer(ctx context.Context, resp *providers.Response, res *providers.CreateResult) {
	if resp.Status != http.StatusConflict {
		var w wireInvitation
		if err := json.Unmarshal(resp.Body, &w); err != nil {
			res.Err = fmt.Errorf("create %s: decode: %w", res.Email, err)
			return
		}
		inv, err := w.invitation(c.now())
		if err != nil {
			res.Err = fmt.Errorf("create %s: %w", res.Email, err)
			return
		}
		res.Invitation = &inv
		return
	}
	// 409: a pending invitation exists (Location names it), or the person is
	// already a member (no Location). Both mean "nothing to do" (UNCONFIRMED
	// upstream).
	if code := decodeError(resp.Status, resp.Header, resp.Body).Code; code != "" && code != "resource_already_exists" {
		res.Err = fmt.Errorf("create %s: %w", res.Email, &providers.Error{
			Method: http.MethodPost, Path: invitationsPath, Status: resp.Status, Code: code, RequestID: resp.RequestID, Attempts: res.Attempts,
		})
		return
	}
	res.AlreadyInvited = true
	loc := resp.Header.Get("Location")
	if loc == "" {
		return
	}
	// Only the id is taken from Location: the fetch goes to our own endpoint,
	// so credentials never follow a link to another host.
	lu, err := url.Parse(loc)
	if err != nil || path.Base(lu.Path) == "" || path.Base(lu.Path) == "/" || path.Base(lu.Path) == "." {
		res.Err = fmt.Errorf("create %s: 409 Location %q names no invitation", res.Email, loc)
		return
	}
	inv, n, err := c.get(ctx, path.Base(lu.Path))
	res.Attempts += n
	if err != nil {
		res.Err = fmt.Errorf("create %s: already invited, read existing invitation: %w", res.Email, err)
		return
	}
	res.Invitation = inv
}

func (c *Client) get(ctx context.Context, id string) (*providers.Invitation, int, error) {
	resp, err := c.http.Do(ctx, providers.Request{Method: http.MethodGet, Path: invitationsPath + "/" + url.PathEscape(id), Idempotent: true, ReadBack: true})
	n := providers.Attempts(resp, err)
	if err != nil {
		return nil, n, err
	}
	var w wireInvitation
	if err := json.Unmarshal(resp.Body, &w); err != nil {
		return nil, n, fmt.Errorf("decode invitation %s: %w", id, err)
	}
	inv, err := w.invitation(c.now())
	if err != nil {
		return nil, n, err
	}
	return &inv, n, nil
}

// Revoke deletes a pending invitation (it then lists as DEACTIVATED).
// A 404 means it is already gone: not an error.
func (c *Client) Revoke(ctx context.Context, inv providers.Invitation) (providers.RevokeResult, error) {
	if inv.ID == "" {
		return providers.RevokeResult{}, fmt.Errorf("revoke %s: the invitation has no id", inv.Email)
	}
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodDelete, Path: invitationsPath + "/" + url.PathEscape(inv.ID),
		Idempotent: true, Accept: []int{http.StatusNotFound},
	})
	if err != nil {
		e, _ := providers.AsError(err)
		res := providers.RevokeResult{Attempts: providers.Attempts(resp, err)}
		if e != nil {
			res.RequestID = e.RequestID
		}
		return res, fmt.Errorf("revoke %s (%s): %w", inv.Email, inv.ID, err)
	}
	return providers.RevokeResult{RequestID: resp.RequestID, Attempts: resp.Attempts, NotFound: resp.Status == http.StatusNotFound}, nil
}

// wireInvitation is iam.v2.Invitation as it comes over the wire.
type wireInvitation struct {
	ID       string `json:"id"`
	Metadata struct {
		CreatedAt string `json:"created_at"`
	} `json:"metadata"`
	Email      string  `json:"email"`
	AuthType   string  `json:"auth_type"`
	Status     string  `json:"status"`
	AcceptedAt *string `json:"accepted_at"` // nullable
	ExpiresAt  string  `json:"expires_at"`
	Creator    *struct {
		ID string `json:"id"`
	} `json:"creator"`
	// User is the invitee's user, named from the start: access can be
	// granted before acceptance.
	User *struct {
		ID string `json:"id"`
	} `json:"user"`
}

func (w wireInvitation) invitation(now time.Time) (providers.Invitation, error) {
	inv := providers.Invitation{ID: w.ID, Email: w.Email, AuthType: w.AuthType, RawStatus: w.Status}
	var err error
	if inv.CreatedAt, err = parseTime(w.Metadata.CreatedAt); err != nil {
		return inv, fmt.Errorf("invitation %s: created_at: %w", w.ID, err)
	}
	if inv.ExpiresAt, err = parseTime(w.ExpiresAt); err != nil {
		return inv, fmt.Errorf("invitation %s: expires_at: %w", w.ID, err)
	}
	if w.AcceptedAt != nil {
		if inv.AcceptedAt, err = parseTime(*w.AcceptedAt); err != nil {
			return inv, fmt.Errorf("invitation %s: accepted_at: %w", w.ID, err)
		}
	}
	if w.Creator != nil {
		inv.CreatorID = w.Creator.ID
	}
	if w.User != nil {
		inv.UserID = w.User.ID
	}
	inv.Status = Status(w.Status)
	return inv, nil
}

// Status maps an INVITE_STATUS_* value to the normalised status (iam.Status).
func Status(raw string) providers.Status {
	return iam.Status(raw)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func sameEmail(a, b string) bool { return iam.SameEmail(a, b) }

// decodeError reads a Confluent Failure body; 401s also explain themselves in
// WWW-Authenticate; 429 has no body at all.
func decodeError(status int, h http.Header, body []byte) providers.APIError {
	var f struct {
		Errors []struct {
			ID     string `json:"id"`
			Code   string `json:"code"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	var ae providers.APIError
	if json.Unmarshal(body, &f) == nil && len(f.Errors) > 0 {
		e := f.Errors[0]
		ae.Code, ae.Message = e.Code, e.Detail
		if ae.Message == "" {
			ae.Message = e.Title
		}
	}
	if status == http.StatusUnauthorized && ae.Message == "" {
		ae.Message = authDescription(h.Get("WWW-Authenticate"))
	}
	return ae
}

// authDescription pulls error_description out of a WWW-Authenticate value.
func authDescription(v string) string {
	const key = `error_description="`
	i := strings.Index(v, key)
	if i < 0 {
		return ""
	}
	rest := v[i+len(key):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}
