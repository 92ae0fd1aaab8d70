package emulator

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func azOrgPath(org string) string {
	p := strings.SplitN(org, "/", 3)
	return "/subscriptions/" + p[0] + "/resourceGroups/" + p[1] + "/providers/Microsoft.Confluent/organizations/" + p[2] + "?api-version=2024-07-01"
}

// Role bindings through the access actions, and the organization resource
// naming the Confluent organization id they need.
func TestAzureRoleBindings(t *testing.T) {
	s, c := start(t, Config{})
	if err := s.Seed(Seed{Azure: map[string][]SeedAzure{azOrg: {{Email: "ada@example.com", Status: statusAccepted, Roles: []string{"MetricsViewer"}}}}}); err != nil {
		t.Fatal(err)
	}
	r := c.do("GET", azOrgPath(azOrg), azureAuth, nil)
	wantStatus(t, "organization", r, 200)
	var o struct {
		ID         string `json:"id"`
		Properties struct {
			OrganizationID string `json:"organizationId"`
		} `json:"properties"`
	}
	r.json(t, &o)
	if o.Properties.OrganizationID != s.st.azureOrg(azOrg, false).ID || !strings.HasSuffix(o.ID, "/organizations/org-1") {
		t.Fatalf("organization %s", r.body)
	}
	crn := "crn://confluent.cloud/organization=" + o.Properties.OrganizationID
	body := map[string]string{"principal": "User:u-x", "role_name": "EnvironmentAdmin", "crn_pattern": crn + "/environment=env-1"}
	r = c.az("createRoleBinding", body)
	wantStatus(t, "create", r, 200)
	var b struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	}
	r.json(t, &b)
	if b.Kind != "RoleBinding" || b.ID == "" {
		t.Fatalf("created %s", r.body)
	}
	wantStatus(t, "duplicate (ARM default error)", c.az("createRoleBinding", body), 409)
	wantStatus(t, "bad role", c.az("createRoleBinding", map[string]string{"principal": "User:u-x", "role_name": "Nope", "crn_pattern": crn}), 400)

	list := func(f map[string]string) []json.RawMessage {
		t.Helper()
		r := c.az("listRoleBindings", map[string]any{"searchFilters": f})
		wantStatus(t, "list", r, 200)
		var l struct {
			Kind string            `json:"kind"`
			Data []json.RawMessage `json:"data"`
		}
		r.json(t, &l)
		if l.Kind != "RoleBindingList" {
			t.Fatalf("list %s", r.body)
		}
		return l.Data
	}
	if n := len(list(nil)); n != 2 {
		t.Errorf("all bindings: %d, want 2", n)
	}
	if n := len(list(map[string]string{"crn_pattern": crn + "/*", "principal": "User:u-x"})); n != 1 {
		t.Errorf("by principal: %d, want 1", n)
	}
	if n := len(list(map[string]string{"crn_pattern": crn})); n != 1 {
		t.Errorf("org scope only: %d, want 1 (MetricsViewer)", n)
	}
	del := azPath(azOrg, "deleteRoleBinding/"+b.ID)
	wantStatus(t, "delete", c.do("DELETE", del, azureAuth, nil), 200)
	wantStatus(t, "delete again: no such binding", c.do("DELETE", del, azureAuth, nil), 204)

	r = c.az("listRoleBindingNameList", map[string]any{"searchFilters": map[string]string{"crn_pattern": crn}})
	wantStatus(t, "role names", r, 200)
	if !strings.Contains(string(r.body), `"OrganizationAdmin"`) || !strings.Contains(string(r.body), `"RoleDisplayNameList"`) {
		t.Fatalf("role names %s", r.body)
	}
}

