package emulator

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

type cfBinding struct {
	ID         string `json:"id"`
	Principal  string `json:"principal"`
	RoleName   string `json:"role_name"`
	CRNPattern string `json:"crn_pattern"`
}

type cfListOf[T any] struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Next      *string `json:"next"`
		TotalSize int     `json:"total_size"`
	} `json:"metadata"`
	Data []T `json:"data"`
}

func accessSeed() Seed {
	return Seed{Confluent: []SeedConfluent{
		{Email: "ada@example.com", Status: statusAccepted, Roles: []string{"OrganizationAdmin", "EnvironmentAdmin@env-a1"}, APIKeys: []string{"KEYADA1", "KEYADA2"}},
		{Email: "bob@example.com", Status: statusAccepted, Roles: []string{"CloudClusterAdmin@env-a1/lkc-b2"}},
		{Email: "cy@example.com", Roles: []string{"MetricsViewer"}},
	}}
}

// Role bindings: the crn_pattern filter (required; "/*" for nested scopes),
// principal and role_name filters, create (201, 409 for a duplicate, 400
// for a bad body, 403 for another org), get and delete (200, then 404).
func TestConfluentRoleBindings(t *testing.T) {
	s, c := start(t, Config{})
	if err := s.Seed(accessSeed()); err != nil {
		t.Fatal(err)
	}
	org := "crn://confluent.cloud/organization=" + s.st.Confluent.ID
	list := func(q url.Values) cfListOf[cfBinding] {
		t.Helper()
		r := c.cf("GET", "/iam/v2/role-bindings?"+q.Encode(), nil)
		wantStatus(t, "list "+q.Encode(), r, 200)
		var l cfListOf[cfBinding]
		r.json(t, &l)
		return l
	}
	tests := []struct {
		name string
		q    url.Values
		want int
	}{
		{"org scope only", url.Values{"crn_pattern": {org}}, 3}, // both OrganizationAdmins and cy's MetricsViewer
		{"every scope", url.Values{"crn_pattern": {org + "/*"}}, 5},
		{"one environment and below", url.Values{"crn_pattern": {org + "/environment=env-a1/*"}}, 2},
		{"by role", url.Values{"crn_pattern": {org + "/*"}, "role_name": {"MetricsViewer"}}, 1},
		{"by principal", url.Values{"crn_pattern": {org + "/*"}, "principal": {"User:" + s.st.Confluent.Users["ada@example.com"].ID}}, 2},
		{"by the key's owner", url.Values{"crn_pattern": {org + "/*"}, "principal": {"User:" + DefaultConfluentPrincipal}}, 1},
		{"principal is exact", url.Values{"crn_pattern": {org + "/*"}, "principal": {"user:" + DefaultConfluentPrincipal}}, 0},
	}
	for _, tt := range tests {
		if l := list(tt.q); len(l.Data) != tt.want || l.Metadata.TotalSize != tt.want || l.Kind != "RoleBindingList" {
			t.Errorf("%s: %d bindings (total %d), want %d", tt.name, len(l.Data), l.Metadata.TotalSize, tt.want)
		}
	}
	wantStatus(t, "no crn_pattern", c.cf("GET", "/iam/v2/role-bindings", nil), 400)
	wantStatus(t, "another org", c.cf("GET", "/iam/v2/role-bindings?crn_pattern=crn://confluent.cloud/organization=other", nil), 403)

	body := map[string]string{"principal": "User:u-new", "role_name": "EnvironmentAdmin", "crn_pattern": org + "/environment=env-q"}
	r := c.cf("POST", "/iam/v2/role-bindings", body)
	wantStatus(t, "create", r, 201)
	var b cfBinding
	r.json(t, &b)
	if !strings.HasPrefix(b.ID, "rb-") || r.header.Get("Location") == "" || b.CRNPattern != body["crn_pattern"] {
		t.Fatalf("created %s (Location %q)", r.body, r.header.Get("Location"))
	}
	wantStatus(t, "duplicate", c.cf("POST", "/iam/v2/role-bindings", body), 409)
	if st := s.Stats(); st.DuplicateGrants != 1 {
		t.Errorf("duplicate_grants %d, want 1", st.DuplicateGrants)
	}
	for _, bad := range []map[string]string{
		{"principal": "u-new", "role_name": "EnvironmentAdmin", "crn_pattern": org},
		{"principal": "User:u-new", "role_name": "Wizard", "crn_pattern": org},
		{"principal": "User:u-new", "role_name": "EnvironmentAdmin", "crn_pattern": "org"},
	} {
		wantStatus(t, "bad body", c.cf("POST", "/iam/v2/role-bindings", bad), 400)
	}
	wantStatus(t, "create in another org", c.cf("POST", "/iam/v2/role-bindings",
		map[string]string{"principal": "User:u-new", "role_name": "EnvironmentAdmin", "crn_pattern": "crn://confluent.cloud/organization=x"}), 403)
	wantStatus(t, "get", c.cf("GET", "/iam/v2/role-bindings/"+b.ID, nil), 200)
	wantStatus(t, "delete", c.cf("DELETE", "/iam/v2/role-bindings/"+b.ID, nil), 200)
	wantStatus(t, "delete again", c.cf("DELETE", "/iam/v2/role-bindings/"+b.ID, nil), 404)
	wantStatus(t, "get deleted", c.cf("GET", "/iam/v2/role-bindings/"+b.ID, nil), 404)
}

