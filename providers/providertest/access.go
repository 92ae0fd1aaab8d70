package providertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
)

// holder finds who the access cases grant to: a person who accepted (so
// every API has a user to bind), with the user id the listing or the member
// listing names.
func holder(ctx context.Context, t *testing.T, p providers.Provider, email string) providers.Person {
	t.Helper()
	invs, err := p.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	who := providers.Person{Email: email}
	for _, inv := range byEmail(invs)[email] {
		if inv.UserID != "" {
			who.UserID = inv.UserID
		}
	}
	if m, ok := p.(providers.Members); ok && p.Capabilities().Members {
		users, err := m.ListMembers(ctx)
		if err != nil {
			t.Fatalf("ListMembers: %v", err)
		}
		for _, u := range users {
			if strings.EqualFold(u.Email, email) && who.UserID == "" {
				who.UserID = u.ID
			}
		}
	}
	return who
}

// rolesOf returns the roles ListAccess says who holds, with their grants.
func rolesOf(ctx context.Context, t *testing.T, a providers.Access, who providers.Person) map[string][]providers.Grant {
	t.Helper()
	gs, err := a.ListAccess(ctx, []providers.Person{who})
	if err != nil {
		t.Fatalf("ListAccess: %v", err)
	}
	out := map[string][]providers.Grant{}
	for _, g := range gs {
		if !strings.EqualFold(g.Email, who.Email) && (who.UserID == "" || g.UserID != who.UserID) {
			t.Fatalf("ListAccess for %s returned someone else's grant %+v", who.Email, g)
		}
		out[g.Role] = append(out[g.Role], g)
	}
	return out
}

// testAccess: for providers that declare Access, a grant lists back, a
// second equal grant is one binding (NotFound set), an ungrant removes it
// and an ungrant of nothing is success (NotFound set); CheckRole sends
// nothing and refuses what is not a role.
func testAccess(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	e.seed(person{Email: "holder@example.com", Status: providers.StatusAccepted}, person{Email: "bystander@example.com", Status: providers.StatusAccepted})
	p := e.provider(providers.Config{}, false)
	if !p.Capabilities().Access {
		t.Skip("capability Access is false")
	}
	a, ok := p.(providers.Access)
	if !ok {
		t.Fatal("Capabilities().Access is true but the provider does not implement providers.Access")
	}
	if len(h.Roles) == 0 {
		t.Fatal("Harness.Roles is empty: the Access section needs a role the provider can grant")
	}
	role := h.Roles[0]
	if err := a.CheckRole(role); err != nil {
		t.Fatalf("CheckRole(%q): %v", role, err)
	}
	for _, bad := range []string{"", "  ", "no such role\n"} {
		if err := a.CheckRole(bad); err == nil {
			t.Errorf("CheckRole(%q) accepted it", bad)
		}
	}
	if n := e.emu.Stats().Requests; n != 0 {
		t.Errorf("CheckRole made %d requests, want none", n)
	}
	ctx := ctxFor(t, time.Minute)
	who := holder(ctx, t, p, "holder@example.com")
	other := holder(ctx, t, p, "bystander@example.com")
	before := rolesOf(ctx, t, a, other)

	g := providers.Grant{Email: who.Email, UserID: who.UserID, Role: role}
	res, err := a.GrantRole(ctx, g)
	if err != nil {
		t.Fatalf("GrantRole(%s): %v", role, err)
	}
	if res.NotFound {
		t.Errorf("first grant of %s: NotFound set (already there?)", role)
	}
	got := rolesOf(ctx, t, a, who)
	if len(got[role]) != 1 {
		t.Fatalf("after a grant of %s, ListAccess shows %v", role, got)
	}
	// Twice is one binding.
	res, err = a.GrantRole(ctx, g)
	if err != nil {
		t.Fatalf("second GrantRole(%s): %v", role, err)
	}
	if !res.NotFound {
		t.Errorf("second grant of %s: NotFound unset (want: already there)", role)
	}
	if got := rolesOf(ctx, t, a, who); len(got[role]) != 1 {
		t.Fatalf("after granting %s twice, ListAccess shows %d bindings of it: %v", role, len(got[role]), got)
	}
	if after := rolesOf(ctx, t, a, other); len(after) != len(before) {
		t.Fatalf("granting to %s changed %s's roles: %v -> %v", who.Email, other.Email, before, after)
	}
	// Ungrant removes it; again is success with NotFound.
	listed := got[role][0]
	if res, err := a.UngrantRole(ctx, listed); err != nil || res.NotFound {
		t.Fatalf("UngrantRole(%+v): %+v %v", listed, res, err)
	}
	if got := rolesOf(ctx, t, a, who); len(got[role]) != 0 {
		t.Fatalf("after an ungrant, ListAccess still shows %s: %v", role, got[role])
	}
	if res, err := a.UngrantRole(ctx, listed); err != nil || !res.NotFound {
		t.Fatalf("second UngrantRole: %+v %v, want success with NotFound", res, err)
	}
}

// testMembers: for providers that declare Members, people who accepted are
// listed and pending invitees are not; where RemoveMembers is declared, a
// removal reads back gone and a second one is success with NotFound.
func testMembers(t *testing.T, h Harness) {
	e := newEnv(t, h, envOptions{})
	e.seed(person{Email: "member@example.com", Status: providers.StatusAccepted},
		person{Email: "stays@example.com", Status: providers.StatusAccepted},
		person{Email: "pending@example.com"})
	p := e.provider(providers.Config{}, false)
	caps := p.Capabilities()
	if !caps.Members {
		t.Skip("capability Members is false")
	}
	m, ok := p.(providers.Members)
	if !ok {
		t.Fatal("Capabilities().Members is true but the provider does not implement providers.Members")
	}
	ctx := ctxFor(t, time.Minute)
	find := func() map[string]providers.User {
		t.Helper()
		users, err := m.ListMembers(ctx)
		if err != nil {
			t.Fatalf("ListMembers: %v", err)
		}
		out := map[string]providers.User{}
		for _, u := range users {
			if u.ID == "" && !caps.RemoveMembers {
				continue
			}
			out[strings.ToLower(u.Email)] = u
		}
		return out
	}
	users := find()
	u, ok := users["member@example.com"]
	if !ok {
		t.Fatalf("ListMembers does not list member@example.com, who accepted: %v", users)
	}
	if _, ok := users["pending@example.com"]; ok {
		t.Fatal("ListMembers lists pending@example.com, who has not accepted")
	}
	if _, err := m.BlastRadius(ctx, u); err != nil {
		t.Fatalf("BlastRadius: %v", err)
	}
	if !caps.RemoveMembers {
		t.Skip("capability RemoveMembers is false: " + caps.RemoveHint)
	}
	res, err := m.RemoveMember(ctx, u)
	if err != nil || res.NotFound {
		t.Fatalf("RemoveMember: %+v %v", res, err)
	}
	after := find()
	if _, ok := after["member@example.com"]; ok {
		t.Fatal("after RemoveMember, ListMembers still lists member@example.com")
	}
	if _, ok := after["stays@example.com"]; !ok {
		t.Fatal("RemoveMember removed someone else too: stays@example.com is gone")
	}
	if res, err := m.RemoveMember(ctx, u); err != nil || !res.NotFound {
		t.Fatalf("second RemoveMember: %+v %v, want success with NotFound", res, err)
	}
}
