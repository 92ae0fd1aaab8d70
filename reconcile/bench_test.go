package reconcile

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitesync/invitesync/bench/peak"
	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

var (
	bigOnce    sync.Once
	bigMembers []sources.Member
	bigCurrent []providers.Invitation
)

// bigInputs: 1,000,000 roster members and 1,000,000 invitations that overlap
// by 90% (so every kind of action appears), in no particular order.
func bigInputs() ([]sources.Member, []providers.Invitation) {
	bigOnce.Do(func() {
		const n = 1_000_000
		bigMembers = make([]sources.Member, n)
		bigCurrent = make([]providers.Invitation, n)
		st := []providers.Status{providers.StatusPending, providers.StatusPending, providers.StatusAccepted, providers.StatusExpired, providers.StatusRevoked}
		for pos := range n {
			// As a real run sees them: allocated in file/listing order, which
			// is unrelated to email order. Members are users 0..n-1, invitations
			// users n/10..n+n/10-1 (90% overlap), emails in another case.
			i := (pos * 7919) % n
			bigMembers[pos] = sources.Member{Email: fmt.Sprintf("user%07d@example.com", i), AuthType: sources.AuthSSO,
				Origin: sources.Origin{File: "big.csv", Row: pos + 2}}
			j := (pos*104729)%n + n/10
			auth := sources.AuthSSO
			if j%13 == 0 {
				auth = sources.AuthLocal
			}
			bigCurrent[pos] = providers.Invitation{ID: fmt.Sprintf("i-%07d", j), Email: fmt.Sprintf("User%07d@example.com", j),
				AuthType: auth, Status: st[j%5], RawStatus: "X", CreatorID: me,
				CreatedAt: now.Add(-time.Duration(j) * time.Second), ExpiresAt: now.Add(72 * time.Hour)}
		}
	})
	return bigMembers, bigCurrent
}

// BenchmarkPlan1M plans a 1,000,000-row roster against 1,000,000
// invitations. Target: under 2 s and 1.5 GiB. peak-heap-MiB is
// the heap in use at its highest during Compute, inputs included (sampled
// every 10 ms); peak-rss-MiB the process's peak resident memory.
func BenchmarkPlan1M(b *testing.B) {
	members, current := bigInputs()
	opts := Options{Now: now, Owner: me, Capabilities: confluentCaps, MaxRevoke: "100%"}
	peak.Reset()
	var (
		total    time.Duration
		peakHeap uint64
	)
	for b.Loop() {
		var top atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > top.Load() {
						top.Store(ms.HeapInuse)
					}
				}
			}
		}()
		start := time.Now()
		plan, err := Compute(members, current, opts)
		total += time.Since(start)
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		if len(plan.Actions) < 1_000_000 {
			b.Fatalf("actions = %d", len(plan.Actions))
		}
		if top.Load() > peakHeap {
			peakHeap = top.Load()
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/plan") // mean over the iterations
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(peak.RSSMiB(), "peak-rss-MiB")
}
