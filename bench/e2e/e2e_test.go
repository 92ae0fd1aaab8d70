//go:build linux

// Package e2e measures what users feel: the real binary, built once, run
// against `invitesync emulator` as a user runs it (its own process, its rate
// limit, its --latency playing the network), timed from process start to
// exit, reports included. Each figure is reported next to its physical
// limit (the rate limit, ceil(N/page) list requests) and as a ratio of it,
// which bench/summarize prints.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Credentials: the emulator's defaults, set in the children's environment.
var creds = []string{"CONFLUENT_CLOUD_API_KEY=emulator-key", "CONFLUENT_CLOUD_API_SECRET=emulator-secret"}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds cmd/invitesync once per benchmark process.
func binary(b *testing.B) string {
	b.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "invitesync-e2e-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "invitesync")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/invitesync")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

// child runs the binary with the emulator's credentials; it dies with the
// benchmark process (Pdeathsig), so a panic leaves no emulator behind.
func child(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), creds...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

type emulator struct {
	url string
}

// startEmulator runs `invitesync emulator` with args and waits for its
// "listening on" line. It is stopped (by its own pid) when b ends.
func startEmulator(b *testing.B, args ...string) *emulator {
	b.Helper()
	cmd := child(context.Background(), binary(b), append([]string{"emulator", "--listen", "127.0.0.1:0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case l, ok := <-lines:
		url, found := strings.CutPrefix(l, "listening on ")
		if !ok || !found {
			b.Fatalf("emulator said %q; log:\n%s", l, logs.String())
		}
		return &emulator{url: strings.TrimSpace(url)}
	case <-time.After(60 * time.Second):
		b.Fatalf("the emulator did not say where it listens; log:\n%s", logs.String())
	}
	return nil
}

type stats struct {
	Requests    int64            `json:"requests"`
	ByRoute     map[string]int64 `json:"by_route"`
	RateLimited int64            `json:"rate_limited"`
	Duplicates  int64            `json:"duplicate_creates"`
}

func (e *emulator) stats(b *testing.B) stats {
	b.Helper()
	resp, err := http.Get(e.url + "/_emulator/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var s stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		b.Fatal(err)
	}
	return s
}

func writeRoster(b *testing.B, dir string, n int) string {
	b.Helper()
	var buf bytes.Buffer
	buf.WriteString("email\n")
	for i := range n {
		fmt.Fprintf(&buf, "user%06d@example.com\n", i)
	}
	path := filepath.Join(dir, "roster.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// writeSeed seeds n pending Confluent invitations for the same people the
// roster names (so a plan over them changes nothing).
func writeSeed(b *testing.B, dir string, n int) string {
	b.Helper()
	var buf bytes.Buffer
	buf.WriteString("confluent:\n")
	for i := range n {
		fmt.Fprintf(&buf, "  - email: user%06d@example.com\n", i)
	}
	path := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// run runs the binary to its end and returns its wall time and stderr.
func run(b *testing.B, args ...string) (time.Duration, []byte) {
	b.Helper()
	cmd := child(context.Background(), binary(b), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		tail := stderr.String()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		b.Fatalf("%s: %v\n%s", strings.Join(args[:1], " "), err, tail)
	}
	return wall, stderr.Bytes()
}

// applyCase is one end-to-end apply: N creates against an emulator limited
// to R requests/s with rtt added to every request, with the flags a user
// gives (the upstream's rate; nothing about concurrency unless extra says).
type applyCase struct {
	name  string
	rate  float64
	n     int
	rtt   time.Duration
	extra []string
}

// N is chosen per rate so each run takes about 20-30 s at the limit: long
// enough that process start, the serial who-am-I and listing round trips and
// report writing weigh what they weigh in a real run of that size, short
// enough that the whole series stays within a few minutes.
var applyCases = []applyCase{
	{"R5_rtt0ms", 5, 140, 0, nil},
	{"R10_rtt0ms", 10, 280, 0, nil},
	{"R20_rtt0ms", 20, 560, 0, nil},
	{"R500_rtt0ms", 500, 10000, 0, nil},
	{"R100_rtt0ms", 100, 3000, 0, nil},
	{"R100_rtt50ms", 100, 3000, 50 * time.Millisecond, nil},
	{"R100_rtt200ms", 100, 3000, 200 * time.Millisecond, nil},
	// The same with reconcile running MaxConcurrency workers and the
	// client's adaptive limiter gating them: what the default becomes once
	// apply hands concurrency to the client.
	{"R100_rtt200ms_workers64", 100, 3000, 200 * time.Millisecond, []string{"--concurrency", "64"}},
}

// BenchmarkE2EApply: goodput (requests not refused, per second of the whole
// apply process) over the rate limit R. Targets: goodput-ratio >= 0.95,
// 429-pct < 1, duplicate creates 0.
func BenchmarkE2EApply(b *testing.B) {
	for _, c := range applyCases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				emu := startEmulator(b, "--rate", fmt.Sprint(c.rate), "--latency", c.rtt.String())
				roster := writeRoster(b, dir, c.n)
				b.StartTimer()
				args := append([]string{"apply", "--roster", roster, "--provider", "confluent", "--endpoint", emu.url,
					"--ledger", filepath.Join(dir, "ledger.jsonl"), "--report", filepath.Join(dir, "report"),
					"--yes", "--no-progress", "--rate", fmt.Sprint(c.rate)}, c.extra...)
				wall, _ := run(b, args...)
				b.StopTimer()
				st := emu.stats(b)
				good := float64(st.Requests - st.RateLimited)
				goodput := good / wall.Seconds()
				b.ReportMetric(wall.Seconds(), "s/apply")
				b.ReportMetric(float64(st.Requests)/c.rate, "limit-s") // the physical limit: every request at exactly R
				b.ReportMetric(goodput, "goodput-req/s")
				b.ReportMetric(c.rate, "limit-req/s")
				b.ReportMetric(goodput/c.rate, "goodput-ratio")
				b.ReportMetric(100*float64(st.RateLimited)/math.Max(1, float64(st.Requests)), "429-pct")
				b.ReportMetric(float64(st.Duplicates), "duplicate-creates")
				b.StartTimer()
			}
		})
	}
}

// debugLine is the part of the client's "http attempt" debug line the list
// figures need.
type debugLine struct {
	Message string  `json:"message"`
	Method  string  `json:"method"`
	Path    string  `json:"path"`
	Latency float64 `json:"latency"` // ms
	Time    string  `json:"time"`
}

// BenchmarkE2EList: `invitesync plan` over an org of N invitations (and a
// roster naming the same people), twice. Unpaced (--rate 1e6): list requests
// over the physical limit ceil(N/100), and the client's own time per page
// (the listing's span minus the time spent waiting on answers, over the
// pages). At the provider's default rate (10/s): the plan's wall time over
// its physical limit, every request at exactly the rate.
func BenchmarkE2EList(b *testing.B) {
	const n, page, defaultRate = 10000, 100, 10.0
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		emu := startEmulator(b, "--seed", writeSeed(b, dir, n))
		roster := writeRoster(b, dir, n)
		args := []string{"plan", "--roster", roster, "--provider", "confluent", "--endpoint", emu.url,
			"--report", filepath.Join(dir, "report"), "--no-progress", "--log-format", "json", "--log-level", "debug"}
		b.StartTimer()
		wall, logs := run(b, append(args, "--rate", "1e6")...)
		b.StopTimer()
		st := emu.stats(b)
		lists := st.ByRoute["GET /iam/v2/invitations"]
		limit := float64((n + page - 1) / page)
		pages, waited, span := listSpan(b, logs)
		b.ReportMetric(wall.Seconds(), "s/plan-unpaced")
		b.ReportMetric(float64(lists), "list-requests")
		b.ReportMetric(limit, "limit-list-requests")
		b.ReportMetric(float64(lists)/limit, "list-request-ratio")
		if pages > 0 {
			b.ReportMetric((span-waited)/float64(pages), "client-ms/page")
			b.ReportMetric(waited/float64(pages), "wait-ms/page")
		}
		b.StartTimer()
		wall, _ = run(b, args...)
		b.StopTimer()
		st2 := emu.stats(b)
		reqs := float64(st2.Requests - st.Requests)
		b.ReportMetric(wall.Seconds(), "s/plan")
		b.ReportMetric(reqs/defaultRate, "limit-s")
		b.ReportMetric(reqs/defaultRate/wall.Seconds(), "plan-time-ratio")
		b.StartTimer()
	}
}

