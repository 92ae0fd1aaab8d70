package confluent_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent"
	"github.com/invitesync/invitesync/providers/confluent/iam"
	"github.com/invitesync/invitesync/providers/emulator"
)

// env is an emulator on loopback with a client of its default key.
type env struct {
	emu  *emulator.Server
	base string
	c    *confluent.Client
	recs *[]providers.Attempt
}

func newEnv(t *testing.T, cfg emulator.Config, seed emulator.Seed) env {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	var recs []providers.Attempt
	c := clientFor(t, base, emulator.DefaultConfluentKey, emulator.DefaultConfluentSecret, &recs)
	return env{emu: emu, base: base, c: c, recs: &recs}
}

func clientFor(t *testing.T, base, key, secret string, recs *[]providers.Attempt) *confluent.Client {
	t.Helper()
	cfg := providers.Config{Endpoint: base, Rate: -1, BackoffBase: time.Millisecond, BackoffCap: 5 * time.Millisecond, Timeout: 5 * time.Second}
	if recs != nil {
		cfg.OnAttempt = func(a providers.Attempt) { *recs = append(*recs, a) }
	}
	c, err := confluent.New(cfg, key, secret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestCheckRole(t *testing.T) {
	c := clientFor(t, "http://127.0.0.1:1", "k-1234", "s-1234", nil)
	tests := []struct {
		role, wantErr string
	}{
		{"OrganizationAdmin", ""},
		{"EnvironmentAdmin@env-abc123", ""},
		{"CloudClusterAdmin@env-abc123/lkc-xyz789", ""},
		{"MetricsViewer", ""},
		{"MetricsViewer@env-a1/lkc-b2", ""},
		{"Operator@env-a1", ""},
		{"OrganisationAdmin", "unknown role \"OrganisationAdmin\"; known roles: AccountAdmin"},
		{"EnvironmentAdmin", "on an environment"},
		{"EnvironmentAdmin@env-a1/lkc-b2", "on an environment"},
		{"CloudClusterAdmin@env-a1", "on a cluster"},
		{"OrganizationAdmin@env-a1", "at the organization only"},
		{"EnvironmentAdmin@abc123", "must start with an environment id"},
		{"CloudClusterAdmin@env-a1/abc", "one Kafka cluster id"},
		{"CloudClusterAdmin@env-a1/lkc-b2/topic", "one Kafka cluster id"},
		{"EnvironmentAdmin@env-", "must start with an environment id"},
	}
	for _, tt := range tests {
		err := c.CheckRole(tt.role)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckRole(%q) = %v, want error containing %q", tt.role, err, tt.wantErr)
		}
	}
}

func TestRoleOf(t *testing.T) {
	const org = "9bb441c4-edef-46ac-8a41-c49e44a3fd9a"
	crn := "crn://confluent.cloud/organization=" + org
	tests := []struct {
		role, crn, want string
	}{
		{"OrganizationAdmin", crn, "OrganizationAdmin"},
		{"EnvironmentAdmin", crn + "/environment=env-a1", "EnvironmentAdmin@env-a1"},
		{"CloudClusterAdmin", crn + "/environment=env-a1/cloud-cluster=lkc-b2", "CloudClusterAdmin@env-a1/lkc-b2"},
		{"DeveloperRead", crn + "/environment=env-a1/cloud-cluster=lkc-b2/kafka=lkc-b2/topic=t", ""}, // not the roster's
		{"OrganizationAdmin", "crn://confluent.cloud/organization=other", ""},
		{"OrganizationAdmin", crn + "x", ""},
		{"Operator", crn + "/cloud-cluster=lkc-b2", ""},
	}
	for _, tt := range tests {
		if got := iam.RoleOf(org, tt.role, tt.crn); got != tt.want {
			t.Errorf("RoleOf(%s, %s) = %q, want %q", tt.role, tt.crn, got, tt.want)
		}
	}
}

// Grants round-trip: what is granted lists back, in the roster's syntax,
// both for a member and for an invitee (whose user id the invitation names).
func TestAccessRoundTrip(t *testing.T) {
	e := newEnv(t, emulator.Config{}, emulator.Seed{Confluent: []emulator.SeedConfluent{
		{Email: "member@example.com", Status: "INVITE_STATUS_ACCEPTED", Roles: []string{"MetricsViewer"}},
		{Email: "pending@example.com"},
		{Email: "other@example.com", Status: "INVITE_STATUS_ACCEPTED", Roles: []string{"EnvironmentAdmin@env-zz9"}},
	}})
	cx := ctx(t)
	invs, err := e.c.List(cx)
	if err != nil {
		t.Fatal(err)
	}
	var people []providers.Person
	for _, inv := range invs {
		if inv.UserID == "" || !strings.HasPrefix(inv.UserID, "u-") {
			t.Fatalf("invitation %s names no user id: %+v", inv.Email, inv)
		}
		if inv.Email != "other@example.com" {
			people = append(people, providers.Person{Email: inv.Email, UserID: inv.UserID})
		}
	}
	want := map[string][]string{
		"member@example.com":  {"CloudClusterAdmin@env-a1/lkc-b2", "MetricsViewer"},
		"pending@example.com": {"EnvironmentAdmin@env-a1", "OrganizationAdmin"},
	}
	for _, p := range people {
		for _, r := range want[p.Email] {
			if r == "MetricsViewer" {
				continue // seeded
			}
			res, err := e.c.GrantRole(cx, providers.Grant{Email: p.Email, UserID: p.UserID, Role: r})
			if err != nil || res.NotFound || res.Unknown {
				t.Fatalf("grant %s %s: %+v %v", p.Email, r, res, err)
			}
		}
	}
	// Granting again is "already there", never a second binding.
	res, err := e.c.GrantRole(cx, providers.Grant{Email: "pending@example.com", UserID: people[slices.IndexFunc(people, func(p providers.Person) bool { return p.Email == "pending@example.com" })].UserID, Role: "OrganizationAdmin"})
	if err != nil || !res.NotFound {
		t.Fatalf("second grant: %+v %v, want NotFound", res, err)
	}
	if st := e.emu.Stats(); st.DuplicateGrants != 1 {
		t.Fatalf("duplicate_grants %d, want the one repeated grant", st.DuplicateGrants)
	}
	grants, err := e.c.ListAccess(cx, people)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, g := range grants {
		if g.ID == "" || g.UserID == "" {
			t.Errorf("grant without ids: %+v", g)
		}
		got[g.Email] = append(got[g.Email], g.Role)
	}
	for k := range got {
		slices.Sort(got[k])
	}
	for email, roles := range want {
		if !slices.Equal(got[email], roles) {
			t.Errorf("%s holds %v, want %v", email, got[email], roles)
		}
	}
	if _, ok := got["other@example.com"]; ok {
		t.Errorf("someone not asked for is listed: %v", got)
	}

	// Ungrant by id, then by role alone: gone, and gone again is NotFound.
	for _, g := range grants {
		if g.Role == "OrganizationAdmin" {
			if res, err := e.c.UngrantRole(cx, g); err != nil || res.NotFound {
				t.Fatalf("ungrant: %+v %v", res, err)
			}
			if res, err := e.c.UngrantRole(cx, g); err != nil || !res.NotFound {
				t.Fatalf("ungrant again: %+v %v, want NotFound", res, err)
			}
		}
	}
	if res, err := e.c.UngrantRole(cx, providers.Grant{Email: "member@example.com", Role: "MetricsViewer"}); err != nil || res.NotFound {
		t.Fatalf("ungrant by role and email: %+v %v", res, err)
	}
	after, err := e.c.ListAccess(cx, []providers.Person{{Email: "member@example.com"}, {Email: "pending@example.com", UserID: people[1].UserID}})
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, g := range after {
		roles = append(roles, g.Email+" "+g.Role)
	}
	slices.Sort(roles)
	if w := []string{"member@example.com CloudClusterAdmin@env-a1/lkc-b2", "pending@example.com EnvironmentAdmin@env-a1"}; !slices.Equal(roles, w) && !slices.Equal(roles, []string{w[0]}) {
		t.Fatalf("after ungrants: %v", roles)
	}
}

// ListAccess costs one org-wide listing, ceil(B/100) requests for B
// bindings, however many people are asked about; when the org holds far
// more bindings than the people asked about, it lists per person instead.
func TestListAccessRequests(t *testing.T) {
	tests := []struct {
		name             string
		people, others   int // roster people with a binding each; other members with many bindings
		otherRoles       int
		wantMax, wantMin int
	}{
		{"one page for 50 people", 50, 0, 0, 1, 1},
		{"three pages for 250 people", 250, 0, 0, 3, 3},
		{"a few people in a big org: per person", 3, 40, 10, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seed []emulator.SeedConfluent
			for i := range tt.people {
				seed = append(seed, emulator.SeedConfluent{Email: fmt.Sprintf("p%03d@example.com", i), Status: "INVITE_STATUS_ACCEPTED", Roles: []string{"MetricsViewer"}})
			}
			for i := range tt.others {
				var roles []string
				for j := range tt.otherRoles {
					roles = append(roles, fmt.Sprintf("CloudClusterAdmin@env-%d/lkc-%d", i, j))
				}
				seed = append(seed, emulator.SeedConfluent{Email: fmt.Sprintf("o%03d@example.com", i), Status: "INVITE_STATUS_ACCEPTED", Roles: roles})
			}
			e := newEnv(t, emulator.Config{}, emulator.Seed{Confluent: seed})
			cx := ctx(t)
			members, err := e.c.ListMembers(cx)
			if err != nil {
				t.Fatal(err)
			}
			var people []providers.Person
			for _, m := range members {
				if strings.HasPrefix(m.Email, "p") {
					people = append(people, providers.Person{Email: m.Email, UserID: m.ID})
				}
			}
			if _, err := e.c.WhoAmI(cx); err != nil {
				t.Fatal(err)
			}
			before := e.emu.Stats().ByRoute["GET /iam/v2/role-bindings"]
			grants, err := e.c.ListAccess(cx, people)
			if err != nil {
				t.Fatal(err)
			}
			if len(grants) != tt.people {
				t.Fatalf("%d grants, want %d", len(grants), tt.people)
			}
			n := e.emu.Stats().ByRoute["GET /iam/v2/role-bindings"] - before
			if n < int64(tt.wantMin) || n > int64(tt.wantMax) {
				t.Fatalf("%d role-binding list requests for %d people, want %d..%d", n, tt.people, tt.wantMin, tt.wantMax)
			}
		})
	}
}

