package providers

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// ClientOptions is what a provider tells the shared client about its API.
type ClientOptions struct {
	Provider        string  // name used in log lines
	DefaultEndpoint string  // the real service
	DefaultRate     float64 // requests/second when Config.Rate is 0

	// Authorize adds credentials to one attempt's request. It runs for every
	// attempt, so a refreshed token is picked up by retries.
	Authorize func(ctx context.Context, r *http.Request) error
	// Unauthorized runs at most once per request, on a 401; returning true
	// re-sends the request once (a token that expired early is refreshed).
	Unauthorized func(sent *http.Request) bool
	// DecodeError reads the upstream's code, message and request id out of an
	// error answer (each API has its own error body).
	DecodeError func(status int, h http.Header, body []byte) APIError
	// RequestIDHeader names the header carrying the upstream request id.
	RequestIDHeader string
	// RateLimitHeaders makes the client pace on X-RateLimit-Remaining and
	// X-RateLimit-Reset (relative seconds, Confluent): the remaining budget
	// is spread over the window rather than spent and then waited out.
	RateLimitHeaders bool
	// Secrets are scrubbed from every error message and log line.
	Secrets []string
}

// APIError is what DecodeError reads out of an error body.
type APIError struct {
	Code, Message, RequestID string
}

// Request is one logical call; Do may send it several times.
type Request struct {
	Method      string
	Path        string     // escaped path under the endpoint, e.g. "/iam/v2/invitations/i-1"
	Query       url.Values // never logged
	Body        []byte
	ContentType string // default application/json when Body is set
	// Idempotent requests are retried after any transient failure. Others
	// (creates) are re-sent only when the upstream cannot have applied them:
	// connection refused, 429, 503. After 500/502/504, a reset or a timeout,
	// Do returns an *Error with MaybeApplied set and the caller reads first.
	Idempotent bool
	// ReadBack marks a read made to verify a write; the audit log says so.
	ReadBack bool
	// Accept lists non-2xx statuses that are answers, not errors
	// (404 on delete, 409 on create).
	Accept      []int
	MaxAttempts int  // 0 = the client's
	NoAuth      bool // skip Authorize (the token exchange itself)

	into any // DoJSON: a 2xx body is streamed into this instead of Response.Body
}

// Response is a final answer.
type Response struct {
	Status    int
	Header    http.Header
	Body      []byte
	RequestID string
	Attempts  int
}

// Client is the HTTP plumbing every provider embeds: one http.Client with
// timeouts, an in-flight limiter (adaptive unless pinned) and a rate limiter
// (paced on the upstream's rate-limit headers) waited on before every
// attempt, retries with full-jitter backoff honouring Retry-After, bounded
// answers, typed errors scrubbed of credentials and control sequences, and
// per-attempt audit records. It is safe for concurrent use.
type Client struct {
	opts        ClientOptions
	base        *url.URL
	hc          *http.Client
	rc          *rateControl
	lim         *rate.Limiter // rc's
	pacer       headerPacer
	conc        *inflight
	maxBody     int64
	maxPages    int
	maxAttempts int
	timeout     time.Duration
	backoffBase time.Duration
	backoffCap  time.Duration
	log         zerolog.Logger
	onAttempt   func(Attempt)
	onResponse  func(method, path string, status int, header http.Header, body []byte)

	mu          sync.Mutex
	pausedUntil time.Time // no attempt starts before this (429 with Retry-After)
	secrets     secretSet
}

// NewClient validates cfg and builds the client.
func NewClient(cfg Config, opts ClientOptions) (*Client, error) {
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = opts.DefaultEndpoint
	}
	base, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:        opts,
		base:        base,
		hc:          cfg.HTTPClient,
		maxAttempts: cfg.MaxAttempts,
		timeout:     cfg.Timeout,
		backoffBase: cfg.BackoffBase,
		backoffCap:  cfg.BackoffCap,
		log:         cfg.Logger,
		onAttempt:   cfg.OnAttempt,
		onResponse:  cfg.OnResponse,
		maxBody:     cfg.MaxBody,
		maxPages:    cfg.MaxPages,
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.maxPages <= 0 {
		c.maxPages = DefaultMaxPages
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.backoffBase <= 0 {
		c.backoffBase = DefaultBackoffBase
	}
	if c.backoffCap <= 0 {
		c.backoffCap = DefaultBackoffCap
	}
	if c.backoffCap < c.backoffBase {
		c.backoffCap = c.backoffBase
	}
	r := cfg.Rate
	if r == 0 {
		r = opts.DefaultRate
	}
	c.rc = newRateControl(r, max(cfg.Burst, 1))
	c.lim = c.rc.lim
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("concurrency %d: want 0 (adaptive) or more", cfg.Concurrency)
	}
	c.conc = newInflight(cfg.Concurrency, c.rc.current)
	if c.hc == nil {
		c.hc = newHTTPClient(c.timeout)
	}
	for _, s := range opts.Secrets {
		c.AddSecret(s)
	}
	return c, nil
}

