package azure_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/azure"
	"github.com/invitesync/invitesync/providers/emulator"
)

const orgKey = sub + "/" + rg + "/" + org

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is an emulator with cfg and seed, and a client of its token.
type env struct {
	emu  *emulator.Server
	base string
	c    *azure.Client
	logs *syncBuf
}

func newEnv(t *testing.T, cfg emulator.Config, seed []emulator.SeedAzure) env {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(seed) > 0 {
		if err := emu.Seed(emulator.Seed{Azure: map[string][]emulator.SeedAzure{orgKey: seed}}); err != nil {
			t.Fatal(err)
		}
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	logs := &syncBuf{}
	c, err := azure.New(providers.Config{
		Endpoint: base, Rate: -1, BackoffBase: time.Millisecond, BackoffCap: 5 * time.Millisecond, Timeout: 5 * time.Second,
		Logger: zerolog.New(logs).Level(zerolog.DebugLevel),
	}, azure.Options{SubscriptionID: sub, ResourceGroup: rg, Organization: org, Token: azure.StaticToken(emulator.DefaultAzureToken)})
	if err != nil {
		t.Fatal(err)
	}
	return env{emu: emu, base: base, c: c, logs: logs}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func people(n int, status string) []emulator.SeedAzure {
	var out []emulator.SeedAzure
	for i := range n {
		out = append(out, emulator.SeedAzure{Email: fmt.Sprintf("p%03d@example.com", i), Status: status})
	}
	return out
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 3, 1, 14, 5, 6, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-03-01T14:05:06Z", want, true},
		{"2026-03-01T15:05:06+01:00", want, true},
		{"2026-03-01T14:05:06.0000000", want, true}, // .NET round-trip without a zone: UTC
		{"2026-03-01 14:05:06Z", want, true},
		{"2026-03-01 14:05:06", want, true},
		{"3/1/2026 2:05:06 PM", want, true},
		{"1772373906", want, true},    // epoch seconds
		{"1772373906000", want, true}, // epoch milliseconds
		{"", time.Time{}, true},
		{"null", time.Time{}, true},
		{"unknown", time.Time{}, false},
		{"2026-13-45T99:00:00Z", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := azure.ParseTime(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// Every mapping of metadata.next to pageToken the emulator can play lists
// everything once; the rule that does not work costs one repeated page.
func TestPagingRules(t *testing.T) {
	const n = 345
	tests := []struct {
		mode      string
		wantPages int64 // list requests
		warns     bool
	}{
		{emulator.AzureNextPageToken, 4, false},
		{emulator.AzureNextLink, 5, true},      // page 2 repeats page 1 once, then the whole link works
		{emulator.AzureNextBareToken, 4, true}, // next is no URL: the whole string at once
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			e := newEnv(t, emulator.Config{Azure: emulator.AzureConfig{NextToken: tt.mode}}, people(n, ""))
			invs, err := e.c.List(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, inv := range invs {
				if seen[inv.ID] {
					t.Fatalf("%s listed twice", inv.ID)
				}
				seen[inv.ID] = true
			}
			if len(invs) != n {
				t.Fatalf("%d invitations, want %d", len(invs), n)
			}
			route := "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Confluent/organizations/{organizationName}/access/default/listInvitations"
			if got := e.emu.Stats().ByRoute[route]; got != tt.wantPages {
				t.Fatalf("%d list requests, want %d", got, tt.wantPages)
			}
			if strings.Contains(e.logs.String(), "other rule") != tt.warns {
				t.Fatalf("warned %v, want %v: %s", !tt.warns, tt.warns, e.logs.String())
			}
			// The rule that worked is kept: a second listing costs no discovery.
			if _, err := e.c.List(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if got := e.emu.Stats().ByRoute[route]; got != tt.wantPages+4 {
				t.Fatalf("second listing: %d requests in all, want %d", got, tt.wantPages+4)
			}
		})
	}
}

// Pages that come back the same whichever way the token is taken stop the
// listing with an error naming both rules, not a loop.
func TestPagingNeitherRule(t *testing.T) {
	e := newEnv(t, emulator.Config{}, people(250, ""))
	if err := e.emu.SetMisbehave([]string{emulator.MisbehaveCyclePages}, 0, 0); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.List(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "page_token query value") || !strings.Contains(err.Error(), "whole metadata.next") {
		t.Fatalf("List = %v, want an error naming both rules", err)
	}
}

// Timestamps in other forms are read; one that is no date is warned about
// and its record kept.
func TestTimestampsMixed(t *testing.T) {
	e := newEnv(t, emulator.Config{Azure: emulator.AzureConfig{Timestamps: emulator.AzureTimesMixed}}, people(30, ""))
	invs, err := e.c.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 30 {
		t.Fatalf("%d invitations, want 30", len(invs))
	}
	zero := 0
	for _, inv := range invs {
		if inv.ExpiresAt.IsZero() || inv.Status != providers.StatusPending {
			t.Errorf("%s: expires %v status %s", inv.Email, inv.ExpiresAt, inv.Status)
		}
		if inv.CreatedAt.IsZero() {
			zero++
		}
	}
	if zero == 0 || zero == len(invs) || !strings.Contains(e.logs.String(), "timestamp is not a date") {
		t.Fatalf("%d of %d created_at unreadable; log %q", zero, len(invs), e.logs.String())
	}
}

// Duplicates are recognised by reading back, whatever the ARM error says;
// a refusal that is no duplicate stays an error.
func TestDuplicates(t *testing.T) {
	for _, mode := range []string{emulator.AzureDupConflict, emulator.AzureDupBadRequest, emulator.AzureDupLegacy} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, emulator.Config{Azure: emulator.AzureConfig{Duplicate: mode}}, []emulator.SeedAzure{
				{Email: "pending@example.com"}, {Email: "member@example.com", Status: "INVITE_STATUS_ACCEPTED"},
			})
			cx := ctx(t)
			before, err := e.c.List(cx)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.c.Create(cx, []providers.InviteRequest{{Email: "Pending@Example.com"}, {Email: "member@example.com"}, {Email: "fresh@example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			if r := res[0]; r.Err != nil || !r.AlreadyInvited || r.Invitation == nil || r.Invitation.ID != before[0].ID {
				t.Errorf("pending: %+v, want the existing invitation", r)
			}
			if r := res[1]; r.Err != nil || !r.AlreadyInvited {
				t.Errorf("member: %+v, want AlreadyInvited", r)
			}
			if r := res[2]; r.Err != nil || r.AlreadyInvited || r.Invitation == nil {
				t.Errorf("fresh: %+v, want created", r)
			}
			bad, err := e.c.Create(cx, []providers.InviteRequest{{Email: "not an email"}})
			if err != nil || bad[0].Err == nil || bad[0].AlreadyInvited || providers.StatusCode(bad[0].Err) != 400 {
				t.Errorf("refused create: %+v %v, want a 400 error", bad, err)
			}
		})
	}
}

func TestWhoAmI(t *testing.T) {
	e := newEnv(t, emulator.Config{Azure: emulator.AzureConfig{Orgs: []string{strings.ToUpper(orgKey)}}}, nil)
	id, err := e.c.WhoAmI(ctx(t))
	if err != nil || id.Org != strings.ToLower(orgKey) || id.Principal != "" {
		t.Fatalf("WhoAmI %+v %v", id, err)
	}
	other := newEnvClient(t, e, "other-org")
	if _, err := other.WhoAmI(ctx(t)); providers.StatusCode(err) != 404 || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("unknown org: %v, want ARM's 404", err)
	}
}

func newEnvClient(t *testing.T, e env, orgName string) *azure.Client {
	t.Helper()
	c, err := azure.New(providers.Config{Endpoint: e.base, Rate: -1},
		azure.Options{SubscriptionID: sub, ResourceGroup: rg, Organization: orgName, Token: azure.StaticToken(emulator.DefaultAzureToken)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Role bindings: granted to members, listed back in the roster's syntax,
// removed; an invitee has no user id on Azure until they accept.
func TestAccess(t *testing.T) {
	seed := people(3, "INVITE_STATUS_ACCEPTED")
	seed[0].Roles = []string{"MetricsViewer"}
	seed = append(seed, emulator.SeedAzure{Email: "pending@example.com"})
	e := newEnv(t, emulator.Config{}, seed)
	cx := ctx(t)
	members, err := e.c.ListMembers(cx)
	if err != nil || len(members) != 3 {
		t.Fatalf("members %v %v", members, err)
	}
	var ps []providers.Person
	for _, m := range members {
		ps = append(ps, providers.Person{Email: m.Email, UserID: m.ID})
	}
	if res, err := e.c.GrantRole(cx, providers.Grant{Email: "p001@example.com", Role: "CloudClusterAdmin@env-a1/lkc-b2"}); err != nil || res.NotFound {
		t.Fatalf("grant by email: %+v %v", res, err)
	}
	if res, err := e.c.GrantRole(cx, providers.Grant{Email: "p001@example.com", Role: "CloudClusterAdmin@env-a1/lkc-b2"}); err != nil || !res.NotFound {
		t.Fatalf("grant again: %+v %v, want NotFound", res, err)
	}
	if _, err := e.c.GrantRole(cx, providers.Grant{Email: "pending@example.com", Role: "MetricsViewer"}); err == nil || !strings.Contains(err.Error(), "not a member yet") {
		t.Fatalf("grant to an invitee: %v", err)
	}
	if err := e.c.CheckRole("EnvironmentAdmin"); err == nil {
		t.Fatal("CheckRole accepted EnvironmentAdmin without an environment")
	}
	grants, err := e.c.ListAccess(cx, append(ps, providers.Person{Email: "pending@example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range grants {
		got = append(got, g.Email+" "+g.Role)
	}
	slices.Sort(got)
	if want := []string{"p000@example.com MetricsViewer", "p001@example.com CloudClusterAdmin@env-a1/lkc-b2"}; !slices.Equal(got, want) {
		t.Fatalf("access %v, want %v", got, want)
	}
	for _, g := range grants {
		if res, err := e.c.UngrantRole(cx, g); err != nil || res.NotFound {
			t.Fatalf("ungrant %+v: %+v %v", g, res, err)
		}
		if res, err := e.c.UngrantRole(cx, g); err != nil || !res.NotFound {
			t.Fatalf("ungrant again: %+v %v, want NotFound", res, err)
		}
	}
	if st := e.emu.Stats().Access[emulator.APIAzure]; st.Bindings != 0 {
		t.Fatalf("bindings left: %+v", st)
	}
	names, err := e.c.RoleNames(cx)
	if err != nil || !slices.Contains(names, "OrganizationAdmin") {
		t.Fatalf("role names %v %v", names, err)
	}
	r, err := e.c.BlastRadius(cx, members[0])
	if err != nil || len(r.APIKeys) != 0 {
		t.Fatalf("blast radius %+v %v", r, err)
	}
}

func TestRemoveMemberUnsupported(t *testing.T) {
	e := newEnv(t, emulator.Config{}, nil)
	caps := e.c.Capabilities()
	if !caps.Access || !caps.Members || caps.RemoveMembers || !strings.Contains(caps.RemoveHint, "--provider confluent") {
		t.Fatalf("capabilities %+v", caps)
	}
	if _, err := e.c.RemoveMember(ctx(t), providers.User{ID: "u-1"}); !errors.Is(err, azure.ErrRemoveUnsupported) {
		t.Fatalf("RemoveMember = %v", err)
	}
	if n := e.emu.Stats().Requests; n != 0 {
		t.Fatalf("%d requests for an unsupported removal", n)
	}
}

// Under 20% injected faults of every kind, grants to 30 members converge
// (a failed or unknown one is tried again on the next pass, as a rerun
// would) with exactly one binding each: duplicates are told by read-back.
func TestAccessUnderFaults(t *testing.T) {
	const n = 30
	e := newEnv(t, emulator.Config{FaultSeed: 11, Faults: []string{emulator.Fault429, emulator.Fault500, emulator.Fault503, emulator.FaultReset}},
		people(n, "INVITE_STATUS_ACCEPTED"))
	cx := ctx(t)
	members, err := e.c.ListMembers(cx)
	if err != nil || len(members) != n {
		t.Fatalf("members %d %v", len(members), err)
	}
	e.emu.SetFaults(0.2, nil)
	pending := map[string]providers.Grant{}
	for _, m := range members {
		pending[m.ID] = providers.Grant{Email: m.Email, UserID: m.ID, Role: "MetricsViewer"}
	}
	for pass := 0; len(pending) > 0 && pass < 10; pass++ {
		for id, g := range pending {
			if _, err := e.c.GrantRole(cx, g); err == nil {
				delete(pending, id)
			}
		}
	}
	e.emu.SetFaults(0, nil)
	if len(pending) > 0 {
		t.Fatalf("%d grants never went through", len(pending))
	}
	if st := e.emu.Stats(); st.Access[emulator.APIAzure].Bindings != n || st.FaultsInjected == 0 {
		t.Fatalf("%d bindings, want %d; %d faults", st.Access[emulator.APIAzure].Bindings, n, st.FaultsInjected)
	}
}

// A listing that never ends stops with an error wrapping providers.ErrPaging.
func TestEndlessListingStops(t *testing.T) {
	e := newEnv(t, emulator.Config{PageSizeMax: 2}, people(5, ""))
	if err := e.emu.SetMisbehave([]string{emulator.MisbehaveEndlessPages}, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.List(ctx(t)); !errors.Is(err, providers.ErrPaging) {
		t.Fatalf("List = %v, want ErrPaging", err)
	}
	if n := e.emu.Stats().Requests; n > 20 {
		t.Fatalf("%d requests before stopping", n)
	}
}
