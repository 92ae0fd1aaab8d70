package confluent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent"
	"github.com/invitesync/invitesync/providers/emulator"
)

func TestStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	tests := []struct {
		raw     string
		expires time.Time
		want    providers.Status
	}{
		{"INVITE_STATUS_SENT", future, providers.StatusPending},
		{"INVITE_STATUS_STAGED", future, providers.StatusPending},
		{"INVITE_STATUS_SENT", time.Time{}, providers.StatusPending},
		{"INVITE_STATUS_SENT", past, providers.StatusPending}, // our clock is not the upstream's: its status wins
		{"INVITE_STATUS_STAGED", past, providers.StatusPending},
		{"INVITE_STATUS_ACCEPTED", past, providers.StatusAccepted},
		{"INVITE_STATUS_EXPIRED", future, providers.StatusExpired},
		{"INVITE_STATUS_DEACTIVATED", future, providers.StatusRevoked},
		{"INVITE_STATUS_ON_HOLD", future, providers.StatusUnknown}, // extensible enum
		{"", future, providers.StatusUnknown},
		{"invite_status_sent", future, providers.StatusUnknown},
	}
	for _, tt := range tests {
		if got := confluent.Status(tt.raw); got != tt.want {
			t.Errorf("Status(%q, expires %v) = %q, want %q", tt.raw, tt.expires.Sub(now), got, tt.want)
		}
	}
}

func TestPageToken(t *testing.T) {
	tests := []struct {
		next, want string
		ok         bool
	}{
		{"https://api.confluent.cloud/iam/v2/invitations?page_token=UvmDWOB1iwfAIBPj6EYb", "UvmDWOB1iwfAIBPj6EYb", true},
		{"http://127.0.0.1:1/iam/v2/invitations?page_size=100&page_token=a%2Bb", "a+b", true},
		{"/iam/v2/invitations?page_token=rel", "rel", true},
		{"https://api.confluent.cloud/iam/v2/invitations", "", false},
		{"https://api.confluent.cloud/iam/v2/invitations?page_token=", "", false},
		{"::not a url", "", false},
	}
	for _, tt := range tests {
		got, err := confluent.PageToken(tt.next)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("PageToken(%q) = %q, %v; want %q, ok %v", tt.next, got, err, tt.want, tt.ok)
		}
	}
}

func TestNewRefusesMissingCredentials(t *testing.T) {
	for _, kv := range [][2]string{{"", "s"}, {"k", ""}} {
		if _, err := confluent.New(providers.Config{}, kv[0], kv[1]); err == nil {
			t.Errorf("New(%q, %q): want an error", kv[0], kv[1])
		}
	}
}

// listEnv is an emulator holding n Confluent invitations and a client for it.
func listEnv(tb testing.TB, n int) (*emulator.Server, *confluent.Client) {
	tb.Helper()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	seed := emulator.Seed{Confluent: make([]emulator.SeedConfluent, n)}
	for i := range seed.Confluent {
		seed.Confluent[i] = emulator.SeedConfluent{Email: fmt.Sprintf("user%05d@example.com", i)}
	}
	if err := emu.Seed(seed); err != nil {
		tb.Fatal(err)
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = emu.Close() })
	c, err := confluent.New(providers.Config{Endpoint: base, Rate: -1}, emulator.DefaultConfluentKey, emulator.DefaultConfluentSecret)
	if err != nil {
		tb.Fatal(err)
	}
	return emu, c
}

// Acceptance (issue 4): listing 10,000 invitations costs ceil(10000/100)
// list requests, as the emulator counts them.
func TestList10kRequests(t *testing.T) {
	const n = 10000
	emu, c := listEnv(t, n)
	invs, err := c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != n {
		t.Fatalf("listed %d, want %d", len(invs), n)
	}
	seen := make(map[string]bool, n)
	for _, inv := range invs {
		if seen[inv.ID] {
			t.Fatalf("id %s listed twice", inv.ID)
		}
		seen[inv.ID] = true
	}
	st := emu.Stats()
	if got, want := st.ByRoute["GET /iam/v2/invitations"], int64((n+confluent.PageSize-1)/confluent.PageSize); got != want || st.Requests != want {
		t.Fatalf("%d list requests (%d in all), want %d", got, st.Requests, want)
	}
}

func BenchmarkConfluentList10k(b *testing.B) {
	const n = 10000
	emu, c := listEnv(b, n)
	ctx := context.Background()
	before := emu.Stats().ByRoute["GET /iam/v2/invitations"]
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		invs, err := c.List(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(invs) != n {
			b.Fatalf("listed %d, want %d", len(invs), n)
		}
	}
	b.StopTimer()
	reqs := emu.Stats().ByRoute["GET /iam/v2/invitations"] - before
	b.ReportMetric(float64(reqs)/float64(b.N), "list-requests/op")
	// listing N costs ceil(N / max page size) requests, not N.
	b.ReportMetric(float64(reqs)/float64(b.N)-float64((n+confluent.PageSize-1)/confluent.PageSize), "extra-list-requests")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "invitations/s")
}

// BenchmarkConfluentCreateAtRateLimit drives creates with 16 workers at the
// emulator's own limit (500/s): the plumbing should use nearly all of it
// (>= 95%) with under 1% of requests answered 429.
func BenchmarkConfluentCreateAtRateLimit(b *testing.B) {
	const limit, workers, perOp = 500, 16, 2000
	emu, err := emulator.New(emulator.Config{Rate: limit})
	if err != nil {
		b.Fatal(err)
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = emu.Close() })
	c, err := confluent.New(providers.Config{Endpoint: base, Rate: limit}, emulator.DefaultConfluentKey, emulator.DefaultConfluentSecret)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	op := 0
	var elapsed time.Duration
	b.ResetTimer()
	for b.Loop() {
		op++
		next := make(chan int)
		errs := make(chan error, workers)
		start := time.Now()
		for range workers {
			go func() {
				for i := range next {
					res, err := c.Create(ctx, []providers.InviteRequest{{Email: fmt.Sprintf("op%d-%05d@example.com", op, i)}})
					if err == nil {
						err = res[0].Err
					}
					if err != nil {
						errs <- err
						for range next {
						}
						return
					}
				}
				errs <- nil
			}()
		}
		for i := range perOp {
			next <- i
		}
		close(next)
		for range workers {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
	}
	b.StopTimer()
	st := emu.Stats()
	rps := float64(st.Requests) / elapsed.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(100*rps/limit, "%-of-limit")
	b.ReportMetric(100*float64(st.RateLimited)/float64(st.Requests), "%-429")
	if st.DuplicateCreates != 0 {
		b.Fatalf("duplicate_creates = %d", st.DuplicateCreates)
	}
}
