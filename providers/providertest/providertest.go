// Package providertest is the one conformance suite every provider passes
// against the emulator (providers/emulator) over real loopback sockets.
//
// A provider package calls Run from its conformance_test.go with a Harness
// that builds the provider for a given endpoint. Each case starts a fresh
// emulator, seeds it through the emulator's Go API, and checks the provider's
// answers against both what it returned and what the emulator saw (its stats).
// Cases a provider cannot do are skipped with t.Skip naming the capability.
// What differs between upstreams is said by the Harness's fields, never by
// the suite asking which API it runs against.
package providertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/emulator"
)

// Harness adapts one provider to the suite.
type Harness struct {
	// API is the emulator's name for the upstream: emulator.APIConfluent,
	// APICSP or APIAzure.
	API string
	// Org is the emulator's key for the org under test: the CSP orgId, or
	// Azure's "subscriptionId/resourceGroup/organizationName"; "" for Confluent.
	Org string
	// Principal is what WhoAmI must answer ("" where the API cannot tell).
	Principal string
	// New builds the provider for cfg (Endpoint, Logger, OnAttempt and
	// HTTPClient are set by the suite) with the emulator's default
	// credentials, or with wrong ones when bad is true.
	New func(t testing.TB, cfg providers.Config, bad bool) providers.Provider
	// Secrets are the credentials New uses; BadSecrets the wrong ones. No
	// error, log line or attempt record may contain any of them.
	Secrets, BadSecrets []string
	// ManyCreates is how many people the fault case creates (default 100).
	ManyCreates int

	// Seed turns API-neutral people into the emulator's seed for the org
	// under test (ConfluentSeed, CSPSeed, AzureSeed, or the provider's own).
	Seed func(org string, people []Person) emulator.Seed
	// ListRoute is the emulator's route key of the invitation listing (as
	// in its stats' by_route), e.g. "GET /iam/v2/invitations".
	ListRoute string
	// PageSize is the listing's largest page; 0 = the list is one array.
	PageSize int
	// NoAcceptedTime: the API does not say when an invitation was accepted.
	NoAcceptedTime bool
	// RawRevoked and RawUnknown are the wire spellings of a revoked status
	// and of one the API does not document (the unknown-status case rewrites
	// the first into the second); empty skips that case.
	RawRevoked, RawUnknown string
	// MemberIsAlreadyInvited: a create for someone who is already a member
	// answers AlreadyInvited (rather than inviting again).
	MemberIsAlreadyInvited bool
	// BadCredentialsStatus is the status wrong credentials get (0 = 401).
	BadCredentialsStatus int
	// TokenExchange: the credential is traded for expiring access tokens
	// (the refresh case runs, and the secret grep must see an access token).
	TokenExchange bool
	// RateLimitHeaders: the API announces its remaining budget in headers,
	// so a paced client may stay under the limit with no 429 at all.
	RateLimitHeaders bool
	// Emulator adjusts every case's emulator configuration (the switches
	// for what the vendor does not document); nil = the defaults.
	Emulator func(*emulator.Config)

	// Roles are roles (roster syntax) the provider can grant, for the Access
	// section; at least one when Capabilities().Access is true.
	Roles []string
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	if h.New == nil || h.API == "" || h.Seed == nil || h.ListRoute == "" {
		t.Fatal("providertest: Harness needs API, New, Seed and ListRoute")
	}
	t.Run("Capabilities", func(t *testing.T) { testCapabilities(t, h) })
	t.Run("WhoAmI", func(t *testing.T) { testWhoAmI(t, h) })
	t.Run("ListManyPages", func(t *testing.T) { testListManyPages(t, h) })
	t.Run("ListClampedPageSize", func(t *testing.T) { testListClamped(t, h) })
	t.Run("StatusMapping", func(t *testing.T) { testStatusMapping(t, h) })
	t.Run("UnknownStatus", func(t *testing.T) { testUnknownStatus(t, h) })
	t.Run("Create", func(t *testing.T) { testCreate(t, h) })
	t.Run("CreateLimits", func(t *testing.T) { testCreateLimits(t, h) })
	t.Run("DuplicateCreate", func(t *testing.T) { testDuplicateCreate(t, h) })
	t.Run("CreateOverExpired", func(t *testing.T) { testCreateOverExpired(t, h) })
	t.Run("CreateCancelled", func(t *testing.T) { testCreateCancelled(t, h) })
	t.Run("Revoke", func(t *testing.T) { testRevoke(t, h) })
	t.Run("RevokeMissing", func(t *testing.T) { testRevokeMissing(t, h) })
	t.Run("RevokeUnsupported", func(t *testing.T) { testRevokeUnsupported(t, h) })
	t.Run("WriteMayHaveLanded", func(t *testing.T) { testWriteMayHaveLanded(t, h) })
	t.Run("BadCredentials", func(t *testing.T) { testBadCredentials(t, h) })
	t.Run("NoSecretsInLogs", func(t *testing.T) { testNoSecretsInLogs(t, h) })
	t.Run("ExpiredToken", func(t *testing.T) { testExpiredToken(t, h) })
	t.Run("Access", func(t *testing.T) { testAccess(t, h) })
	t.Run("Members", func(t *testing.T) { testMembers(t, h) })
	// The slow ones (they sleep through Retry-After windows) run side by side.
	t.Run("slow", func(t *testing.T) {
		t.Run("RateLimitStorm", func(t *testing.T) { t.Parallel(); testRateLimitStorm(t, h) })
		t.Run("Faults", func(t *testing.T) { t.Parallel(); testFaults(t, h) })
	})
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func testCapabilities(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	p := e.provider(providers.Config{}, false)
	c := p.Capabilities()
	if p.Name() != h.API {
		t.Errorf("Name() = %q, want %q", p.Name(), h.API)
	}
	if p.Organization() == "" {
		t.Error("Organization() is empty: reports need a name")
	}
	if c.MaxBatch < 1 {
		t.Errorf("MaxBatch %d: want >= 1", c.MaxBatch)
	}
	if !c.Revoke && c.RevokeHint == "" {
		t.Error("Revoke is false but RevokeHint says nothing about what to do instead")
	}
	if c.Expiry && (c.MinExpiryDays < 1 || c.MaxExpiryDays < c.MinExpiryDays) {
		t.Errorf("expiry range %d..%d", c.MinExpiryDays, c.MaxExpiryDays)
	}
	if n := e.emu.Stats().Requests; n != 0 {
		t.Errorf("building a provider and asking its capabilities made %d requests", n)
	}
}

func testWhoAmI(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	p := e.provider(providers.Config{}, false)
	got, err := p.WhoAmI(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	if got.Principal != h.Principal {
		t.Fatalf("WhoAmI = %q, want %q", got, h.Principal)
	}
}

func testListManyPages(t *testing.T, h Harness) {
	const n = 345 // more than 3 pages of 100, last one partial
	e := newEnv(t, h, envOptions{})
	var ps []person
	for i := range n {
		ps = append(ps, person{Email: fmt.Sprintf("p%04d@example.com", i)})
	}
	e.seed(ps...)
	p := e.provider(providers.Config{}, false)
	invs, err := p.List(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	checkListed(t, invs, ps)
	want := int64(1)
	if h.PageSize > 0 {
		want = int64((n + h.PageSize - 1) / h.PageSize)
	}
	if got := e.listRequests(); got != want {
		t.Fatalf("listing %d invitations took %d list requests, want %d", n, got, want)
	}
}

func testListClamped(t *testing.T, h Harness) {
	if h.PageSize == 0 {
		t.Skip("Harness.PageSize 0: the API does not page its list (one array): nothing to clamp")
	}
	const n, max = 50, 7
	e := newEnv(t, h, envOptions{emu: emulator.Config{PageSizeMax: max}})
	var ps []person
	for i := range n {
		ps = append(ps, person{Email: fmt.Sprintf("c%03d@example.com", i)})
	}
	e.seed(ps...)
	p := e.provider(providers.Config{}, false)
	invs, err := p.List(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	checkListed(t, invs, ps)
	if got, want := e.listRequests(), int64((n+max-1)/max); got != want {
		t.Fatalf("server page size %d: %d list requests, want %d", max, got, want)
	}
}

// checkListed: every seeded person exactly once, with a distinct id.
func checkListed(t *testing.T, invs []providers.Invitation, ps []person) {
	t.Helper()
	if len(invs) != len(ps) {
		t.Fatalf("listed %d invitations, want %d", len(invs), len(ps))
	}
	ids := map[string]bool{}
	got := byEmail(invs)
	for _, p := range ps {
		if len(got[p.Email]) != 1 {
			t.Fatalf("%s listed %d times, want once", p.Email, len(got[p.Email]))
		}
		inv := got[p.Email][0]
		if inv.ID == "" || ids[inv.ID] {
			t.Fatalf("%s: id %q is empty or repeated", p.Email, inv.ID)
		}
		ids[inv.ID] = true
	}
}

func testStatusMapping(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	ps := []person{
		{Email: "pending@example.com", Status: providers.StatusPending},
		{Email: "accepted@example.com", Status: providers.StatusAccepted},
		{Email: "expired@example.com", Status: providers.StatusExpired},
		{Email: "revoked@example.com", Status: providers.StatusRevoked},
		{Email: "theirs@example.com", Status: providers.StatusPending, Other: true},
	}
	e.seed(ps...)
	p := e.provider(providers.Config{}, false)
	invs, err := p.List(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	got := byEmail(invs)
	for _, want := range ps {
		if len(got[want.Email]) != 1 {
			t.Fatalf("%s listed %d times", want.Email, len(got[want.Email]))
		}
		inv := got[want.Email][0]
		if inv.Status != want.Status {
			t.Errorf("%s: status %q (raw %q), want %q", want.Email, inv.Status, inv.RawStatus, want.Status)
		}
		if inv.RawStatus == "" {
			t.Errorf("%s: raw status not kept", want.Email)
		}
		if want.Status == providers.StatusPending && (inv.ExpiresAt.IsZero() || !inv.ExpiresAt.After(time.Now())) {
			t.Errorf("%s: pending but expires_at %v", want.Email, inv.ExpiresAt)
		}
		if h.Principal != "" && want.Status == providers.StatusPending {
			mine := inv.CreatorID == h.Principal
			if mine == want.Other {
				t.Errorf("%s: creator %q, principal %q, seeded by someone else: %v", want.Email, inv.CreatorID, h.Principal, want.Other)
			}
		}
	}
	if acc := got["accepted@example.com"][0]; acc.AcceptedAt.IsZero() && !h.NoAcceptedTime {
		t.Errorf("accepted invitation has no accepted time")
	}
}

func testUnknownStatus(t *testing.T, h Harness) {
	// The emulator only seeds documented statuses; an upstream may add more
	// (Confluent's enum is extensible), so one is made on the wire.
	if h.RawRevoked == "" || h.RawUnknown == "" {
		t.Skip("Harness.RawRevoked/RawUnknown unset: no wire spelling to rewrite")
	}
	from, to := `"`+h.RawRevoked+`"`, `"`+h.RawUnknown+`"`
	e := newEnv(t, h, envOptions{rewrite: func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte(from), []byte(to))
	}})
	e.seed(person{Email: "odd@example.com", Status: providers.StatusRevoked}, person{Email: "fine@example.com"})
	p := e.provider(providers.Config{}, false)
	invs, err := p.List(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	got := byEmail(invs)
	odd := got["odd@example.com"]
	if len(odd) != 1 || odd[0].Status != providers.StatusUnknown || odd[0].RawStatus != strings.Trim(to, `"`) {
		t.Fatalf("odd@example.com = %+v, want status unknown with raw %s", odd, to)
	}
	if fine := got["fine@example.com"]; len(fine) != 1 || fine[0].Status != providers.StatusPending {
		t.Fatalf("fine@example.com = %+v, want pending", fine)
	}
}

// inviteFor fills the attributes the provider supports.
func inviteFor(c providers.Capabilities, email string) providers.InviteRequest {
	r := providers.InviteRequest{Email: email}
	if c.AuthType {
		r.AuthType = "AUTH_TYPE_SSO"
	}
	if c.OrgRoles {
		r.OrgRoles = []string{"org_member"}
	}
	if c.ServiceRoles {
		r.ServiceRoles = []providers.ServiceRole{{Link: "/csp/gateway/slc/api/definitions/external/ybUdoTC05kYFC9ZG560kpsn0I8M_", Role: "vmc-user:full"}}
	}
	if c.Groups {
		r.Groups = []string{"g-eng", "g-ops"}
	}
	if c.Expiry {
		r.ExpiresInDays = 14
	}
	return r
}

func testCreate(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	p := e.provider(providers.Config{}, false)
	caps := p.Capabilities()
	ctx := ctxFor(t, time.Minute)
	emails := []string{"ada@example.com", "bob@example.com", "cy@example.com"}
	var reqs []providers.InviteRequest
	for _, m := range emails {
		reqs = append(reqs, inviteFor(caps, m))
	}
	res, err := createAll(ctx, p, reqs, 1)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for i, r := range res {
		if r.Err != nil || r.AlreadyInvited || r.Email != emails[i] || r.Attempts < 1 {
			t.Fatalf("result %d = %+v, want %s created", i, r, emails[i])
		}
		if r.Invitation != nil && (r.Invitation.ID == "" || r.Invitation.Status != providers.StatusPending) {
			t.Errorf("%s: returned invitation %+v, want a pending one with an id", r.Email, r.Invitation)
		}
	}
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	got := byEmail(invs)
	who, err := p.WhoAmI(ctx)
	if err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	want := reqs[0]
	for i, m := range emails {
		if len(got[m]) != 1 {
			t.Fatalf("%s listed %d times after create, want once", m, len(got[m]))
		}
		inv := got[m][0]
		if inv.Status != providers.StatusPending || inv.CreatorID != who.Principal {
			t.Errorf("%s: status %q creator %q, want pending by %q", m, inv.Status, inv.CreatorID, who)
		}
		if r := res[i].Invitation; r != nil && r.ID != inv.ID {
			t.Errorf("%s: create returned id %q, list says %q", m, r.ID, inv.ID)
		}
		if caps.AuthType && inv.AuthType != want.AuthType {
			t.Errorf("%s: auth type %q, want %q", m, inv.AuthType, want.AuthType)
		}
		if caps.OrgRoles && !slices.Equal(inv.OrgRoles, want.OrgRoles) {
			t.Errorf("%s: org roles %v, want %v", m, inv.OrgRoles, want.OrgRoles)
		}
		if caps.ServiceRoles && !slices.Equal(inv.ServiceRoles, want.ServiceRoles) {
			t.Errorf("%s: service roles %v, want %v", m, inv.ServiceRoles, want.ServiceRoles)
		}
		if caps.Groups && !slices.Equal(inv.Groups, want.Groups) {
			t.Errorf("%s: groups %v, want %v", m, inv.Groups, want.Groups)
		}
		if caps.Expiry {
			exp := time.Now().Add(time.Duration(want.ExpiresInDays) * 24 * time.Hour)
			if d := inv.ExpiresAt.Sub(exp); d < -time.Hour || d > time.Hour {
				t.Errorf("%s: expires %v, want about %v", m, inv.ExpiresAt, exp)
			}
		}
	}
	st := e.emu.Stats()
	if st.DuplicateCreates != 0 {
		t.Errorf("duplicate_creates = %d, want 0", st.DuplicateCreates)
	}
	if caps.MaxBatch >= len(emails) {
		// Same attributes: one call carries them all.
		var creates int64
		for k, v := range st.ByRoute {
			if strings.HasPrefix(k, "POST ") && !strings.Contains(k, "list") && !strings.Contains(k, "authorize") && !strings.Contains(k, "action=") {
				creates += v
			}
		}
		if creates != 1 {
			t.Errorf("%d people with one set of attributes took %d create calls, want 1 (MaxBatch %d)", len(emails), creates, caps.MaxBatch)
		}
	}
}

func testCreateLimits(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	p := e.provider(providers.Config{}, false)
	caps := p.Capabilities()
	if caps.MaxGroups == 0 && !caps.Expiry {
		t.Skip("capabilities MaxGroups and Expiry: the provider enforces no group or expiry limit")
	}
	var reqs []providers.InviteRequest
	if caps.MaxGroups > 0 {
		r := inviteFor(caps, "groups@example.com")
		r.Groups = nil
		for i := range caps.MaxGroups + 1 {
			r.Groups = append(r.Groups, fmt.Sprintf("g-%d", i))
		}
		reqs = append(reqs, r)
	}
	if caps.Expiry {
		r := inviteFor(caps, "late@example.com")
		r.ExpiresInDays = caps.MaxExpiryDays + 1
		reqs = append(reqs, r)
		r = inviteFor(caps, "early@example.com")
		r.ExpiresInDays = -1
		reqs = append(reqs, r)
	}
	for _, r := range reqs {
		res, err := p.Create(ctxFor(t, time.Minute), []providers.InviteRequest{r})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if len(res) != 1 || res[0].Err == nil {
			t.Errorf("%s (%d groups, %d days): %+v, want a validation error", r.Email, len(r.Groups), r.ExpiresInDays, res)
		}
	}
	if n := e.emu.Stats().Requests; n != 0 {
		t.Errorf("invalid invitations made %d requests, want 0 (checked before sending)", n)
	}
}

func testDuplicateCreate(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	e.seed(person{Email: "dup@example.com"}, person{Email: "member@example.com", Status: providers.StatusAccepted})
	p := e.provider(providers.Config{}, false)
	caps := p.Capabilities()
	ctx := ctxFor(t, time.Minute)
	before, err := p.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	existing := byEmail(before)["dup@example.com"][0]

	reqs := []providers.InviteRequest{inviteFor(caps, "dup@example.com"), inviteFor(caps, "fresh@example.com")}
	res, err := createAll(ctx, p, reqs, 1)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if r := res[0]; r.Err != nil || !r.AlreadyInvited {
		t.Fatalf("duplicate: %+v, want AlreadyInvited and no error", r)
	} else if r.Invitation == nil || r.Invitation.ID != existing.ID {
		t.Errorf("duplicate: returned %+v, want the existing invitation %q", r.Invitation, existing.ID)
	}
	if r := res[1]; r.Err != nil || r.AlreadyInvited {
		t.Fatalf("fresh person next to a duplicate: %+v, want created", r)
	}
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	pendings := 0
	for _, inv := range byEmail(invs)["dup@example.com"] {
		if inv.Status == providers.StatusPending {
			pendings++
		}
	}
	if pendings != 1 {
		t.Fatalf("dup@example.com has %d pending invitations, want 1", pendings)
	}
	// A provider may send the duplicate once (the upstream then says it is
	// one) or, knowing from a listing, not at all; never twice.
	if got := e.emu.Stats().DuplicateCreates; got > 1 {
		t.Fatalf("duplicate_creates = %d, want at most 1 (never re-sent)", got)
	}
	if len(byEmail(invs)["fresh@example.com"]) != 1 {
		t.Fatalf("fresh@example.com listed %d times", len(byEmail(invs)["fresh@example.com"]))
	}

	// A member: some APIs answer "already a member" (Harness.MemberIsAlreadyInvited).
	res, err = p.Create(ctx, []providers.InviteRequest{inviteFor(caps, "member@example.com")})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("create for a member: %+v %v", res, err)
	}
	if wantAlready := h.MemberIsAlreadyInvited; res[0].AlreadyInvited != wantAlready {
		t.Fatalf("create for a member: AlreadyInvited %v, want %v", res[0].AlreadyInvited, wantAlready)
	}
}

func testCreateOverExpired(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	e.seed(person{Email: "late@example.com", Status: providers.StatusExpired}, person{Email: "gone@example.com", Status: providers.StatusRevoked})
	p := e.provider(providers.Config{}, false)
	ctx := ctxFor(t, time.Minute)
	res, err := createAll(ctx, p, []providers.InviteRequest{inviteFor(p.Capabilities(), "late@example.com"), inviteFor(p.Capabilities(), "gone@example.com")}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil || r.AlreadyInvited {
			t.Fatalf("%s: %+v, want a fresh invitation", r.Email, r)
		}
	}
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"late@example.com", "gone@example.com"} {
		var st []providers.Status
		for _, inv := range byEmail(invs)[m] {
			st = append(st, inv.Status)
		}
		if len(st) != 2 || !slices.Contains(st, providers.StatusPending) {
			t.Fatalf("%s: statuses %v, want the old one and a pending one", m, st)
		}
	}
	if d := e.emu.Stats().DuplicateCreates; d != 0 {
		t.Fatalf("duplicate_creates = %d, want 0", d)
	}
}

// testCreateCancelled: a Create whose context is already done sends
// nothing, and no result reads as a success.
func testCreateCancelled(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	p := e.provider(providers.Config{}, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	reqs := []providers.InviteRequest{inviteFor(p.Capabilities(), "a@example.com"), inviteFor(p.Capabilities(), "b@example.com")}
	res, err := p.Create(ctx, reqs)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Create = %v, want context.Canceled", err)
	}
	if len(res) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(res), len(reqs))
	}
	for i, r := range res {
		if r.Email != reqs[i].Email || !errors.Is(r.Err, context.Canceled) {
			t.Errorf("result %d = %+v, want %s failed with context.Canceled", i, r, reqs[i].Email)
		}
	}
	if n := e.emu.Stats().Requests; n != 0 {
		t.Errorf("a cancelled Create made %d requests", n)
	}
}