// Users list members with paging; deleting one takes its API keys and role
// bindings with it; API keys list by owner, never with a secret.
func TestConfluentUsersAndKeys(t *testing.T) {
	s, c := start(t, Config{})
	if err := s.Seed(accessSeed()); err != nil {
		t.Fatal(err)
	}
	r := c.cf("GET", "/iam/v2/users?page_size=2", nil)
	wantStatus(t, "users", r, 200)
	var users cfListOf[struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}]
	r.json(t, &users)
	if users.Metadata.TotalSize != 3 || len(users.Data) != 2 || users.Metadata.Next == nil { // ada, bob, the key's owner
		t.Fatalf("users page 1: %s", r.body)
	}
	r = c.cf("GET", *users.Metadata.Next, nil)
	wantStatus(t, "users page 2", r, 200)
	ada := s.st.Confluent.Users["ada@example.com"].ID
	cy := s.st.Confluent.Users["cy@example.com"].ID
	wantStatus(t, "an invitee is no user yet", c.cf("GET", "/iam/v2/users/"+cy, nil), 404)

	r = c.cf("GET", "/iam/v2/api-keys?spec.owner="+ada, nil)
	wantStatus(t, "keys", r, 200)
	if !strings.Contains(string(r.body), "KEYADA1") || !strings.Contains(string(r.body), "KEYADA2") || strings.Contains(string(r.body), "secret\":\"") {
		t.Fatalf("keys of ada: %s", r.body)
	}
	r = c.cf("GET", "/iam/v2/api-keys/KEYADA1", nil)
	wantStatus(t, "a seeded key", r, 200)
	if !strings.Contains(string(r.body), ada) {
		t.Fatalf("key's owner: %s", r.body)
	}

	wantStatus(t, "delete user", c.cf("DELETE", "/iam/v2/users/"+ada, nil), 204)
	wantStatus(t, "deleted user", c.cf("GET", "/iam/v2/users/"+ada, nil), 404)
	wantStatus(t, "delete again", c.cf("DELETE", "/iam/v2/users/"+ada, nil), 404)
	if st := s.Stats().Access[APIConfluent]; st.Users != 2 || st.APIKeys != 0 || st.Bindings != 3 {
		t.Fatalf("after the deletion: %+v (want 2 users, no keys, 3 bindings)", st)
	}
	// Invited again, the person gets a new user id.
	wantStatus(t, "reinvite", c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "ada@example.com"}), 201)
	if id := s.st.Confluent.Users["ada@example.com"].ID; id == ada {
		t.Fatal("a deleted user's id came back")
	}
}

// A second key reaches a second org behind the same host.
func TestConfluentSecondOrg(t *testing.T) {
	s, c := start(t, Config{Confluent: ConfluentConfig{SecondKey: "K2-emulator", SecondSecret: "S2-emulator"}})
	second := map[string]string{"Authorization": "Basic " + b64("K2-emulator:S2-emulator")}
	wantStatus(t, "create in org 2", c.do("POST", "/iam/v2/invitations", second, map[string]string{"email": "two@example.com"}), 201)
	wantStatus(t, "create in org 1", c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "one@example.com"}), 201)
	r := c.do("GET", "/iam/v2/api-keys/K2-emulator", second, nil)
	wantStatus(t, "who am I 2", r, 200)
	if !strings.Contains(string(r.body), s.st.ConfluentSecond.ID) || !strings.Contains(string(r.body), DefaultConfluentSecondPrincipal) {
		t.Fatalf("who am I 2: %s", r.body)
	}
	wantStatus(t, "key 1 from org 2", c.do("GET", "/iam/v2/api-keys/"+DefaultConfluentKey, second, nil), 404)
	wantStatus(t, "wrong secret", c.do("GET", "/iam/v2/invitations", map[string]string{"Authorization": "Basic " + b64("K2-emulator:x")}, nil), 401)
	r = c.do("GET", "/iam/v2/invitations", second, nil)
	if !strings.Contains(string(r.body), "two@example.com") || strings.Contains(string(r.body), "one@example.com") {
		t.Fatalf("org 2 lists %s", r.body)
	}
	if err := s.Accept(APIConfluent, s.st.ConfluentSecond.ID, "two@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(APIConfluent, "", "two@example.com"); err == nil {
		t.Fatal("accept in org 1 found org 2's invitation")
	}
}

