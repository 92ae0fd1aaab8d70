package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseMisbehave(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"overlap-pages", []string{"overlap-pages"}, ""},
		{" clock-skew, echo-auth ,clock-skew", []string{"clock-skew", "echo-auth"}, ""},
		{"overlap-pages,nope", nil, `unknown misbehaviour "nope"`},
	} {
		got, err := ParseMisbehave(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMisbehave(%q): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseMisbehave(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := New(Config{Misbehave: []string{"bogus"}}); err == nil {
		t.Error("New accepted an unknown misbehaviour")
	}
	if _, err := New(Config{MisbehaveDelay: -time.Second}); err == nil {
		t.Error("New accepted a negative misbehave delay")
	}
}

func TestMisbehaveControl(t *testing.T) {
	s, c := start(t, Config{Misbehave: []string{MisbehaveCyclePages}})
	var st MisbehaveState
	c.do("GET", "/_emulator/misbehave", nil, nil).json(t, &st)
	if !slices.Equal(st.Modes, []string{MisbehaveCyclePages}) || st.Delay != DefaultMisbehaveDelay.String() || st.HugeBytes != DefaultHugeBodyBytes {
		t.Errorf("initial state %+v", st)
	}
	for _, tc := range []struct {
		name string
		body any
		code int
	}{
		{"no modes", map[string]any{}, 400},
		{"unknown mode", map[string]any{"modes": []string{"x"}}, 400},
		{"bad delay", map[string]any{"modes": []string{}, "delay": "soon"}, 400},
		{"negative size", map[string]any{"modes": []string{}, "huge_bytes": -1}, 400},
		{"unknown field", map[string]any{"modes": []string{}, "rate": 1}, 400},
		{"set", map[string]any{"modes": []string{MisbehaveEchoAuth, MisbehaveHugeLists}, "delay": "250ms", "huge_bytes": 4096}, 204},
	} {
		if r := c.do("POST", "/_emulator/misbehave", nil, tc.body); r.status != tc.code {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, r.status, tc.code, r.body)
		}
	}
	st = s.Misbehave()
	if !slices.Equal(st.Modes, []string{MisbehaveHugeLists, MisbehaveEchoAuth}) || st.Delay != "250ms" || st.HugeBytes != 4096 {
		t.Errorf("after set: %+v", st)
	}
	// Delay and size are kept when a later call names only modes.
	wantStatus(t, "modes only", c.do("POST", "/_emulator/misbehave", nil, map[string]any{"modes": []string{}}), 204)
	if st = s.Misbehave(); len(st.Modes) != 0 || st.Delay != "250ms" || st.HugeBytes != 4096 {
		t.Errorf("after turning off: %+v", st)
	}
}

// pager lists one API's invitations page by page.
type pager struct {
	name  string
	first func(c *client) resp
	next  func(c *client, tok string) resp
}

var pagers = []pager{
	{"confluent",
		func(c *client) resp { return c.cf("GET", "/iam/v2/invitations?page_size=2", nil) },
		func(c *client, tok string) resp {
			return c.cf("GET", "/iam/v2/invitations?page_size=2&page_token="+url.QueryEscape(tok), nil)
		}},
	{"azure",
		func(c *client) resp {
			return c.az("listInvitations", map[string]any{"searchFilters": map[string]string{"pageSize": "2"}})
		},
		func(c *client, tok string) resp {
			return c.az("listInvitations", map[string]any{"searchFilters": map[string]string{"pageSize": "2", "pageToken": tok}})
		}},
}

func (p pager) invite(t *testing.T, c *client, email string) {
	t.Helper()
	switch p.name {
	case "confluent":
		wantStatus(t, "create", c.cf("POST", "/iam/v2/invitations", map[string]string{"email": email}), 201)
	case "azure":
		wantStatus(t, "create", c.az("createInvitation", map[string]any{"invitedUserDetails": map[string]string{"invitedEmail": email}}), 200)
	}
}

type listPage struct {
	Metadata struct {
		Next string `json:"next"`
	} `json:"metadata"`
	Data []struct {
		ID        string `json:"id"`
		Email     string `json:"email"`
		Status    string `json:"status"`
		ExpiresAt string `json:"expires_at"`
	} `json:"data"`
}

func readPage(t *testing.T, r resp) (listPage, string) {
	t.Helper()
	wantStatus(t, "list", r, 200)
	var p listPage
	r.json(t, &p)
	tok := ""
	if p.Metadata.Next != "" {
		u, err := url.Parse(p.Metadata.Next)
		if err != nil {
			t.Fatalf("next %q: %v", p.Metadata.Next, err)
		}
		if tok = u.Query().Get("page_token"); tok == "" {
			t.Fatalf("next %q has no page_token", p.Metadata.Next)
		}
	}
	return p, tok
}

func TestMisbehavePaging(t *testing.T) {
	for _, p := range pagers {
		t.Run(p.name, func(t *testing.T) {
			s, c := start(t, Config{PageSizeMax: 2})
			var want []string
			for _, e := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"} {
				p.invite(t, c, e)
				want = append(want, e)
			}

			t.Run("overlap", func(t *testing.T) {
				if err := s.SetMisbehave([]string{MisbehaveOverlapPages}, 0, 0); err != nil {
					t.Fatal(err)
				}
				pg, tok := readPage(t, p.first(c))
				var all []string
				prevLast := ""
				for pages := 1; ; pages++ {
					if pages > 10 {
						t.Fatal("more than 10 pages for 5 invitations")
					}
					if prevLast != "" && (len(pg.Data) == 0 || pg.Data[0].ID != prevLast) {
						t.Errorf("page %d does not start with the last item of page %d (%s): %+v", pages, pages-1, prevLast, pg.Data)
					}
					for i, d := range pg.Data {
						if i > 0 || prevLast == "" {
							all = append(all, d.Email)
						}
					}
					prevLast = pg.Data[len(pg.Data)-1].ID
					if tok == "" {
						break
					}
					pg, tok = readPage(t, p.next(c, tok))
				}
				if !slices.Equal(all, want) {
					t.Errorf("overlapping pages, once the repeats are dropped: %v, want %v", all, want)
				}
				if n := s.Stats().Misbehaviours[MisbehaveOverlapPages]; n != 2 {
					t.Errorf("misbehaviours[overlap-pages] = %d, want 2 (pages 2 and 3 repeat an item)", n)
				}
			})

			t.Run("endless", func(t *testing.T) {
				if err := s.SetMisbehave([]string{MisbehaveEndlessPages}, 0, 0); err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				var emails []string
				pg, tok := readPage(t, p.first(c))
				for range 12 {
					for _, d := range pg.Data {
						emails = append(emails, d.Email)
					}
					if tok == "" {
						t.Fatal("the listing ended")
					}
					if seen[tok] {
						t.Fatalf("token %q came twice: not endless but cycling", tok)
					}
					seen[tok] = true
					pg, tok = readPage(t, p.next(c, tok))
				}
				// Three real pages, then the listing starts over.
				if !slices.Equal(emails[:5], want) || !slices.Equal(emails[5:10], want) {
					t.Errorf("endless pages served %v, want the 5 invitations over and over", emails)
				}
			})

			t.Run("cycle", func(t *testing.T) {
				if err := s.SetMisbehave([]string{MisbehaveCyclePages}, 0, 0); err != nil {
					t.Fatal(err)
				}
				var toks []string
				pg, tok := readPage(t, p.first(c))
				for range 4 {
					if tok == "" || len(pg.Data) == 0 {
						t.Fatalf("cycle page: next %q, %d items", tok, len(pg.Data))
					}
					toks = append(toks, tok)
					pg, tok = readPage(t, p.next(c, tok))
				}
				if toks[0] == toks[1] || toks[2] != toks[0] || toks[3] != toks[1] {
					t.Errorf("page tokens %v: want A, B, A, B", toks)
				}
			})
		})
	}

	t.Run("csp", func(t *testing.T) {
		s, c := start(t, Config{Misbehave: []string{MisbehaveOverlapPages}})
		wantStatus(t, "invite", c.csp("POST", cspPath("o1"), map[string]any{"usernames": []string{"a@example.com", "b@example.com"}}), 202)
		var list []struct {
			Username string `json:"username"`
			RefLink  string `json:"refLink"`
		}
		c.csp("GET", cspPath("o1"), nil).json(t, &list)
		var names []string
		for _, it := range list {
			names = append(names, it.Username)
		}
		if !slices.Equal(names, []string{"a@example.com", "b@example.com", "a@example.com", "b@example.com"}) || list[0].RefLink != list[2].RefLink {
			t.Errorf("CSP list under overlap-pages: %+v, want every invitation twice", list)
		}
		if n := s.Stats().Misbehaviours[MisbehaveOverlapPages]; n != 1 {
			t.Errorf("misbehaviours[overlap-pages] = %d, want 1", n)
		}
	})
}

