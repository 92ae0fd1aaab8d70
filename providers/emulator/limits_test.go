package emulator

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// 1,000 requests sent at five times the rate: the surplus gets 429 with
// Retry-After, and the stats agree with what the client saw.
func TestRateLimitUnderLoad(t *testing.T) {
	const rate, n = 200.0, 1000
	s, c := start(t, Config{Rate: rate})
	c.hc.Transport = &http.Transport{MaxIdleConnsPerHost: 32}

	type result struct {
		status     int
		retryAfter string
		limit      string
	}
	results := make([]result, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r, err := c.try("GET", "/iam/v2/invitations", confluentAuth, nil)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					continue
				}
				results[i] = result{r.status, r.header.Get("Retry-After"), r.header.Get("X-RateLimit-Limit")}
			}
		}()
	}
	// Pace the sends at 5x the rate: request i is due at i/(5*rate) seconds.
	begin := time.Now()
	interval := time.Duration(float64(time.Second) / (5 * rate))
	for i := range n {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(begin)

	var ok, limited int
	for i, r := range results {
		switch r.status {
		case 200:
			ok++
		case 429:
			limited++
			if n, err := strconv.Atoi(r.retryAfter); err != nil || n < 1 {
				t.Errorf("request %d: Retry-After %q", i, r.retryAfter)
			}
		default:
			t.Errorf("request %d: status %d", i, r.status)
		}
		if r.limit != strconv.Itoa(DefaultBurst(rate)) {
			t.Errorf("request %d: X-RateLimit-Limit %q", i, r.limit)
		}
	}
	st := s.Stats()
	if st.Requests != n || st.RateLimited != int64(limited) || st.ByStatus["429"] != int64(limited) || st.ByStatus["200"] != int64(ok) {
		t.Errorf("stats %+v; client saw %d ok, %d limited", st, ok, limited)
	}
	if st.ByRoute["GET /iam/v2/invitations"] != n {
		t.Errorf("by_route %v", st.ByRoute)
	}
	// The bucket never lets through more than burst + rate x elapsed.
	if maxOK := float64(DefaultBurst(rate)) + rate*elapsed.Seconds() + 1; float64(ok) > maxOK {
		t.Errorf("%d requests passed in %v, more than the bucket allows (%.0f)", ok, elapsed, maxOK)
	}
	// Unless the machine was too loaded to send faster than the rate, some were refused.
	if elapsed < 4*time.Second && limited == 0 {
		t.Errorf("no 429 in %v at 5x the rate", elapsed)
	}
	t.Logf("%d requests in %v: %d ok, %d answered 429", n, elapsed.Round(time.Millisecond), ok, limited)
}

func TestRateLimitShapes(t *testing.T) {
	tests := []struct {
		name   string
		req    func(c *client) resp
		check  func(t *testing.T, r resp)
		header string
	}{
		{"confluent", func(c *client) resp { return c.cf("GET", "/iam/v2/invitations", nil) }, func(t *testing.T, r resp) {
			if len(r.body) != 0 {
				t.Errorf("Confluent 429 has a body: %s", r.body)
			}
			if r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") == "" || r.header.Get("X-Request-Id") == "" {
				t.Errorf("headers %v", r.header)
			}
		}, "X-RateLimit-Limit"},
		{"csp", func(c *client) resp {
			return c.do("GET", cspPath("o"), map[string]string{"csp-auth-token": "x"}, nil)
		}, func(t *testing.T, r resp) {
			var e cspErr
			r.json(t, &e)
			if e.StatusCode != 429 || e.Message != "The user has sent too many requests" {
				t.Errorf("CSP 429 body %s", r.body)
			}
		}, ""},
		{"azure", func(c *client) resp { return c.az("listUsers", nil) }, func(t *testing.T, r resp) {
			var e armErr
			r.json(t, &e)
			if e.Error.Code != "TooManyRequests" || r.header.Get("x-ms-ratelimit-remaining-subscription-writes") != "0" {
				t.Errorf("Azure 429 %v %s", r.header, r.body)
			}
		}, "x-ms-ratelimit-remaining-subscription-writes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 0.1 token/s, bucket of 1: the second request waits ~10 s for a token.
			_, c := start(t, Config{Rate: 0.1, Burst: 1})
			first := tt.req(c)
			if first.status == 429 {
				t.Fatalf("first request refused")
			}
			if tt.header != "" && first.header.Get(tt.header) == "" {
				t.Errorf("no %s on a passing answer", tt.header)
			}
			r := tt.req(c)
			wantStatus(t, "second request", r, 429)
			ra, err := strconv.Atoi(r.header.Get("Retry-After"))
			if err != nil || ra < 9 || ra > 10 {
				t.Errorf("Retry-After %q, want 9..10 (the next token)", r.header.Get("Retry-After"))
			}
			tt.check(t, r)
		})
	}
}

