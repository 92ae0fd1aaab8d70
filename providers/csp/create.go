package csp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/invitesync/invitesync/providers"
)

// Create invites reqs. Nobody the org already holds (a pending invitation,
// or a member) is sent: the upstream answers 202 for them as for anyone, so
// only a read tells; they come back AlreadyInvited with what the read found.
// People with identical attributes share calls of at most BatchSize()
// usernames; a call the upstream refuses as too large halves the size for
// the rest of the run, and a call it refuses for one bad username is split
// until that username stands alone, so the others are still invited.
func (c *Client) Create(ctx context.Context, reqs []providers.InviteRequest) ([]providers.CreateResult, error) {
	out := make([]providers.CreateResult, len(reqs))
	if err := ctx.Err(); err != nil {
		return out, providers.NotAttempted(out, reqs, err)
	}
	norm := make([]providers.InviteRequest, len(reqs))
	var todo []int
	for i, r := range reqs {
		out[i].Email = r.Email
		norm[i] = withDefaultRole(r)
		if err := validate(r); err != nil {
			out[i].Err = fmt.Errorf("create %s: %w", r.Email, err)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return out, nil
	}
	failAll := func(err error) {
		for _, i := range todo {
			out[i].Err = fmt.Errorf("create %s: %w", reqs[i].Email, err)
		}
	}
	who, err := c.username(ctx)
	if err != nil {
		failAll(err)
		return out, ctxErr(ctx)
	}
	if _, err := c.refresh(ctx); err != nil {
		failAll(fmt.Errorf("read the org before inviting: %w", err))
		return out, ctxErr(ctx)
	}
	groups := map[string][]int{}
	var order []string
	for _, i := range todo {
		if inv, ok := c.existing(reqs[i].Email); ok {
			out[i].AlreadyInvited = true
			out[i].Invitation = &inv
			continue
		}
		k := attrKey(norm[i])
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	for _, k := range order {
		if err := ctx.Err(); err != nil {
			for _, i := range groups[k] {
				out[i].Err = fmt.Errorf("create %s: not attempted: %w", reqs[i].Email, err)
			}
			continue
		}
		c.inviteGroup(ctx, who, norm, groups[k], out)
	}
	return out, ctxErr(ctx)
}

func ctxErr(ctx context.Context) error { return ctx.Err() }

// withDefaultRole readies r's roles for the invite body: a role in roster
// access syntax ROLE@SERVICE_DEFINITION_ID among the org roles becomes a
// service role, a service role named by a bare service definition id gets
// its link (InvitationServiceLink), and r gets the default organization
// role when it has none (VMware's tooling calls one mandatory on an invite).
func withDefaultRole(r providers.InviteRequest) providers.InviteRequest {
	var org []string
	svcs := slices.Clone(r.ServiceRoles)
	for _, role := range r.OrgRoles {
		if name, sid, ok := strings.Cut(role, "@"); ok {
			svcs = append(svcs, providers.ServiceRole{Link: sid, Role: name})
			continue
		}
		org = append(org, role)
	}
	for i := range svcs {
		if !strings.Contains(svcs[i].Link, "/") {
			svcs[i].Link = InvitationServiceLink(svcs[i].Link)
		}
	}
	if len(org) == 0 {
		org = []string{DefaultOrgRole}
	}
	r.OrgRoles, r.ServiceRoles = org, svcs
	return r
}

// InvitationServiceLink is the serviceDefinitionLink an invitation names a
// service by, for a service definition id (the form of VMware's examples,
// /csp/gateway/slc/api/definitions/external/ID; the users API gives the id).
func InvitationServiceLink(id string) string {
	return "/csp/gateway/slc/api/definitions/external/" + id
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

type serviceRolesDto struct {
	ServiceDefinitionLink string     `json:"serviceDefinitionLink"`
	ServiceRoles          []roleName `json:"serviceRoles"`
}

type inviteBody struct {
	Usernames         []string          `json:"usernames"`
	OrganizationRoles []roleName        `json:"organizationRoles"`
	ServiceRolesDtos  []serviceRolesDto `json:"serviceRolesDtos,omitempty"`
	CustomGroupsIds   []string          `json:"customGroupsIds,omitempty"`
	// InvitedBy is echoed as invitedByUsername, which proves who invited;
	// nothing documents the server filling it in.
	InvitedBy string `json:"invitedBy"`
	// InvitationExpirationInDays exists only in one variant of the API:
	// sent only when the roster asks for an expiry.
	InvitationExpirationInDays int `json:"invitationExpirationInDays,omitempty"`
}

// newInviteBody builds the body for usernames sharing r's attributes;
// service roles are grouped by service definition link.
func newInviteBody(usernames []string, r providers.InviteRequest, who string) inviteBody {
	b := inviteBody{Usernames: usernames, CustomGroupsIds: r.Groups, InvitedBy: who, InvitationExpirationInDays: r.ExpiresInDays}
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

// inviteGroup invites reqs[idx...] (identical attributes) in calls of at
// most BatchSize() usernames, splitting on refusals.
func (c *Client) inviteGroup(ctx context.Context, who string, reqs []providers.InviteRequest, idx []int, out []providers.CreateResult) {
	stack := [][]int{idx}
	for len(stack) > 0 {
		chunk := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if err := ctx.Err(); err != nil {
			for _, i := range chunk {
				out[i].Err = fmt.Errorf("create %s: not attempted: %w", reqs[i].Email, err)
			}
			continue
		}
		if n := c.BatchSize(); len(chunk) > n {
			// Later pieces first on the stack, so calls go out in roster order.
			for j := len(chunk); j > 0; j -= n {
				stack = append(stack, chunk[max(j-n, 0):j])
			}
			continue
		}
		kind, rest, err := c.sendChunk(ctx, who, reqs, chunk, out)
		chunk = rest
		switch kind {
		case chunkTooLarge:
			if len(chunk) == 1 {
				c.fail(reqs, chunk, out, fmt.Errorf("the upstream refuses even one username per call as too large: %w", err))
				continue
			}
			c.shrink(len(chunk), err)
			stack = append(stack, chunk)
		case chunkRefused:
			if len(chunk) == 1 {
				c.fail(reqs, chunk, out, err)
				continue
			}
			// One username may sink the call: split it until the refused
			// one stands alone, so the others are still invited.
			half := len(chunk) / 2
			stack = append(stack, chunk[half:], chunk[:half])
		}
	}
}

func (c *Client) fail(reqs []providers.InviteRequest, idx []int, out []providers.CreateResult, err error) {
	for _, i := range idx {
		out[i].Err = fmt.Errorf("create %s: %w", reqs[i].Email, err)
	}
}

// shrink halves the batch size after a "too large" refusal of n usernames;
// the size is kept for the rest of the run.
func (c *Client) shrink(n int, cause error) {
	for {
		cur := c.batch.Load()
		if cur < int64(n) {
			return // another call shrank it already: re-split, no need to halve again
		}
		next := int64(max(n/2, 1))
		if next >= cur {
			return
		}
		if c.batch.CompareAndSwap(cur, next) {
			c.log.Warn().Int("refused", n).Int64("batch", next).Str("cause", c.http.Scrub(cause.Error())).
				Msg("csp: the upstream refused an invite call as too large; smaller calls from now on")
			return
		}
	}
}

type chunkKind int

const (
	chunkDone     chunkKind = iota // out[idx...] are filled
	chunkTooLarge                  // the rest was refused for its size: not filled
	chunkRefused                   // the rest was refused (400): not filled; split it
)

// tooLarge says whether err refuses a call for carrying too many usernames.
// No wording is documented: 413, or a 400 whose message speaks of too many
// usernames (or users, or a batch).
func tooLarge(err error) bool {
	e, ok := providers.AsError(err)
	if !ok {
		return false
	}
	if e.Status == http.StatusRequestEntityTooLarge {
		return true
	}
	if e.Status != http.StatusBadRequest {
		return false
	}
	m := strings.ToLower(e.Message)
	size := false
	for _, w := range []string{"too many", "too large", "exceed", "at most", "maximum", "limit"} {
		size = size || strings.Contains(m, w)
	}
	return size && (strings.Contains(m, "username") || strings.Contains(m, "users") || strings.Contains(m, "batch"))
}

// sendChunk sends one invite call for reqs[idx...] and, unless it was
// refused as a whole, fills out[idx...]:
//   - 202: every username invited (the ones the org already held were
//     filtered out before; the snapshot learns the new ones);
//   - 409 (an upstream that refuses duplicates, applying nothing): read
//     back, mark usernames now pending as AlreadyInvited, re-send the rest;
//   - 500/502/504/reset/timeout (may have landed): read back, count
//     usernames with a pending invitation of ours as created, re-send the rest.
//
// A refusal (400, 413) applied nothing of the call: it comes back with the
// usernames still to invite, for the caller to split.
func (c *Client) sendChunk(ctx context.Context, who string, reqs []providers.InviteRequest, idx []int, out []providers.CreateResult) (chunkKind, []int, error) {
	attrs := reqs[idx[0]]
	pending := slices.Clone(idx)
	var reqID string
	finish := func(i int, err error) {
		out[i].Err = err
		if out[i].RequestID == "" {
			out[i].RequestID = reqID
		}
	}
	count := func(n int) {
		for _, i := range pending {
			out[i].Attempts += n
		}
	}
	budget, sent := c.http.MaxAttempts(), 0
	for round := 1; len(pending) > 0; round++ {
		names := make([]string, len(pending))
		for j, i := range pending {
			names[j] = reqs[i].Email
		}
		body, err := json.Marshal(newInviteBody(names, attrs, who))
		if err != nil {
			for _, i := range pending {
				finish(i, fmt.Errorf("create %s: %w", reqs[i].Email, err))
			}
			return chunkDone, nil, nil
		}
		start := c.now()
		resp, err := c.http.Do(ctx, providers.Request{
			Method: http.MethodPost, Path: c.invitationsPath(), Body: body,
			Accept: []int{http.StatusConflict}, MaxAttempts: budget - sent,
		})
		n := providers.Attempts(resp, err)
		sent += n
		count(n)
		if resp != nil {
			reqID = resp.RequestID
		} else if e, ok := providers.AsError(err); ok && e.RequestID != "" {
			reqID = e.RequestID
		}
		if err == nil && resp.Status != http.StatusConflict {
			c.landed(ctx, who, reqs, pending, out, attrs, start)
			for _, i := range pending {
				finish(i, nil)
			}
			return chunkDone, nil, nil
		}
		if err != nil {
			// A refusal of the whole call: the caller splits it.
			switch {
			case tooLarge(err):
				return chunkTooLarge, pending, err
			case providers.StatusCode(err) == http.StatusBadRequest:
				return chunkRefused, pending, err
			}
		}
		conflict := err == nil
		if !conflict && (!providers.IsMaybeApplied(err) || sent >= budget || ctx.Err() != nil) {
			for _, i := range pending {
				// A call that may have landed, with no budget left to read
				// and re-send: its outcome is unknown, never re-sent blindly.
				out[i].Unknown = providers.IsMaybeApplied(err)
				finish(i, fmt.Errorf("create %s: %w", reqs[i].Email, err))
			}
			return chunkDone, nil, nil
		}
		if !conflict {
			if berr := c.http.Backoff(ctx, round); berr != nil {
				for _, i := range pending {
					finish(i, fmt.Errorf("create %s: %w", reqs[i].Email, err))
				}
				return chunkDone, nil, nil
			}
		}
		// Read back before sending anything again.
		invs, ln, lerr := c.listInvitations(ctx, true)
		count(ln)
		if lerr != nil {
			for _, i := range pending {
				cause := "409"
				if err != nil {
					cause = err.Error()
				}
				out[i].Unknown = !conflict
				finish(i, fmt.Errorf("create %s: read back after %s: %w", reqs[i].Email, cause, lerr))
			}
			return chunkDone, nil, nil
		}
		live := liveInvitations(invs)
		var rest []int
		var landed []providers.Invitation
		for _, i := range pending {
			inv, ok := live[emailKey(reqs[i].Email)]
			switch {
			case ok && conflict:
				// Upstream refused because a pending invitation exists. Its
				// creator is in Invitation.CreatorID: it may not be ours.
				out[i].AlreadyInvited = true
				out[i].Invitation = inv
				finish(i, nil)
			case ok && inv.CreatorID == who: // our lost call landed
				out[i].Invitation = inv
				landed = append(landed, *inv)
				finish(i, nil)
			default:
				rest = append(rest, i)
			}
		}
		c.invited(landed)
		if e, ok := providers.AsError(err); ok && e.TimedOut && len(rest) > 0 {
			// The call was given up on, not answered: it may still land
			// upstream after any read-back, so it is never sent again here.
			for _, i := range rest {
				out[i].Unknown = true
				finish(i, fmt.Errorf("create %s: %w; not found by reading back, and it may still land", reqs[i].Email, err))
			}
			return chunkDone, nil, nil
		}
		if conflict && len(rest) == len(pending) {
			// A 409 naming nobody we can see: re-sending would loop.
			ae := decodeError(resp.Status, resp.Header, resp.Body)
			for _, i := range pending {
				finish(i, fmt.Errorf("create %s: %w", reqs[i].Email, &providers.Error{
					Method: http.MethodPost, Path: c.invitationsPath(), Status: resp.Status, Code: ae.Code,
					Message: c.http.Scrub(ae.Message), RequestID: resp.RequestID, Attempts: out[i].Attempts,
				}))
			}
			return chunkDone, nil, nil
		}
		if sent >= budget {
			for _, i := range rest {
				finish(i, fmt.Errorf("create %s: conflicts left no attempts to re-send it", reqs[i].Email))
			}
			return chunkDone, nil, nil
		}
		pending = rest
	}
	return chunkDone, nil, nil
}

// liveInvitations indexes pending (AVAILABLE, unexpired) invitations by email key.
func liveInvitations(invs []providers.Invitation) map[string]*providers.Invitation {
	m := map[string]*providers.Invitation{}
	for i := range invs {
		if invs[i].Status == providers.StatusPending {
			m[emailKey(invs[i].Email)] = &invs[i]
		}
	}
	return m
}

// landed records a 202 for reqs[idx...]. The first call that asked for an
// expiry is read back once, to report whether the upstream honoured
// invitationExpirationInDays (only one variant of the API documents it).
func (c *Client) landed(ctx context.Context, who string, reqs []providers.InviteRequest, idx []int, out []providers.CreateResult, attrs providers.InviteRequest, sentAt time.Time) {
	made := make([]providers.Invitation, 0, len(idx))
	for _, i := range idx {
		made = append(made, providers.Invitation{Email: reqs[i].Email, Status: providers.StatusPending, CreatorID: who})
	}
	c.invited(made)
	days := attrs.ExpiresInDays
	if days == 0 || days == defaultExpiryDays {
		return // nothing to tell apart from the upstream's default
	}
	c.expiryMu.Lock()
	if c.expiryKnown {
		c.expiryMu.Unlock()
		return
	}
	c.expiryKnown = true // one check per run, even if it fails
	c.expiryMu.Unlock()

	invs, n, err := c.listInvitations(ctx, true)
	for _, i := range idx {
		out[i].Attempts += n
	}
	if err != nil {
		c.log.Warn().Str("error", c.http.Scrub(err.Error())).Msg("csp: could not read back whether invitationExpirationInDays was honoured")
		return
	}
	live := liveInvitations(invs)
	for _, i := range idx {
		inv, ok := live[emailKey(reqs[i].Email)]
		if !ok || inv.CreatorID != who || inv.ExpiresAt.IsZero() {
			continue
		}
		out[i].Invitation = inv
		want := sentAt.Add(time.Duration(days) * 24 * time.Hour)
		got := inv.ExpiresAt.Sub(sentAt).Hours() / 24
		honoured := inv.ExpiresAt.Sub(want).Abs() < 12*time.Hour
		c.expiryMu.Lock()
		c.expiryHonoured = honoured
		c.expiryMu.Unlock()
		ev := c.log.Info()
		msg := "csp: the upstream honours invitationExpirationInDays"
		if !honoured {
			ev = c.log.Warn()
			msg = "csp: the upstream ignored invitationExpirationInDays: invitations expire after its own default"
		}
		ev.Int("asked_days", days).Float64("got_days", float64(int(got*10))/10).Str("email", inv.Email).Msg(msg)
		return
	}
	c.log.Warn().Msg("csp: could not find the new invitation to check invitationExpirationInDays")
}

// defaultExpiryDays is the documented default of invitationExpirationInDays.
const defaultExpiryDays = 7

// Revoke revokes one invitation with POST ?action=revoke and the username
// (documented for Organization Admin and Owner; DELETE by id needs an id
// taken from an undocumented refLink format). CSP keeps one pending
// invitation per person, so the username names it. The revoke is done only
// when a read-back shows it revoked or gone, never because of an answer alone.
func (c *Client) Revoke(ctx context.Context, inv providers.Invitation) (providers.RevokeResult, error) {
	if inv.Email == "" {
		return providers.RevokeResult{}, errors.New("revoke: the invitation names no username")
	}
	body, err := json.Marshal(struct {
		Usernames []string `json:"usernames"`
	}{[]string{inv.Email}})
	if err != nil {
		return providers.RevokeResult{}, fmt.Errorf("revoke %s: %w", inv.Email, err)
	}
	// Revoking twice is harmless: safe to retry.
	resp, err := c.http.Do(ctx, providers.Request{
		Method: http.MethodPost, Path: c.invitationsPath(), Query: url.Values{"action": {"revoke"}}, Body: body, Idempotent: true,
	})
	res := providers.RevokeResult{Attempts: providers.Attempts(resp, err)}
	if err != nil {
		if e, ok := providers.AsError(err); ok {
			res.RequestID = e.RequestID
		}
		res.Unknown = providers.IsMaybeApplied(err)
		return res, fmt.Errorf("revoke %s: %w", inv.Email, err)
	}
	res.RequestID = resp.RequestID
	for try := 1; ; try++ {
		invs, n, err := c.listInvitations(ctx, true)
		res.Attempts += n
		if err != nil {
			res.Unknown = true
			return res, fmt.Errorf("revoke %s: sent, but the read-back failed: %w", inv.Email, err)
		}
		switch revokeState(invs, inv) {
		case revokeGone:
			res.NotFound = true
			c.revoked(inv.Email)
			return res, nil
		case revokeDone:
			c.revoked(inv.Email)
			return res, nil
		}
		if try >= readBacks {
			res.Unknown = true
			return res, fmt.Errorf("revoke %s: sent, but %d read-backs still list the invitation as AVAILABLE", inv.Email, try)
		}
		if err := c.http.Backoff(ctx, try); err != nil {
			res.Unknown = true
			return res, fmt.Errorf("revoke %s: %w", inv.Email, err)
		}
	}
}

type revokeOutcome int

const (
	revokeGone    revokeOutcome = iota // not listed at all
	revokeDone                         // listed, no longer AVAILABLE
	revokePending                      // still AVAILABLE
)

func revokeState(invs []providers.Invitation, target providers.Invitation) revokeOutcome {
	found := false
	for _, inv := range invs {
		if target.ID != "" && inv.ID != target.ID {
			continue
		}
		if target.ID == "" && emailKey(inv.Email) != emailKey(target.Email) {
			continue
		}
		found = true
		if inv.RawStatus == "AVAILABLE" {
			return revokePending
		}
	}
	if !found {
		return revokeGone
	}
	return revokeDone
}
