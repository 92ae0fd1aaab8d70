package emulator

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

type azInv struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Metadata struct {
		Self         string `json:"self"`
		ResourceName string `json:"resource_name"`
		CreatedAt    string `json:"created_at"`
	} `json:"metadata"`
	Email      string `json:"email"`
	AuthType   string `json:"auth_type"`
	Status     string `json:"status"`
	AcceptedAt string `json:"accepted_at"`
	ExpiresAt  string `json:"expires_at"`
}

type azList struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Next      string `json:"next"`
		TotalSize int    `json:"total_size"`
	} `json:"metadata"`
	Data []azInv `json:"data"`
}

type armErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func invite(email, auth string) map[string]any {
	return map[string]any{"invitedUserDetails": map[string]string{"invitedEmail": email, "auth_type": auth}}
}

// azListAll pages listInvitations with the page_token from metadata.next.
func (c *client) azListAll(filters map[string]string) ([]azList, []azInv) {
	c.t.Helper()
	var pages []azList
	var all []azInv
	f := map[string]string{}
	for k, v := range filters {
		f[k] = v
	}
	for {
		r := c.az("listInvitations", map[string]any{"searchFilters": f})
		wantStatus(c.t, "listInvitations", r, 200)
		var l azList
		r.json(c.t, &l)
		pages = append(pages, l)
		all = append(all, l.Data...)
		if l.Metadata.Next == "" {
			return pages, all
		}
		u, err := url.Parse(l.Metadata.Next)
		if err != nil || u.Host != "api.confluent.cloud" || u.Query().Get("page_token") == "" {
			c.t.Fatalf("next %q", l.Metadata.Next)
		}
		f["pageToken"] = u.Query().Get("page_token")
		if len(pages) > 1000 {
			c.t.Fatal("pagination does not end")
		}
	}
}

func TestAzureLifecycle(t *testing.T) {
	_, c := start(t, Config{})
	r := c.az("createInvitation", invite("ada@example.com", "AUTH_TYPE_SSO"))
	wantStatus(t, "create", r, 200)
	if r.header.Get("x-ms-request-id") == "" {
		t.Error("no x-ms-request-id")
	}
	var inv azInv
	r.json(t, &inv)
	if inv.Kind != "Invitation" || !strings.HasPrefix(inv.ID, "i-") || inv.Email != "ada@example.com" ||
		inv.AuthType != "AUTH_TYPE_SSO" || inv.Status != "INVITE_STATUS_SENT" || inv.ExpiresAt == "" || inv.Metadata.CreatedAt == "" {
		t.Errorf("created %s", r.body)
	}
	for _, field := range []string{`"creator"`, `"api_version"`, `"user"`} {
		if strings.Contains(string(r.body), field) {
			t.Errorf("Azure record has %s: %s", field, r.body)
		}
	}

	// Duplicates answer the ARM default error (switch: Config.Azure.Duplicate).
	r = c.az("createInvitation", invite("ADA@example.com", ""))
	wantStatus(t, "duplicate", r, 409)
	var e armErr
	r.json(t, &e)
	if e.Error.Code != "Conflict" {
		t.Errorf("duplicate: %s", r.body)
	}

	// Another org is separate, and created on first use.
	r = c.do("POST", azPath("sub-2/rg/org", "createInvitation"), azureAuth, invite("ada@example.com", ""))
	wantStatus(t, "create in another org", r, 200)

	if err := c.acceptHTTP(APIAzure, azOrg, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	r = c.az("createInvitation", invite("ada@example.com", ""))
	wantStatus(t, "member", r, 409)
	r.json(t, &e)
	if e.Error.Code != "Conflict" {
		t.Errorf("member: %s", r.body)
	}

	_, all := c.azListAll(nil)
	if len(all) != 1 || all[0].Status != "INVITE_STATUS_ACCEPTED" || all[0].AcceptedAt == "" {
		t.Errorf("list after accept: %+v", all)
	}

	r = c.az("listUsers", nil)
	wantStatus(t, "listUsers", r, 200)
	var users struct {
		Kind string `json:"kind"`
		Data []struct {
			Kind     string `json:"kind"`
			ID       string `json:"id"`
			Email    string `json:"email"`
			FullName string `json:"full_name"`
			AuthType string `json:"auth_type"`
		} `json:"data"`
	}
	r.json(t, &users)
	if len(users.Data) != 1 || users.Data[0].Email != "ada@example.com" || users.Data[0].Kind != "User" ||
		!strings.HasPrefix(users.Data[0].ID, "u-") || users.Data[0].FullName != "Ada" || users.Data[0].AuthType != "AUTH_TYPE_SSO" {
		t.Errorf("listUsers %s", r.body)
	}
}

func TestAzurePagination(t *testing.T) {
	s, c := start(t, Config{})
	var sd Seed
	sd.Azure = map[string][]SeedAzure{azOrg: nil}
	for i := range 230 {
		st := ""
		if i%10 == 0 {
			st = statusAccepted
		}
		sd.Azure[azOrg] = append(sd.Azure[azOrg], SeedAzure{Email: fmt.Sprintf("p%03d@example.com", i), Status: st})
	}
	if err := s.Seed(sd); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		filters   map[string]string
		wantPages int
		wantItems int
	}{
		{"default page size", nil, 23, 230},
		{"100", map[string]string{"pageSize": "100"}, 3, 230},
		{"clamped", map[string]string{"pageSize": "1000"}, 3, 230},
		{"status", map[string]string{"pageSize": "10", "status": "INVITE_STATUS_ACCEPTED"}, 3, 23},
		{"email", map[string]string{"email": "p042@example.com"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages, all := c.azListAll(tt.filters)
			if len(pages) != tt.wantPages || len(all) != tt.wantItems {
				t.Errorf("%d pages, %d items; want %d, %d", len(pages), len(all), tt.wantPages, tt.wantItems)
			}
			seen := map[string]bool{}
			for _, inv := range all {
				if seen[inv.ID] {
					t.Errorf("%s twice", inv.ID)
				}
				seen[inv.ID] = true
			}
			if pages[0].Kind != "InvitationList" || pages[0].Metadata.TotalSize != tt.wantItems {
				t.Errorf("envelope %+v", pages[0])
			}
		})
	}
	// listUsers pages the same way.
	var got []string
	f := map[string]string{"pageSize": "5"}
	for range 10 {
		r := c.az("listUsers", map[string]any{"searchFilters": f})
		var l struct {
			Metadata struct {
				Next      string `json:"next"`
				TotalSize int    `json:"total_size"`
			} `json:"metadata"`
			Data []struct {
				Email string `json:"email"`
			} `json:"data"`
		}
		r.json(t, &l)
		for _, u := range l.Data {
			got = append(got, u.Email)
		}
		if l.Metadata.Next == "" {
			break
		}
		u, _ := url.Parse(l.Metadata.Next)
		f["pageToken"] = u.Query().Get("page_token")
	}
	if len(got) != 23 {
		t.Errorf("listUsers paged %d users, want 23", len(got))
	}
}

