package providers

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// headerPacer spreads the budget an upstream announces in its rate-limit
// headers (X-RateLimit-Remaining requests until X-RateLimit-Reset seconds
// from now) evenly over the window instead of spending it and then stopping
// every worker until the reset. Reset is whole seconds rounded up, so only
// reset-1 s of the window is certain: a reading of "1 s" says the budget
// comes back within a second (a token bucket refilling, or a window about to
// end) and adds no spacing; the client's own limiter paces then.
type headerPacer struct {
	mu    sync.Mutex
	gap   time.Duration // spacing between sends while the window lasts
	until time.Time     // end of the announced window: the gap lapses then
	next  time.Time     // earliest next send
}

// observe takes one answer's reading.
func (p *headerPacer) observe(now time.Time, remaining int, reset time.Duration) {
	sure := reset - time.Second
	p.mu.Lock()
	defer p.mu.Unlock()
	if sure <= 0 || remaining < 0 {
		p.gap, p.until = 0, time.Time{}
		return
	}
	// remaining+1: the budget left now, and the first request of the next
	// window at its start.
	p.gap = sure / time.Duration(remaining+1)
	p.until = now.Add(reset)
}

// slot books the caller's send and returns how long it must wait for it.
func (p *headerPacer) slot(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gap <= 0 || !now.Before(p.until) {
		return 0
	}
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.gap)
	return at.Sub(now)
}

// readRateLimitHeaders reads Confluent's X-RateLimit-Remaining and
// X-RateLimit-Reset (relative seconds). ok is false when either is absent or
// not a number.
func readRateLimitHeaders(h http.Header) (remaining int, reset time.Duration, ok bool) {
	rs := strings.TrimSpace(h.Get("X-RateLimit-Remaining"))
	ts := strings.TrimSpace(h.Get("X-RateLimit-Reset"))
	if rs == "" || ts == "" {
		return 0, 0, false
	}
	r, err1 := strconv.Atoi(rs)
	secs, err2 := strconv.ParseFloat(ts, 64)
	if err1 != nil || err2 != nil || r < 0 || secs < 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
		return 0, 0, false
	}
	secs = min(secs, MaxRetryAfter.Seconds())
	return r, time.Duration(secs * float64(time.Second)), true
}

// rateControl is the client's send rate: the configured rate is a ceiling;
// a 429 cuts the rate multiplicatively (at most once per cooldown, so one
// burst of refusals is one cut); an answer whose headers read the budget
// spent (Remaining 0) eases it a little, and one with budget left wins it
// back additively. So the pace settles just under what the upstream refills
// instead of on it, where any scheduling jitter turns into a 429, and an
// upstream slower than the configured rate is followed without a refusal on
// every other request.
type rateControl struct {
	mu       sync.Mutex
	lim      *rate.Limiter
	ceiling  float64 // requests/second; 0 = unlimited
	lastCut  time.Time
	lastEase time.Time
	// lastSpent: regaining waits a hold-off after a "nothing left" reading
	// too, so the pace stays a little under the refill, not on it.
	lastSpent time.Time
	// oks are the times of the good answers of the last second: what the
	// upstream actually served, to cut to when it refuses a storm.
	oks   []time.Time
	since time.Time // the first good answer
}

const (
	rateCut      = 0.85                   // the rate kept after a 429
	rateFloor    = 0.05                   // never below this share of the ceiling
	rateCooldown = 200 * time.Millisecond // one cut per this long
	rateRegain   = 0.01                   // share of the ceiling won back per good answer
	minRate      = 0.1                    // requests/second: the slowest pace
	rateHoldOff  = 500 * time.Millisecond
	rateEase     = 0.99                   // the rate kept after a reading of "nothing left"
	rateEaseGap  = 100 * time.Millisecond // one ease per this long
)

func newRateControl(r float64, burst int) *rateControl {
	if r <= 0 {
		return &rateControl{lim: rate.NewLimiter(rate.Inf, burst)}
	}
	return &rateControl{lim: rate.NewLimiter(rate.Limit(r), burst), ceiling: r}
}

// tooMany takes a 429. It reports whether it was a lone one: the first
// within the cooldown, from a client that paces itself.
func (rc *rateControl) tooMany(now time.Time) bool {
	if rc.ceiling == 0 {
		return false
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if now.Sub(rc.lastCut) < rateCooldown {
		return false
	}
	rc.lastCut = now
	cur := float64(rc.lim.Limit())
	next := cur * rateCut
	if !rc.since.IsZero() && now.Sub(rc.since) >= time.Second {
		// A client far over the upstream's rate goes to what was served in
		// the last second (at most halving per cut), not 15% at a time
		// with a 429 for every other request on the way down.
		rc.trim(now)
		next = max(min(next, float64(len(rc.oks))), cur*0.5)
	}
	rc.lim.SetLimitAt(now, rate.Limit(max(next, rc.ceiling*rateFloor, minRate)))
	return true
}

// trim drops good answers older than a second.
func (rc *rateControl) trim(now time.Time) {
	i := 0
	for i < len(rc.oks) && now.Sub(rc.oks[i]) > time.Second {
		i++
	}
	if i > 0 {
		rc.oks = append(rc.oks[:0], rc.oks[i:]...)
	}
}

// good is an answer that is not a refusal; spent says the upstream's
// headers read no budget left (then the rate eases rather than grows).
func (rc *rateControl) good(now time.Time, spent bool) {
	if rc.ceiling == 0 {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.since.IsZero() {
		rc.since = now
	}
	if len(rc.oks) > 0 && now.Sub(rc.oks[0]) > time.Second {
		rc.trim(now)
	}
	rc.oks = append(rc.oks, now)
	cur := float64(rc.lim.Limit())
	if spent {
		if now.Sub(rc.lastEase) >= rateEaseGap {
			rc.lastEase = now
			rc.lastSpent = now
			rc.lim.SetLimitAt(now, rate.Limit(max(cur*rateEase, rc.ceiling*rateFloor, minRate)))
		}
		return
	}
	if cur >= rc.ceiling || now.Sub(rc.lastCut) < rateHoldOff || now.Sub(rc.lastSpent) < rateEaseGap {
		return
	}
	rc.lim.SetLimitAt(now, rate.Limit(min(rc.ceiling, cur+rc.ceiling*rateRegain)))
}

// current is the pace in requests/second (+Inf when unlimited).
func (rc *rateControl) current() float64 {
	l := rc.lim.Limit()
	if l == rate.Inf {
		return math.Inf(1)
	}
	return float64(l)
}