// Members list with paging; the blast radius names the API keys a member
// owns (ids only) and their bindings; removal deletes them too and is done
// only once a read-back shows the user gone.
func TestMembers(t *testing.T) {
	var seed []emulator.SeedConfluent
	for i := range 120 {
		seed = append(seed, emulator.SeedConfluent{Email: fmt.Sprintf("m%03d@example.com", i), Status: "INVITE_STATUS_ACCEPTED"})
	}
	seed[7].APIKeys = []string{"KEYSEVENA", "KEYSEVENB"}
	seed[7].Roles = []string{"OrganizationAdmin", "EnvironmentAdmin@env-q1"}
	e := newEnv(t, emulator.Config{}, emulator.Seed{Confluent: seed})
	cx := ctx(t)
	members, err := e.c.ListMembers(cx)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 121 { // and the key's owner
		t.Fatalf("%d members, want 121", len(members))
	}
	if got := e.emu.Stats().ByRoute["GET /iam/v2/users"]; got != 2 {
		t.Fatalf("%d user list requests, want 2 pages of 100", got)
	}
	i := slices.IndexFunc(members, func(u providers.User) bool { return u.Email == "m007@example.com" })
	u := members[i]
	if u.ID == "" || u.CreatedAt.IsZero() {
		t.Fatalf("member %+v", u)
	}
	r, err := e.c.BlastRadius(cx, u)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.APIKeys, []string{"KEYSEVENA", "KEYSEVENB"}) || len(r.Bindings) != 2 {
		t.Fatalf("blast radius %+v", r)
	}
	for _, k := range r.APIKeys {
		if strings.Contains(k, emulator.DefaultConfluentSecret) {
			t.Fatal("a secret in the blast radius")
		}
	}
	other, err := e.c.BlastRadius(cx, members[(i+1)%len(members)])
	if err != nil || len(other.APIKeys) != 0 {
		t.Fatalf("someone else's radius %+v %v", other, err)
	}

	res, err := e.c.RemoveMember(cx, u)
	if err != nil || res.NotFound || res.Unknown {
		t.Fatalf("remove: %+v %v", res, err)
	}
	readBacks := 0
	for _, a := range *e.recs {
		if a.ReadBack && strings.HasSuffix(a.Path, "/"+u.ID) {
			readBacks++
		}
	}
	if readBacks == 0 {
		t.Fatal("removal was not read back")
	}
	st := e.emu.Stats().Access[emulator.APIConfluent]
	if st.Users != 120 || st.APIKeys != 0 || st.Bindings != 1 { // the owner's OrganizationAdmin stays
		t.Fatalf("after removal: %+v", st)
	}
	res, err = e.c.RemoveMember(cx, u)
	if err != nil || !res.NotFound {
		t.Fatalf("remove again: %+v %v, want NotFound", res, err)
	}
}