func needRevoke(t *testing.T, p providers.Provider) {
	if !p.Capabilities().Revoke {
		t.Skip("capability Revoke is false: " + p.Capabilities().RevokeHint)
	}
}

func testRevoke(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	e.seed(person{Email: "old@example.com"}, person{Email: "keep@example.com"})
	p := e.provider(providers.Config{}, false)
	needRevoke(t, p)
	ctx := ctxFor(t, time.Minute)
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := byEmail(invs)["old@example.com"][0]
	res, err := p.Revoke(ctx, old)
	if err != nil || res.NotFound || res.Attempts < 1 {
		t.Fatalf("Revoke: %+v %v", res, err)
	}
	invs, err = p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := byEmail(invs)
	if o := got["old@example.com"]; len(o) != 1 || o[0].Status != providers.StatusRevoked {
		t.Fatalf("after revoke: %+v, want one revoked invitation", o)
	}
	if k := got["keep@example.com"]; len(k) != 1 || k[0].Status != providers.StatusPending {
		t.Fatalf("a revoke touched someone else: %+v", k)
	}
	// Revoking again is harmless.
	if _, err := p.Revoke(ctx, old); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
}

func testRevokeMissing(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	p := e.provider(providers.Config{}, false)
	needRevoke(t, p)
	res, err := p.Revoke(ctxFor(t, time.Minute), providers.Invitation{ID: "7d1e3b8a-0000-4000-8000-000000000000", Email: "nobody@example.com", Status: providers.StatusPending})
	if err != nil {
		t.Fatalf("revoke of a missing invitation: %v, want no error", err)
	}
	if !res.NotFound {
		t.Fatalf("revoke of a missing invitation: %+v, want NotFound", res)
	}
}