// Switches: the duplicate create answer; the config checks.
func TestConfluentSwitches(t *testing.T) {
	_, c := start(t, Config{Confluent: ConfluentConfig{Duplicate: ConfluentDuplicate201}})
	wantStatus(t, "create", c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "a@example.com"}), 201)
	wantStatus(t, "create again (201 mode)", c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "a@example.com"}), 201)
	for _, bad := range []ConfluentConfig{{EmailFilter: "loose"}, {Duplicate: "200"}, {SecondKey: "k"}, {EmailCase: "upper"}} {
		if _, err := New(Config{Confluent: bad}); err == nil {
			t.Errorf("New accepted %+v", bad)
		}
	}
}

// Bindings, keys and the second org survive a restart with a state file.
func TestAccessStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := Config{StatePath: path, Confluent: ConfluentConfig{SecondKey: "K2-emulator", SecondSecret: "S2-emulator"}}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(accessSeed()); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.confluentOrgLocked(confluentCaller{second: true, principal: "u-2"})
	want := s.accessCountsLocked()
	s.mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s2.mu.Lock()
	got := s2.accessCountsLocked()
	second := s2.st.ConfluentSecond
	s2.mu.Unlock()
	if got[APIConfluent] != want[APIConfluent] || second == nil || second.byUser["u-2"] == nil {
		t.Fatalf("after restart %+v (second org %v), want %+v", got, second, want)
	}
}

func TestSeedAccessErrors(t *testing.T) {
	tests := []struct {
		name string
		seed Seed
		want string
	}{
		{"unknown role", Seed{Confluent: []SeedConfluent{{Email: "a@example.com", Roles: []string{"Wizard"}}}}, "role \"Wizard\""},
		{"bad scope", Seed{Confluent: []SeedConfluent{{Email: "a@example.com", Roles: []string{"EnvironmentAdmin@abc"}}}}, "NAME@env-x"},
		{"keys of an invitee", Seed{Confluent: []SeedConfluent{{Email: "a@example.com", APIKeys: []string{"K1"}}}}, "api_keys need status"},
		{"key twice", Seed{Confluent: []SeedConfluent{
			{Email: "a@example.com", Status: statusAccepted, APIKeys: []string{"K1"}},
			{Email: "b@example.com", Status: statusAccepted, APIKeys: []string{"K1"}}}}, "unique id"},
		{"azure role", Seed{Azure: map[string][]SeedAzure{azOrg: {{Email: "a@example.com", Roles: []string{"Nope"}}}}}, "role \"Nope\""},
	}
	for _, tt := range tests {
		s, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Seed(tt.seed); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		if st := s.Stats(); st.Invitations[APIConfluent].Pending+st.Invitations[APIConfluent].Accepted != 0 {
			t.Errorf("%s: a refused seed added something", tt.name)
		}
	}
}

// Accepting an invitation makes its invitee a user whose id is the
// invitation's user reference, so access granted before acceptance holds.
func TestConfluentAcceptMakesTheReferencedUser(t *testing.T) {
	s, c := start(t, Config{})
	r := c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "Ada@Example.com"})
	wantStatus(t, "create", r, 201)
	var inv cfInvitation
	r.json(t, &inv)
	if inv.User == nil || !strings.HasPrefix(inv.User.ID, "u-") {
		t.Fatalf("invitation names no user: %s", r.body)
	}
	wantStatus(t, "not a user before acceptance", c.cf("GET", "/iam/v2/users/"+inv.User.ID, nil), 404)
	if err := s.Accept(APIConfluent, "", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	r = c.cf("GET", "/iam/v2/users/"+inv.User.ID, nil)
	wantStatus(t, "the referenced user", r, 200)
	if !strings.Contains(string(r.body), `"email":"Ada@Example.com"`) {
		t.Fatalf("user %s", r.body)
	}
}