// A second key behind the same host reaches another org: who-am-I tells
// them apart, and neither sees the other's invitations.
func TestSecondOrg(t *testing.T) {
	e := newEnv(t, emulator.Config{Confluent: emulator.ConfluentConfig{SecondKey: "KEY2-emu", SecondSecret: "SECRET2-emu"}},
		emulator.Seed{Confluent: []emulator.SeedConfluent{{Email: "a@example.com"}}})
	b := clientFor(t, e.base, "KEY2-emu", "SECRET2-emu", nil)
	cx := ctx(t)
	ia, err := e.c.WhoAmI(cx)
	if err != nil {
		t.Fatal(err)
	}
	ib, err := b.WhoAmI(cx)
	if err != nil {
		t.Fatal(err)
	}
	if ia.Org == "" || ib.Org == "" || ia.Org == ib.Org || ib.Principal != emulator.DefaultConfluentSecondPrincipal {
		t.Fatalf("orgs %+v and %+v: want two different orgs", ia, ib)
	}
	invs, err := b.List(cx)
	if err != nil || len(invs) != 0 {
		t.Fatalf("second org lists %v %v", invs, err)
	}
	wrong := clientFor(t, e.base, "KEY2-emu", "not-the-secret", nil)
	if _, err := wrong.WhoAmI(cx); providers.StatusCode(err) != 401 {
		t.Fatalf("wrong secret: %v, want 401", err)
	}
}

