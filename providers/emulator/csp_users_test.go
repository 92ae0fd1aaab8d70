package emulator

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const cspUsersPathFmt = "/csp/gateway/am/api/v2/orgs/%s/users"

type cspUsersWire struct {
	Results []struct {
		User struct {
			Username, Email, UserID, Domain string
		} `json:"user"`
		OrganizationRoles []struct {
			Name        string `json:"name"`
			CreatedDate string `json:"createdDate"`
		} `json:"organizationRoles"`
		ServiceRoles []struct {
			ServiceDefinitionID string `json:"serviceDefinitionId"`
			ServiceRoles        []struct {
				Name string `json:"name"`
			} `json:"serviceRoles"`
		} `json:"serviceRoles"`
	} `json:"results"`
	TotalResults int    `json:"totalResults"`
	NextLink     string `json:"nextLink"`
}

func (c *client) cspUsers(org, query string) cspUsersWire {
	c.t.Helper()
	r := c.csp("GET", fmt.Sprintf(cspUsersPathFmt, org)+query, nil)
	wantStatus(c.t, "csp users", r, 200)
	var out cspUsersWire
	r.json(c.t, &out)
	return out
}

// Orgs exist when declared (Config or seed), or, with none declared, on
// first use; an unknown one answers the real API's 404.
func TestCSPOrgs(t *testing.T) {
	tests := []struct {
		name    string
		cfg     CSPConfig
		seed    bool
		unknown int
	}{
		{"nothing declared: any org", CSPConfig{}, false, 200},
		{"declared in config", CSPConfig{Orgs: []string{"org-a"}}, false, 404},
		{"declared by a seed", CSPConfig{}, true, 404},
		{"any org switch", CSPConfig{Orgs: []string{"org-a"}, AnyOrg: true}, true, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := start(t, Config{CSP: tt.cfg})
			if tt.seed {
				if err := s.Seed(Seed{CSP: map[string][]SeedCSP{"org-a": nil}}); err != nil {
					t.Fatal(err)
				}
			}
			wantStatus(t, "known org", c.csp("GET", "/csp/gateway/am/api/orgs/org-a", nil), 200)
			for _, call := range []struct{ method, path string }{
				{"GET", "/csp/gateway/am/api/orgs/org-x"},
				{"GET", cspPath("org-x")},
				{"POST", cspPath("org-x")},
				{"GET", fmt.Sprintf(cspUsersPathFmt, "org-x")},
			} {
				r := c.csp(call.method, call.path, map[string]any{"usernames": []string{"a@example.com"}})
				want := tt.unknown
				if want == 200 && call.method == "POST" {
					want = 202
				}
				wantStatus(t, call.method+" "+call.path, r, want)
				if want == 404 {
					var e cspErr
					r.json(t, &e)
					if e.Message != cspOrgNotFound {
						t.Errorf("%s: message %q", call.path, e.Message)
					}
				}
			}
		})
	}
}