// listSpan reads the client's debug lines: the number of list pages, the
// milliseconds spent waiting on them, and the listing's span in ms (first
// send to the end of the last answer).
func listSpan(b *testing.B, logs []byte) (pages int, waited, span float64) {
	var first, last time.Time
	var lastLat float64
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l debugLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Message != "http attempt" || l.Method != http.MethodGet || l.Path != "/iam/v2/invitations" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, l.Time)
		if err != nil {
			continue
		}
		// The line is written when the answer is in: it began Latency earlier.
		startAt := t.Add(-time.Duration(l.Latency * float64(time.Millisecond)))
		if first.IsZero() || startAt.Before(first) {
			first = startAt
		}
		if t.After(last) {
			last, lastLat = t, l.Latency
		}
		pages++
		waited += l.Latency
	}
	_ = lastLat
	if pages == 0 {
		b.Log("no list attempt in the debug log: client ms/page not measured")
		return 0, 0, 0
	}
	return pages, waited, float64(last.Sub(first)) / float64(time.Millisecond)
}

// BenchmarkE2ERefreshPattern puts the same org (N pending invitations,
// emulator limited to R) under two access patterns: invitesync's (one
// listing, ceil(N/100) pages) and a per-resource refresh as the Terraform
// provider does it (one GET per invitation, 10 workers, no client limiter,
// Retry-After honoured on 429). Request count and wall time for each.
func BenchmarkE2ERefreshPattern(b *testing.B) {
	const n, rate = 500, 100.0
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		emu := startEmulator(b, "--seed", writeSeed(b, dir, n), "--rate", fmt.Sprint(rate))
		roster := writeRoster(b, dir, n)
		b.StartTimer()
		wall, _ := run(b, "plan", "--roster", roster, "--provider", "confluent", "--endpoint", emu.url,
			"--report", filepath.Join(dir, "report"), "--no-progress", "--rate", fmt.Sprint(rate))
		b.StopTimer()
		ours := emu.stats(b)
		ids := listIDs(b, emu.url)
		before := emu.stats(b)
		b.StartTimer()
		start := time.Now()
		refresh(b, emu.url, ids, 10)
		rwall := time.Since(start)
		b.StopTimer()
		after := emu.stats(b)
		b.ReportMetric(float64(ours.Requests), "invitesync-requests")
		b.ReportMetric(wall.Seconds(), "invitesync-s")
		b.ReportMetric(float64(after.Requests-before.Requests), "refresh-requests")
		b.ReportMetric(float64(after.RateLimited-before.RateLimited), "refresh-429s")
		b.ReportMetric(rwall.Seconds(), "refresh-s")
		b.ReportMetric(float64(after.Requests-before.Requests)/float64(max(ours.Requests, 1)), "refresh-request-multiple")
		b.ReportMetric(rwall.Seconds()/wall.Seconds(), "refresh-time-multiple")
		b.StartTimer()
	}
}

