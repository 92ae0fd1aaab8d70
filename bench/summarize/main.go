// Command summarize reads `go test -bench` output on stdin, echoes it, and
// prints one table of the figures the README sets targets for, then writes the
// table and every parsed metric as JSON (bench/results.json). It asserts
// nothing: a figure that misses its target is shown as such, and the exit code
// stays 0 unless the input could not be read.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// target is one figure the README sets: the metric unit a benchmark reports and
// the bound it must stay within. Raw and Limit, when set, name the metrics
// of the figure itself and of its physical limit, printed next to the ratio.
type target struct {
	Figure    string  `json:"figure"`
	Benchmark string  `json:"benchmark"`
	Unit      string  `json:"unit"`
	Op        string  `json:"op"` // "<=", ">=", or "" (reported, no bound)
	Bound     float64 `json:"bound"`
	Raw       string  `json:"raw,omitempty"`
	Limit     string  `json:"limit,omitempty"`
}

// e2eApply is one end-to-end apply figure: goodput over the rate limit.
func e2eApply(sub, what string) target {
	return target{"end to end apply " + what + ": goodput / R", "BenchmarkE2EApply/" + sub, "goodput-ratio", ">=", 0.95, "goodput-req/s", "limit-req/s"}
}

var targets = []target{
	{"plan 1M roster x 1M invitations: time", "BenchmarkPlan1M", "s/plan", "<=", 2, "", ""},
	{"plan 1M x 1M: peak heap", "BenchmarkPlan1M", "peak-heap-MiB", "<=", 1536, "", ""},
	{"read 100k-row XLSX as Excel saves it (shared strings): time", "BenchmarkReadXLSX100kSharedStrings", "s/read", "<=", 3, "", ""},
	{"read 100k-row XLSX as Excel saves it: peak RSS", "BenchmarkReadXLSX100kSharedStrings", "peak-rss-MiB", "<=", 300, "", ""},
	{"read 100k-row XLSX as invitesync dump writes it (inline strings): time", "BenchmarkReadXLSX100k", "s/read", "<=", 3, "", ""},
	{"read 100k-row XLSX (inline strings): peak RSS", "BenchmarkReadXLSX100k", "peak-rss-MiB", "<=", 300, "", ""},
	{"read 100k-row CSV: time", "BenchmarkReadCSV100k", "s/read", "<=", 3, "", ""},
	{"read 100k-row CSV: peak RSS", "BenchmarkReadCSV100k", "peak-rss-MiB", "<=", 300, "", ""},
	{"apply 5k creates + 1k revokes @500/s: throughput / rate limit", "BenchmarkApplyAt500rps", "rate-ratio", ">=", 0.95, "", ""},
	{"apply @500/s: share of requests answered 429 (%)", "BenchmarkApplyAt500rps", "429-pct", "<=", 1, "", ""},
	{"apply @500/s: list requests for 1k+ invitations (extra over ceil(N/100))", "BenchmarkApplyAt500rps", "extra-list-requests", "<=", 0, "", ""},
	{"list 10k invitations: requests over ceil(N/100)", "BenchmarkConfluentList10k", "extra-list-requests", "<=", 0, "", ""},
	{"emulator unlimited: requests/s (never the bottleneck)", "BenchmarkEmulatorThroughput", "req/s", ">=", 5000, "", ""},
	{"write 10k-action report (all formats): time", "BenchmarkWrite10kActions", "s/report", "<=", 2, "", ""},
	// What users feel: the binary against `invitesync emulator`, timed from
	// process start to exit (bench/e2e).
	e2eApply("R5_rtt0ms", "R=5 (140 creates)"),
	e2eApply("R10_rtt0ms", "R=10 (280 creates)"),
	e2eApply("R20_rtt0ms", "R=20 (560 creates)"),
	e2eApply("R500_rtt0ms", "R=500 (10k creates)"),
	e2eApply("R100_rtt0ms", "R=100, RTT 0 ms (3k creates)"),
	e2eApply("R100_rtt50ms", "R=100, RTT 50 ms"),
	e2eApply("R100_rtt200ms", "R=100, RTT 200 ms"),
	e2eApply("R100_rtt200ms_workers64", "R=100, RTT 200 ms, --concurrency 64"),
	{"end to end apply: share of requests answered 429 (%, worst run)", "BenchmarkE2EApply", "429-pct", "<=", 1, "", ""},
	{"end to end apply: duplicate creates (worst run)", "BenchmarkE2EApply", "duplicate-creates", "<=", 0, "", ""},
	{"end to end plan over 10k invitations: list requests / ceil(N/100)", "BenchmarkE2EList", "list-request-ratio", "<=", 1, "list-requests", "limit-list-requests"},
	{"end to end plan at the default rate (10/s): limit time / wall time", "BenchmarkE2EList", "plan-time-ratio", ">=", 0.9, "s/plan", "limit-s"},
	{"listing: the client's own ms per page of 100 (decode, key)", "BenchmarkE2EList", "client-ms/page", "<=", 10, "", ""},
	{"per-resource refresh (GET per invitation, 10 workers, no limiter) of 500 invitations @100/s: requests / invitesync's", "BenchmarkE2ERefreshPattern", "refresh-request-multiple", "", 0, "refresh-requests", "invitesync-requests"},
	{"per-resource refresh of the same org: wall time / invitesync's", "BenchmarkE2ERefreshPattern", "refresh-time-multiple", "", 0, "refresh-s", "invitesync-s"},
}