func TestMisbehaveHugeLists(t *testing.T) {
	const pad = 1 << 20
	s, c := start(t, Config{Misbehave: []string{MisbehaveHugeLists}, HugeBodyBytes: pad})
	for _, tc := range []struct {
		name   string
		create func()
		list   func() resp
	}{
		{"confluent",
			func() { c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "h@example.com"}) },
			func() resp { return c.cf("GET", "/iam/v2/invitations", nil) }},
		{"csp",
			func() { c.csp("POST", cspPath("o1"), map[string]any{"usernames": []string{"h@example.com"}}) },
			func() resp { return c.csp("GET", cspPath("o1"), nil) }},
		{"azure",
			func() {
				c.az("createInvitation", map[string]any{"invitedUserDetails": map[string]string{"invitedEmail": "h@example.com"}})
			},
			func() resp { return c.az("listInvitations", map[string]any{"searchFilters": map[string]string{}}) }},
	} {
		tc.create()
		r := tc.list()
		wantStatus(t, tc.name+" list", r, 200)
		if len(r.body) < pad || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
			t.Errorf("%s: %d bytes (Content-Length %s), want over %d", tc.name, len(r.body), r.header.Get("Content-Length"), pad)
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("%s: padded answer is not JSON: %v", tc.name, err)
		}
		if !strings.Contains(string(r.body), "h@example.com") {
			t.Errorf("%s: padded answer lost its data", tc.name)
		}
	}
	// A create is not a list: never padded.
	r := c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "small@example.com"})
	if len(r.body) > 4096 {
		t.Errorf("create answer padded to %d bytes", len(r.body))
	}
	if n := s.Stats().Misbehaviours[MisbehaveHugeLists]; n != 3 {
		t.Errorf("misbehaviours[huge-lists] = %d, want 3", n)
	}
}