func testRevokeUnsupported(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	e.seed(person{Email: "old@example.com"})
	p := e.provider(providers.Config{}, false)
	if p.Capabilities().Revoke {
		t.Skip("capability Revoke is true: covered by Revoke")
	}
	ctx := ctxFor(t, time.Minute)
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := e.emu.Stats().Requests
	_, err = p.Revoke(ctx, invs[0])
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("Revoke = %v, want an error saying it is not supported", err)
	}
	if n := e.emu.Stats().Requests - before; n != 0 {
		t.Fatalf("an unsupported revoke made %d requests", n)
	}
}

func testBadCredentials(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	e.seed(person{Email: "a@example.com"})
	p := e.provider(providers.Config{}, true)
	ctx := ctxFor(t, time.Minute)
	_, err := p.List(ctx)
	if err == nil {
		t.Fatal("List with wrong credentials succeeded")
	}
	e.assertNoSecret("List", err)
	pe, ok := providers.AsError(err)
	if !ok {
		t.Fatalf("List: %v, want a *providers.Error", err)
	}
	want := http.StatusUnauthorized
	if h.BadCredentialsStatus != 0 {
		want = h.BadCredentialsStatus
	}
	if pe.Status != want || !pe.Permanent() {
		t.Fatalf("List: %+v, want a permanent %d", pe, want)
	}
	res, err := p.Create(ctx, []providers.InviteRequest{inviteFor(p.Capabilities(), "b@example.com")})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if res[0].Err == nil {
		t.Fatal("Create with wrong credentials succeeded")
	}
	e.assertNoSecret("Create", res[0].Err)
	if n := e.emu.Stats().Invitations[h.API].Pending; n != 1 {
		t.Fatalf("%d pending invitations, want the seeded 1", n)
	}
	// Permanent errors are not retried: a couple of requests, not a storm.
	if n := e.emu.Stats().Requests; n > 6 {
		t.Errorf("wrong credentials cost %d requests; they should not be retried", n)
	}
}

