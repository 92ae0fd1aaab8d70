package providers

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestHeaderPacerSpreadsTheBudget(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name      string
		remaining int
		reset     time.Duration
		at        []time.Duration // when each send asks, from t0
		want      []time.Duration // how long each waits
	}{
		{"refills within a second: no spacing", 0, time.Second, []time.Duration{0, 0, 0}, []time.Duration{0, 0, 0}},
		{"nothing left for 3 s: one per 2 s", 0, 3 * time.Second, []time.Duration{0, 0}, []time.Duration{0, 2 * time.Second}},
		{"3 left for 5 s: one per second", 3, 5 * time.Second, []time.Duration{0, 0, 0}, []time.Duration{0, time.Second, 2 * time.Second}},
		{"a late asker waits only the rest of the gap", 3, 5 * time.Second, []time.Duration{0, 600 * time.Millisecond}, []time.Duration{0, 400 * time.Millisecond}},
		{"the window ended: no spacing", 0, 3 * time.Second, []time.Duration{0, 3 * time.Second}, []time.Duration{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p headerPacer
			p.observe(t0, tt.remaining, tt.reset)
			for i, at := range tt.at {
				if got := p.slot(t0.Add(at)); got != tt.want[i] {
					t.Errorf("send %d at +%v waits %v, want %v", i, at, got, tt.want[i])
				}
			}
		})
	}
}

func TestRateControl(t *testing.T) {
	t0 := time.Unix(1000, 0)
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	rc := newRateControl(10, 1)
	if !rc.tooMany(t0) || !near(rc.current(), 8.5) {
		t.Fatalf("after a 429: %v/s, want 8.5", rc.current())
	}
	if rc.tooMany(t0.Add(100*time.Millisecond)) || !near(rc.current(), 8.5) { // same burst of refusals: one cut
		t.Fatalf("second 429 inside the cooldown: %v/s, want 8.5", rc.current())
	}
	rc.good(t0.Add(300*time.Millisecond), false) // inside the hold-off
	if !near(rc.current(), 8.5) {
		t.Fatalf("regained during hold-off: %v/s", rc.current())
	}
	rc.good(t0.Add(time.Second), true) // budget spent: ease
	if !near(rc.current(), 8.5*0.99) {
		t.Fatalf("a spent budget: %v/s, want %v", rc.current(), 8.5*0.99)
	}
	rc.good(t0.Add(time.Second+50*time.Millisecond), true)  // one ease per 100 ms
	rc.good(t0.Add(time.Second+60*time.Millisecond), false) // and no regain right after
	if !near(rc.current(), 8.5*0.99) {
		t.Fatalf("eased twice or regained at once: %v/s", rc.current())
	}
	for i := range 200 {
		rc.good(t0.Add(2*time.Second+time.Duration(i)*10*time.Millisecond), false)
	}
	if got := rc.current(); got != 10 {
		t.Fatalf("after many good answers: %v/s, want the ceiling 10", got)
	}
	for i := range 400 {
		rc.tooMany(t0.Add(time.Duration(10+i) * time.Second))
	}
	if got := rc.current(); !near(got, 0.5) {
		t.Fatalf("floor: %v/s, want 0.5 (5%% of 10)", got)
	}
	// A storm: far over what the upstream serves, a cut goes to what was
	// served in the last second, at most halving.
	st := newRateControl(20, 1)
	for i := range 20 { // 5 good answers a second over 4 s
		st.good(t0.Add(time.Duration(i)*200*time.Millisecond), false)
	}
	st.tooMany(t0.Add(4 * time.Second))
	if got := st.current(); !near(got, 10) {
		t.Fatalf("storm cut: %v/s, want 10 (half)", got)
	}
	st.tooMany(t0.Add(4*time.Second + 300*time.Millisecond))
	if got := st.current(); !near(got, 5) {
		t.Fatalf("second storm cut: %v/s, want 5 (what was served)", got)
	}
	un := newRateControl(-1, 1)
	if un.tooMany(t0) || !math.IsInf(un.current(), 1) {
		t.Fatalf("an unlimited client got a rate: %v", un.current())
	}
}