// newHTTPClient bounds every phase of an attempt. Redirects are not followed:
// a redirect could carry custom auth headers (csp-auth-token) to another host.
func newHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = timeout
	t.MaxIdleConnsPerHost = 64 // apply runs up to --concurrency workers on one host
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ParseEndpoint checks an API base URL: https, or http on loopback only
// (127.0.0.0/8, ::1, localhost), no credentials, no query.
func ParseEndpoint(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, errors.New("endpoint: not a URL")
	}
	if u.Host == "" {
		return nil, errors.New("endpoint: want an absolute URL like https://host")
	}
	if u.User != nil {
		return nil, errors.New("endpoint: credentials in the URL are refused (they come from the environment)")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("endpoint: a query or fragment is refused")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("endpoint: plain http:// is refused for %s (only loopback may use it): use https://", u.Hostname())
		}
	default:
		return nil, fmt.Errorf("endpoint: scheme %q: want https (or http on loopback)", u.Scheme)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// IsLoopback reports whether host names this machine only.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Endpoint is the validated base URL.
func (c *Client) Endpoint() *url.URL { u := *c.base; return &u }

// MaxAttempts is the attempt budget of one request.
func (c *Client) MaxAttempts() int { return c.maxAttempts }

// AddSecret registers a value that must never appear in errors, logs or the
// paths reported to OnAttempt (tokens obtained at run time, key ids), nor
// its URL-escaped or base64 forms. Credential headers set by Authorize
// (Authorization, csp-auth-token...) are registered by the client itself,
// Basic's user:password pair included.
func (c *Client) AddSecret(s string) { c.secrets.add(s) }

// Scrub replaces every registered secret (in any of its forms) in s, and any
// value in an authorization-header shape ("Basic ...", "Bearer ...").
func (c *Client) Scrub(s string) string { return c.secrets.scrub(s) }

// InFlight reports the in-flight limit in force and the requests holding a
// slot now (for benchmarks and diagnostics).
func (c *Client) InFlight() (limit, inUse int) { return c.conc.snapshot() }

// Rate reports the pace in force in requests/second (+Inf when unlimited):
// the configured rate, or less after the upstream refused requests.
func (c *Client) Rate() float64 { return c.rc.current() }

// MaxPages is the page budget of one listing (Config.MaxPages).
func (c *Client) MaxPages() int { return c.maxPages }

// Backoff sleeps the full-jitter delay before attempt n+1 (n >= 1).
func (c *Client) Backoff(ctx context.Context, n int) error {
	return sleep(ctx, c.backoff(n))
}