func TestRateLimitSparesControlEndpoints(t *testing.T) {
	s, c := start(t, Config{Rate: 0.1, Burst: 1, FaultRate: 1})
	for range 5 {
		wantStatus(t, "stats", c.do("GET", "/_emulator/stats", nil, nil), 200)
	}
	if st := s.Stats(); st.Requests != 0 || st.RateLimited != 0 || st.FaultsInjected != 0 {
		t.Errorf("control requests were counted: %+v", st)
	}
}

func TestFaults(t *testing.T) {
	const n = 20
	creates := func(c *client, prefix string) (statuses []int, errs int) {
		for i := range n {
			r, err := c.try("POST", "/iam/v2/invitations", confluentAuth, map[string]string{"email": fmt.Sprintf("%s%d@example.com", prefix, i)})
			if err != nil {
				errs++
				continue
			}
			statuses = append(statuses, r.status)
		}
		return statuses, errs
	}
	applied := func(s *Server) int { return s.Stats().Invitations[APIConfluent].Pending }

	t.Run("429", func(t *testing.T) {
		s, c := start(t, Config{FaultRate: 1, Faults: []string{Fault429}})
		r := c.cf("GET", "/iam/v2/invitations", nil)
		wantStatus(t, "429 fault", r, 429)
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
		}
		st := s.Stats()
		if st.FaultsInjected != 1 || st.FaultsByKind["429"] != 1 || st.RateLimited != 0 || st.ByStatus["429"] != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("503 applies nothing", func(t *testing.T) {
		s, c := start(t, Config{FaultRate: 1, Faults: []string{Fault503}})
		statuses, _ := creates(c, "x")
		for _, st := range statuses {
			if st != 503 {
				t.Fatalf("status %d", st)
			}
		}
		if a := applied(s); a != 0 {
			t.Errorf("%d applied", a)
		}
		if s.Stats().FaultsByKind["503"] != n {
			t.Errorf("stats %+v", s.Stats())
		}
	})
	t.Run("500 may have been applied", func(t *testing.T) {
		s, c := start(t, Config{FaultRate: 1, Faults: []string{Fault500}, FaultSeed: 7})
		statuses, _ := creates(c, "x")
		for _, st := range statuses {
			if st != 500 {
				t.Fatalf("status %d", st)
			}
		}
		if a := applied(s); a == 0 || a == n {
			t.Errorf("%d of %d applied; want some, not all", a, n)
		}
		r := c.cf("GET", "/iam/v2/invitations", nil)
		wantStatus(t, "read with a 500 fault", r, 500)
		var f cfFailure
		r.json(t, &f)
		if len(f.Errors) != 1 || f.Errors[0].Status != "500" {
			t.Errorf("500 body %s", r.body)
		}
	})
	t.Run("reset may have been applied", func(t *testing.T) {
		s, c := start(t, Config{FaultRate: 1, Faults: []string{FaultReset}, FaultSeed: 7})
		c.hc.Transport = &http.Transport{DisableKeepAlives: true}
		statuses, errs := creates(c, "x")
		if errs != n || len(statuses) != 0 {
			t.Errorf("%d connection errors, answers %v; want %d errors", errs, statuses, n)
		}
		if a := applied(s); a == 0 || a == n {
			t.Errorf("%d of %d applied; want some, not all", a, n)
		}
		if got := s.Stats().FaultsByKind["reset"]; got != n {
			t.Errorf("reset faults %d", got)
		}
		if s.Stats().ByStatus["200"]+s.Stats().ByStatus["201"] != 0 {
			t.Errorf("a reset request has a status: %v", s.Stats().ByStatus)
		}
	})
	t.Run("slow", func(t *testing.T) {
		_, c := start(t, Config{FaultRate: 1, Faults: []string{FaultSlow}})
		begin := time.Now()
		wantStatus(t, "slow", c.cf("GET", "/iam/v2/invitations", nil), 200)
		if d := time.Since(begin); d < SlowFaultDelay {
			t.Errorf("answered in %v, want >= %v", d, SlowFaultDelay)
		}
	})
	t.Run("toggled at run time", func(t *testing.T) {
		s, c := start(t, Config{})
		wantStatus(t, "no faults", c.cf("GET", "/iam/v2/invitations", nil), 200)
		wantStatus(t, "faults on", c.do("POST", "/_emulator/faults", nil, map[string]any{"rate": 1, "kinds": []string{"503"}}), 204)
		wantStatus(t, "fault", c.cf("GET", "/iam/v2/invitations", nil), 503)
		s.SetFaults(0, nil)
		wantStatus(t, "faults off", c.cf("GET", "/iam/v2/invitations", nil), 200)
		for _, bad := range []any{map[string]any{"rate": 2}, map[string]any{"rate": 0.5, "kinds": []string{"boom"}}, map[string]any{"kinds": []string{"429"}}} {
			wantStatus(t, fmt.Sprint(bad), c.do("POST", "/_emulator/faults", nil, bad), 400)
		}
	})
}

// The same seed gives the same faults to the same sequence of requests.
func TestFaultsDeterministic(t *testing.T) {
	run := func(seed int64) []int {
		s, c := start(t, Config{FaultRate: 0.4, Faults: []string{Fault429, Fault503, Fault500}, FaultSeed: seed})
		var out []int
		for range 60 {
			out = append(out, c.cf("GET", "/iam/v2/invitations", nil).status)
		}
		// Reset re-seeds: the sequence starts over.
		s.Reset()
		for range 60 {
			out = append(out, c.cf("GET", "/iam/v2/invitations", nil).status)
		}
		return out
	}
	a, b := run(42), run(42)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a[:60]) != fmt.Sprint(a[60:]) {
		t.Errorf("Reset did not restart the fault sequence")
	}
	faults := 0
	for _, st := range a {
		if st != 200 {
			faults++
		}
	}
	if faults == 0 || faults == len(a) {
		t.Errorf("%d of %d faulted at rate 0.4", faults, len(a))
	}
}

