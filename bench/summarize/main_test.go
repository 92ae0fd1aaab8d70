package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAndEvaluate(t *testing.T) {
	in := `goos: linux
BenchmarkPlan1M-2   	       1	1234567890 ns/op	         1.23 s/plan	       900.0 peak-heap-MiB	123 B/op
BenchmarkReadXLSX100k-2 	1	 2 ns/op	 3.5 s/read	 250 peak-rss-MiB
BenchmarkEmulatorThroughput/get-2 	100	 2 ns/op	 9000 req/s
BenchmarkEmulatorThroughput/list-2 	100	 2 ns/op	 4000 req/s
BenchmarkApplyAt500rps 	1	 2 ns/op	 0.97 rate-ratio	 0.2 429-pct
PASS
ok  	x	1.0s
`
	m, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sortedKeys(m), []string{"BenchmarkApplyAt500rps", "BenchmarkEmulatorThroughput/get", "BenchmarkEmulatorThroughput/list", "BenchmarkPlan1M", "BenchmarkReadXLSX100k"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("benchmarks = %v, want %v", got, want)
	}
	if m["BenchmarkPlan1M"]["s/plan"] != 1.23 || m["BenchmarkPlan1M"]["B/op"] != 123 {
		t.Fatalf("plan metrics = %v", m["BenchmarkPlan1M"])
	}
	met := map[string]string{}
	for _, r := range evaluate(m) {
		switch {
		case r.Value == nil:
			met[r.Figure] = "unmeasured"
		case *r.Met:
			met[r.Figure] = "met"
		default:
			met[r.Figure] = "missed"
		}
	}
	for fig, want := range map[string]string{
		"plan 1M roster x 1M invitations: time":                                  "met",
		"read 100k-row XLSX as invitesync dump writes it (inline strings): time": "missed", // 3.5 > 3
		"read 100k-row XLSX (inline strings): peak RSS":                          "met",
		"apply 5k creates + 1k revokes @500/s: throughput / rate limit":          "met",
		"emulator unlimited: requests/s (never the bottleneck)":                  "missed", // worst case 4000 < 5000
		"read 100k-row CSV: time":                                                "unmeasured",
	} {
		if met[fig] != want {
			t.Errorf("%s: %s, want %s", fig, met[fig], want)
		}
	}
}