func testExpiredToken(t *testing.T, h Harness) {
	if !h.TokenExchange {
		t.Skip("Harness.TokenExchange false: the credential is not traded for expiring access tokens")
	}
	e := newEnv(t, h, envOptions{emu: emulator.Config{CSPTokenTTL: time.Hour}})
	e.seed(person{Email: "a@example.com"})
	p := e.provider(providers.Config{}, false)
	ctx := ctxFor(t, time.Minute)
	if _, err := p.List(ctx); err != nil {
		t.Fatal(err)
	}
	// The server's clock jumps past the token's life while the client still
	// trusts it: the 401 must trigger one refresh and a successful retry.
	e.clock.Advance(2 * time.Hour)
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatalf("List after the token expired: %v", err)
	}
	if len(invs) != 1 {
		t.Fatalf("listed %d, want 1", len(invs))
	}
	st := e.emu.Stats()
	var exchanges int64
	for k, v := range st.ByRoute {
		if strings.HasSuffix(k, "/auth/api-tokens/authorize") {
			exchanges += v
		}
	}
	if exchanges != 2 || st.ByStatus["401"] != 1 {
		t.Fatalf("%d token exchanges and %d 401s, want 2 and 1", exchanges, st.ByStatus["401"])
	}

	// A lifetime shorter than the refresh margin: the client renews before
	// expiry on its own, with no 401 at all.
	e2 := newEnv(t, h, envOptions{emu: emulator.Config{CSPTokenTTL: 2 * time.Second}})
	p2 := e2.provider(providers.Config{}, false)
	for i := range 3 {
		if _, err := p2.List(ctx); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
		time.Sleep(time.Second)
	}
	if n := e2.emu.Stats().ByStatus["401"]; n != 0 {
		t.Errorf("%d 401s: the token should be renewed before it runs out", n)
	}
}