func TestDuplicateCreates(t *testing.T) {
	clk := newClock()
	s, c := start(t, Config{Now: clk.Now})
	steps := []struct {
		name      string
		do        func() resp
		status    int
		wantDupes int64
	}{
		{"confluent first", func() resp { return c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "a@example.com"}) }, 201, 0},
		{"confluent again", func() resp { return c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "A@example.com"}) }, 409, 1},
		{"confluent other", func() resp { return c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "b@example.com"}) }, 201, 1},
		{"csp first", func() resp {
			return c.csp("POST", cspPath("o"), map[string]any{"usernames": []string{"a@example.com", "b@example.com"}})
		}, 202, 1},
		{"csp bulk with two pending", func() resp {
			return c.csp("POST", cspPath("o"), map[string]any{"usernames": []string{"a@example.com", "b@example.com", "c@example.com"}})
		}, 202, 3}, // CSP answers 202 to re-invites (CSPConfig.Duplicate409 plays a 409)
		{"csp revoke is not a create", func() resp {
			return c.csp("POST", cspPath("o")+"?action=revoke", map[string]any{"usernames": []string{"a@example.com"}})
		}, 202, 3},
		{"csp after revoke", func() resp {
			return c.csp("POST", cspPath("o"), map[string]any{"usernames": []string{"a@example.com"}})
		}, 202, 3},
		{"csp other org", func() resp {
			return c.csp("POST", cspPath("o2"), map[string]any{"usernames": []string{"b@example.com"}})
		}, 202, 3},
		{"azure first", func() resp { return c.az("createInvitation", invite("a@example.com", "")) }, 200, 3},
		{"azure again", func() resp { return c.az("createInvitation", invite("a@example.com", "")) }, 409, 4},
		{"faulted create still arrives", func() resp {
			s.SetFaults(1, []string{Fault503})
			defer s.SetFaults(0, nil)
			return c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "a@example.com"})
		}, 503, 5},
		{"after expiry it is no duplicate", func() resp {
			clk.Add(73 * time.Hour)
			return c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "a@example.com"})
		}, 201, 5},
	}
	for _, st := range steps {
		r := st.do()
		wantStatus(t, st.name, r, st.status)
		if got := s.Stats().DuplicateCreates; got != st.wantDupes {
			t.Fatalf("%s: duplicate_creates %d, want %d", st.name, got, st.wantDupes)
		}
		c.cspToken = "" // the clock may have moved past the token's life
	}
}