// creator sends one create per API.
var creators = []struct {
	api    string
	ok     int
	create func(c *client, email string) (resp, error)
	listed func(t *testing.T, c *client, email string) int // pending invitations of email
}{
	{APIConfluent, 201,
		func(c *client, email string) (resp, error) {
			return c.try("POST", "/iam/v2/invitations", confluentAuth, map[string]string{"email": email})
		},
		func(t *testing.T, c *client, email string) int {
			var p listPage
			c.cf("GET", "/iam/v2/invitations?page_size=100", nil).json(t, &p)
			n := 0
			for _, d := range p.Data {
				if d.Email == email && d.Status == statusSent {
					n++
				}
			}
			return n
		}},
	{APICSP, 202,
		func(c *client, email string) (resp, error) {
			return c.try("POST", cspPath("o1"), map[string]string{"csp-auth-token": c.token()}, map[string]any{"usernames": []string{email}})
		},
		func(t *testing.T, c *client, email string) int {
			var list []struct{ Username, Status string }
			c.csp("GET", cspPath("o1"), nil).json(t, &list)
			n := 0
			for _, it := range list {
				if it.Username == email && it.Status == cspAvailable {
					n++
				}
			}
			return n
		}},
	{APIAzure, 200,
		func(c *client, email string) (resp, error) {
			return c.try("POST", azPath(azOrg, "createInvitation"), azureAuth, map[string]any{"invitedUserDetails": map[string]string{"invitedEmail": email}})
		},
		func(t *testing.T, c *client, email string) int {
			var p listPage
			c.az("listInvitations", map[string]any{"searchFilters": map[string]string{"pageSize": "100"}}).json(t, &p)
			n := 0
			for _, d := range p.Data {
				if d.Email == email && d.Status == statusSent {
					n++
				}
			}
			return n
		}},
}

