package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
)

type cspWire struct {
	Username          string   `json:"username"`
	Status            string   `json:"status"`
	RefLink           string   `json:"refLink"`
	ExpirationTime    int64    `json:"expirationTime"`
	GeneratedAt       int64    `json:"generatedAt"`
	RevokedAt         int64    `json:"revokedAt"`
	RevokedBy         string   `json:"revokedBy"`
	RedeemedAt        int64    `json:"redeemedAt"`
	InvitedByUsername string   `json:"invitedByUsername"`
	OrgRoleNames      []string `json:"orgRoleNames"`
	OrganizationRoles []struct {
		Name string `json:"name"`
	} `json:"organizationRoles"`
	ServiceRolesDtos []struct {
		ServiceDefinitionLink string   `json:"serviceDefinitionLink"`
		ServiceRoleNames      []string `json:"serviceRoleNames"`
		ServiceRoles          []struct {
			Name string `json:"name"`
		} `json:"serviceRoles"`
	} `json:"serviceRolesDtos"`
	CustomGroupsIDs []string `json:"customGroupsIds"`
	CustomGroups    []struct {
		ID string `json:"id"`
	} `json:"customGroups"`
}

type cspErr struct {
	CSPErrorCode string `json:"cspErrorCode"`
	Message      string `json:"message"`
	ErrorCode    string `json:"errorCode"`
	RequestID    string `json:"requestId"`
	StatusCode   int    `json:"statusCode"`
}

func (c *client) cspList(org, query string) []cspWire {
	c.t.Helper()
	r := c.csp("GET", cspPath(org)+query, nil)
	wantStatus(c.t, "csp list", r, 200)
	if !strings.HasPrefix(strings.TrimSpace(string(r.body)), "[") {
		c.t.Fatalf("list is not a bare array: %s", r.body)
	}
	var out []cspWire
	r.json(c.t, &out)
	return out
}

func byUser(list []cspWire) map[string][]cspWire {
	m := map[string][]cspWire{}
	for _, inv := range list {
		m[inv.Username] = append(m[inv.Username], inv)
	}
	return m
}

func TestCSPAuth(t *testing.T) {
	clk := newClock()
	_, c := start(t, Config{Now: clk.Now, CSPTokenTTL: 10 * time.Minute, CSPPrincipal: "me@example.com"})

	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
	}{
		{"api_token", url.Values{"api_token": {DefaultCSPRefreshToken}}, 200},
		{"deprecated refresh_token", url.Values{"refresh_token": {DefaultCSPRefreshToken}}, 200},
		{"wrong token", url.Values{"api_token": {"nope"}}, 400},
		{"no token", url.Values{}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.form(cspAuthorizePath, tt.form)
			wantStatus(t, tt.name, r, tt.status)
			if tt.status != 200 {
				var e cspErr
				r.json(t, &e)
				if e.StatusCode != 400 || e.Message == "" || e.RequestID == "" {
					t.Errorf("error body %s", r.body)
				}
				if strings.Contains(string(r.body), "nope") {
					t.Errorf("the error echoes the token: %s", r.body)
				}
				return
			}
			var tok struct {
				AccessToken string `json:"access_token"`
				ExpiresIn   int64  `json:"expires_in"`
				TokenType   string `json:"token_type"`
				IDToken     string `json:"id_token"`
				Scope       string `json:"scope"`
			}
			r.json(t, &tok)
			if tok.ExpiresIn != 599 || tok.TokenType != "bearer" || strings.Count(tok.AccessToken, ".") != 2 || tok.IDToken == "" {
				t.Errorf("token %s", r.body)
			}
			claims, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.AccessToken, ".")[1])
			if err != nil || !json.Valid(claims) {
				t.Errorf("access token is not JWT-shaped: %v", err)
			}
		})
	}

	// The query-string form of the deprecated refresh_token also works.
	wantStatus(t, "refresh_token in query", c.do("POST", cspAuthorizePath+"?refresh_token="+DefaultCSPRefreshToken, nil, nil), 200)

	for _, tt := range []struct {
		name string
		hdr  map[string]string
	}{
		{"no token", map[string]string{}},
		{"unknown token", map[string]string{"csp-auth-token": "x.y.z"}},
		{"bearer is not csp-auth-token", map[string]string{"Authorization": "Bearer " + c.token()}},
	} {
		r := c.do("GET", cspPath("o1"), tt.hdr, nil)
		wantStatus(t, tt.name, r, 401)
		var e cspErr
		r.json(t, &e)
		if e.StatusCode != 401 {
			t.Errorf("%s: %s", tt.name, r.body)
		}
	}

	r := c.csp("GET", "/csp/gateway/am/api/loggedin/user", nil)
	wantStatus(t, "loggedin", r, 200)
	var who map[string]string
	r.json(t, &who)
	if who["username"] != "me@example.com" || who["email"] != "me@example.com" || who["userId"] == "" {
		t.Errorf("loggedin user %s", r.body)
	}

	// The token expires after its TTL.
	clk.Add(10*time.Minute + time.Second)
	wantStatus(t, "expired token", c.csp("GET", cspPath("o1"), nil), 401)
}