func testRateLimitStorm(t *testing.T, h Harness) {
	// The server allows 5/s (burst 2); the client is told 20/s with a burst
	// of 8, so its first wave alone draws 429s: every create must still land
	// exactly once.
	const n = 30
	e := newEnv(t, h, envOptions{emu: emulator.Config{Rate: 5, Burst: 2}})
	p := e.provider(providers.Config{Rate: 20, Burst: 8, MaxAttempts: 20}, false)
	ctx := ctxFor(t, 5*time.Minute)
	var reqs []providers.InviteRequest
	for i := range n {
		r := inviteFor(p.Capabilities(), fmt.Sprintf("storm%02d@example.com", i))
		reqs = append(reqs, r)
	}
	// CSP would carry them in two calls: send one per call to make a storm.
	res := make([]providers.CreateResult, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range reqs {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			r, err := p.Create(ctx, reqs[i:i+1])
			if err == nil {
				res[i] = r[0]
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range res {
		if r.Err != nil || r.AlreadyInvited {
			t.Fatalf("%s: %+v", r.Email, r)
		}
	}
	st := e.emu.Stats()
	// Confluent's X-RateLimit-Remaining/Reset may let the client stay under
	// the limit with no 429 at all; the others only learn from 429s.
	if st.RateLimited == 0 && !h.RateLimitHeaders {
		t.Fatalf("no 429 at all: the storm did not happen")
	}
	if st.DuplicateCreates != 0 || st.Invitations[h.API].Pending != n {
		t.Fatalf("duplicate_creates %d, pending %d: want 0 and %d", st.DuplicateCreates, st.Invitations[h.API].Pending, n)
	}
	// Every 429 cuts the client's pace (and a long Retry-After pauses all
	// workers), so 429s stay a minority of the requests instead of
	// multiplying with the workers.
	if st.RateLimited*2 > st.Requests {
		t.Errorf("%d of %d requests were answered 429", st.RateLimited, st.Requests)
	}
	t.Logf("%d requests, %d answered 429", st.Requests, st.RateLimited)
}

func testFaults(t *testing.T, h Harness) {
	n := h.ManyCreates
	if n == 0 {
		n = 100
	}
	const seeded = 250
	e := newEnv(t, h, envOptions{emu: emulator.Config{FaultRate: 0.3, FaultSeed: 7}})
	var ps []person
	for i := range seeded {
		ps = append(ps, person{Email: fmt.Sprintf("s%03d@example.com", i)})
	}
	// Seeding goes through the Go API: no faults there.
	e.seed(ps...)
	// A generous attempt budget: with 30% faults, 6 attempts in a row fail
	// about once in a thousand requests, and this case is about never
	// inviting twice, not about giving up.
	p := e.provider(providers.Config{MaxAttempts: 15, Timeout: 10 * time.Second}, false)
	ctx := ctxFor(t, 10*time.Minute)
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatalf("List under faults: %v", err)
	}
	checkListed(t, invs, ps)

	var reqs []providers.InviteRequest
	for i := range n {
		reqs = append(reqs, inviteFor(p.Capabilities(), fmt.Sprintf("f%03d@example.com", i)))
	}
	res, err := createAll(ctx, p, reqs, 16)
	if err != nil {
		t.Fatalf("Create under faults: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Email, r.Err)
		}
		if r.AlreadyInvited {
			t.Fatalf("%s: AlreadyInvited: a create was re-sent after it had landed", r.Email)
		}
	}
	e.emu.SetFaults(0, nil)
	invs, err = p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := byEmail(invs)
	for _, r := range reqs {
		if len(got[r.Email]) != 1 || got[r.Email][0].Status != providers.StatusPending {
			t.Fatalf("%s: %+v, want exactly one pending invitation", r.Email, got[r.Email])
		}
	}
	st := e.emu.Stats()
	if st.DuplicateCreates != 0 {
		t.Fatalf("duplicate_creates = %d, want 0", st.DuplicateCreates)
	}
	if st.FaultsInjected == 0 {
		t.Fatal("no fault was injected")
	}
	t.Logf("%d requests, %d faults %v", st.Requests, st.FaultsInjected, st.FaultsByKind)
}

// testWriteMayHaveLanded makes exactly one create attempt fail the way that
// leaves its fate unknown (500 or a reset connection; the emulator applies
// the write first in half of the cases) and checks the create rule: read
// back, re-send only when nothing landed, never invite twice.
func testWriteMayHaveLanded(t *testing.T, h Harness) {
	for _, kind := range []string{emulator.Fault500, emulator.FaultReset} {
		t.Run(kind, func(t *testing.T) {
			const n = 12
			e := newEnv(t, h, envOptions{emu: emulator.Config{FaultSeed: 3}})
			// A short attempt timeout: read-backs after a call that got no
			// answer go on for that long (a late create could still land).
			p := e.provider(providers.Config{Timeout: 2 * time.Second}, false)
			ctx := ctxFor(t, 2*time.Minute)
			if _, err := p.List(ctx); err != nil { // credentials warm: the fault hits the create
				t.Fatal(err)
			}
			resent, landed := 0, 0
			for i := range n {
				email := fmt.Sprintf("w%02d@example.com", i)
				var mu sync.Mutex
				var posts []int
				armed := true
				e.setHook(func(a providers.Attempt) {
					mu.Lock()
					defer mu.Unlock()
					if a.Method == http.MethodPost && !a.ReadBack {
						posts = append(posts, a.Status)
					}
					if armed {
						armed = false
						e.emu.SetFaults(0, nil)
					}
				})
				e.emu.SetFaults(1, []string{kind})
				res, err := p.Create(providers.WithAction(ctx, "create "+email), []providers.InviteRequest{inviteFor(p.Capabilities(), email)})
				e.setHook(nil)
				e.emu.SetFaults(0, nil)
				if err != nil || res[0].Err != nil || res[0].AlreadyInvited {
					t.Fatalf("%s: %+v %v, want created", email, res, err)
				}
				if len(posts) == 0 || (kind == emulator.Fault500 && posts[0] != 500) || (kind == emulator.FaultReset && posts[0] != 0) {
					t.Fatalf("%s: create attempts %v, want the first to fail with %s", email, posts, kind)
				}
				if len(posts) > 2 {
					t.Fatalf("%s: %d create attempts %v: a read-back should settle it after one failure", email, len(posts), posts)
				}
				if len(posts) == 2 {
					resent++
				} else {
					landed++
				}
			}
			st := e.emu.Stats()
			if st.DuplicateCreates != 0 || st.Invitations[h.API].Pending != n {
				t.Fatalf("duplicate_creates %d, pending %d: want 0 and %d", st.DuplicateCreates, st.Invitations[h.API].Pending, n)
			}
			// With 12 tries both halves of the emulator's coin come up
			// (fixed fault seed, sequential requests: the same every run).
			if resent == 0 || landed == 0 {
				t.Fatalf("re-sent %d, found landed %d: want both paths taken", resent, landed)
			}
		})
	}
}

// testNoSecretsInLogs drives every operation at debug level, the failing ones
// too, then greps the log and the attempt records for each credential: the
// harness's, and the ones seen on the wire (for CSP, the access tokens).
func testNoSecretsInLogs(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	e.seed(person{Email: "dup@example.com"}, person{Email: "old@example.com"})
	ctx := ctxFor(t, time.Minute)
	p := e.provider(providers.Config{}, false)
	if _, err := p.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := createAll(ctx, p, []providers.InviteRequest{inviteFor(p.Capabilities(), "dup@example.com"), inviteFor(p.Capabilities(), "new@example.com")}, 1); err != nil {
		t.Fatal(err)
	}
	if p.Capabilities().Revoke {
		if _, err := p.Revoke(ctx, byEmail(invs)["old@example.com"][0]); err != nil {
			t.Fatal(err)
		}
	}
	bad := e.provider(providers.Config{}, true)
	_, err = bad.List(ctx)
	e.assertNoSecret("List with bad credentials", err)

	// The grep below is only worth something if it knows what to look for.
	secrets := e.secrets()
	for _, s := range append(slices.Clone(h.Secrets), h.BadSecrets...) {
		if !slices.Contains(secrets, s) {
			t.Fatalf("suite does not grep for a harness secret")
		}
	}
	if len(e.wire.values()) == 0 {
		t.Fatal("no credential was seen on the wire: the observer is not in the path")
	}
	e.wire.mu.Lock()
	sawAccess := e.wire.accessTokens
	e.wire.mu.Unlock()
	if h.TokenExchange && !sawAccess {
		t.Fatal("no access token went by: the grep would not cover it")
	}
	if !strings.Contains(e.logs.String(), `"level":"debug"`) {
		t.Fatal("nothing was logged at debug level")
	}
	e.checkNoSecrets()
}