func TestMisbehaveCreates(t *testing.T) {
	for _, cr := range creators {
		t.Run(cr.api, func(t *testing.T) {
			s, c := start(t, Config{MisbehaveDelay: 800 * time.Millisecond})
			impatient := newClient(t, c.base)
			impatient.hc.Timeout = 100 * time.Millisecond
			impatient.cspToken = c.token()

			t.Run("garbage-create", func(t *testing.T) {
				if err := s.SetMisbehave([]string{MisbehaveGarbageCreate}, 0, 0); err != nil {
					t.Fatal(err)
				}
				r, err := cr.create(c, "garbage@example.com")
				if err != nil || r.status != cr.ok {
					t.Fatalf("create: %v, status %d, want %d", err, r.status, cr.ok)
				}
				var v any
				if json.Unmarshal(r.body, &v) == nil {
					t.Errorf("garbage-create answered JSON: %s", r.body)
				}
				if n := cr.listed(t, c, "garbage@example.com"); n != 1 {
					t.Errorf("%d pending invitations after a garbage answer, want 1 (applied)", n)
				}
			})

			t.Run("cut-create", func(t *testing.T) {
				if err := s.SetMisbehave([]string{MisbehaveCutCreate}, 0, 0); err != nil {
					t.Fatal(err)
				}
				if r, err := cr.create(c, "cut@example.com"); err == nil {
					t.Fatalf("cut-create answered %d %s, want a cut connection", r.status, r.body)
				}
				if n := cr.listed(t, c, "cut@example.com"); n != 1 {
					t.Errorf("%d pending invitations after a cut, want 1 (applied before the cut)", n)
				}
			})

			t.Run("late-answer", func(t *testing.T) {
				if err := s.SetMisbehave([]string{MisbehaveLateAnswer}, 0, 0); err != nil {
					t.Fatal(err)
				}
				if _, err := cr.create(impatient, "late@example.com"); err == nil || !isTimeout(err) {
					t.Fatalf("late-answer: %v, want the client's timeout", err)
				}
				if n := cr.listed(t, c, "late@example.com"); n != 1 {
					t.Errorf("%d pending invitations while the answer is held, want 1 (applied first)", n)
				}
			})

			t.Run("late-land", func(t *testing.T) {
				if err := s.SetMisbehave([]string{MisbehaveLateLand}, 0, 0); err != nil {
					t.Fatal(err)
				}
				dupes := s.Stats().DuplicateCreates
				if _, err := cr.create(impatient, "land@example.com"); err == nil || !isTimeout(err) {
					t.Fatalf("late-land: %v, want the client's timeout", err)
				}
				// A read-back while the create is held does not see it. (If
				// it landed between the two calls, there is nothing to check.)
				n := cr.listed(t, c, "land@example.com")
				if s.Misbehave().Held > 0 && n != 0 {
					t.Errorf("a held create is listed (%d) before it lands", n)
				}
				// Sending it again meanwhile is a duplicate: the first one lands.
				if err := s.SetMisbehave(nil, 0, 0); err != nil {
					t.Fatal(err)
				}
				if s.Misbehave().Held > 0 {
					r, err := cr.create(c, "land@example.com")
					if err != nil || r.status != cr.ok {
						t.Fatalf("second create: %v %d", err, r.status)
					}
					if got := s.Stats().DuplicateCreates - dupes; got != 1 {
						t.Errorf("duplicate_creates moved by %d for a create sent while one was held, want 1", got)
					}
				}
				for deadline := time.Now().Add(30 * time.Second); s.Misbehave().Held > 0; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the held create has not landed in 30 s")
					}
				}
				if n := cr.listed(t, c, "land@example.com"); n < 1 {
					t.Errorf("the held create never landed")
				}
				if st := s.Stats().Misbehaviours; st[MisbehaveLateLand] != 1 {
					t.Errorf("misbehaviours %v: want late-land 1", st)
				}
			})
		})
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

func TestMisbehaveEchoAuth(t *testing.T) {
	s, c := start(t, Config{Misbehave: []string{MisbehaveEchoAuth}})
	wrongBasic := "Basic " + b64("key-x:secret-y")
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		body               any
		status             int
		header, echoed     string
	}{
		{"confluent 401", "GET", "/iam/v2/invitations", map[string]string{"Authorization": wrongBasic}, nil, 401, "X-Echo-Authorization", wrongBasic},
		{"azure 401", "POST", azPath(azOrg, "listInvitations"), map[string]string{"Authorization": "Bearer tok-z"}, map[string]any{}, 401, "X-Echo-Authorization", "Bearer tok-z"},
		{"csp 401", "GET", cspPath("o1"), map[string]string{"csp-auth-token": "tok-w"}, nil, 401, "X-Echo-Csp-Auth-Token", "tok-w"},
		{"csp exchange", "POST", cspAuthorizePath, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "api_token=refresh-q", 400, "", "api_token=refresh-q"},
		{"success keeps its body", "GET", "/iam/v2/invitations", confluentAuth, nil, 200, "X-Echo-Authorization", ""},
	} {
		r := c.do(tc.method, tc.path, tc.hdr, tc.body)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, r.status, tc.status)
			continue
		}
		if tc.header != "" && r.header.Get(tc.header) == "" {
			t.Errorf("%s: no %s header", tc.name, tc.header)
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("%s: body is no longer JSON: %v", tc.name, err)
		}
		if tc.echoed != "" && !strings.Contains(string(r.body), tc.echoed) {
			t.Errorf("%s: body does not echo %q: %s", tc.name, tc.echoed, r.body)
		}
	}
	if n := s.Stats().Misbehaviours[MisbehaveEchoAuth]; n == 0 {
		t.Error("misbehaviours[echo-auth] not counted")
	}
}