func (c *Client) backoff(n int) time.Duration {
	d := c.backoffCap
	if n >= 1 && n < 40 {
		if b := c.backoffBase << (n - 1); b > 0 && b < d {
			d = b
		}
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// Do sends req until it gets a final answer or runs out of attempts. A 2xx
// or an Accept'ed status is a *Response; anything else is an *Error (or a
// wrapped context error when ctx ends first).
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	maxAttempts := c.maxAttempts
	if req.MaxAttempts > 0 {
		maxAttempts = req.MaxAttempts
	}
	target, err := url.Parse(c.base.String() + req.Path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: bad path", req.Method, req.Path)
	}
	if len(req.Query) > 0 {
		target.RawQuery = req.Query.Encode()
	}
	reauthed := false
	var last error
	for attempt := 1; ; attempt++ {
		out, err := c.gated(ctx, req, target, attempt)
		if err != nil {
			if last != nil {
				return nil, stopped(last, err)
			}
			return nil, &Error{Method: req.Method, Path: c.Scrub(req.Path), Attempts: attempt - 1, Err: err}
		}
		if out.resp != nil {
			return out.resp, nil
		}
		e := out.err
		last = e
		if ctx.Err() != nil || !e.Retryable {
			return nil, e
		}
		if e.Status == http.StatusUnauthorized {
			// Only a refreshable credential makes a 401 worth one more try.
			if reauthed || req.NoAuth || c.opts.Unauthorized == nil || !c.opts.Unauthorized(out.sent) || attempt >= maxAttempts {
				e.Retryable = false
				return nil, e
			}
			reauthed = true
			continue
		}
		if e.MaybeApplied && !req.Idempotent {
			return nil, e // the caller reads before it sends again
		}
		if out.retryAfter > MaxRetryAfter {
			e.Message = strings.TrimSpace(e.Message + fmt.Sprintf(" (upstream asks to wait %s, more than %s: giving up)", out.retryAfter.Round(time.Second), MaxRetryAfter))
			return nil, e
		}
		if attempt >= maxAttempts {
			return nil, e
		}
		if !out.paused { // a pause is slept through by wait()
			if err := sleep(ctx, max(out.selfWait, c.backoff(attempt))); err != nil {
				return nil, stopped(e, err)
			}
		}
	}
}

// DoJSON is Do for an answer read as JSON: a 2xx body is decoded into v as
// it streams in (bounded by Config.MaxBody, no copy of the raw body kept;
// Response.Body is nil). An answer that is not the expected JSON is an
// *Error; for an idempotent request it is retried like a 502, for a write it
// is MaybeApplied (the write may have landed). v is overwritten by each
// attempt.
func (c *Client) DoJSON(ctx context.Context, req Request, v any) (*Response, error) {
	if v == nil {
		return nil, errors.New("DoJSON: nil target")
	}
	req.into = v
	return c.Do(ctx, req)
}

// gated runs one attempt inside an in-flight slot, after the pacing waits,
// and tells the in-flight limiter how it went.
func (c *Client) gated(ctx context.Context, req Request, target *url.URL, n int) (outcome, error) {
	if err := c.conc.acquire(ctx); err != nil {
		return outcome{}, err
	}
	if err := c.wait(ctx); err != nil {
		c.conc.release(sample{})
		return outcome{}, err
	}
	out := c.attempt(ctx, req, target, n)
	c.conc.release(sample{answered: out.status != 0, latency: out.latency, tooMany: out.status == http.StatusTooManyRequests})
	return out, nil
}

// stopped is the last answer of a request whose retries ctx cut short:
// errors.As finds the *Error, errors.Is the context's error.
func stopped(last, ctxErr error) error {
	return fmt.Errorf("%w (retries stopped: %w)", last, ctxErr)
}

type outcome struct {
	status     int           // HTTP status, 0 when no answer
	latency    time.Duration // send to end of the answer
	resp       *Response
	err        *Error
	retryAfter time.Duration // from the answer; 0 when absent
	paused     bool          // the answer paused every worker (429, Retry-After)
	selfWait   time.Duration // Retry-After this request alone waits out
	sent       *http.Request
}

// attempt sends req once and classifies what came back.
func (c *Client) attempt(ctx context.Context, req Request, target *url.URL, n int) outcome {
	e := &Error{Method: req.Method, Path: c.Scrub(req.Path), Attempts: n}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(actx, req.Method, target.String(), body)
	if err != nil {
		e.Err = errors.New("cannot build request")
		return outcome{err: e}
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "invitesync")
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if !req.NoAuth && c.opts.Authorize != nil {
		if err := c.opts.Authorize(ctx, hr); err != nil {
			// The credential step has its own retries; its error is final here.
			e.Err = c.safeError(fmt.Errorf("authorize: %w", err))
			if ae, ok := AsError(err); ok {
				e.Status, e.Code, e.Message, e.RequestID, e.Err = ae.Status, ae.Code, "credential exchange: "+ae.Message, ae.RequestID, nil
				if ae.Status == 0 {
					e.Err = c.safeError(fmt.Errorf("credential exchange: %w", ae))
				}
			}
			// Not recorded: nothing was sent (the exchange recorded its own attempts).
			return outcome{err: e}
		}
		// Whatever credential Authorize set is scrubbed from now on, in
		// every form an upstream or a proxy could echo it back.
		c.secrets.addFromRequest(hr.Header)
	}

	start := time.Now()
	resp, err := c.hc.Do(hr)
	var raw []byte
	ok := false
	if err == nil {
		ok = resp.StatusCode/100 == 2 || containsInt(req.Accept, resp.StatusCode)
		raw, err = c.readAnswer(resp, ok, req.into)
		resp.Body.Close()
	}
	if err != nil && resp != nil && actx.Err() == nil && ctx.Err() == nil && !isTimeout(err) &&
		(errors.Is(err, ErrBodyTooLarge) || errors.Is(err, errNotJSON)) {
		// The upstream answered, but not something we can use (over the
		// size bound, or not the expected JSON): worth another read, never
		// a blind re-send of a write.
		e.Err = c.safeError(fmt.Errorf("HTTP %d: %w", resp.StatusCode, err))
		e.Retryable = req.Idempotent && !errors.Is(err, ErrBodyTooLarge)
		e.MaybeApplied = !req.Idempotent
		reqID := c.upstreamText(resp.Header.Get(c.opts.RequestIDHeader))
		e.RequestID = reqID
		c.record(ctx, req, n, start, resp.StatusCode, reqID, e)
		return outcome{err: e, sent: hr, status: resp.StatusCode, latency: time.Since(start)}
	}
	if err != nil {
		// A write whose answer was cut off may have been applied.
		e.Err = c.safeError(transportCause(err))
		notSent := isDialError(err)
		e.Retryable = !isPermanentTransport(err)
		e.MaybeApplied = !notSent
		if ctx.Err() != nil {
			e.Err = ctx.Err()
			e.Retryable = false
		} else if actx.Err() != nil || (isTimeout(err) && !notSent) {
			e.Err = fmt.Errorf("no answer within %s", c.timeout)
			e.TimedOut = true
		}
		c.record(ctx, req, n, start, 0, "", e)
		return outcome{err: e, sent: hr}
	}

	latency := time.Since(start)

	if c.onResponse != nil {
		c.onResponse(req.Method, c.Scrub(req.Path), resp.StatusCode, resp.Header, raw)
	}
	if ok && req.into != nil {
		raw = nil // decoded; the raw copy was kept only for OnResponse
	}
	reqID := c.upstreamText(resp.Header.Get(c.opts.RequestIDHeader))
	if c.opts.RateLimitHeaders {
		c.honourRateLimitHeaders(resp.Header, resp.StatusCode)
	} else if resp.StatusCode != http.StatusTooManyRequests {
		c.rc.good(time.Now(), false)
	}
	if ok {
		c.record(ctx, req, n, start, resp.StatusCode, reqID, nil)
		return outcome{status: resp.StatusCode, latency: latency,
			resp: &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw, RequestID: reqID, Attempts: n}}
	}
	e.Status = resp.StatusCode
	e.RequestID = reqID
	if c.opts.DecodeError != nil {
		ae := c.opts.DecodeError(resp.StatusCode, resp.Header, raw)
		e.Code, e.Message = c.upstreamText(ae.Code), c.upstreamText(ae.Message)
		if e.RequestID == "" {
			e.RequestID = c.upstreamText(ae.RequestID)
		}
	}
	if e.Message == "" && e.Code == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.Retryable = retryableStatus(resp.StatusCode) || resp.StatusCode == http.StatusUnauthorized
	e.MaybeApplied = e.Retryable && !notAppliedStatus(resp.StatusCode) && resp.StatusCode != http.StatusUnauthorized
	out := outcome{err: e, sent: hr, status: resp.StatusCode, latency: latency}
	if resp.StatusCode == http.StatusTooManyRequests {
		c.rc.tooMany(time.Now())
	}
	out.retryAfter, _ = parseRetryAfter(resp.Header, time.Now())
	if e.Retryable && e.Status != http.StatusUnauthorized && out.retryAfter <= MaxRetryAfter &&
		(e.Status == http.StatusTooManyRequests || out.retryAfter > 0) {
		// One 429 must not become one per worker: everyone waits, from
		// before this attempt is even reported.
		// Except a 429 with a short Retry-After while the client paces
		// itself: a token bucket refused an early request, the pace has
		// just been cut, and stopping every worker for the whole second
		// (Retry-After is whole seconds) would cost a second of the rate
		// limit. That request alone waits it out.
		d := out.retryAfter
		if d <= 0 {
			d = c.backoff(n)
		}
		if c.rc.ceiling > 0 && d <= time.Second {
			out.selfWait = d
		} else {
			c.pause(d)
			out.paused = true
		}
	}
	c.record(ctx, req, n, start, resp.StatusCode, reqID, e)
	return out
}