// The switches: page-token mapping, duplicate answers, timestamps, orgs.
func TestAzureSwitches(t *testing.T) {
	t.Run("next token modes", func(t *testing.T) {
		for _, mode := range []string{AzureNextPageToken, AzureNextLink, AzureNextBareToken} {
			s, c := start(t, Config{Azure: AzureConfig{NextToken: mode}})
			if err := s.Seed(Seed{Azure: map[string][]SeedAzure{azOrg: seedAzure(15)}}); err != nil {
				t.Fatal(err)
			}
			r := c.az("listInvitations", map[string]any{"searchFilters": map[string]string{"pageSize": "10"}})
			var l struct {
				Metadata struct {
					Next string `json:"next"`
				} `json:"metadata"`
				Data []azureInvitation `json:"data"`
			}
			r.json(t, &l)
			first := l.Data[0].ID
			u, err := url.Parse(l.Metadata.Next)
			bare := ""
			if err == nil {
				bare = u.Query().Get("page_token")
			}
			tok := map[string]string{AzureNextPageToken: bare, AzureNextLink: l.Metadata.Next, AzureNextBareToken: l.Metadata.Next}[mode]
			if mode == AzureNextBareToken && strings.Contains(l.Metadata.Next, "://") {
				t.Fatalf("%s: next %q is a URL", mode, l.Metadata.Next)
			}
			r = c.az("listInvitations", map[string]any{"searchFilters": map[string]string{"pageSize": "10", "pageToken": tok}})
			r.json(t, &l)
			if len(l.Data) != 5 || l.Data[0].ID == first {
				t.Errorf("%s: page 2 %s", mode, r.body)
			}
			if mode == AzureNextLink {
				r = c.az("listInvitations", map[string]any{"searchFilters": map[string]string{"pageSize": "10", "pageToken": bare}})
				r.json(t, &l)
				if l.Data[0].ID != first {
					t.Errorf("link mode: a bare token should serve the first page again: %s", r.body)
				}
			}
		}
	})
	t.Run("duplicate answers", func(t *testing.T) {
		for mode, want := range map[string]struct {
			status int
			code   string
		}{"": {409, "Conflict"}, AzureDupBadRequest: {400, "BadRequest"}, AzureDupLegacy: {409, "InvitationAlreadyExists"}} {
			_, c := start(t, Config{Azure: AzureConfig{Duplicate: mode}})
			wantStatus(t, "create", c.az("createInvitation", invite("a@example.com", "")), 200)
			r := c.az("createInvitation", invite("a@example.com", ""))
			var e armErr
			r.json(t, &e)
			if r.status != want.status || e.Error.Code != want.code {
				t.Errorf("%q: %d %s, want %d %s", mode, r.status, r.body, want.status, want.code)
			}
		}
	})
	t.Run("mixed timestamps", func(t *testing.T) {
		s, c := start(t, Config{Azure: AzureConfig{Timestamps: AzureTimesMixed}})
		if err := s.Seed(Seed{Azure: map[string][]SeedAzure{azOrg: seedAzure(14)}}); err != nil {
			t.Fatal(err)
		}
		_, all := c.azListAll(nil)
		forms := map[string]bool{}
		for _, inv := range all {
			switch {
			case inv.Metadata.CreatedAt == azureNotADate:
				forms["no date"] = true
			case strings.Contains(inv.ExpiresAt, "/"):
				forms["us"] = true
			case strings.Contains(inv.ExpiresAt, " "):
				forms["space"] = true
			case strings.HasSuffix(inv.ExpiresAt, "Z"):
				forms["rfc3339"] = true
			default:
				forms["no zone"] = true
			}
		}
		if len(forms) != 5 {
			t.Fatalf("forms seen: %v", forms)
		}
	})
	t.Run("declared orgs", func(t *testing.T) {
		_, c := start(t, Config{Azure: AzureConfig{Orgs: []string{strings.ToUpper(azOrg)}}})
		wantStatus(t, "a declared org (any case)", c.az("listInvitations", map[string]any{}), 200)
		r := c.do("POST", azPath("sub-1/rg-1/other", "listInvitations"), azureAuth, map[string]any{})
		wantStatus(t, "another org", r, 404)
		if !strings.Contains(string(r.body), "ResourceNotFound") {
			t.Fatalf("another org: %s", r.body)
		}
		wantStatus(t, "its resource", c.do("GET", azOrgPath("sub-1/rg-1/other"), azureAuth, nil), 404)
	})
	t.Run("config checks", func(t *testing.T) {
		for _, bad := range []AzureConfig{{NextToken: "x"}, {Duplicate: "x"}, {Timestamps: "x"}, {Orgs: []string{"no-slashes"}}} {
			if _, err := New(Config{Azure: bad}); err == nil {
				t.Errorf("New accepted %+v", bad)
			}
		}
	})
}

func seedAzure(n int) []SeedAzure {
	out := make([]SeedAzure, n)
	for i := range out {
		out[i] = SeedAzure{Email: "p" + strings.Repeat("x", i) + "@example.com"}
	}
	return out
}
