package emulator

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEmulatorThroughput measures requests/second served over loopback
// with no rate limit, from parallel keep-alive clients. Target: >= 5,000 req/s
// on a 2-core machine.
func BenchmarkEmulatorThroughput(b *testing.B) { benchThroughput(b, false) }

// BenchmarkEmulatorThroughputWithState is the same with --state: every change
// is on disk before it is answered, so fsync latency bounds it. Not a target.
func BenchmarkEmulatorThroughputWithState(b *testing.B) { benchThroughput(b, true) }

func benchThroughput(b *testing.B, withState bool) {
	seed := func(s *Server) {
		var sd Seed
		sd.Azure = map[string][]SeedAzure{azOrg: nil}
		for i := range 1000 {
			e := fmt.Sprintf("p%04d@example.com", i)
			sd.Confluent = append(sd.Confluent, SeedConfluent{Email: e})
			sd.Azure[azOrg] = append(sd.Azure[azOrg], SeedAzure{Email: e})
		}
		if err := s.Seed(sd); err != nil {
			b.Fatal(err)
		}
	}
	var uniq atomic.Int64
	cases := []struct {
		name  string
		state bool
		req   func(base string) *http.Request
	}{
		{"confluent-list-page", false, func(base string) *http.Request {
			r, _ := http.NewRequest("GET", base+"/iam/v2/invitations?page_size=10", nil)
			r.SetBasicAuth(DefaultConfluentKey, DefaultConfluentSecret)
			return r
		}},
		{"confluent-get", false, func(base string) *http.Request {
			r, _ := http.NewRequest("GET", base+"/iam/v2/invitations/i-000001", nil)
			r.SetBasicAuth(DefaultConfluentKey, DefaultConfluentSecret)
			return r
		}},
		{"confluent-create", false, func(base string) *http.Request {
			body := fmt.Sprintf(`{"email":"new%d@example.com"}`, uniq.Add(1))
			r, _ := http.NewRequest("POST", base+"/iam/v2/invitations", strings.NewReader(body))
			r.SetBasicAuth(DefaultConfluentKey, DefaultConfluentSecret)
			return r
		}},
		{"confluent-create", true, func(base string) *http.Request {
			body := fmt.Sprintf(`{"email":"new%d@example.com"}`, uniq.Add(1))
			r, _ := http.NewRequest("POST", base+"/iam/v2/invitations", strings.NewReader(body))
			r.SetBasicAuth(DefaultConfluentKey, DefaultConfluentSecret)
			return r
		}},
		{"azure-list-page", false, func(base string) *http.Request {
			r, _ := http.NewRequest("POST", base+azPath(azOrg, "listInvitations"), strings.NewReader(`{"searchFilters":{"pageSize":"10"}}`))
			r.Header.Set("Authorization", "Bearer "+DefaultAzureToken)
			return r
		}},
	}
	for _, tc := range cases {
		if tc.state != withState {
			continue
		}
		b.Run(tc.name, func(b *testing.B) {
			cfg := Config{}
			if tc.state {
				cfg.StatePath = filepath.Join(b.TempDir(), "state.json")
			}
			s, c := start(b, cfg)
			if !tc.state {
				seed(s)
			}
			hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128}}
			var failed atomic.Int64
			b.SetParallelism(8) // 8 x GOMAXPROCS client goroutines
			b.ResetTimer()
			begin := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := hc.Do(tc.req(c.base))
					if err != nil {
						failed.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode >= 300 {
						failed.Add(1)
					}
				}
			})
			elapsed := time.Since(begin)
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d requests failed", n, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			hc.CloseIdleConnections()
		})
	}
}