// record reports one attempt to OnAttempt and the debug log. Never headers,
// never bodies, never the query.
func (c *Client) record(ctx context.Context, req Request, n int, start time.Time, status int, reqID string, e *Error) {
	a := Attempt{
		Time:      start,
		Action:    ActionFrom(ctx),
		Method:    req.Method,
		Path:      c.Scrub(req.Path), // a path may name a credential (Confluent's api-keys/{key})
		Status:    status,
		Latency:   time.Since(start),
		Attempt:   n,
		RequestID: reqID,
		ReadBack:  req.ReadBack,
	}
	if e != nil {
		if status == 0 || e.Status == 0 {
			a.Error = c.upstreamText(e.Error())
		} else if e.Code != "" {
			a.Error = e.Code
		} else {
			a.Error = http.StatusText(status)
		}
	}
	if c.onAttempt != nil {
		c.onAttempt(a)
	}
	c.log.Debug().Str("provider", c.opts.Provider).Str("action", a.Action).Str("method", a.Method).
		Str("path", a.Path).Int("status", a.Status).Dur("latency", a.Latency).Int("attempt", n).
		Str("request_id", reqID).Str("error", a.Error).Msg("http attempt")
}

// wait blocks until no pause is in force, the limiter grants a token and
// the header pacer's slot comes. A token granted while a pause began is
// given up: after the pause, workers queue on the limiter again instead of
// all sending at once.
func (c *Client) wait(ctx context.Context) error {
	for {
		c.mu.Lock()
		d := time.Until(c.pausedUntil)
		c.mu.Unlock()
		if d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
			continue
		}
		if err := c.lim.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("rate limit wait: %w", err)
		}
		if d := c.pacer.slot(time.Now()); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
		c.mu.Lock()
		d = time.Until(c.pausedUntil)
		c.mu.Unlock()
		if d <= 0 {
			return nil
		}
	}
}

