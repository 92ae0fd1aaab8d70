package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		wantErr string
	}{
		{"https://api.confluent.cloud", true, ""},
		{"https://api.confluent.cloud/", true, ""},
		{"http://127.0.0.1:8787", true, ""},
		{"http://127.9.9.9:1", true, ""},
		{"http://[::1]:8787", true, ""},
		{"http://localhost:8787", true, ""},
		{"http://LOCALHOST", true, ""},
		{"http://example.com", false, "only loopback"},
		{"http://10.0.0.1:80", false, "only loopback"},
		{"http://127.0.0.1.example.com", false, "only loopback"},
		{"https://user:pw@example.com", false, "credentials"},
		{"https://example.com/?token=x", false, "query"},
		{"ftp://example.com", false, "scheme"},
		{"example.com", false, "absolute"},
		{"", false, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseEndpoint(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseEndpoint(%q): %v", tt.in, err)
				}
				if strings.HasSuffix(u.Path, "/") {
					t.Errorf("path %q keeps a trailing slash", u.Path)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseEndpoint(%q) = %v, want error containing %q", tt.in, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("error leaks the URL's password: %v", err)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999999", time.Duration(1<<31) * time.Second, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.in != "" {
			h.Set("Retry-After", tt.in)
		}
		got, ok := parseRetryAfter(h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// step is one scripted answer of the test server.
type step struct {
	status     int
	retryAfter string
	body       string
	reset      bool // hijack and close the connection instead of answering
}

// script serves steps in order (the last one repeats) and counts requests.
type script struct {
	mu    sync.Mutex
	steps []step
	n     int
	times []time.Time
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st := s.steps[min(s.n, len(s.steps)-1)]
	s.n++
	s.times = append(s.times, time.Now())
	s.mu.Unlock()
	w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d", s.count()))
	if st.reset {
		hj, _ := w.(http.Hijacker)
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if st.retryAfter != "" {
		w.Header().Set("Retry-After", st.retryAfter)
	}
	w.WriteHeader(st.status)
	fmt.Fprint(w, st.body)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func testClient(t *testing.T, url string, cfg Config, opts ClientOptions) *Client {
	t.Helper()
	cfg.Endpoint = url
	if cfg.Rate == 0 {
		cfg.Rate = -1
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = time.Millisecond
		cfg.BackoffCap = 5 * time.Millisecond
	}
	if opts.RequestIDHeader == "" {
		opts.RequestIDHeader = "X-Request-Id"
	}
	c, err := NewClient(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDoRetries(t *testing.T) {
	quota := `{"errors":[{"status":"402","code":"quota_exceeded","detail":"invitations_per_org reached"}]}`
	tests := []struct {
		name         string
		method       string
		idempotent   bool
		accept       []int
		steps        []step
		wantStatus   int // of the Response, or of the *Error
		wantErr      bool
		wantAttempts int
		maybeApplied bool
		retryable    bool
	}{
		{"get recovers from 5xx", "GET", true, nil, []step{{status: 500}, {status: 502}, {status: 504}, {status: 200}}, 200, false, 4, false, false},
		{"get recovers from reset", "GET", true, nil, []step{{reset: true}, {status: 200}}, 200, false, 2, false, false},
		{"get gives up after max attempts", "GET", true, nil, []step{{status: 503}}, 503, true, 6, false, true},
		{"get 404 is final", "GET", true, nil, []step{{status: 404}}, 404, true, 1, false, false},
		{"delete 404 accepted", "DELETE", true, []int{404}, []step{{status: 404}}, 404, false, 1, false, false},
		{"post 500 may be applied", "POST", false, nil, []step{{status: 500}, {status: 201}}, 500, true, 1, true, true},
		{"post 502 may be applied", "POST", false, nil, []step{{status: 502}, {status: 201}}, 502, true, 1, true, true},
		{"post reset may be applied", "POST", false, nil, []step{{reset: true}, {status: 201}}, 0, true, 1, true, true},
		{"post 503 re-sent", "POST", false, nil, []step{{status: 503}, {status: 201}}, 201, false, 2, false, false},
		{"post 429 re-sent", "POST", false, nil, []step{{status: 429, retryAfter: "0"}, {status: 201}}, 201, false, 2, false, false},
		{"post 409 accepted", "POST", false, []int{409}, []step{{status: 409}}, 409, false, 1, false, false},
		{"402 quota is permanent", "POST", false, nil, []step{{status: 402, body: quota}}, 402, true, 1, false, false},
		{"400 is permanent", "GET", true, nil, []step{{status: 400}}, 400, true, 1, false, false},
		{"retry-after too long", "GET", true, nil, []step{{status: 429, retryAfter: "3600"}, {status: 200}}, 429, true, 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{steps: tt.steps}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := testClient(t, srv.URL, Config{}, ClientOptions{DecodeError: func(_ int, _ http.Header, b []byte) APIError {
				var f struct {
					Errors []struct{ Code, Detail string } `json:"errors"`
				}
				if json.Unmarshal(b, &f) == nil && len(f.Errors) > 0 {
					return APIError{Code: f.Errors[0].Code, Message: f.Errors[0].Detail}
				}
				return APIError{}
			}})
			resp, err := c.Do(context.Background(), Request{Method: tt.method, Path: "/x", Idempotent: tt.idempotent, Accept: tt.accept})
			if tt.wantErr {
				e, ok := AsError(err)
				if !ok {
					t.Fatalf("err = %v (resp %+v), want *Error", err, resp)
				}
				if e.Status != tt.wantStatus || e.Attempts != tt.wantAttempts || e.MaybeApplied != tt.maybeApplied || e.Retryable != tt.retryable {
					t.Fatalf("error %+v: want status %d, attempts %d, maybeApplied %v, retryable %v", e, tt.wantStatus, tt.wantAttempts, tt.maybeApplied, tt.retryable)
				}
				if e.Permanent() == e.Retryable {
					t.Errorf("Permanent() = %v with Retryable %v", e.Permanent(), e.Retryable)
				}
			} else {
				if err != nil {
					t.Fatalf("Do: %v", err)
				}
				if resp.Status != tt.wantStatus || resp.Attempts != tt.wantAttempts {
					t.Fatalf("resp status %d attempts %d, want %d, %d", resp.Status, resp.Attempts, tt.wantStatus, tt.wantAttempts)
				}
				if want := fmt.Sprintf("req-%d", tt.wantAttempts); resp.RequestID != want {
					t.Errorf("request id %q, want %q", resp.RequestID, want)
				}
			}
			if got := s.count(); got != tt.wantAttempts {
				t.Errorf("server saw %d requests, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestQuotaErrorText(t *testing.T) {
	s := &script{steps: []step{{status: 402, body: `{"errors":[{"code":"quota_exceeded","detail":"over quota"}]}`}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := testClient(t, srv.URL, Config{}, ClientOptions{DecodeError: func(_ int, _ http.Header, b []byte) APIError {
		return APIError{Code: "quota_exceeded", Message: "over quota"}
	}})
	_, err := c.Do(context.Background(), Request{Method: "POST", Path: "/iam/v2/invitations", Query: url.Values{"q": {"x"}}})
	want := "POST /iam/v2/invitations: HTTP 402 quota_exceeded: over quota (request id req-1)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestConnectionRefusedIsResentEvenForWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := testClient(t, "http://"+addr, Config{MaxAttempts: 3}, ClientOptions{})
	_, err = c.Do(context.Background(), Request{Method: "POST", Path: "/x", Body: []byte("{}")})
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.Attempts != 3 || e.MaybeApplied || e.Status != 0 || !e.Retryable {
		t.Fatalf("error %+v: want 3 attempts, not applied, retryable", e)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	for _, form := range []string{"seconds", "http-date"} {
		t.Run(form, func(t *testing.T) {
			ra := "1"
			if form == "http-date" {
				// HTTP dates have whole seconds: 2 s ahead is at least 1 s away.
				ra = time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat)
			}
			s := &script{steps: []step{{status: 429, retryAfter: ra}, {status: 200}}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := testClient(t, srv.URL, Config{}, ClientOptions{})
			if _, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true}); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			gap := s.times[1].Sub(s.times[0])
			s.mu.Unlock()
			if gap < 900*time.Millisecond {
				t.Fatalf("retried after %v, want >= ~1s (Retry-After %s)", gap, ra)
			}
		})
	}
}

// One 429 pauses every worker, not just the one that got it.
func TestTooManyRequestsPausesAllWorkers(t *testing.T) {
	var first atomic.Bool
	var mu sync.Mutex
	var at429 time.Time
	var early int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			mu.Lock()
			at429 = time.Now()
			mu.Unlock()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		mu.Lock()
		if time.Since(at429) < 900*time.Millisecond {
			early++
		}
		mu.Unlock()
	}))
	defer srv.Close()
	got429 := make(chan struct{})
	var once sync.Once
	c := testClient(t, srv.URL, Config{OnAttempt: func(a Attempt) {
		if a.Status == http.StatusTooManyRequests {
			once.Do(func() { close(got429) })
		}
	}}, ClientOptions{})
	ctx := context.Background()
	errs := make(chan error, 9)
	go func() {
		_, err := c.Do(ctx, Request{Method: "GET", Path: "/first", Idempotent: true})
		errs <- err
	}()
	<-got429
	for range 8 {
		go func() {
			_, err := c.Do(ctx, Request{Method: "GET", Path: "/other", Idempotent: true})
			errs <- err
		}()
	}
	for range 9 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if early != 0 {
		t.Fatalf("%d requests arrived inside the Retry-After window", early)
	}
}

// The rate-limit headers set the pacer, never a pause of every worker: a
// budget known to last (Reset > 1 s) is spread over the window; a reading of
// "nothing left, back within a second" adds no spacing.
func TestRateLimitHeadersSetThePacer(t *testing.T) {
	tests := []struct {
		remaining, reset string
		wantGap          time.Duration
	}{
		{"0", "1", 0},
		{"1", "1", 0},
		{"0", "3", 2 * time.Second},
		{"3", "5", time.Second},
		{"99", "61", 600 * time.Millisecond},
		{"x", "5", 0},  // unreadable: ignored
		{"-1", "5", 0}, // nonsense: ignored
	}
	for _, tt := range tests {
		t.Run(tt.remaining+"/"+tt.reset, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-RateLimit-Remaining", tt.remaining)
				w.Header().Set("X-RateLimit-Reset", tt.reset)
			}))
			defer srv.Close()
			c := testClient(t, srv.URL, Config{}, ClientOptions{RateLimitHeaders: true})
			if _, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true}); err != nil {
				t.Fatal(err)
			}
			c.pacer.mu.Lock()
			gap := c.pacer.gap
			c.pacer.mu.Unlock()
			if gap != tt.wantGap {
				t.Fatalf("pacer gap %v, want %v", gap, tt.wantGap)
			}
			c.mu.Lock()
			paused := c.pausedUntil
			c.mu.Unlock()
			if !paused.IsZero() {
				t.Fatalf("headers paused every worker until %v", paused)
			}
		})
	}
}

func TestLimiterPacesEveryAttempt(t *testing.T) {
	// 10 requests at 20/s with burst 1, the first one retried once: at least
	// (attempts-1)/20 s pass, which a loaded machine can only lengthen.
	s := &script{steps: []step{{status: 503}, {status: 200}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := testClient(t, srv.URL, Config{Rate: 20}, ClientOptions{})
	start := time.Now()
	for range 10 {
		if _, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true}); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	if total := s.count(); total != 11 {
		t.Fatalf("server saw %d attempts, want 11 (one retry)", total)
	}
	if want := 10 * time.Second / 20; elapsed < want-10*time.Millisecond {
		t.Fatalf("11 attempts took %v, want >= %v at 20/s", elapsed, want)
	}
}

func TestAttemptTimeout(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // hang the first answer past the client's timeout
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	c := testClient(t, srv.URL, Config{Timeout: time.Second}, ClientOptions{})
	resp, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true})
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("GET after a timeout: resp %+v err %v, want success on attempt 2", resp, err)
	}
	n.Store(0)
	_, err = c.Do(context.Background(), Request{Method: "POST", Path: "/x"})
	if !IsMaybeApplied(err) || !strings.Contains(err.Error(), "no answer within 1s") {
		t.Fatalf("POST after a timeout: %v, want a may-be-applied timeout", err)
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	s := &script{steps: []step{{status: 503}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := testClient(t, srv.URL, Config{MaxAttempts: 1000, BackoffBase: 50 * time.Millisecond, BackoffCap: 50 * time.Millisecond}, ClientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/x", Idempotent: true})
	if err == nil {
		t.Fatal("want an error")
	}
	if s.count() >= 1000 {
		t.Fatalf("kept retrying after the context ended (%d attempts)", s.count())
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	s := &script{steps: []step{{status: 401}}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var refreshes atomic.Int32
	c := testClient(t, srv.URL, Config{}, ClientOptions{Unauthorized: func(*http.Request) bool {
		refreshes.Add(1)
		return true
	}})
	_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true})
	e, ok := AsError(err)
	if !ok || e.Status != 401 || e.Retryable || e.Attempts != 2 {
		t.Fatalf("err = %+v, want a permanent 401 after 2 attempts", err)
	}
	if refreshes.Load() != 1 {
		t.Fatalf("refreshed %d times, want 1", refreshes.Load())
	}
}

// Nothing secret reaches an error, an attempt record or a debug log line.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	const secret = "s3cr3t-value-123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message":"bad token %s"}`, secret)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	var recs []Attempt
	c := testClient(t, srv.URL, Config{
		Logger:    zerolog.New(&logs).Level(zerolog.DebugLevel),
		OnAttempt: func(a Attempt) { recs = append(recs, a) },
	}, ClientOptions{
		Secrets:   []string{secret},
		Authorize: func(_ context.Context, r *http.Request) error { r.SetBasicAuth("key", secret); return nil },
		DecodeError: func(_ int, _ http.Header, b []byte) APIError {
			var m struct{ Message string }
			_ = json.Unmarshal(b, &m)
			return APIError{Message: m.Message}
		},
	})
	ctx := WithAction(context.Background(), "create ada@example.com")
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/x", Query: url.Values{"token": {secret}}, Idempotent: true})
	if err == nil {
		t.Fatal("want an error")
	}
	rj, _ := json.Marshal(recs)
	for what, s := range map[string]string{"error": err.Error(), "log": logs.String(), "attempts": string(rj)} {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds the secret: %s", what, s)
		}
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("error %q: want the secret replaced", err)
	}
	if len(recs) != 1 || recs[0].Path != "/x" || recs[0].Action != "create ada@example.com" || recs[0].Status != 400 || recs[0].RequestID != "" && recs[0].RequestID == secret {
		t.Errorf("attempt records %+v", recs)
	}
	if !strings.Contains(logs.String(), `"path":"/x"`) || !strings.Contains(logs.String(), `"status":400`) {
		t.Errorf("debug log lacks the attempt: %s", logs.String())
	}
	// A transport error must not quote the URL (its query may hold secrets).
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c2 := testClient(t, "http://"+addr, Config{MaxAttempts: 1}, ClientOptions{})
	_, err = c2.Do(ctx, Request{Method: "GET", Path: "/y", Query: url.Values{"token": {secret}}, Idempotent: true})
	if err == nil || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "token=") {
		t.Fatalf("transport error %v quotes the query", err)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusFound))
	defer srv.Close()
	c := testClient(t, srv.URL, Config{}, ClientOptions{})
	_, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true})
	if StatusCode(err) != http.StatusFound || hits.Load() != 0 {
		t.Fatalf("err %v, other host hit %d times: want a 302 error and no hit", err, hits.Load())
	}
}

func TestErrorsWrap(t *testing.T) {
	e := &Error{Method: "GET", Path: "/x", Err: context.Canceled}
	if !errors.Is(fmt.Errorf("list: %w", e), context.Canceled) {
		t.Fatal("errors.Is through *Error")
	}
	if StatusCode(errors.New("x")) != 0 || IsMaybeApplied(nil) {
		t.Fatal("helpers on foreign errors")
	}
}
