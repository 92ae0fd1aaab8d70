package emulator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens per second, at most burst, one per
// request.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// limit is one decision of the bucket.
type limit struct {
	ok         bool
	limit      int // bucket size
	remaining  int // whole tokens left after this request
	reset      int // seconds until the bucket is full again
	retryAfter int // when refused: seconds until a token is available (>= 1)
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

func (b *bucket) refill() {
	b.mu.Lock()
	b.tokens, b.last = b.burst, time.Now()
	b.mu.Unlock()
}

func (b *bucket) take(now time.Time) limit {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
	l := limit{limit: int(b.burst)}
	if b.tokens >= 1 {
		b.tokens--
		l.ok = true
	} else {
		// Retry-After: whole seconds until the next token, at least 1.
		l.retryAfter = max(1, int(math.Ceil((1-b.tokens)/b.rate)))
	}
	l.remaining = int(b.tokens)
	l.reset = int(math.Ceil((b.burst - b.tokens) / b.rate))
	return l
}

// faultGen decides faults per request with a PRNG seeded by the fault seed,
// so a sequential client sees the same faults on every run.
type faultGen struct {
	mu    sync.Mutex
	rate  float64
	kinds []string
	seed  int64
	rng   *rand.Rand
}

func (f *faultGen) init(rate float64, kinds []string, seed int64) {
	f.seed = seed
	f.set(rate, kinds)
	f.reseed()
}

func (f *faultGen) reseed() {
	f.mu.Lock()
	f.rng = rand.New(rand.NewPCG(uint64(f.seed), uint64(f.seed)^0x9e3779b97f4a7c15))
	f.mu.Unlock()
}

func (f *faultGen) set(rate float64, kinds []string) {
	if len(kinds) == 0 {
		kinds = AllFaults
	}
	f.mu.Lock()
	f.rate, f.kinds = rate, append([]string(nil), kinds...)
	f.mu.Unlock()
}

// draw returns the fault for the next request ("" = none) and, for writes
// with a 500 or reset, whether to apply the change before failing.
func (f *faultGen) draw(write bool) (kind string, applyFirst bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rate <= 0 {
		return "", false
	}
	// One draw per request whatever the outcome keeps the sequence stable.
	if f.rng.Float64() >= f.rate {
		return "", false
	}
	kind = f.kinds[f.rng.IntN(len(f.kinds))]
	if write && (kind == Fault500 || kind == FaultReset) {
		applyFirst = f.rng.IntN(2) == 0
	}
	return kind, applyFirst
}

func (f *faultGen) current() (float64, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rate, append([]string(nil), f.kinds...)
}

func isFaultKind(k string) bool {
	for _, a := range AllFaults {
		if k == a {
			return true
		}
	}
	return false
}

func checkFaultKinds(kinds []string) error {
	for _, k := range kinds {
		if !isFaultKind(k) {
			return fmt.Errorf("unknown fault kind %q (want %s)", k, strings.Join(AllFaults, ","))
		}
	}
	return nil
}

// ParseFaults splits a comma-separated kind list (the --faults flag).
func ParseFaults(s string) ([]string, error) {
	var kinds []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		kinds = append(kinds, k)
	}
	if err := checkFaultKinds(kinds); err != nil {
		return nil, err
	}
	return kinds, nil
}
