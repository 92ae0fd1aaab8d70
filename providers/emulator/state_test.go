package emulator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stateHas reports whether the state file on disk mentions s.
func stateHas(t *testing.T, path, s string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	if !json.Valid(b) {
		t.Fatalf("state file is not valid JSON")
	}
	return strings.Contains(string(b), s)
}

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s1, err := New(Config{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s1.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, base)

	// Each acknowledged change is on disk when its answer arrives.
	var inv cfInvitation
	r := c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "ada@example.com", "auth_type": "AUTH_TYPE_SSO"})
	wantStatus(t, "create", r, 201)
	r.json(t, &inv)
	if !stateHas(t, path, inv.ID) {
		t.Fatal("create acknowledged before it was saved")
	}
	wantStatus(t, "csp invite", c.csp("POST", cspPath("o"), map[string]any{"usernames": []string{"bob@example.com"}, "customGroupsIds": []string{"g-1"}}), 202)
	if !stateHas(t, path, "bob@example.com") {
		t.Fatal("csp invite acknowledged before it was saved")
	}
	wantStatus(t, "azure create", c.az("createInvitation", invite("cy@example.com", "AUTH_TYPE_LOCAL")), 200)
	if !stateHas(t, path, "cy@example.com") {
		t.Fatal("azure create acknowledged before it was saved")
	}
	var del cfInvitation
	c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "dee@example.com"}).json(t, &del)
	wantStatus(t, "delete", c.cf("DELETE", "/iam/v2/invitations/"+del.ID, nil), 204)
	if !stateHas(t, path, statusDeactivated) {
		t.Fatal("delete acknowledged before it was saved")
	}
	if err := s1.Accept(APIConfluent, "", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	beforeCSP := c.cspList("o", "?expand")
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	s2, c2 := start(t, Config{StatePath: path})
	var got cfInvitation
	c2.cf("GET", "/iam/v2/invitations/"+inv.ID, nil).json(t, &got)
	if got.Status != statusAccepted || got.Email != "ada@example.com" || got.AuthType != "AUTH_TYPE_SSO" || got.Metadata.CreatedAt != inv.Metadata.CreatedAt {
		t.Errorf("after restart: %+v", got)
	}
	c2.cf("GET", "/iam/v2/invitations/"+del.ID, nil).json(t, &got)
	if got.Status != statusDeactivated {
		t.Errorf("deleted one after restart: %s", got.Status)
	}
	afterCSP := c2.cspList("o", "?expand")
	if fmt.Sprint(afterCSP) != fmt.Sprint(beforeCSP) {
		t.Errorf("csp after restart:\n%+v\nwant\n%+v", afterCSP, beforeCSP)
	}
	_, az := c2.azListAll(nil)
	if len(az) != 1 || az[0].Email != "cy@example.com" {
		t.Errorf("azure after restart %+v", az)
	}
	// Indexes are rebuilt: duplicates are still refused, and new ids are new.
	wantStatus(t, "duplicate after restart", c2.az("createInvitation", invite("cy@example.com", "")), 409)
	wantStatus(t, "member after restart", c2.cf("POST", "/iam/v2/invitations", map[string]string{"email": "ada@example.com"}), 409)
	var fresh cfInvitation
	c2.cf("POST", "/iam/v2/invitations", map[string]string{"email": "eve@example.com"}).json(t, &fresh)
	if fresh.ID == inv.ID || fresh.ID == del.ID {
		t.Errorf("id %s reused", fresh.ID)
	}
	if st := s2.Stats().Invitations[APIConfluent]; st.Accepted != 1 || st.Revoked != 1 || st.Pending != 1 {
		t.Errorf("counts after restart %+v", st)
	}
}

// Many concurrent changes share writes (group commit) and all land on disk.
func TestStateGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, c := start(t, Config{StatePath: path})
	const n = 200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := c.try("POST", "/iam/v2/invitations", confluentAuth, map[string]string{"email": fmt.Sprintf("p%d@example.com", i)})
			if err != nil || r.status != 201 {
				t.Errorf("create %d: %v %d", i, err, r.status)
			}
		}()
	}
	wg.Wait()
	st, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Confluent.Invs) != n {
		t.Errorf("%d invitations on disk, want %d", len(st.Confluent.Invs), n)
	}
	if s.Stats().Invitations[APIConfluent].Pending != n {
		t.Errorf("stats %+v", s.Stats())
	}
	// No temp files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
}

func TestStateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
	}{
		{"not JSON", "{"},
		{"wrong version", `{"version": 9, "store": {}}`},
		{"no store", `{"version": 1}`},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
		if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{StatePath: p}); err == nil {
			t.Errorf("%s: New accepted it", tt.name)
		}
	}
	// A state file in a directory that does not exist: the change is refused
	// rather than acknowledged and lost.
	s, err := New(Config{StatePath: filepath.Join(dir, "missing", "state.json")})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, base)
	wantStatus(t, "unsaveable create", c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "a@example.com"}), 500)
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "save state") {
		t.Errorf("Close: %v, want the save error", err)
	}
}