func TestMisbehaveEscapes(t *testing.T) {
	s, c := start(t, Config{Misbehave: []string{MisbehaveEscapeErrors, MisbehaveEscapeFields}})
	c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "esc@example.com"})
	c.csp("POST", cspPath("o1"), map[string]any{"usernames": []string{"esc@example.com"}})

	// Error texts: Confluent detail/title, CSP message, ARM error.message.
	for _, tc := range []struct {
		name string
		r    resp
		text func(v map[string]any) string
	}{
		{"confluent", c.cf("GET", "/iam/v2/invitations/nope", nil), func(v map[string]any) string {
			e := v["errors"].([]any)[0].(map[string]any)
			return e["title"].(string)
		}},
		{"csp", c.csp("GET", cspPath("o1")+"/nope", nil), func(v map[string]any) string { return v["message"].(string) }},
		{"azure", c.do("POST", azPath(azOrg, "deleteInvitation"), azureAuth, map[string]any{}), func(v map[string]any) string {
			return v["error"].(map[string]any)["message"].(string)
		}},
	} {
		var v map[string]any
		tc.r.json(t, &v)
		if tc.r.status != 404 || !strings.HasSuffix(tc.text(v), EscapePayload) {
			t.Errorf("%s error %d: %q does not end with the payload", tc.name, tc.r.status, tc.text(v))
		}
	}

	var p listPage
	c.cf("GET", "/iam/v2/invitations", nil).json(t, &p)
	if len(p.Data) != 1 || p.Data[0].Email != `"`+EscapePayload+`Name" <esc@example.com>` || p.Data[0].Status != statusSent+EscapePayload {
		t.Errorf("confluent listed item: %+v", p.Data)
	}
	var list []struct{ Username, Status string }
	c.csp("GET", cspPath("o1"), nil).json(t, &list)
	if len(list) != 1 || !strings.Contains(list[0].Username, EscapePayload) || list[0].Status != cspAvailable+EscapePayload {
		t.Errorf("csp listed item: %+v", list)
	}
	st := s.Stats().Misbehaviours
	if st[MisbehaveEscapeErrors] != 3 || st[MisbehaveEscapeFields] < 2 {
		t.Errorf("misbehaviours %v: want escape-errors 3, escape-fields >= 2", st)
	}
}

func TestMisbehaveClockSkew(t *testing.T) {
	clk := newClock()
	s, c := start(t, Config{Now: clk.Now})
	c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "pend@example.com"})
	c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "acc@example.com"})
	if err := s.Accept(APIConfluent, "", "acc@example.com"); err != nil {
		t.Fatal(err)
	}
	c.csp("POST", cspPath("o1"), map[string]any{"usernames": []string{"pend@example.com"}})
	if err := s.SetMisbehave([]string{MisbehaveClockSkew}, 0, 0); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()

	var p listPage
	c.cf("GET", "/iam/v2/invitations", nil).json(t, &p)
	for _, d := range p.Data {
		exp, err := time.Parse(time.RFC3339, d.ExpiresAt)
		if err != nil {
			t.Fatalf("%s expires_at %q: %v", d.Email, d.ExpiresAt, err)
		}
		switch d.Email {
		case "pend@example.com":
			if d.Status != statusSent || !exp.Before(now.Add(-ClockSkewAge+time.Hour)) {
				t.Errorf("pending: status %s expires %s; want SENT and expired %s ago", d.Status, exp, ClockSkewAge)
			}
		case "acc@example.com":
			if !exp.After(now) {
				t.Errorf("accepted invitation's expiry moved: %s", exp)
			}
		}
	}
	var list []struct {
		Status         string
		ExpirationTime int64
	}
	c.csp("GET", cspPath("o1"), nil).json(t, &list)
	if len(list) != 1 || list[0].Status != cspAvailable || list[0].ExpirationTime != now.Add(-ClockSkewAge).UnixMilli() {
		t.Errorf("csp: %+v, want AVAILABLE expiring %d", list, now.Add(-ClockSkewAge).UnixMilli())
	}
	// The store is untouched: the upstream still holds it pending.
	if st := s.Stats(); st.Invitations[APIConfluent].Pending != 1 || st.Invitations[APICSP].Pending != 1 {
		t.Errorf("store counts %v: skew must only change what is listed", st.Invitations)
	}
	r := c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "pend@example.com"})
	if r.status != http.StatusConflict || s.Stats().DuplicateCreates != 1 {
		t.Errorf("re-create of a skewed pending invitation: %d, duplicate_creates %d; want 409 and 1", r.status, s.Stats().DuplicateCreates)
	}
	s.Reset()
	if st := s.Stats(); len(st.Misbehaviours) != 0 {
		t.Errorf("Reset kept misbehaviour counts %v", st.Misbehaviours)
	}
}