// listIDs reads every invitation id straight from the emulator, as a
// Terraform state would hold them (not timed, not counted).
func listIDs(b *testing.B, base string) []string {
	b.Helper()
	var ids []string
	next := base + "/iam/v2/invitations?page_size=100"
	for next != "" {
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			Metadata struct {
				Next *string `json:"next"`
			} `json:"metadata"`
		}
		for {
			resp, err := get(next)
			if err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode == http.StatusTooManyRequests {
				resp.Body.Close()
				time.Sleep(time.Second)
				continue
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			break
		}
		for _, d := range page.Data {
			ids = append(ids, d.ID)
		}
		next = ""
		if page.Metadata.Next != nil {
			next = *page.Metadata.Next
		}
	}
	return ids
}

func get(url string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth("emulator-key", "emulator-secret")
	return http.DefaultClient.Do(req)
}

// refresh GETs every invitation by id with workers goroutines and no
// limiter; a 429 is retried after its Retry-After.
func refresh(b *testing.B, base string, ids []string, workers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				for {
					resp, err := get(base + "/iam/v2/invitations/" + ids[i])
					if err != nil {
						errs <- err
						return
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusTooManyRequests {
						d, _ := time.ParseDuration(resp.Header.Get("Retry-After") + "s")
						time.Sleep(max(d, 100*time.Millisecond))
						continue
					}
					if resp.StatusCode != http.StatusOK {
						errs <- fmt.Errorf("GET %s: %d", ids[i], resp.StatusCode)
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkE2EPlan1M: `invitesync plan` of a 1,000,000-row roster against
// an org of 1,000,000 invitations (5% of them people who left, so 50,000
// creates and 50,000 revokes), as a user runs it: the whole process, reports
// included. Targets: peak RSS under 1.5 GiB; report writing (from the plan's
// finished_at to the last report file) under 15% of the run; report.html
// under 20 MB.
func BenchmarkE2EPlan1M(b *testing.B) {
	const n = 1000000
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		var seed bytes.Buffer
		seed.WriteString(`{"confluent":[`)
		for i := range n {
			if i > 0 {
				seed.WriteByte(',')
			}
			if i%20 == 0 {
				fmt.Fprintf(&seed, `{"email":"gone%07d@example.com"}`, i)
			} else {
				fmt.Fprintf(&seed, `{"email":"user%06d@example.com"}`, i)
			}
		}
		seed.WriteString("]}")
		seedPath := filepath.Join(dir, "seed.json")
		if err := os.WriteFile(seedPath, seed.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
		emu := startEmulator(b, "--seed", seedPath)
		roster := writeRoster(b, dir, n)
		report := filepath.Join(dir, "report")
		cmd := child(context.Background(), binary(b), "plan", "--roster", roster, "--provider", "confluent", "--endpoint", emu.url,
			"--rate", "1e6", "--max-revoke", "100%", "--report", report, "--no-progress", "--log-format", "json")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		b.StartTimer()
		start := time.Now()
		err := cmd.Run()
		wall := time.Since(start)
		b.StopTimer()
		if code := cmd.ProcessState.ExitCode(); code != 2 {
			b.Fatalf("plan: exit %d (%v), want 2\n%s", code, err, out.String())
		}
		var doc struct {
			FinishedAt time.Time `json:"finished_at"`
		}
		f, err := os.Open(filepath.Join(report, "report.json"))
		if err != nil {
			b.Fatal(err)
		}
		head := make([]byte, 4096)
		k, _ := f.Read(head)
		f.Close()
		// finished_at is near the top: read it without decoding 250 MB.
		if i := bytes.Index(head[:k], []byte(`"finished_at": "`)); i >= 0 {
			rest := head[i+len(`"finished_at": "`):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				doc.FinishedAt, _ = time.Parse(time.RFC3339Nano, string(rest[:j]))
			}
		}
		var last time.Time
		var htmlSize int64
		entries, _ := os.ReadDir(report)
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				continue
			}
			if info.ModTime().After(last) {
				last = info.ModTime()
			}
			if e.Name() == "report.html" {
				htmlSize = info.Size()
			}
		}
		rss := float64(0)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = float64(ru.Maxrss) / 1024 // KiB on Linux
		}
		b.ReportMetric(wall.Seconds(), "s/plan")
		b.ReportMetric(rss, "peak-rss-MiB")
		b.ReportMetric(1536, "limit-rss-MiB")
		if !doc.FinishedAt.IsZero() && last.After(doc.FinishedAt) {
			b.ReportMetric(100*last.Sub(doc.FinishedAt).Seconds()/wall.Seconds(), "report-pct")
		}
		b.ReportMetric(float64(htmlSize)/(1<<20), "html-MiB")
		b.StartTimer()
	}
}