func TestSampleSeed(t *testing.T) {
	s, c := start(t, Config{})
	if err := s.LoadSeedFile("../../samples/emulator-seed.yaml"); err != nil {
		t.Fatal(err)
	}
	want := StatusCounts{Pending: 4, Accepted: 1, Expired: 1}
	for _, api := range []string{APIConfluent, APICSP, APIAzure} {
		if got := s.Stats().Invitations[api]; got != want {
			t.Errorf("%s: %+v, want %+v", api, got, want)
		}
	}
	_, ids := c.cfListAll("/iam/v2/invitations?page_size=100")
	if len(ids) != 6 {
		t.Errorf("confluent lists %d", len(ids))
	}
	var partner []cfInvitation
	var l cfList
	c.cf("GET", "/iam/v2/invitations?email=partner@example.org", nil).json(t, &l)
	partner = l.Data
	if len(partner) != 1 || partner[0].Creator == nil || partner[0].Creator.ID != "u-someone-else" {
		t.Errorf("partner %+v", partner)
	}
	csp := byUser(c.cspList("demo-org", "?expand"))
	if len(csp) != 6 || csp["partner@example.org"][0].InvitedByUsername != "someone-else@example.org" ||
		csp["ada@example.com"][0].InvitedByUsername != DefaultCSPPrincipal || csp["dee@example.com"][0].Status != "REDEEMED" ||
		len(csp["cy@example.com"][0].ServiceRolesDtos) != 1 {
		t.Errorf("csp %+v", csp)
	}
	r := c.do("POST", azPath("00000000-0000-0000-0000-000000000000/rg-demo/org-demo", "listInvitations"), azureAuth, map[string]any{"searchFilters": map[string]string{"pageSize": "100"}})
	var az azList
	r.json(t, &az)
	if len(az.Data) != 6 {
		t.Errorf("azure lists %d", len(az.Data))
	}
}

func TestSeedErrors(t *testing.T) {
	tests := []struct {
		name string
		seed Seed
		want string
	}{
		{"bad email", Seed{Confluent: []SeedConfluent{{Email: "nope"}}}, "not a valid email"},
		{"bad status", Seed{Confluent: []SeedConfluent{{Email: "a@example.com", Status: "SENT"}}}, "status"},
		{"bad auth type", Seed{Confluent: []SeedConfluent{{Email: "a@example.com", AuthType: "X"}}}, "auth_type"},
		{"two pending", Seed{Confluent: []SeedConfluent{{Email: "a@example.com"}, {Email: "A@example.com"}}}, "already has a pending"},
		{"bad azure key", Seed{Azure: map[string][]SeedAzure{"sub/rg": {{Email: "a@example.com"}}}}, "subscriptionId/resourceGroup/organizationName"},
		{"bad csp status", Seed{CSP: map[string][]SeedCSP{"o": {{Username: "a@example.com", Status: "EXPIRED"}}}}, "AVAILABLE, REDEEMED or REVOKED"},
		{"csp 16 groups", Seed{CSP: map[string][]SeedCSP{"o": {{Username: "a@example.com", Groups: strings.Split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", ",")}}}}, "at most 15"},
		{"csp expiry 91", Seed{CSP: map[string][]SeedCSP{"o": {{Username: "a@example.com", ExpiresInDays: 91}}}}, "1..90"},
		{"csp two pending", Seed{CSP: map[string][]SeedCSP{"o": {{Username: "a@example.com"}, {Username: "a@example.com"}}}}, "already has a pending"},
		{"csp service role without link", Seed{CSP: map[string][]SeedCSP{"o": {{Username: "a@example.com", ServiceRoles: []SeedServiceRole{{Roles: []string{"x"}}}}}}}, "service_definition_link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Seed(tt.seed)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if st := s.Stats(); st.Invitations[APIConfluent] != (StatusCounts{}) || st.Invitations[APICSP] != (StatusCounts{}) {
				t.Errorf("a refused seed was partly applied: %+v", st.Invitations)
			}
		})
	}

	// Two expired or accepted invitations for one email are fine, and a
	// seeded pending one blocks a later seed's.
	s, _ := New(Config{})
	if err := s.Seed(Seed{Confluent: []SeedConfluent{{Email: "a@example.com", Status: statusExpired}, {Email: "a@example.com", Expired: true}, {Email: "a@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(Seed{Confluent: []SeedConfluent{{Email: "a@example.com"}}}); err == nil {
		t.Error("second pending invitation accepted")
	}

	dir := t.TempDir()
	for name, content := range map[string]string{
		"unknown.yaml":  "confluent:\n  - email: a@example.com\n    colour: red\n",
		"bad.json":      `{"confluent": [{"email": "a@example.com", "colour": "red"}]}`,
		"seed.txt":      "confluent: []\n",
		"notyaml.yaml":  "confluent: [",
		"expiry.yaml":   "confluent:\n  - email: a@example.com\n    expires_at: tomorrow\n",
		"missing.json":  "",
		"wrongtop.yaml": "gcp: []\n",
	} {
		p := filepath.Join(dir, name)
		if name != "missing.json" {
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s, _ := New(Config{})
		if err := s.LoadSeedFile(p); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	// JSON works too, and an empty YAML file is an empty seed.
	jp := filepath.Join(dir, "ok.json")
	os.WriteFile(jp, []byte(`{"confluent": [{"email": "a@example.com", "expires_at": "2099-01-01T00:00:00Z"}], "csp": {"o": [{"username": "b@example.com", "expires_in_days": 30}]}}`), 0o600)
	ep := filepath.Join(dir, "empty.yaml")
	os.WriteFile(ep, nil, 0o600)
	s, _ = New(Config{})
	if err := s.LoadSeedFile(jp); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadSeedFile(ep); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	inv := s.st.Confluent.Invs[0]
	csp := s.st.CSP["o"].Invs[0]
	s.mu.Unlock()
	if !inv.ExpiresAt.Equal(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)) || !inv.CreatedAt.Before(inv.ExpiresAt) {
		t.Errorf("expires_at %v created %v", inv.ExpiresAt, inv.CreatedAt)
	}
	if d := csp.ExpiresAt.Sub(csp.GeneratedAt); d != 30*24*time.Hour {
		t.Errorf("csp expiry %v", d)
	}
}