// BenchmarkConfluentListAccess1k reads the access of 1,000 members with one
// binding each: issue 13's target is ceil(N/page) role-binding list
// requests, not one per person (extra-list-requests should be 0).
func BenchmarkConfluentListAccess1k(b *testing.B) {
	const n = 1000
	seed := make([]emulator.SeedConfluent, n)
	for i := range seed {
		seed[i] = emulator.SeedConfluent{Email: fmt.Sprintf("m%04d@example.com", i), Status: "INVITE_STATUS_ACCEPTED", Roles: []string{"MetricsViewer"}}
	}
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		b.Fatal(err)
	}
	if err := emu.Seed(emulator.Seed{Confluent: seed}); err != nil {
		b.Fatal(err)
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emu.Close() })
	c, err := confluent.New(providers.Config{Endpoint: base, Rate: -1}, emulator.DefaultConfluentKey, emulator.DefaultConfluentSecret)
	if err != nil {
		b.Fatal(err)
	}
	cx := context.Background()
	members, err := c.ListMembers(cx)
	if err != nil {
		b.Fatal(err)
	}
	var people []providers.Person
	for _, m := range members {
		if strings.HasPrefix(m.Email, "m") {
			people = append(people, providers.Person{Email: m.Email, UserID: m.ID})
		}
	}
	const route = "GET /iam/v2/role-bindings"
	before := emu.Stats().ByRoute[route]
	b.ResetTimer()
	for b.Loop() {
		grants, err := c.ListAccess(cx, people)
		if err != nil || len(grants) != n {
			b.Fatalf("%d grants, %v", len(grants), err)
		}
	}
	b.StopTimer()
	reqs := float64(emu.Stats().ByRoute[route]-before) / float64(b.N)
	bindings := n + 1 // and the key owner's OrganizationAdmin
	b.ReportMetric(reqs, "list-requests/op")
	b.ReportMetric(reqs-float64((bindings+confluent.PageSize-1)/confluent.PageSize), "extra-list-requests")
}

