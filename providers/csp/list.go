package csp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/invitesync/invitesync/providers"
)

// MemberStatus is the RawStatus of an accepted invitation List makes up for
// a member whose REDEEMED invitation the listing does not show (the list may
// drop REDEEMED invitations; the org users API is the truth about members).
const MemberStatus = "MEMBER"

// List returns every invitation of the org (one bare array, no pagination,
// roles with expand) plus, for each member the listing shows no REDEEMED
// invitation for, an accepted invitation with RawStatus MemberStatus, so a
// plan sees everyone who accepted.
func (c *Client) List(ctx context.Context) ([]providers.Invitation, error) {
	// The principal, asked once per client, so the creates that follow a
	// listing can name it in invitedBy without a request of their own.
	if _, err := c.username(ctx); err != nil {
		return nil, err
	}
	invs, _, err := c.listInvitations(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	members, _, err := c.listMembers(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("list org users: %w", err)
	}
	c.remember(invs, members)
	return withMembers(invs, members), nil
}

// withMembers appends an accepted invitation for each member without a
// REDEEMED one in invs (nor one in a status nobody knows, which already
// keeps a plan away from that person).
func withMembers(invs []providers.Invitation, members []member) []providers.Invitation {
	redeemed := map[string]bool{}
	for _, inv := range invs {
		if inv.Status == providers.StatusAccepted || inv.Status == providers.StatusUnknown {
			redeemed[emailKey(inv.Email)] = true
		}
	}
	for _, m := range members {
		if redeemed[emailKey(m.Email)] {
			continue
		}
		invs = append(invs, m.invitation())
	}
	return invs
}

// listInvitations reads the invitations; readBack marks a read that
// verifies a write.
func (c *Client) listInvitations(ctx context.Context, readBack bool) ([]providers.Invitation, int, error) {
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodGet, Path: c.invitationsPath(), Idempotent: true, ReadBack: readBack,
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
		inv, err := w.invitation(now)
		if err != nil {
			return nil, n, err
		}
		out = append(out, inv)
	}
	return out, n, nil
}

type roleName struct {
	Name string `json:"name"`
}

// wireInvitation is UserOrganizationInvitationResponse.
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

func (w wireInvitation) invitation(now time.Time) (providers.Invitation, error) {
	exp, err := EpochTime(w.ExpirationTime)
	if err != nil {
		// Refuse to act: a wrong unit would make every pending invitation
		// look expired (re-created each run) or never expire.
		return providers.Invitation{}, fmt.Errorf("invitation of %s (%s): expirationTime %w", w.Username, w.RefLink, err)
	}
	// The other timestamps are documented as epoch milliseconds; read them
	// the same way, and drop (not fail on) one that makes no sense.
	created, _ := EpochTime(w.GeneratedAt)
	redeemed, _ := EpochTime(w.RedeemedAt)
	inv := providers.Invitation{
		ID:         RefLinkID(w.RefLink),
		Email:      w.Username,
		RawStatus:  w.Status,
		CreatedAt:  created,
		ExpiresAt:  exp,
		AcceptedAt: redeemed,
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
	return inv, nil
}

// Bounds of a believable CSP timestamp, in seconds: 2000-01-01 .. 2100-01-01.
const (
	minEpochSeconds = 946684800
	maxEpochSeconds = 4102444800
)

// EpochTime reads an epoch timestamp whose unit is not documented
// (expirationTime): a value that is a time between 2000 and 2100 in
// milliseconds is milliseconds, one that is such a time in seconds is
// seconds (the two ranges do not overlap). 0 means none. Anything else is an
// error: no unit makes sense of it.
func EpochTime(v int64) (time.Time, error) {
	switch {
	case v == 0:
		return time.Time{}, nil
	case v >= minEpochSeconds*1000 && v < maxEpochSeconds*1000:
		return time.UnixMilli(v).UTC(), nil
	case v >= minEpochSeconds && v < maxEpochSeconds:
		return time.Unix(v, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%d is no time between 2000 and 2100 in epoch seconds or milliseconds", v)
}

// epochString reads a timestamp sent as a string (role bindings'
// createdDate): epoch seconds or milliseconds, or RFC 3339.
func epochString(s string) time.Time {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		t, _ := EpochTime(n)
		return t
	}
	t, _ := time.Parse(time.RFC3339, s)
	return t
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
	case "REDEEMED", MemberStatus:
		return providers.StatusAccepted
	case "REVOKED":
		return providers.StatusRevoked
	}
	return providers.StatusUnknown
}

// RefLinkID is the invitation id: refLink's last segment (CSP has no id
// field; the refLink format is not documented).
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

// emailKey compares emails as the roster does: trimmed, ASCII-lower-cased.
func emailKey(e string) string {
	e = strings.TrimSpace(e)
	b := []byte(e)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

// snapshot is what the org held at the last read: pending invitations and
// members by email key. Create consults it so it never invites someone
// already pending or a member (the upstream answers 202 to those too, so
// only a read can tell).
type snapshot struct {
	at      time.Time
	pending map[string]providers.Invitation
	members map[string]providers.Invitation // accepted, as List shows them
}

// snapshotTTL: a read this recent is reused by Create (a plan reads the org
// right before it creates; reading it again per call would double the cost).
const snapshotTTL = 30 * time.Second

func (c *Client) remember(invs []providers.Invitation, members []member) {
	s := &snapshot{at: c.now(), pending: map[string]providers.Invitation{}, members: map[string]providers.Invitation{}}
	for _, inv := range invs {
		if inv.Status == providers.StatusPending {
			s.pending[emailKey(inv.Email)] = inv
		}
	}
	for _, m := range members {
		s.members[emailKey(m.Email)] = m.invitation()
	}
	c.snapMu.Lock()
	c.snap = s
	c.snapMu.Unlock()
}

// refresh makes sure the snapshot is no older than snapshotTTL, reading the
// org when needed; it returns the attempts the read took.
func (c *Client) refresh(ctx context.Context) (int, error) {
	c.snapMu.Lock()
	fresh := c.snap != nil && c.now().Sub(c.snap.at) < snapshotTTL
	c.snapMu.Unlock()
	if fresh {
		return 0, nil
	}
	invs, n, err := c.listInvitations(ctx, false)
	if err != nil {
		return n, fmt.Errorf("list invitations: %w", err)
	}
	members, m, err := c.listMembers(ctx, false)
	if err != nil {
		return n + m, fmt.Errorf("list org users: %w", err)
	}
	c.remember(invs, members)
	return n + m, nil
}

// existing returns the pending invitation or the membership the snapshot
// holds for email.
func (c *Client) existing(email string) (providers.Invitation, bool) {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if c.snap == nil {
		return providers.Invitation{}, false
	}
	k := emailKey(email)
	if inv, ok := c.snap.members[k]; ok {
		return inv, true
	}
	inv, ok := c.snap.pending[k]
	return inv, ok
}

// invited records invitations this client just made, so a later Create in
// the same snapshot window does not send them again.
func (c *Client) invited(invs []providers.Invitation) {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if c.snap == nil {
		return
	}
	for _, inv := range invs {
		c.snap.pending[emailKey(inv.Email)] = inv
	}
}

// revoked drops email's pending invitation from the snapshot once a revoke
// is confirmed, so a reinvite (revoke, then create) in the same window is sent.
func (c *Client) revoked(email string) {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if c.snap != nil {
		delete(c.snap.pending, emailKey(email))
	}
}
