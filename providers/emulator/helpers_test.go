package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// start runs a Server on a loopback port for the test.
func start(t testing.TB, cfg Config) (*Server, *client) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, newClient(t, base)
}

// client speaks to the emulator over real HTTP.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client

	mu       sync.Mutex
	cspToken string
}

func newClient(t testing.TB, base string) *client {
	return &client{t: t, base: base, hc: &http.Client{Timeout: 30 * time.Second}}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// do sends a request; body is JSON-encoded unless it is a string or nil.
func (c *client) do(method, path string, hdr map[string]string, body any) resp {
	c.t.Helper()
	r, err := c.try(method, path, hdr, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (c *client) try(method, path string, hdr map[string]string, body any) (resp, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return resp{}, err
		}
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = c.base + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return resp{}, err
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return resp{}, err
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}, nil
}

// ---- per-API helpers ----

var confluentAuth = map[string]string{"Authorization": "Basic " + b64(DefaultConfluentKey+":"+DefaultConfluentSecret)}

func b64(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func (c *client) cf(method, path string, body any) resp {
	c.t.Helper()
	return c.do(method, path, confluentAuth, body)
}

func (c *client) token() string {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cspToken == "" {
		r := c.form(cspAuthorizePath, url.Values{"api_token": {DefaultCSPRefreshToken}})
		if r.status != 200 {
			c.t.Fatalf("authorize: %d %s", r.status, r.body)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		r.json(c.t, &tok)
		c.cspToken = tok.AccessToken
	}
	return c.cspToken
}

const cspAuthorizePath = "/csp/gateway/am/api/auth/api-tokens/authorize"

func (c *client) form(path string, v url.Values) resp {
	c.t.Helper()
	return c.do("POST", path, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, v.Encode())
}

func (c *client) csp(method, path string, body any) resp {
	c.t.Helper()
	return c.do(method, path, map[string]string{"csp-auth-token": c.token()}, body)
}

func cspPath(org string) string { return "/csp/gateway/am/api/orgs/" + org + "/invitations" }

const azOrg = "sub-1/rg-1/org-1"

func azPath(org, action string) string {
	p := strings.SplitN(org, "/", 3)
	return "/subscriptions/" + p[0] + "/resourceGroups/" + p[1] + "/providers/Microsoft.Confluent/organizations/" + p[2] +
		"/access/default/" + action + "?api-version=2024-07-01"
}

var azureAuth = map[string]string{"Authorization": "Bearer " + DefaultAzureToken}

func (c *client) az(action string, body any) resp {
	c.t.Helper()
	return c.do("POST", azPath(azOrg, action), azureAuth, body)
}

// clock is a settable clock for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// wantStatus fails unless r has status code.
func wantStatus(t testing.TB, what string, r resp, code int) {
	t.Helper()
	if r.status != code {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, code, r.body)
	}
}
