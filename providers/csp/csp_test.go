package csp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/emulator"
)

func TestStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		raw     string
		expires time.Time
		want    providers.Status
	}{
		{"AVAILABLE", now.Add(time.Hour), providers.StatusPending},
		{"AVAILABLE", time.Time{}, providers.StatusPending},
		{"AVAILABLE", now.Add(-time.Millisecond), providers.StatusExpired}, // CSP has no expired status
		{"REDEEMED", now.Add(-time.Hour), providers.StatusAccepted},
		{"REVOKED", now.Add(time.Hour), providers.StatusRevoked},
		{"SUSPENDED", now.Add(time.Hour), providers.StatusUnknown},
		{"available", now.Add(time.Hour), providers.StatusUnknown},
	}
	for _, tt := range tests {
		if got := Status(tt.raw, tt.expires, now); got != tt.want {
			t.Errorf("Status(%q, %v) = %q, want %q", tt.raw, tt.expires, got, tt.want)
		}
	}
}

func TestRefLinkID(t *testing.T) {
	tests := map[string]string{
		"/csp/gateway/am/api/orgs/o-1/invitations/6f1c2e1a-aaaa-4bbb-8ccc-123456789abc":  "6f1c2e1a-aaaa-4bbb-8ccc-123456789abc",
		"/csp/gateway/am/api/orgs/o-1/invitations/6f1c2e1a-aaaa-4bbb-8ccc-123456789abc/": "6f1c2e1a-aaaa-4bbb-8ccc-123456789abc",
		"https://console.cloud.vmware.com/csp/gateway/am/api/orgs/o/invitations/x?y=z":   "x",
		"":  "",
		"/": "",
	}
	for in, want := range tests {
		if got := RefLinkID(in); got != want {
			t.Errorf("RefLinkID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInviteBody(t *testing.T) {
	r := providers.InviteRequest{
		OrgRoles: []string{"org_member"},
		ServiceRoles: []providers.ServiceRole{
			{Link: "/svc/a", Role: "r1"}, {Link: "/svc/b", Role: "r2"}, {Link: "/svc/a", Role: "r3"},
		},
		Groups:        []string{"g-eng"},
		ExpiresInDays: 30,
	}
	b, err := json.Marshal(newInviteBody([]string{"a@example.com", "b@example.com"}, r))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"usernames":["a@example.com","b@example.com"],"organizationRoles":[{"name":"org_member"}],` +
		`"serviceRolesDtos":[{"serviceDefinitionLink":"/svc/a","serviceRoles":[{"name":"r1"},{"name":"r3"}]},` +
		`{"serviceDefinitionLink":"/svc/b","serviceRoles":[{"name":"r2"}]}],"customGroupsIds":["g-eng"],"invitationExpirationInDays":30}`
	if string(b) != want {
		t.Fatalf("body\n%s\nwant\n%s", b, want)
	}
	b, _ = json.Marshal(newInviteBody([]string{"a@example.com"}, providers.InviteRequest{}))
	if string(b) != `{"usernames":["a@example.com"]}` {
		t.Fatalf("minimal body %s: defaults must be left to the server", b)
	}
}

func TestValidate(t *testing.T) {
	many := make([]string, MaxGroups+1)
	for i := range many {
		many[i] = fmt.Sprint("g", i)
	}
	tests := []struct {
		r    providers.InviteRequest
		want string
	}{
		{providers.InviteRequest{Email: "a@example.com"}, ""},
		{providers.InviteRequest{Email: "a@example.com", Groups: many[:MaxGroups], ExpiresInDays: 90}, ""},
		{providers.InviteRequest{Email: "a@example.com", ExpiresInDays: 1}, ""},
		{providers.InviteRequest{Email: "a@example.com", Groups: many}, "16 custom groups"},
		{providers.InviteRequest{Email: "a@example.com", ExpiresInDays: 91}, "91 days"},
		{providers.InviteRequest{Email: "a@example.com", ExpiresInDays: -3}, "-3 days"},
		{providers.InviteRequest{Email: " "}, "no email"},
	}
	for _, tt := range tests {
		err := validate(tt.r)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("validate(%d groups, %d days, %q) = %v, want %q", len(tt.r.Groups), tt.r.ExpiresInDays, tt.r.Email, err, tt.want)
		}
	}
}

// cspEnv is an emulator on loopback with a client for org "o".
func cspEnv(t *testing.T, seed []emulator.SeedCSP, batch int) (*emulator.Server, *Client) {
	t.Helper()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(seed) > 0 {
		if err := emu.Seed(emulator.Seed{CSP: map[string][]emulator.SeedCSP{"o": seed}}); err != nil {
			t.Fatal(err)
		}
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	c, err := New(providers.Config{Endpoint: base, Rate: -1}, Options{OrgID: "o", APIToken: emulator.DefaultCSPRefreshToken, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	return emu, c
}

func inviteCalls(st emulator.Stats) int64 {
	return st.ByRoute["POST /csp/gateway/am/api/orgs/{orgId}/invitations"]
}

// People with different attributes never share a call; identical ones do,
// at most Batch per call.
func TestCreateBatchesByAttributes(t *testing.T) {
	emu, c := cspEnv(t, nil, 3)
	var reqs []providers.InviteRequest
	for i := range 7 {
		reqs = append(reqs, providers.InviteRequest{Email: fmt.Sprintf("m%d@example.com", i), OrgRoles: []string{"org_member"}})
	}
	reqs = append(reqs,
		providers.InviteRequest{Email: "owner@example.com", OrgRoles: []string{"org_owner"}},
		providers.InviteRequest{Email: "late@example.com", OrgRoles: []string{"org_member"}, ExpiresInDays: 30},
		providers.InviteRequest{Email: "bad@example.com", ExpiresInDays: 400},
	)
	res, err := c.Create(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Email != reqs[i].Email {
			t.Fatalf("result %d is for %s, want %s (order kept)", i, r.Email, reqs[i].Email)
		}
		if wantErr := r.Email == "bad@example.com"; (r.Err != nil) != wantErr {
			t.Fatalf("%s: err %v", r.Email, r.Err)
		}
	}
	// 7 alike in calls of 3 (3 calls), the owner (1), the 30-day one (1).
	if got := inviteCalls(emu.Stats()); got != 5 {
		t.Fatalf("%d invite calls, want 5", got)
	}
	invs, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, inv := range invs {
		roles[inv.Email] = strings.Join(inv.OrgRoles, ",")
	}
	if len(invs) != 9 || roles["owner@example.com"] != "org_owner" || roles["m6@example.com"] != "org_member" {
		t.Fatalf("listed %d: %v", len(invs), roles)
	}
}

// A 409 for one username of a batch: the others are re-sent, the one
// already invited (here by another admin) is reported with its creator.
func TestCreateConflictInBatch(t *testing.T) {
	emu, c := cspEnv(t, []emulator.SeedCSP{{Username: "taken@example.com", InvitedBy: "admin@example.org"}}, 20)
	res, err := c.Create(context.Background(), []providers.InviteRequest{{Email: "a@example.com"}, {Email: "taken@example.com"}, {Email: "b@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Email, r.Err)
		}
		if taken := r.Email == "taken@example.com"; r.AlreadyInvited != taken {
			t.Fatalf("%s: AlreadyInvited %v", r.Email, r.AlreadyInvited)
		}
	}
	if inv := res[1].Invitation; inv == nil || inv.CreatorID != "admin@example.org" || inv.ID == "" {
		t.Fatalf("taken: invitation %+v, want the existing one with its creator", inv)
	}
	st := emu.Stats()
	if got := inviteCalls(st); got != 2 {
		t.Fatalf("%d invite calls, want 2 (the 409, then the rest)", got)
	}
	if st.DuplicateCreates != 1 || st.Invitations["csp"].Pending != 3 {
		t.Fatalf("duplicate_creates %d, pending %d: want 1 and 3", st.DuplicateCreates, st.Invitations["csp"].Pending)
	}
}

// Without an id (no refLink), revoke falls back to ?action=revoke by username.
func TestRevokeByUsernameFallback(t *testing.T) {
	emu, c := cspEnv(t, []emulator.SeedCSP{{Username: "old@example.com"}, {Username: "keep@example.com"}}, 0)
	ctx := context.Background()
	res, err := c.Revoke(ctx, providers.Invitation{Email: "old@example.com"})
	if err != nil || res.NotFound {
		t.Fatalf("Revoke: %+v %v", res, err)
	}
	if got := emu.Stats().ByRoute["POST /csp/gateway/am/api/orgs/{orgId}/invitations?action=revoke"]; got != 1 {
		t.Fatalf("%d revoke-by-username calls, want 1", got)
	}
	invs, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range invs {
		if want := map[string]providers.Status{"old@example.com": providers.StatusRevoked, "keep@example.com": providers.StatusPending}[inv.Email]; inv.Status != want {
			t.Errorf("%s: %s, want %s", inv.Email, inv.Status, want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	for _, o := range []Options{{APIToken: "t"}, {OrgID: "o"}} {
		if _, err := New(providers.Config{}, o); err == nil {
			t.Errorf("New(%+v): want an error", o)
		}
	}
}