func TestStatsAndControl(t *testing.T) {
	_, c := start(t, Config{})
	c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "a@example.com"})
	c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "b@example.com"})
	c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "c@example.com"})
	var inv cfInvitation
	c.cf("POST", "/iam/v2/invitations", map[string]string{"email": "d@example.com"}).json(t, &inv)
	c.cf("DELETE", "/iam/v2/invitations/"+inv.ID, nil)
	c.csp("POST", cspPath("o"), map[string]any{"usernames": []string{"a@example.com", "b@example.com"}})
	c.az("createInvitation", invite("a@example.com", ""))

	wantStatus(t, "accept", c.do("POST", "/_emulator/accept", nil, map[string]string{"api": "confluent", "email": "a@example.com"}), 204)
	wantStatus(t, "expire", c.do("POST", "/_emulator/expire", nil, map[string]string{"api": "confluent", "email": "b@example.com"}), 204)
	wantStatus(t, "accept csp", c.do("POST", "/_emulator/accept", nil, map[string]string{"api": "csp", "org": "o", "email": "a@example.com"}), 204)
	wantStatus(t, "expire csp", c.do("POST", "/_emulator/expire", nil, map[string]string{"api": "csp", "org": "o", "email": "b@example.com"}), 204)
	wantStatus(t, "expire azure", c.do("POST", "/_emulator/expire", nil, map[string]string{"api": "azure", "org": azOrg, "email": "a@example.com"}), 204)

	for _, bad := range []struct {
		body   any
		status int
	}{
		{map[string]string{"api": "confluent", "email": "a@example.com"}, 404}, // already accepted
		{map[string]string{"api": "confluent", "email": "zed@example.com"}, 404},
		{map[string]string{"api": "csp", "email": "a@example.com"}, 400}, // no org
		{map[string]string{"api": "azure", "email": "a@example.com"}, 400},
		{map[string]string{"api": "gcp", "email": "a@example.com"}, 400},
		{map[string]string{"api": "confluent"}, 400},
		{map[string]string{"api": "confluent", "email": "a@example.com", "extra": "x"}, 400},
		{nil, 400},
	} {
		wantStatus(t, fmt.Sprint(bad.body), c.do("POST", "/_emulator/accept", nil, bad.body), bad.status)
	}

	r := c.do("GET", "/_emulator/stats", nil, nil)
	wantStatus(t, "stats", r, 200)
	var st Stats
	r.json(t, &st)
	want := map[string]StatusCounts{
		APIConfluent: {Pending: 1, Accepted: 1, Expired: 1, Revoked: 1},
		APICSP:       {Accepted: 1, Expired: 1},
		APIAzure:     {Expired: 1},
	}
	for api, w := range want {
		if st.Invitations[api] != w {
			t.Errorf("%s counts %+v, want %+v", api, st.Invitations[api], w)
		}
	}
	if st.Requests != 8 || st.ByRoute["POST /iam/v2/invitations"] != 4 || st.ByRoute["DELETE /iam/v2/invitations/{id}"] != 1 ||
		st.ByRoute["POST /csp/gateway/am/api/orgs/{orgId}/invitations"] != 1 || st.ByRoute[cspAuthorize] != 1 ||
		st.ByRoute[azureCreate] != 1 || st.ByStatus["201"] != 4 || st.ByStatus["204"] != 1 || st.ByStatus["202"] != 1 {
		t.Errorf("stats %+v", st)
	}
	// The raw JSON has the contract's field names.
	for _, f := range []string{`"requests"`, `"by_status"`, `"by_route"`, `"rate_limited"`, `"faults_injected"`, `"faults_by_kind"`, `"invitations"`, `"duplicate_creates"`, `"pending"`, `"accepted"`, `"expired"`, `"revoked"`} {
		if !regexp.MustCompile(f).Match(r.body) {
			t.Errorf("stats JSON lacks %s: %s", f, r.body)
		}
	}

	wantStatus(t, "reset", c.do("POST", "/_emulator/reset", nil, nil), 204)
	st = Stats{}
	c.do("GET", "/_emulator/stats", nil, nil).json(t, &st)
	if st.Requests != 0 || len(st.ByRoute) != 0 || st.Invitations[APIConfluent] != (StatusCounts{}) || st.Invitations[APICSP] != (StatusCounts{}) {
		t.Errorf("after reset %+v", st)
	}
	if l := c.cspList("o", ""); len(l) != 0 {
		t.Errorf("csp after reset: %d", len(l))
	}
	wantStatus(t, "unknown control", c.do("GET", "/_emulator/nope", nil, nil), 404)
}

func TestRequestIDs(t *testing.T) {
	_, c := start(t, Config{})
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 20 {
		id := c.cf("GET", "/iam/v2/invitations", nil).header.Get("X-Request-Id")
		if !uuid.MatchString(id) || seen[id] {
			t.Fatalf("request id %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestLatency(t *testing.T) {
	_, c := start(t, Config{Latency: 150 * time.Millisecond})
	begin := time.Now()
	wantStatus(t, "with latency", c.cf("GET", "/iam/v2/invitations", nil), 200)
	if d := time.Since(begin); d < 150*time.Millisecond {
		t.Errorf("answered in %v, want >= 150ms", d)
	}
	// Control endpoints are not delayed: nothing to assert on a lower bound,
	// but they must still answer.
	wantStatus(t, "stats", c.do("GET", "/_emulator/stats", nil, nil), 200)
}

// The counters include a request by the time its answer arrives.
func TestStatsCountedBeforeAnswer(t *testing.T) {
	s, c := start(t, Config{})
	c.token()
	for i := 1; i <= 300; i++ {
		wantStatus(t, "list", c.csp("GET", cspPath("o"), nil), 200)
		st := s.Stats()
		if st.Requests != int64(i+1) || st.ByRoute[cspInvitationsGET] != int64(i) || st.ByStatus["200"] != int64(i+1) {
			t.Fatalf("after %d answers: %+v", i, st)
		}
	}
}