// Each switch plays one plausible answer of the real service.
func TestCSPInviteSwitches(t *testing.T) {
	type check func(t *testing.T, s *Server, c *client)
	invite := func(names []string, extra map[string]any) map[string]any {
		b := map[string]any{"usernames": names, "organizationRoles": []map[string]string{{"name": "org_member"}}}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	seed := func(t *testing.T, s *Server) {
		t.Helper()
		err := s.Seed(Seed{
			CSP:        map[string][]SeedCSP{"o": {{Username: "pending@example.com", InvitedBy: "admin@example.org"}, {Username: "joined@example.com", Status: "REDEEMED"}}},
			CSPMembers: map[string][]SeedCSPMember{"o": {{Username: "member@example.com"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		cfg  CSPConfig
		run  check
	}{
		{"duplicates answer 202 and change nothing", CSPConfig{}, func(t *testing.T, s *Server, c *client) {
			r := c.csp("POST", cspPath("o"), invite([]string{"pending@example.com", "member@example.com", "fresh@example.com"}, nil))
			wantStatus(t, "invite", r, 202)
			m := byUser(c.cspList("o", ""))
			if len(m["pending@example.com"]) != 1 || m["pending@example.com"][0].InvitedByUsername != "admin@example.org" || len(m["member@example.com"]) != 0 || len(m["fresh@example.com"]) != 1 {
				t.Errorf("after the invite: %v", m)
			}
			if d := s.Stats().DuplicateCreates; d != 2 {
				t.Errorf("duplicate_creates %d, want 2", d)
			}
		}},
		{"duplicates answer 409", CSPConfig{Duplicate409: true}, func(t *testing.T, s *Server, c *client) {
			r := c.csp("POST", cspPath("o"), invite([]string{"member@example.com", "fresh@example.com"}, nil))
			wantStatus(t, "invite", r, 409)
			if m := byUser(c.cspList("o", "")); len(m["fresh@example.com"]) != 0 {
				t.Errorf("a 409 applied part of the call: %v", m)
			}
		}},
		{"invitedByUsername echoes invitedBy", CSPConfig{}, func(t *testing.T, s *Server, c *client) {
			c.csp("POST", cspPath("o"), invite([]string{"a@example.com"}, map[string]any{"invitedBy": "boss@example.com"}))
			c.csp("POST", cspPath("o"), invite([]string{"b@example.com"}, nil))
			m := byUser(c.cspList("o", ""))
			if a, b := m["a@example.com"][0].InvitedByUsername, m["b@example.com"][0].InvitedByUsername; a != "boss@example.com" || b != "" {
				t.Errorf("invitedByUsername %q and %q, want the echo and nothing", a, b)
			}
		}},
		{"invitedByUsername filled by the server", CSPConfig{FillInvitedBy: true}, func(t *testing.T, s *Server, c *client) {
			c.csp("POST", cspPath("o"), invite([]string{"a@example.com"}, map[string]any{"invitedBy": "boss@example.com"}))
			if got := byUser(c.cspList("o", ""))["a@example.com"][0].InvitedByUsername; got != DefaultCSPPrincipal {
				t.Errorf("invitedByUsername %q, want the token's user", got)
			}
		}},
		{"expiry in ms, days honoured", CSPConfig{}, func(t *testing.T, s *Server, c *client) {
			c.csp("POST", cspPath("o"), invite([]string{"a@example.com"}, map[string]any{"invitationExpirationInDays": 30}))
			got := byUser(c.cspList("o", ""))["a@example.com"][0].ExpirationTime
			if want := s.now().Add(30 * 24 * time.Hour).UnixMilli(); got != want {
				t.Errorf("expirationTime %d, want %d", got, want)
			}
		}},
		{"expiry in seconds", CSPConfig{ExpirySeconds: true}, func(t *testing.T, s *Server, c *client) {
			c.csp("POST", cspPath("o"), invite([]string{"a@example.com"}, nil))
			got := byUser(c.cspList("o", ""))["a@example.com"][0]
			if want := s.now().Add(7 * 24 * time.Hour).Unix(); got.ExpirationTime != want || got.GeneratedAt != s.now().UnixMilli() {
				t.Errorf("expirationTime %d (want %d), generatedAt %d", got.ExpirationTime, want, got.GeneratedAt)
			}
		}},
		{"expiry days ignored", CSPConfig{IgnoreExpiryDays: true}, func(t *testing.T, s *Server, c *client) {
			c.csp("POST", cspPath("o"), invite([]string{"a@example.com"}, map[string]any{"invitationExpirationInDays": 30}))
			got := byUser(c.cspList("o", ""))["a@example.com"][0].ExpirationTime
			if want := s.now().Add(7 * 24 * time.Hour).UnixMilli(); got != want {
				t.Errorf("expirationTime %d, want the 7-day default %d", got, want)
			}
		}},
		{"REDEEMED listed", CSPConfig{}, func(t *testing.T, s *Server, c *client) {
			if m := byUser(c.cspList("o", "")); len(m["joined@example.com"]) != 1 {
				t.Errorf("REDEEMED not listed: %v", m)
			}
		}},
		{"REDEEMED hidden", CSPConfig{HideRedeemed: true}, func(t *testing.T, s *Server, c *client) {
			if m := byUser(c.cspList("o", "")); len(m["joined@example.com"]) != 0 || len(m["pending@example.com"]) != 1 {
				t.Errorf("list %v", m)
			}
			// The member is still a member.
			if u := c.cspUsers("o", ""); u.TotalResults != 2 {
				t.Errorf("%d users, want joined and member", u.TotalResults)
			}
		}},
		{"batch too large (400)", CSPConfig{MaxUsernames: 2}, func(t *testing.T, s *Server, c *client) {
			r := c.csp("POST", cspPath("o"), invite([]string{"a@example.com", "b@example.com", "c@example.com"}, nil))
			wantStatus(t, "3 usernames", r, 400)
			var e cspErr
			r.json(t, &e)
			if e.Message != fmt.Sprintf(CSPBatchTooLargeMessage, 3, 2) {
				t.Errorf("message %q", e.Message)
			}
			wantStatus(t, "2 usernames", c.csp("POST", cspPath("o"), invite([]string{"a@example.com", "b@example.com"}, nil)), 202)
		}},
		{"batch too large (413)", CSPConfig{MaxUsernames: 1, BatchTooLarge413: true}, func(t *testing.T, s *Server, c *client) {
			wantStatus(t, "2 usernames", c.csp("POST", cspPath("o"), invite([]string{"a@example.com", "b@example.com"}, nil)), 413)
		}},
		{"a refused username sinks its call", CSPConfig{RefusedDomains: []string{"blocked.example"}}, func(t *testing.T, s *Server, c *client) {
			r := c.csp("POST", cspPath("o"), invite([]string{"a@example.com", "x@Blocked.example"}, nil))
			wantStatus(t, "bad apple", r, 400)
			var e cspErr
			r.json(t, &e)
			if !strings.Contains(e.Message, "x@Blocked.example") || strings.Contains(e.Message, "a@example.com") {
				t.Errorf("message %q", e.Message)
			}
			if m := byUser(c.cspList("o", "")); len(m["a@example.com"]) != 0 {
				t.Errorf("the refused call applied a@example.com")
			}
			wantStatus(t, "the rest alone", c.csp("POST", cspPath("o"), invite([]string{"a@example.com"}, nil)), 202)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := start(t, Config{CSP: tt.cfg, Now: newClock().Now})
			seed(t, s)
			tt.run(t, s, c)
		})
	}
}

func TestCSPConfigCheck(t *testing.T) {
	for _, cfg := range []CSPConfig{{MaxUsernames: -1}, {UsersPageMax: -2}, {Orgs: []string{"a/b"}}, {RefusedDomains: []string{"x@y"}}} {
		if _, err := New(Config{CSP: cfg}); err == nil {
			t.Errorf("New(%+v): want an error", cfg)
		}
	}
}

// The org users list pages by pageStart/pageLimit with nextLink, whatever
// pageStart counts; accepting an invitation makes a member.
func TestCSPUsersPaging(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  CSPConfig
	}{
		{"pageStart is an item index", CSPConfig{UsersPageMax: 2}},
		{"pageStart is a page number", CSPConfig{UsersPageMax: 2, UsersPageStartIsPage: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, c := start(t, Config{CSP: tt.cfg})
			var ms []SeedCSPMember
			for i := range 5 {
				ms = append(ms, SeedCSPMember{Username: fmt.Sprintf("m%d@example.com", i)})
			}
			if err := s.Seed(Seed{CSPMembers: map[string][]SeedCSPMember{"o": ms}}); err != nil {
				t.Fatal(err)
			}
			var got []string
			q := "?pageLimit=200"
			for pages := 0; q != ""; pages++ {
				if pages > 5 {
					t.Fatal("paging does not end")
				}
				p := c.cspUsers("o", q)
				if p.TotalResults != 5 {
					t.Fatalf("totalResults %d", p.TotalResults)
				}
				for _, r := range p.Results {
					got = append(got, r.User.Email)
				}
				q = ""
				if p.NextLink != "" {
					_, q, _ = strings.Cut(p.NextLink, "?")
					q = "?" + q
				}
			}
			if strings.Join(got, ",") != "m0@example.com,m1@example.com,m2@example.com,m3@example.com,m4@example.com" {
				t.Fatalf("paged users %v", got)
			}
		})
	}
}

func TestCSPUsersRolesAndRemoval(t *testing.T) {
	s, c := start(t, Config{Now: newClock().Now})
	err := s.Seed(Seed{CSPMembers: map[string][]SeedCSPMember{"o": {
		{Username: "owner@example.com", OrgRoles: []string{"org_owner"}},
		{Username: "dev@example.com", ServiceRoles: []SeedServiceRole{{ServiceDefinitionLink: "/csp/gateway/slc/api/definitions/external/svc1", Roles: []string{"vmc-user:full"}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "invite", c.csp("POST", cspPath("o"), map[string]any{"usernames": []string{"new@example.com"}, "organizationRoles": []map[string]string{{"name": "org_member"}}}), 202)
	if err := s.Accept(APICSP, "o", "new@example.com"); err != nil {
		t.Fatal(err)
	}
	users := c.cspUsers("o", "")
	byMail := map[string]string{}
	for _, r := range users.Results {
		byMail[r.User.Email] = r.User.UserID
		if r.User.Domain != cspUserDomain || r.OrganizationRoles[0].CreatedDate == "" {
			t.Errorf("user %+v", r)
		}
	}
	if users.TotalResults != 3 || byMail["new@example.com"] == "" {
		t.Fatalf("users after accept: %+v", users)
	}
	dev := byMail["dev@example.com"]
	rolesPath := func(id string) string { return "/csp/gateway/am/api/v3/users/" + id + "/orgs/o/roles" }
	steps := []struct {
		name   string
		method string
		path   string
		body   any
		status int
	}{
		{"grant org_owner and a service role", "PATCH", rolesPath(dev), map[string]any{
			"organizationRoles": map[string]any{"rolesToAdd": []map[string]string{{"name": "org_owner"}}},
			"serviceRoles": []map[string]any{{"serviceDefinitionLink": "/csp/slc/api/definitions/external/svc2",
				"rolesToAdd": []map[string]string{{"name": "admin"}}}},
		}, 200},
		{"remove a service role", "PATCH", rolesPath(cspUserDomain + ":" + dev), map[string]any{
			"serviceRoles": []map[string]any{{"serviceDefinitionLink": "/csp/slc/api/definitions/external/svc1",
				"rolesToRemove": []map[string]string{{"name": "vmc-user:full"}}}},
		}, 200},
		{"bad service link", "PATCH", rolesPath(dev), map[string]any{"serviceRoles": []map[string]any{{"serviceDefinitionLink": "svc1"}}}, 400},
		{"unknown user", "PATCH", rolesPath("nobody"), map[string]any{"organizationRoles": map[string]any{}}, 404},
		{"21 ids", "DELETE", fmt.Sprintf(cspUsersPathFmt, "o"), map[string]any{"ids": many(21)}, 400},
		{"unknown id", "DELETE", fmt.Sprintf(cspUsersPathFmt, "o"), map[string]any{"ids": []string{"vmware.com:nobody"}}, 404},
		{"remove new", "DELETE", fmt.Sprintf(cspUsersPathFmt, "o"), map[string]any{"ids": []string{cspUserDomain + ":" + byMail["new@example.com"]}}, 200},
		{"remove the owner (dev owns too)", "DELETE", fmt.Sprintf(cspUsersPathFmt, "o"), map[string]any{"ids": []string{byMail["owner@example.com"]}}, 200},
		{"remove the last owner", "DELETE", fmt.Sprintf(cspUsersPathFmt, "o"), map[string]any{"ids": []string{dev}}, 400},
		{"take the last owner's role", "PATCH", rolesPath(dev), map[string]any{"organizationRoles": map[string]any{"roleNamesToRemove": []string{"org_owner"}}}, 400},
	}
	for _, st := range steps {
		wantStatus(t, st.name, c.csp(st.method, st.path, st.body), st.status)
	}
	users = c.cspUsers("o", "")
	if users.TotalResults != 1 {
		t.Fatalf("users left: %+v", users)
	}
	u := users.Results[0]
	var roles []string
	for _, r := range u.OrganizationRoles {
		roles = append(roles, r.Name)
	}
	for _, sr := range u.ServiceRoles {
		for _, r := range sr.ServiceRoles {
			roles = append(roles, r.Name+"@"+sr.ServiceDefinitionID)
		}
	}
	if u.User.Email != "dev@example.com" || strings.Join(roles, ",") != "org_member,org_owner,admin@svc2" {
		t.Fatalf("dev: %s %v", u.User.Email, roles)
	}
	// A removed member stays removed, though their invitation is REDEEMED.
	if n := c.cspUsers("o", "").TotalResults; n != 1 {
		t.Fatalf("%d users after a second read", n)
	}
}

// Members, their roles and the declared-orgs mark survive the state file.
func TestCSPStateEncoding(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)
	st := newStore()
	st.CSPDeclared = true
	o := st.cspOrgFor("o", true)
	o.add(&cspInv{Seq: st.next(), ID: newUUID(), Username: "a@example.com", Status: cspRedeemed, GeneratedAt: now, ExpiresAt: now, RedeemedAt: now, MemberSynced: true})
	o.Users["a@example.com"] = &cspUser{Seq: st.next(), ID: "id-a", Username: "a@example.com", OrgRoles: []string{"org_member"}, JoinedAt: now,
		ServiceRoles: []cspUserService{{ID: "svc", Roles: []string{"x", `q"uote`}}, {ID: "none"}}}
	o.Users["b\"@example.com"] = &cspUser{Seq: st.next(), ID: "id-b", Username: "b\"@example.com", JoinedAt: now}
	st.cspOrgFor("empty", true)

	fast := appendStore(nil, st)
	slow, err := json.Marshal(stateFile{Version: stateVersion, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(fast, &a); err != nil {
		t.Fatalf("hand-written encoding is not JSON: %v\n%s", err, fast)
	}
	if err := json.Unmarshal(slow, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("encodings differ:\nfast %s\nslow %s", fast, slow)
	}
}