// Under 20% injected faults of every kind, grants to 40 members converge
// (a failed one is tried again on the next pass, as a rerun would) with
// exactly one binding each, and ungrants likewise.
func TestAccessUnderFaults(t *testing.T) {
	const n = 40
	seed := make([]emulator.SeedConfluent, n)
	for i := range seed {
		seed[i] = emulator.SeedConfluent{Email: fmt.Sprintf("f%02d@example.com", i), Status: "INVITE_STATUS_ACCEPTED"}
	}
	e := newEnv(t, emulator.Config{FaultSeed: 7, Faults: []string{emulator.Fault429, emulator.Fault500, emulator.Fault503, emulator.FaultReset}}, emulator.Seed{Confluent: seed})
	cx := ctx(t)
	members, err := e.c.ListMembers(cx)
	if err != nil {
		t.Fatal(err)
	}
	e.emu.SetFaults(0.2, nil)
	pending := map[string]providers.Grant{}
	for _, m := range members {
		if strings.HasPrefix(m.Email, "f") {
			pending[m.ID] = providers.Grant{Email: m.Email, UserID: m.ID, Role: "EnvironmentAdmin@env-f1"}
		}
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
	if st := e.emu.Stats(); st.Access[emulator.APIConfluent].Bindings != n+1 || st.FaultsInjected == 0 {
		t.Fatalf("%d bindings (want %d and the owner's), %d faults", st.Access[emulator.APIConfluent].Bindings, n, st.FaultsInjected)
	}
}

// Listings that never end (fresh tokens forever, the items starting over)
// stop with an error wrapping providers.ErrPaging within a few pages.
func TestEndlessListingsStop(t *testing.T) {
	e := newEnv(t, emulator.Config{PageSizeMax: 2}, emulator.Seed{Confluent: []emulator.SeedConfluent{
		{Email: "a@example.com", Status: "INVITE_STATUS_ACCEPTED"}, {Email: "b@example.com"}, {Email: "c@example.com"}, {Email: "d@example.com"}, {Email: "e@example.com"}}})
	if err := e.emu.SetMisbehave([]string{emulator.MisbehaveEndlessPages}, 0, 0); err != nil {
		t.Fatal(err)
	}
	cx := ctx(t)
	if _, err := e.c.List(cx); !errors.Is(err, providers.ErrPaging) {
		t.Fatalf("List = %v, want ErrPaging", err)
	}
	if _, err := e.c.ListMembers(cx); err != nil && !errors.Is(err, providers.ErrPaging) {
		t.Fatalf("ListMembers = %v", err)
	}
	if n := e.emu.Stats().Requests; n > 20 {
		t.Fatalf("%d requests before stopping", n)
	}
}