// row is a target with what was measured.
type row struct {
	target
	Value *float64 `json:"value"` // nil: not measured in this run
	Met   *bool    `json:"met"`
	// The figure and its physical limit, from the same run as Value.
	RawValue   *float64 `json:"raw_value,omitempty"`
	LimitValue *float64 `json:"limit_value,omitempty"`
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

func main() {
	out := flag.String("out", "bench/results.json", "where to write the JSON results")
	flag.Parse()
	metrics, err := parse(io.TeeReader(os.Stdin, os.Stdout))
	if err != nil {
		fmt.Fprintln(os.Stderr, "summarize:", err)
		os.Exit(1)
	}
	rows := evaluate(metrics)
	fmt.Println()
	printTable(os.Stdout, rows)
	res := struct {
		GeneratedAt time.Time                     `json:"generated_at"`
		Go          string                        `json:"go"`
		CPUs        int                           `json:"cpus"`
		Targets     []row                         `json:"targets"`
		Benchmarks  map[string]map[string]float64 `json:"benchmarks"`
	}{time.Now().UTC(), runtime.Version(), runtime.NumCPU(), rows, metrics}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<=" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "summarize:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "summarize:", err)
		os.Exit(1)
	}
	fmt.Printf("\nresults written to %s\n", *out)
}

// parse collects every "value unit" pair of every benchmark line; when a
// benchmark appears several times (-count), the last value wins.
func parse(r io.Reader) (map[string]map[string]float64, error) {
	metrics := map[string]map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		if metrics[m[1]] == nil {
			metrics[m[1]] = map[string]float64{}
		}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			metrics[m[1]][f[i+1]] = v
		}
	}
	return metrics, sc.Err()
}

func evaluate(metrics map[string]map[string]float64) []row {
	rows := make([]row, 0, len(targets))
	for _, t := range targets {
		r := row{target: t}
		// A benchmark with sub-benchmarks (Name/case) is judged by its worst case.
		for name, m := range metrics {
			v, ok := m[t.Unit]
			if !ok || (name != t.Benchmark && !strings.HasPrefix(name, t.Benchmark+"/")) {
				continue
			}
			met := v <= t.Bound
			switch t.Op {
			case ">=":
				met = v >= t.Bound
			case "":
				met = true
			}
			if r.Value == nil || worse(t.Op, v, *r.Value) {
				r.Value, r.Met = &v, &met
				r.RawValue, r.LimitValue = nil, nil
				if raw, ok := m[t.Raw]; ok && t.Raw != "" {
					r.RawValue = &raw
				}
				if lim, ok := m[t.Limit]; ok && t.Limit != "" {
					r.LimitValue = &lim
				}
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// worse reports whether a is further from meeting op than b.
func worse(op string, a, b float64) bool {
	if op == ">=" {
		return a < b
	}
	return a > b
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tTARGET\tMEASURED\tAGAINST ITS LIMIT\tMET")
	for _, r := range rows {
		got, met, vs := "not measured", "-", ""
		if r.Value != nil {
			got = format(*r.Value) + " " + r.Unit
			if r.Op != "" {
				met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
			}
			if r.RawValue != nil && r.LimitValue != nil {
				vs = fmt.Sprintf("%s %s vs %s %s", format(*r.RawValue), r.Raw, format(*r.LimitValue), r.Limit)
			}
		}
		tgt := "(reported)"
		if r.Op != "" {
			tgt = fmt.Sprintf("%s %s %s", r.Op, format(r.Bound), r.Unit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Figure, tgt, got, vs, met)
	}
	tw.Flush()
}

func format(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// sortedKeys is used by tests to compare parsed metrics deterministically.
func sortedKeys(m map[string]map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