func TestCSPLifecycle(t *testing.T) {
	clk := newClock()
	_, c := start(t, Config{Now: clk.Now})
	const org = "org-a"
	link := "/csp/gateway/slc/api/definitions/external/x"
	invite := map[string]any{
		"usernames":         []string{"ada@example.com", "bob@example.com", "ADA@example.com"},
		"organizationRoles": []map[string]string{{"name": "org_member"}},
		"serviceRolesDtos": []map[string]any{{
			"serviceDefinitionLink": link,
			"serviceRoles":          []map[string]string{{"name": "vmc-user:full"}},
		}},
		"customGroupsIds":            []string{"g-eng", "g-ops"},
		"invitationExpirationInDays": 14,
		"invitedBy":                  "ops@example.com",
	}
	r := c.csp("POST", cspPath(org), invite)
	wantStatus(t, "invite", r, 202)
	if len(r.body) != 0 {
		t.Errorf("202 has a body: %s", r.body)
	}

	// Without expand: no roles; with expand: roles.
	plain := c.cspList(org, "")
	if len(plain) != 2 {
		t.Fatalf("list: %+v", plain)
	}
	ada := plain[0]
	if ada.Username != "ada@example.com" || ada.Status != "AVAILABLE" || ada.InvitedByUsername != "ops@example.com" ||
		len(ada.OrgRoleNames) != 0 || len(ada.ServiceRolesDtos) != 0 || len(ada.CustomGroupsIDs) != 2 {
		t.Errorf("plain list item %+v", ada)
	}
	if want := clk.Now().Add(14 * 24 * time.Hour).UnixMilli(); ada.ExpirationTime != want || ada.GeneratedAt != clk.Now().UnixMilli() {
		t.Errorf("times: expiration %d generated %d", ada.ExpirationTime, ada.GeneratedAt)
	}
	if !strings.HasPrefix(ada.RefLink, "/csp/gateway/am/api/orgs/"+org+"/invitations/") {
		t.Errorf("refLink %q", ada.RefLink)
	}
	full := c.cspList(org, "?expand")
	if a := full[0]; len(a.OrganizationRoles) != 1 || a.OrganizationRoles[0].Name != "org_member" ||
		len(a.OrgRoleNames) != 1 || len(a.ServiceRolesDtos) != 1 || a.ServiceRolesDtos[0].ServiceDefinitionLink != link ||
		len(a.ServiceRolesDtos[0].ServiceRoles) != 1 || a.ServiceRolesDtos[0].ServiceRoles[0].Name != "vmc-user:full" ||
		len(a.ServiceRolesDtos[0].ServiceRoleNames) != 1 || len(a.CustomGroups) != 0 {
		t.Errorf("expanded item %+v", a)
	}
	if g := c.cspList(org, "?expandCustomGroups=true"); len(g[0].CustomGroups) != 2 {
		t.Errorf("expandCustomGroups: %+v", g[0])
	}
	if g := c.cspList(org, "?customGroupId=g-ops"); len(g) != 2 {
		t.Errorf("customGroupId filter: %d", len(g))
	}
	if g := c.cspList(org, "?customGroupId=g-none"); len(g) != 0 {
		t.Errorf("customGroupId filter none: %d", len(g))
	}
	if other := c.cspList("org-b", ""); len(other) != 0 {
		t.Errorf("another org sees %d", len(other))
	}

	// Read by the id taken from refLink.
	id := path.Base(ada.RefLink)
	r = c.csp("GET", cspPath(org)+"/"+id, nil)
	wantStatus(t, "get", r, 200)
	var one cspWire
	r.json(t, &one)
	if one.Username != "ada@example.com" || len(one.OrganizationRoles) != 1 {
		t.Errorf("get %+v", one)
	}
	wantStatus(t, "get unknown", c.csp("GET", cspPath(org)+"/nope", nil), 404)
	wantStatus(t, "get in another org", c.csp("GET", cspPath("org-b")+"/"+id, nil), 404)

	// A duplicate: 202 like any invite; bob keeps his one invitation, cy is invited.
	r = c.csp("POST", cspPath(org), map[string]any{"usernames": []string{"cy@example.com", "bob@example.com"}})
	wantStatus(t, "duplicate invite", r, 202)
	if m := byUser(c.cspList(org, "")); len(m["bob@example.com"]) != 1 || len(m["cy@example.com"]) != 1 || len(m) != 3 {
		t.Errorf("after a re-invite of bob: %v", m)
	}

	// Revoke by username: 202, AVAILABLE -> REVOKED; unknown usernames ignored.
	r = c.csp("POST", cspPath(org)+"?action=revoke", map[string]any{"usernames": []string{"bob@example.com", "zed@example.com"}})
	wantStatus(t, "revoke", r, 202)
	m := byUser(c.cspList(org, ""))
	if b := m["bob@example.com"][0]; b.Status != "REVOKED" || b.RevokedAt == 0 || b.RevokedBy != DefaultCSPPrincipal {
		t.Errorf("revoked bob %+v", b)
	}
	// Re-invite after revoke makes a new invitation.
	wantStatus(t, "reinvite bob", c.csp("POST", cspPath(org), map[string]any{"usernames": []string{"bob@example.com"}}), 202)
	if n := len(byUser(c.cspList(org, ""))["bob@example.com"]); n != 2 {
		t.Errorf("bob has %d invitations", n)
	}

	// Delete by id: 200 no body, REVOKED; again 200; unknown 404.
	r = c.csp("DELETE", cspPath(org)+"/"+id, nil)
	wantStatus(t, "delete", r, 200)
	if len(r.body) != 0 {
		t.Errorf("delete body %s", r.body)
	}
	c.csp("GET", cspPath(org)+"/"+id, nil).json(t, &one)
	if one.Status != "REVOKED" {
		t.Errorf("after delete: %s", one.Status)
	}
	wantStatus(t, "delete again", c.csp("DELETE", cspPath(org)+"/"+id, nil), 200)
	wantStatus(t, "delete unknown", c.csp("DELETE", cspPath(org)+"/nope", nil), 404)

	// Accept (REDEEMED), and a redeemed one cannot be deleted.
	wantStatus(t, "invite ada again", c.csp("POST", cspPath(org), map[string]any{"usernames": []string{"ada@example.com"}}), 202)
	if err := c.acceptHTTP(APICSP, org, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	var redeemed cspWire
	for _, inv := range byUser(c.cspList(org, ""))["ada@example.com"] {
		if inv.Status == "REDEEMED" {
			redeemed = inv
		}
	}
	if redeemed.RedeemedAt == 0 {
		t.Fatalf("no redeemed invitation for ada")
	}
	wantStatus(t, "delete redeemed", c.csp("DELETE", cspPath(org)+"/"+path.Base(redeemed.RefLink), nil), 400)

	// Expiry: the status stays AVAILABLE, and a new invite is allowed.
	clk.Add(7*24*time.Hour + time.Second)
	c.cspToken = "" // the access token expired too
	cy := byUser(c.cspList(org, ""))["cy@example.com"]
	if len(cy) != 1 || cy[0].Status != "AVAILABLE" || cy[0].ExpirationTime >= clk.Now().UnixMilli() {
		t.Errorf("expired cy %+v", cy)
	}
	wantStatus(t, "reinvite expired", c.csp("POST", cspPath(org), map[string]any{"usernames": []string{"cy@example.com"}}), 202)
}

func TestCSPValidation(t *testing.T) {
	_, c := start(t, Config{})
	groups := func(n int) []string {
		g := make([]string, n)
		for i := range g {
			g[i] = "g" + string(rune('a'+i))
		}
		return g
	}
	tests := []struct {
		name   string
		query  string
		body   any
		status int
		msg    string
	}{
		{"no body", "", nil, 400, "body is required"},
		{"malformed", "", "{", 400, "malformed JSON"},
		{"usernames missing", "", map[string]any{"customGroupsIds": []string{"g"}}, 400, "usernames is required"},
		{"usernames empty", "", map[string]any{"usernames": []string{}}, 400, "usernames is required"},
		{"usernames blank", "", map[string]any{"usernames": []string{" "}}, 400, "usernames is required"},
		{"invalid email", "", map[string]any{"usernames": []string{"a@example.com", "nope"}}, 400, "nope"},
		{"16 groups", "", map[string]any{"usernames": []string{"a@example.com"}, "customGroupsIds": groups(16)}, 400, "at most 15"},
		{"expiry 0", "", map[string]any{"usernames": []string{"a@example.com"}, "invitationExpirationInDays": 0}, 400, "outside 1..90"},
		{"expiry 91", "", map[string]any{"usernames": []string{"a@example.com"}, "invitationExpirationInDays": 91}, 400, "outside 1..90"},
		{"expiry text", "", `{"usernames":["a@example.com"],"invitationExpirationInDays":"7"}`, 400, "wrong type"},
		{"role without name", "", map[string]any{"usernames": []string{"a@example.com"}, "organizationRoles": []map[string]string{{"name": ""}}}, 400, "name is required"},
		{"service role without link", "", map[string]any{"usernames": []string{"a@example.com"}, "serviceRolesDtos": []map[string]any{{"serviceRoleNames": []string{"x"}}}}, 400, "serviceDefinitionLink"},
		{"revoke without usernames", "?action=revoke", map[string]any{}, 400, "usernames is required"},
		{"unknown action", "?action=explode", map[string]any{"usernames": []string{"a@example.com"}}, 400, "unsupported action"},
		{"15 groups is fine", "", map[string]any{"usernames": []string{"ok15@example.com"}, "customGroupsIds": groups(15)}, 202, ""},
		{"90 days is fine", "", map[string]any{"usernames": []string{"ok90@example.com"}, "invitationExpirationInDays": 90}, 202, ""},
		{"1 day is fine", "", map[string]any{"usernames": []string{"ok1@example.com"}, "invitationExpirationInDays": 1}, 202, ""},
		{"no cap on usernames", "", map[string]any{"usernames": many(50)}, 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.csp("POST", cspPath("val")+tt.query, tt.body)
			wantStatus(t, tt.name, r, tt.status)
			if tt.status == 202 {
				return
			}
			var e cspErr
			r.json(t, &e)
			if e.StatusCode != tt.status || e.RequestID == "" || e.CSPErrorCode == "" || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("error %s, want message with %q", r.body, tt.msg)
			}
		})
	}
	// Nothing refused was applied.
	if n := len(c.cspList("val", "")); n != 3+50 {
		t.Errorf("%d invitations, want 53", n)
	}
}

func many(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "user" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "@example.com"
	}
	return out
}
