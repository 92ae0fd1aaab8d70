package providers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// An answer over the bound is an error naming the bound, with or without a
// Content-Length, through Do and DoJSON; one under it is read whole.
func TestBodyBound(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name    string
		size    int
		chunked bool
		json    bool
		wantErr bool
	}{
		{"under, declared", limit - 10, false, false, false},
		{"exactly at the bound", limit, false, false, false},
		{"over, declared", limit + 1, false, false, true},
		{"over, chunked", 3 * limit, true, false, true},
		{"under, chunked", limit / 2, true, false, false},
		{"json over, chunked", 3 * limit, true, true, true},
		{"json over, declared", 2 * limit, false, true, true},
		{"json under, chunked", limit / 2, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A JSON string of tt.size bytes, quotes included.
			body := `"` + strings.Repeat("a", tt.size-2) + `"`
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if !tt.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				for i := 0; i < len(body); i += 64 << 10 {
					fmt.Fprint(w, body[i:min(len(body), i+64<<10)])
					if tt.chunked {
						w.(http.Flusher).Flush()
					}
				}
			}))
			defer srv.Close()
			c := testClient(t, srv.URL, Config{MaxBody: limit}, ClientOptions{})
			var err error
			var got int
			if tt.json {
				var s string
				_, err = c.DoJSON(context.Background(), Request{Method: "GET", Path: "/big", Idempotent: true}, &s)
				got = len(s) + 2
			} else {
				var resp *Response
				resp, err = c.Do(context.Background(), Request{Method: "GET", Path: "/big", Idempotent: true})
				if resp != nil {
					got = len(resp.Body)
				}
			}
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "response body over 1 MiB") || !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("err = %v, want one naming the 1 MiB bound", err)
				}
				if hits.Load() != 1 {
					t.Fatalf("an over-size answer was fetched %d times, want once", hits.Load())
				}
				return
			}
			if err != nil || got != tt.size {
				t.Fatalf("err %v, read %d bytes, want %d", err, got, tt.size)
			}
		})
	}
}

// A 2xx that is not the expected JSON: a read is retried, a write is
// "maybe applied" and not re-sent.
func TestDoJSONUndecodable(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 || r.Method == "POST" {
			fmt.Fprint(w, `{"data": [`)
			return
		}
		fmt.Fprint(w, `{"data": [1, 2]}`)
	}))
	defer srv.Close()
	c := testClient(t, srv.URL, Config{}, ClientOptions{})
	var v struct{ Data []int }
	resp, err := c.DoJSON(context.Background(), Request{Method: "GET", Path: "/l", Idempotent: true}, &v)
	if err != nil || resp.Attempts != 2 || len(v.Data) != 2 || resp.Body != nil {
		t.Fatalf("err %v, resp %+v, v %+v: want the second attempt decoded", err, resp, v)
	}
	n.Store(0)
	_, err = c.DoJSON(context.Background(), Request{Method: "POST", Path: "/c", Body: []byte(`{}`)}, &v)
	if !IsMaybeApplied(err) || Attempts(nil, err) != 1 || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Fatalf("write: err %v (attempts %d), want one maybe-applied attempt", err, Attempts(nil, err))
	}
}