func TestAzureErrors(t *testing.T) {
	_, c := start(t, Config{})
	base := strings.TrimSuffix(azPath(azOrg, "createInvitation"), "?api-version=2024-07-01")
	prefix := strings.TrimSuffix(base, "createInvitation")
	tests := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		body   any
		status int
		code   string
	}{
		{"no token", "POST", base + "?api-version=2024-07-01", map[string]string{}, invite("a@example.com", ""), 401, "AuthenticationFailed"},
		{"wrong token", "POST", base + "?api-version=2024-07-01", map[string]string{"Authorization": "Bearer nope"}, invite("a@example.com", ""), 401, "AuthenticationFailed"},
		{"no api-version", "POST", base, azureAuth, invite("a@example.com", ""), 400, "MissingApiVersionParameter"},
		{"bad api-version", "POST", base + "?api-version=2020-01-01", azureAuth, invite("a@example.com", ""), 400, "InvalidApiVersionParameter"},
		{"no body", "POST", base + "?api-version=2024-07-01", azureAuth, nil, 400, "InvalidRequestContent"},
		{"no invitedEmail", "POST", base + "?api-version=2024-07-01", azureAuth, map[string]any{"invitedUserDetails": map[string]string{}}, 400, "InvalidRequestContent"},
		{"no invitedUserDetails", "POST", base + "?api-version=2024-07-01", azureAuth, map[string]any{"email": "me@example.com"}, 400, "InvalidRequestContent"},
		{"bad email", "POST", base + "?api-version=2024-07-01", azureAuth, invite("nope", ""), 400, "InvalidRequestContent"},
		{"bad auth type", "POST", base + "?api-version=2024-07-01", azureAuth, invite("a@example.com", "X"), 400, "InvalidRequestContent"},
		{"list without body", "POST", prefix + "listInvitations?api-version=2024-07-01", azureAuth, nil, 400, "InvalidRequestContent"},
		{"list bad page size", "POST", prefix + "listInvitations?api-version=2024-07-01", azureAuth, map[string]any{"searchFilters": map[string]string{"pageSize": "x"}}, 400, "InvalidRequestContent"},
		{"list numeric page size", "POST", prefix + "listInvitations?api-version=2024-07-01", azureAuth, `{"searchFilters":{"pageSize":10}}`, 400, "InvalidRequestContent"},
		{"list bad page token", "POST", prefix + "listInvitations?api-version=2024-07-01", azureAuth, map[string]any{"searchFilters": map[string]string{"pageToken": "??"}}, 400, "InvalidRequestContent"},
		{"no delete action", "POST", prefix + "deleteInvitation?api-version=2024-07-01", azureAuth, map[string]any{}, 404, "NotFound"},
		{"GET of an action", "GET", prefix + "listInvitations?api-version=2024-07-01", azureAuth, nil, 404, "NotFound"},
		{"preview version ok", "POST", prefix + "listInvitations?api-version=2026-06-02-preview", azureAuth, map[string]any{}, 200, ""},
		{"old stable ok", "POST", prefix + "listUsers?api-version=2023-08-22", azureAuth, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(tt.method, tt.path, tt.hdr, tt.body)
			wantStatus(t, tt.name, r, tt.status)
			if r.header.Get("x-ms-request-id") == "" {
				t.Error("no x-ms-request-id")
			}
			if tt.code == "" {
				return
			}
			var e armErr
			r.json(t, &e)
			if e.Error.Code != tt.code || e.Error.Message == "" {
				t.Errorf("error %s, want code %s", r.body, tt.code)
			}
		})
	}
	_, all := c.azListAll(nil)
	if len(all) != 0 {
		t.Errorf("refused creates were applied: %+v", all)
	}
}
