package providers

import (
	"context"
	"math"
	"sync"
	"time"
)

// MaxConcurrency is the most requests one client keeps in flight when its
// limit adapts (Config.Concurrency 0). Callers that run their own workers
// (reconcile.Apply) can run this many and let the client gate them.
const MaxConcurrency = 64

// inflight is the client's in-flight limiter. Pinned (Config.Concurrency >
// 0) it is a plain semaphore. Adaptive, it keeps enough requests in flight
// to reach the pacing rate at the observed round-trip time (Little's law:
// in flight = rate x RTT, with headroom for the ones waiting on the rate
// limiter), scaled by a multiplier that a 429 or a rising latency cuts and
// good answers win back (AIMD). With no rate limit there is no rate to
// multiply by, so the limit itself grows by one per window of good answers
// and is cut the same way.
type inflight struct {
	mu      sync.Mutex
	pinned  bool
	limit   float64
	inUse   int
	waiters []chan struct{}
	rate    func() float64 // the pace now, +Inf when unlimited

	srtt    time.Duration // smoothed round-trip time of answered attempts
	minRTT  time.Duration // lowest RTT of the current window
	prevMin time.Duration // of the previous window
	minAt   time.Time     // when the current window began
	mult    float64
	lastCut time.Time
}

const (
	initialInFlight = 8
	minRTTWindow    = 10 * time.Second
	// A latency this far over the lowest one seen is queueing, not distance.
	latencyRiseFactor = 2
	latencyRiseSlack  = 20 * time.Millisecond
	littleHeadroom    = 1.5
	littleSpare       = 2 // for requests waiting on the rate limiter
	inflightCut       = 0.7
	latencyCut        = 0.9
	multRegain        = 0.02
	minMult           = 0.05
)

func newInflight(pinned int, rate func() float64) *inflight {
	if pinned > 0 {
		return &inflight{pinned: true, limit: float64(pinned), rate: rate}
	}
	return &inflight{limit: initialInFlight, rate: rate, mult: 1}
}

// acquire waits for a slot.
func (l *inflight) acquire(ctx context.Context) error {
	l.mu.Lock()
	if len(l.waiters) == 0 && l.inUse < l.cap() {
		l.inUse++
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		for i, w := range l.waiters {
			if w == ch {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				l.mu.Unlock()
				return ctx.Err()
			}
		}
		l.mu.Unlock()
		// Granted meanwhile: hand the slot back.
		l.release(sample{})
		return ctx.Err()
	}
}

func (l *inflight) cap() int { return max(1, int(l.limit)) }

// sample is what one attempt tells the limiter.
type sample struct {
	answered bool // an HTTP answer came back (latency is meaningful)
	latency  time.Duration
	tooMany  bool // 429
}

// release returns a slot and learns from the attempt that held it.
func (l *inflight) release(s sample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inUse--
	if !l.pinned {
		l.learn(time.Now(), s)
	}
	for len(l.waiters) > 0 && l.inUse < l.cap() {
		ch := l.waiters[0]
		l.waiters = l.waiters[1:]
		l.inUse++
		close(ch)
	}
}

func (l *inflight) learn(now time.Time, s sample) {
	if s.answered && s.latency > 0 {
		if l.srtt == 0 {
			l.srtt = s.latency
		} else {
			l.srtt += (s.latency - l.srtt) / 8
		}
		if now.Sub(l.minAt) > minRTTWindow {
			l.prevMin, l.minRTT, l.minAt = l.minRTT, 0, now
		}
		if l.minRTT == 0 || s.latency < l.minRTT {
			l.minRTT = s.latency
		}
	}
	base := l.minRTT
	if l.prevMin > 0 && (base == 0 || l.prevMin < base) {
		base = l.prevMin
	}
	rising := base > 0 && l.srtt > latencyRiseFactor*base+latencyRiseSlack
	cooled := now.Sub(l.lastCut) > max(l.srtt, 50*time.Millisecond)
	r := l.rate()
	unlimited := math.IsInf(r, 1) || r <= 0
	switch {
	case s.tooMany && cooled:
		l.lastCut = now
		if unlimited {
			l.limit = max(1, l.limit*inflightCut)
		} else {
			l.mult = max(minMult, l.mult*inflightCut)
		}
	case rising && cooled && s.answered:
		l.lastCut = now
		if unlimited {
			l.limit = max(1, l.limit*latencyCut)
		} else {
			l.mult = max(minMult, l.mult*latencyCut)
		}
	case s.answered && !s.tooMany && !rising:
		if unlimited {
			l.limit = min(MaxConcurrency, l.limit+1/l.limit)
		} else {
			l.mult = min(1, l.mult+multRegain)
		}
	}
	if !unlimited && l.srtt > 0 {
		need := r * l.srtt.Seconds() * littleHeadroom * l.mult
		l.limit = min(MaxConcurrency, max(1, math.Ceil(need)+littleSpare))
	}
}

// snapshot reports the limit in force (for tests and benchmarks).
func (l *inflight) snapshot() (limit, inUse int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cap(), l.inUse
}