// A client that paces itself waits out a short Retry-After on the refused
// request alone: the other workers go on at the cut pace.
func TestShortRetryAfterIsNotAPauseOfEveryWorker(t *testing.T) {
	var n atomic.Int32
	var first, second time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			second = time.Now()
		}
	}))
	defer srv.Close()
	c := testClient(t, srv.URL, Config{Rate: 1000}, ClientOptions{})
	if _, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x", Idempotent: true}); err != nil {
		t.Fatal(err)
	}
	if gap := second.Sub(first); gap < 900*time.Millisecond {
		t.Fatalf("retried %v after Retry-After: 1", gap)
	}
	c.mu.Lock()
	paused := c.pausedUntil
	c.mu.Unlock()
	if !paused.IsZero() || c.Rate() >= 1000 {
		t.Fatalf("paused until %v, rate %v: want no pause and a cut rate", paused, c.Rate())
	}
}

// Pinned, the limiter is a semaphore of exactly N.
func TestInflightPinned(t *testing.T) {
	l := newInflight(2, func() float64 { return 10 })
	ctx := context.Background()
	for range 2 {
		if err := l.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan struct{})
	go func() {
		if err := l.acquire(ctx); err == nil {
			close(got)
		}
	}()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.acquire(cctx); err == nil {
		t.Fatal("a third slot was granted to a cancelled caller")
	}
	select {
	case <-got:
		t.Fatal("a third slot was granted while two are held")
	default:
	}
	for range 50 { // learning never moves a pinned limit
		l.release(sample{answered: true, latency: time.Second, tooMany: true})
		l.mu.Lock()
		l.inUse++
		l.mu.Unlock()
	}
	l.release(sample{})
	<-got
	if limit, inUse := l.snapshot(); limit != 2 || inUse != 2 {
		t.Fatalf("limit %d in use %d, want 2 and 2", limit, inUse)
	}
}

// Adaptive: the limit follows Little's law (rate x RTT, with headroom), and
// a 429 or a latency far over the lowest seen cuts it.
func TestInflightAdapts(t *testing.T) {
	tests := []struct {
		name    string
		rate    float64
		samples []sample
		want    int
	}{
		{"no answer yet", 100, nil, initialInFlight},
		{"loopback", 100, repeat(sample{answered: true, latency: time.Millisecond}, 20), 3},
		{"200 ms at 100/s", 100, repeat(sample{answered: true, latency: 200 * time.Millisecond}, 20), 32},
		{"capped", 1000, repeat(sample{answered: true, latency: 200 * time.Millisecond}, 20), MaxConcurrency},
		{"a 429 cuts", 100, append(repeat(sample{answered: true, latency: 200 * time.Millisecond}, 20),
			sample{answered: true, latency: 200 * time.Millisecond, tooMany: true}), 23},
		{"unlimited grows by about one per window", math.Inf(1), repeat(sample{answered: true, latency: time.Millisecond}, 9), 9},
		{"unlimited, a 429 cuts", math.Inf(1), []sample{{answered: true, latency: time.Millisecond, tooMany: true}}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newInflight(0, func() float64 { return tt.rate })
			for _, s := range tt.samples {
				l.mu.Lock()
				l.inUse++
				l.mu.Unlock()
				l.release(s)
			}
			if got, _ := l.snapshot(); got != tt.want {
				t.Fatalf("limit %d, want %d", got, tt.want)
			}
		})
	}
	// Rising latency (queueing at the upstream) cuts the multiplier.
	l := newInflight(0, func() float64 { return 100 })
	for range 20 {
		l.inUse++
		l.release(sample{answered: true, latency: 10 * time.Millisecond})
	}
	before, _ := l.snapshot()
	for range 40 {
		l.inUse++
		l.release(sample{answered: true, latency: 400 * time.Millisecond})
	}
	if l.mult >= 1 {
		t.Fatalf("latency rose 40x and the multiplier stayed %v (limit %d before)", l.mult, before)
	}
}

func repeat(s sample, n int) []sample {
	out := make([]sample, n)
	for i := range out {
		out[i] = s
	}
	return out
}
