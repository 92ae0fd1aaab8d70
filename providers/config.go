package providers

import (
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of the shared HTTP plumbing.
const (
	DefaultMaxAttempts = 6
	DefaultTimeout     = 30 * time.Second // one attempt, response body included
	DefaultBackoffBase = 200 * time.Millisecond
	DefaultBackoffCap  = 30 * time.Second
	// MaxRetryAfter is the longest Retry-After (or X-RateLimit-Reset) honoured;
	// an upstream asking for more is answered with an error instead of a stall.
	MaxRetryAfter = 5 * time.Minute
)

// Config is what every provider constructor takes besides its credentials.
// Zero values mean the documented defaults.
type Config struct {
	Endpoint    string        // API base URL; "" = the real service
	Rate        float64       // requests/second; 0 = provider default, < 0 = unlimited
	Burst       int           // limiter burst; 0 = 1 (steady pacing, fewest 429s)
	MaxAttempts int           // attempts per request, retries included; 0 = DefaultMaxAttempts
	Timeout     time.Duration // per attempt; 0 = DefaultTimeout
	Logger      zerolog.Logger
	OnAttempt   func(Attempt) // sees every HTTP attempt (the audit log); may be nil
	HTTPClient  *http.Client  // optional; nil = one with dial/TLS/header timeouts

	// BackoffBase and BackoffCap shape the full-jitter backoff between retries
	// (0 = DefaultBackoffBase, DefaultBackoffCap). Tests shorten them.
	BackoffBase time.Duration
	BackoffCap  time.Duration

	// OnResponse sees every HTTP answer (2xx or not) with its headers and
	// body, for `invitesync check` (rate-limit headers, a recorded sample).
	// path has no query and known secrets scrubbed; header and body are the
	// upstream's own and must not be written anywhere unredacted. May be nil.
	OnResponse func(method, path string, status int, header http.Header, body []byte)

	// Concurrency pins the requests one client keeps in flight; 0 adapts
	// (up to MaxConcurrency) to keep rate x round-trip time in flight,
	// backing off on 429 and on rising latency.
	Concurrency int
	// MaxBody bounds one answer's body in bytes (0 = DefaultMaxBody); a
	// larger answer is an error naming the bound, never a truncation.
	MaxBody int64
	// MaxPages bounds one listing's pages (0 = DefaultMaxPages); paging that
	// goes on past it (a fresh token on every page) is an error.
	MaxPages int
}