// A credential echoed back by an upstream or a proxy, in any of its forms,
// in a body or a header, never reaches an error or an attempt record.
func TestCredentialsEchoedAreScrubbed(t *testing.T) {
	const key, secret = "KEY123456", "s3cr3t+/value=="
	basic := base64.StdEncoding.EncodeToString([]byte(key + ":" + secret))
	forms := map[string]string{
		"raw":          secret,
		"query-escape": url.QueryEscape(secret),
		"path-escape":  url.PathEscape(secret),
		"base64":       base64.StdEncoding.EncodeToString([]byte(secret)),
		"basic":        basic,
		"pair":         key + ":" + secret,
		"header":       "Basic " + basic,
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// A proxy echoing what it got, in a header and the body.
				w.Header().Set("X-Request-Id", "req "+form)
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"code":"bad %s","message":"you sent %s (auth %s)"}`, form, form, r.Header.Get("Authorization"))
			}))
			defer srv.Close()
			var recs []Attempt
			var mu sync.Mutex
			c := testClient(t, srv.URL, Config{OnAttempt: func(a Attempt) { mu.Lock(); recs = append(recs, a); mu.Unlock() }}, ClientOptions{
				// Only the key is registered: the secret, the pair and the
				// Basic value are learnt from the header Authorize sets.
				Secrets:   []string{key},
				Authorize: func(_ context.Context, r *http.Request) error { r.SetBasicAuth(key, secret); return nil },
				DecodeError: func(_ int, _ http.Header, b []byte) APIError {
					var m struct{ Code, Message string }
					_ = json.Unmarshal(b, &m)
					return APIError{Code: m.Code, Message: m.Message}
				},
			})
			_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true})
			if err == nil {
				t.Fatal("want an error")
			}
			rj, _ := json.Marshal(recs)
			for what, s := range map[string]string{"error": err.Error(), "attempts": string(rj)} {
				for _, leak := range []string{secret, basic, url.QueryEscape(secret), url.PathEscape(secret), key, base64.StdEncoding.EncodeToString([]byte(secret))} {
					if strings.Contains(s, leak) {
						t.Errorf("%s holds %q: %s", what, leak, s)
					}
				}
			}
			if !strings.Contains(err.Error(), Redacted) {
				t.Errorf("error %q: want the echo replaced", err)
			}
		})
	}
}

// Upstream text with control and escape sequences reaches errors neutralised.
func TestUpstreamTextIsNeutralised(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, "\x1b]0;owned\x07\x1b[31mred\x1b[0m\r\nDelete all? y/N\u202e")
	}))
	defer srv.Close()
	var recs []Attempt
	c := testClient(t, srv.URL, Config{OnAttempt: func(a Attempt) { recs = append(recs, a) }}, ClientOptions{
		DecodeError: func(_ int, _ http.Header, b []byte) APIError {
			return APIError{Code: "c\x07", Message: string(b), RequestID: "id\x1b[2J"}
		},
	})
	_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true})
	e, ok := AsError(err)
	if !ok || e.Status != http.StatusConflict {
		t.Fatalf("err = %v", err)
	}
	if want := `red  Delete all? y/N\u202E`; e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
	if e.RequestID != "id" || e.Code != `c\x07` {
		t.Errorf("request id %q, code %q", e.RequestID, e.Code)
	}
	if strings.ContainsAny(err.Error(), "\x1b\x07\r\n") || strings.ContainsAny(recs[0].RequestID+recs[0].Error, "\x1b\x07") {
		t.Errorf("control bytes survive: %q / %+v", err, recs[0])
	}
}

func TestSafeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"café ünïcode 日本", "café ünïcode 日本"},
		{"\x1b[31mred\x1b[0m", "red"},
		{"\x1b[1;2;3;4H", ""},
		{"title\x1b]0;evil\x07after", "titleafter"},
		{"osc\x1b]8;;http://x\x1b\\link", "osclink"},
		{"esc\x1bc", "esc"},
		{"unterminated\x1b[", "unterminated"},
		{"csi8\u009b31mx", "csi8x"},
		{"bell\x07 nul\x00 del\x7f", `bell\x07 nul\x00 del\x7f`},
		{"line\nbreak\r\ttab", "line break  tab"},
		{"c1\u0085", `c1\x85`},
		{"bidi\u202eevil\u2066", `bidi\u202Eevil\u2066`},
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`},
		{"bad\xffutf8", "bad\ufffdutf8"},
	}
	for _, tt := range tests {
		if got := SafeText(tt.in); got != tt.want {
			t.Errorf("SafeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Pinned concurrency is what the upstream sees in flight, whatever the
// number of callers.
func TestConcurrencyPinnedAtTheWire(t *testing.T) {
	var cur, peak atomic.Int32
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-release
		cur.Add(-1)
	}))
	defer srv.Close()
	c := testClient(t, srv.URL, Config{Concurrency: 3}, ClientOptions{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true}); err != nil {
				t.Error(err)
			}
		}()
	}
	for range 3 {
		<-arrived
	}
	if limit, inUse := c.InFlight(); limit != 3 || inUse != 3 {
		t.Errorf("in flight: limit %d, in use %d", limit, inUse)
	}
	close(release)
	wg.Wait()
	if peak.Load() != 3 {
		t.Fatalf("upstream saw %d in flight, want 3", peak.Load())
	}
	if _, err := NewClient(Config{Endpoint: srv.URL, Concurrency: -1}, ClientOptions{}); err == nil {
		t.Fatal("a negative concurrency was accepted")
	}
}

func TestRedactHeader(t *testing.T) {
	c := testClient(t, "http://127.0.0.1:1", Config{}, ClientOptions{Secrets: []string{"tok-123456"}})
	h := http.Header{
		"Authorization":  {"Bearer tok-123456"},
		"Set-Cookie":     {"s=1"},
		"Csp-Auth-Token": {"abc"},
		"X-Echo":         {"you sent tok-123456\x1b[2J"},
		"X-Ratelimit":    {"10"},
	}
	got := c.RedactHeader(h)
	want := http.Header{
		"Authorization":  {Redacted},
		"Set-Cookie":     {Redacted},
		"Csp-Auth-Token": {Redacted},
		"X-Echo":         {"you sent " + Redacted},
		"X-Ratelimit":    {"10"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("RedactHeader = %v, want %v", got, want)
	}
	if h.Get("Authorization") != "Bearer tok-123456" {
		t.Fatal("RedactHeader changed its argument")
	}
}

// With an OnResponse hook (check --record), DoJSON still decodes, and the
// hook sees the raw body; the Response holds no copy of it.
func TestDoJSONWithOnResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":[1,2,3]}`)
	}))
	defer srv.Close()
	var seen []byte
	c := testClient(t, srv.URL, Config{OnResponse: func(_, _ string, _ int, _ http.Header, body []byte) { seen = body }}, ClientOptions{})
	var v struct{ Data []int }
	resp, err := c.DoJSON(context.Background(), Request{Method: "GET", Path: "/l", Idempotent: true}, &v)
	if err != nil || len(v.Data) != 3 || resp.Body != nil || string(seen) != `{"data":[1,2,3]}` {
		t.Fatalf("err %v, v %+v, body %q, hook saw %q", err, v, resp.Body, seen)
	}
}