// pause holds every worker back for d (never shortens a longer pause).
func (c *Client) pause(d time.Duration) {
	now := time.Now()
	until := now.Add(min(d, MaxRetryAfter))
	c.mu.Lock()
	fresh := !c.pausedUntil.After(now)
	if until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
	c.mu.Unlock()
	if fresh && c.lim.Limit() != rate.Inf {
		// Spend the burst the limiter would save up during the pause, so
		// work resumes at the steady rate rather than in one wave.
		c.lim.ReserveN(until, c.lim.Burst())
	}
}

// honourRateLimitHeaders: Confluent says how many requests are left until
// its window resets (relative seconds). The pacer spreads what is left over
// the window; a reading with budget left lets the rate grow back after a 429.
func (c *Client) honourRateLimitHeaders(h http.Header, status int) {
	now := time.Now()
	remaining, reset, ok := readRateLimitHeaders(h)
	if ok {
		c.pacer.observe(now, remaining, reset)
	}
	if status != http.StatusTooManyRequests {
		c.rc.good(now, ok && remaining == 0)
	}
}

// readAnswer reads an answer's body within the client's bound. An answer
// that is used (ok) is decoded into into when set (streamed, unless
// OnResponse wants the raw bytes too); an error answer is read up to
// maxErrorBody, enough for its code and message.
func (c *Client) readAnswer(resp *http.Response, ok bool, into any) ([]byte, error) {
	if !ok {
		raw, err := readBody(io.LimitReader(resp.Body, maxErrorBody), -1, maxErrorBody)
		if errors.Is(err, ErrBodyTooLarge) { // cannot happen through the LimitReader; keep what came
			err = nil
		}
		return raw, err
	}
	if into == nil || c.onResponse != nil {
		raw, err := readBody(resp.Body, resp.ContentLength, c.maxBody)
		if err != nil || into == nil {
			return raw, err
		}
		return raw, decodeJSON(bytes.NewReader(raw), into)
	}
	if resp.ContentLength > c.maxBody {
		return nil, bodyTooLarge(c.maxBody)
	}
	return nil, decodeJSON(&limitedReader{r: resp.Body, left: c.maxBody, limit: c.maxBody}, into)
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date.
func parseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		n = min(n, 1<<31) // no overflow; anything this big is refused anyway
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// transportCause drops *url.Error's wrapper: its text holds the full URL.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// isDialError: the request never left this machine, so re-sending is safe.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isPermanentTransport: failures that no retry can fix (bad certificates).
func isPermanentTransport(err error) bool {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &cv)
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
