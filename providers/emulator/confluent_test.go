package emulator

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type cfInvitation struct {
	APIVersion string `json:"api_version"`
	Kind       string `json:"kind"`
	ID         string `json:"id"`
	Metadata   struct {
		Self         string `json:"self"`
		ResourceName string `json:"resource_name"`
		CreatedAt    string `json:"created_at"`
		DeletedAt    string `json:"deleted_at"`
	} `json:"metadata"`
	Email      string  `json:"email"`
	AuthType   string  `json:"auth_type"`
	Status     string  `json:"status"`
	AcceptedAt *string `json:"accepted_at"`
	ExpiresAt  string  `json:"expires_at"`
	User       *struct {
		ID string `json:"id"`
	} `json:"user"`
	Creator *struct {
		ID           string `json:"id"`
		Related      string `json:"related"`
		ResourceName string `json:"resource_name"`
	} `json:"creator"`
}

type cfList struct {
	APIVersion string `json:"api_version"`
	Kind       string `json:"kind"`
	Metadata   struct {
		First     string  `json:"first"`
		Next      *string `json:"next"`
		TotalSize int     `json:"total_size"`
	} `json:"metadata"`
	Data []cfInvitation `json:"data"`
}

type cfFailure struct {
	Errors []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Code   string `json:"code"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Source *struct {
			Pointer   string `json:"pointer"`
			Parameter string `json:"parameter"`
		} `json:"source"`
	} `json:"errors"`
}

func TestConfluentLifecycle(t *testing.T) {
	clk := newClock()
	_, c := start(t, Config{Now: clk.Now})

	// create
	r := c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "Ada@Example.com", "auth_type": "AUTH_TYPE_SSO"})
	wantStatus(t, "create", r, 201)
	var inv cfInvitation
	r.json(t, &inv)
	if inv.APIVersion != "iam/v2" || inv.Kind != "Invitation" || !strings.HasPrefix(inv.ID, "i-") ||
		inv.Email != "Ada@Example.com" || inv.AuthType != "AUTH_TYPE_SSO" || inv.Status != "INVITE_STATUS_SENT" ||
		inv.AcceptedAt != nil || inv.Creator == nil || inv.Creator.ID != DefaultConfluentPrincipal || inv.User == nil {
		t.Fatalf("created invitation: %+v", inv)
	}
	if loc := r.header.Get("Location"); loc != c.base+"/iam/v2/invitations/"+inv.ID || inv.Metadata.Self != loc {
		t.Errorf("Location %q, self %q", loc, inv.Metadata.Self)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	if !strings.Contains(string(r.body), `"accepted_at":null`) {
		t.Errorf("accepted_at should be null until accepted: %s", r.body)
	}
	exp, _ := time.Parse(time.RFC3339, inv.ExpiresAt)
	if want := clk.Now().Add(72 * time.Hour); !exp.Equal(want) {
		t.Errorf("expires_at %s, want %s", exp, want)
	}

	// read
	r = c.cf("GET", "/iam/v2/invitations/"+inv.ID, nil)
	wantStatus(t, "get", r, 200)

	// duplicate: 409 with Location of the existing one
	r = c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "ada@example.com"})
	wantStatus(t, "duplicate create", r, 409)
	var f cfFailure
	r.json(t, &f)
	if len(f.Errors) != 1 || f.Errors[0].Code != "resource_already_exists" || f.Errors[0].Status != "409" {
		t.Errorf("409 body %s", r.body)
	}
	if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/iam/v2/invitations/"+inv.ID) {
		t.Errorf("409 Location %q", loc)
	}

	// delete: 204, then listed as DEACTIVATED; again: 204
	wantStatus(t, "delete", c.cf("DELETE", "/iam/v2/invitations/"+inv.ID, nil), 204)
	r = c.cf("GET", "/iam/v2/invitations/"+inv.ID, nil)
	var got cfInvitation
	r.json(t, &got)
	if got.Status != "INVITE_STATUS_DEACTIVATED" || got.Metadata.DeletedAt == "" {
		t.Errorf("after delete: %+v", got)
	}
	wantStatus(t, "delete again", c.cf("DELETE", "/iam/v2/invitations/"+inv.ID, nil), 204)
	wantStatus(t, "delete unknown", c.cf("DELETE", "/iam/v2/invitations/i-nope", nil), 404)
	wantStatus(t, "get unknown", c.cf("GET", "/iam/v2/invitations/i-nope", nil), 404)

	// a fresh invitation after the deactivated one, then accepted
	r = c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "ada@example.com"})
	wantStatus(t, "create after delete", r, 201)
	var second cfInvitation
	r.json(t, &second)
	if second.ID == inv.ID || second.AuthType != defaultAuthType {
		t.Errorf("second invitation %+v", second)
	}
	if err := c.acceptHTTP(APIConfluent, "", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	r = c.cf("GET", "/iam/v2/invitations/"+second.ID, nil)
	r.json(t, &got)
	if got.Status != "INVITE_STATUS_ACCEPTED" || got.AcceptedAt == nil {
		t.Errorf("after accept: %+v", got)
	}
	r = c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "ada@example.com"})
	wantStatus(t, "create for a member", r, 409)
	r.json(t, &f)
	if r.header.Get("Location") != "" || f.Errors[0].Detail != "User is already a member of the organization" {
		t.Errorf("member 409: Location %q body %s", r.header.Get("Location"), r.body)
	}
	r = c.cf("DELETE", "/iam/v2/invitations/"+second.ID, nil)
	wantStatus(t, "delete accepted", r, 400)
	r.json(t, &f)
	if f.Errors[0].Detail != "Bad Request. The invitation was already accepted" {
		t.Errorf("delete accepted: %s", r.body)
	}

	// expiry is lazy: SENT reads EXPIRED after expires_at, and a new one may be created
	r = c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "bob@example.com"})
	wantStatus(t, "create bob", r, 201)
	var bob cfInvitation
	r.json(t, &bob)
	clk.Add(72*time.Hour + time.Second)
	c.cf("GET", "/iam/v2/invitations/"+bob.ID, nil).json(t, &got)
	if got.Status != "INVITE_STATUS_EXPIRED" {
		t.Errorf("after TTL: %s", got.Status)
	}
	wantStatus(t, "create after expiry", c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "bob@example.com"}), 201)
	wantStatus(t, "delete expired", c.cf("DELETE", "/iam/v2/invitations/"+bob.ID, nil), 204)
	c.cf("GET", "/iam/v2/invitations/"+bob.ID, nil).json(t, &got)
	if got.Status != "INVITE_STATUS_EXPIRED" {
		t.Errorf("delete of an expired one changed it: %s", got.Status)
	}
}

// acceptHTTP accepts through the control endpoint.
func (c *client) acceptHTTP(api, org, email string) error {
	r := c.do("POST", "/_emulator/accept", nil, map[string]string{"api": api, "org": org, "email": email})
	if r.status != 204 {
		return fmt.Errorf("accept %s %s: %d %s", api, email, r.status, r.body)
	}
	return nil
}

func TestConfluentErrors(t *testing.T) {
	_, c := start(t, Config{})
	badAuth := map[string]string{"Authorization": "Basic " + b64("emulator-key:wrong")}
	tests := []struct {
		name    string
		method  string
		path    string
		hdr     map[string]string
		body    any
		status  int
		code    string
		pointer string
		param   string
	}{
		{"no credentials", "GET", "/iam/v2/invitations", map[string]string{}, nil, 401, "user_unauthenticated", "", ""},
		{"wrong secret", "POST", "/iam/v2/invitations", badAuth, map[string]string{"email": "a@example.com"}, 401, "user_unauthenticated", "", ""},
		{"no body", "POST", "/iam/v2/invitations", confluentAuth, nil, 400, "invalid_input", "", ""},
		{"malformed JSON", "POST", "/iam/v2/invitations", confluentAuth, "{", 400, "invalid_input", "", ""},
		{"email wrong type", "POST", "/iam/v2/invitations", confluentAuth, `{"email": 5}`, 400, "invalid_input", "", ""},
		{"no email", "POST", "/iam/v2/invitations", confluentAuth, map[string]string{"auth_type": "AUTH_TYPE_SSO"}, 422, "invalid_configuration", "/email", ""},
		{"bad email", "POST", "/iam/v2/invitations", confluentAuth, map[string]string{"email": "not-an-email"}, 422, "invalid_configuration", "/email", ""},
		{"bad auth type", "POST", "/iam/v2/invitations", confluentAuth, map[string]string{"email": "a@example.com", "auth_type": "AUTH_TYPE_OIDC"}, 422, "invalid_configuration", "/auth_type", ""},
		{"page size zero", "GET", "/iam/v2/invitations?page_size=0", confluentAuth, nil, 400, "invalid_page_size", "", "page_size"},
		{"page size text", "GET", "/iam/v2/invitations?page_size=ten", confluentAuth, nil, 400, "invalid_page_size", "", "page_size"},
		{"bad page token", "GET", "/iam/v2/invitations?page_token=%21%21", confluentAuth, nil, 400, "invalid_page_token", "", "page_token"},
		{"other api key", "GET", "/iam/v2/api-keys/OTHER", confluentAuth, nil, 404, "", "", ""},
		{"unknown path", "GET", "/iam/v2/service-accounts", confluentAuth, nil, 404, "", "", ""},
		{"wrong method", "PUT", "/iam/v2/invitations/i-1", confluentAuth, "{}", 404, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(tt.method, tt.path, tt.hdr, tt.body)
			wantStatus(t, tt.name, r, tt.status)
			var f cfFailure
			r.json(t, &f)
			if len(f.Errors) != 1 {
				t.Fatalf("errors: %s", r.body)
			}
			e := f.Errors[0]
			if e.Status != fmt.Sprint(tt.status) || e.Code != tt.code || e.ID == "" || e.ID != r.header.Get("X-Request-Id") {
				t.Errorf("error %+v (request id %q)", e, r.header.Get("X-Request-Id"))
			}
			var ptr, par string
			if e.Source != nil {
				ptr, par = e.Source.Pointer, e.Source.Parameter
			}
			if ptr != tt.pointer || par != tt.param {
				t.Errorf("source %q %q, want %q %q", ptr, par, tt.pointer, tt.param)
			}
			if tt.status == 401 {
				if h := r.header.Get("WWW-Authenticate"); h != `Basic error="invalid_key", error_description="The API Key is invalid"` {
					t.Errorf("WWW-Authenticate %q", h)
				}
			}
		})
	}
}

func TestConfluentWhoAmI(t *testing.T) {
	_, c := start(t, Config{ConfluentKey: "K1", ConfluentSecret: "S1", ConfluentPrincipal: "u-me"})
	r := c.do("GET", "/iam/v2/api-keys/K1", map[string]string{"Authorization": "Basic " + b64("K1:S1")}, nil)
	wantStatus(t, "whoami", r, 200)
	var k struct {
		APIVersion string `json:"api_version"`
		Kind       string `json:"kind"`
		ID         string `json:"id"`
		Spec       struct {
			Owner struct {
				ID   string `json:"id"`
				Kind string `json:"kind"`
			} `json:"owner"`
		} `json:"spec"`
	}
	r.json(t, &k)
	if k.APIVersion != "iam/v2" || k.Kind != "ApiKey" || k.ID != "K1" || k.Spec.Owner.ID != "u-me" || k.Spec.Owner.Kind != "User" {
		t.Errorf("api key %s", r.body)
	}
}

// listAll follows metadata.next from path, returning every page.
func (c *client) cfListAll(path string) ([]cfList, []string) {
	c.t.Helper()
	var pages []cfList
	var ids []string
	for path != "" {
		r := c.cf("GET", path, nil)
		wantStatus(c.t, "list "+path, r, 200)
		var l cfList
		r.json(c.t, &l)
		pages = append(pages, l)
		for _, inv := range l.Data {
			ids = append(ids, inv.ID)
		}
		path = ""
		if l.Metadata.Next != nil {
			path = *l.Metadata.Next
		}
		if len(pages) > 10000 {
			c.t.Fatal("pagination does not end")
		}
	}
	return pages, ids
}

func TestConfluentPagination(t *testing.T) {
	seed := func(n int) Seed {
		var sd Seed
		for i := range n {
			st := ""
			if i%5 == 0 {
				st = statusAccepted
			}
			creator := ""
			if i%2 == 0 {
				creator = "u-other"
			}
			sd.Confluent = append(sd.Confluent, SeedConfluent{Email: fmt.Sprintf("p%03d@example.com", i), Status: st, Creator: creator})
		}
		return sd
	}
	tests := []struct {
		name      string
		cfg       Config
		n         int
		query     string
		wantPages int
		wantTotal int
		wantPage1 int
	}{
		{"default page size 10", Config{}, 25, "", 3, 25, 10},
		{"page size 100", Config{}, 250, "?page_size=100", 3, 250, 100},
		{"exact multiple", Config{}, 200, "?page_size=100", 2, 200, 100},
		{"over the max is clamped", Config{}, 250, "?page_size=500", 3, 250, 100},
		{"page-size-max lowers it", Config{PageSizeMax: 20}, 50, "?page_size=100", 3, 50, 20},
		{"empty", Config{}, 0, "?page_size=100", 1, 0, 0},
		{"status filter", Config{}, 50, "?page_size=4&status=INVITE_STATUS_ACCEPTED", 3, 10, 4},
		{"creator filter", Config{}, 50, "?page_size=100&creator=u-other", 1, 25, 25},
		{"email filter is exact", Config{}, 50, "?email=P007@example.com", 1, 0, 0},
		{"email filter, exact case", Config{}, 50, "?email=p007@example.com", 1, 1, 1},
		{"email filter folds case (switch)", Config{Confluent: ConfluentConfig{EmailFilter: ConfluentEmailFold}}, 50, "?email=P007@example.com", 1, 1, 1},
		{"status and creator", Config{}, 50, "?page_size=3&status=INVITE_STATUS_SENT&creator=u-invitesync", 7, 20, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := start(t, tt.cfg)
			if err := s.Seed(seed(tt.n)); err != nil {
				t.Fatal(err)
			}
			pages, ids := c.cfListAll("/iam/v2/invitations" + tt.query)
			if len(pages) != tt.wantPages {
				t.Errorf("%d pages, want %d", len(pages), tt.wantPages)
			}
			if len(ids) != tt.wantTotal {
				t.Errorf("%d items, want %d", len(ids), tt.wantTotal)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Errorf("%s listed twice", id)
				}
				seen[id] = true
			}
			for i, p := range pages {
				if p.APIVersion != "iam/v2" || p.Kind != "InvitationList" || p.Metadata.TotalSize != tt.wantTotal {
					t.Errorf("page %d envelope: %+v", i, p.Metadata)
				}
				if (i == len(pages)-1) != (p.Metadata.Next == nil) {
					t.Errorf("page %d: next %v", i, p.Metadata.Next)
				}
				if p.Data == nil {
					t.Errorf("page %d: data is null", i)
				}
			}
			if len(pages[0].Data) != tt.wantPage1 {
				t.Errorf("first page %d items, want %d", len(pages[0].Data), tt.wantPage1)
			}
			if len(pages) > 1 {
				next, err := url.Parse(*pages[0].Metadata.Next)
				if err != nil || next.Query().Get("page_token") == "" || next.Query().Get("page_size") == "" ||
					!strings.HasPrefix(*pages[0].Metadata.Next, c.base+"/iam/v2/invitations?") {
					t.Errorf("next %q", *pages[0].Metadata.Next)
				}
			}
		})
	}
}

// Items present when a listing starts are each listed exactly once even
// while other clients keep creating invitations.
func TestConfluentPaginationConcurrentInserts(t *testing.T) {
	s, c := start(t, Config{})
	var sd Seed
	for i := range 300 {
		sd.Confluent = append(sd.Confluent, SeedConfluent{Email: fmt.Sprintf("old%03d@example.com", i)})
	}
	if err := s.Seed(sd); err != nil {
		t.Fatal(err)
	}
	_, before := c.cfListAll("/iam/v2/invitations?page_size=100")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r, err := c.try("POST", "/iam/v2/invitations", confluentAuth, map[string]string{"email": fmt.Sprintf("new%d-%d@example.com", w, i)})
				if err != nil || r.status != 201 {
					t.Errorf("concurrent create: %v %d", err, r.status)
					return
				}
			}
		}()
	}
	// Page slowly (small pages) so that inserts land between pages.
	_, during := c.cfListAll("/iam/v2/invitations?page_size=7")
	close(stop)
	wg.Wait()

	count := map[string]int{}
	for _, id := range during {
		count[id]++
	}
	for _, id := range before {
		if count[id] != 1 {
			t.Errorf("%s listed %d times during concurrent inserts", id, count[id])
		}
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	if len(during) <= len(before) {
		t.Logf("no insert landed during the listing (%d items); the test still checked the originals", len(during))
	}
}
