package report

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/reconcile"
)

// bigResult is an apply result of n actions spread over every kind and status.
func bigResult(n int) *reconcile.Result {
	res := sampleResult()
	ops := []reconcile.Op{reconcile.OpCreate, reconcile.OpCreate, reconcile.OpCreate, reconcile.OpReinvite, reconcile.OpRevoke, reconcile.OpLeave, reconcile.OpLeave}
	res.Actions = make([]reconcile.Action, n)
	for i := range res.Actions {
		a := reconcile.Action{
			Op: ops[i%len(ops)], Email: fmt.Sprintf("person%06d@example.com", i), Reason: "not invited",
			InvitationID: fmt.Sprintf("i-%08x", i), Status: reconcile.StatusDone, Attempts: 1 + i%3,
			RequestID: fmt.Sprintf("req-%08x", i*7919),
		}
		switch {
		case i%97 == 0:
			a.Status, a.Error = reconcile.StatusFailed, "create: 503 Service Unavailable after 6 attempts"
		case i%13 == 0 && a.Op == reconcile.OpLeave:
			a.Unmanaged, a.Status = true, reconcile.StatusPlanned
		}
		res.Actions[i] = a
	}
	res.Plan.Actions = res.Actions
	return res
}

// planShaped is a plan shaped like a big org's: sorted by email, one person
// in ten changed (creates, reinvites, revokes, access changes, a removal now
// and then), one in fifty someone else's pending invitation, the rest left.
func planShaped(n int) *reconcile.Result {
	res := sampleResult()
	res.Mode = "plan"
	res.Actions = make([]reconcile.Action, n)
	for i := range res.Actions {
		a := reconcile.Action{Email: fmt.Sprintf("person%07d@example.com", i), Status: reconcile.StatusPlanned,
			InvitationID: fmt.Sprintf("i-%08x", i)}
		switch {
		case i%50 == 7:
			a.Op, a.Unmanaged, a.Reason = reconcile.OpLeave, true, "not in roster; not created by this tool (unmanaged)"
		case i%10 != 0:
			a.Op, a.Reason = reconcile.OpLeave, "pending invitation matches the roster"
		case i%40 == 0:
			a.Op, a.Reason = reconcile.OpReinvite, "auth type differs: AUTH_TYPE_LOCAL -> AUTH_TYPE_SSO"
		case i%40 == 10:
			a.Op, a.Reason = reconcile.OpRevoke, "not in roster; created by this tool"
		case i%40 == 20 && i%400 != 20:
			a.Op, a.Reason = reconcile.OpGrant, "adds EnvironmentAdmin on env-abc123"
			a.Grant = &providers.Grant{Email: a.Email, UserID: fmt.Sprintf("u-%07d", i), Role: "EnvironmentAdmin@env-abc123"}
		case i%40 == 20:
			a.Op, a.Reason = reconcile.OpRemoveMember, "not in roster; joined through this tool's invitation"
			a.User = &providers.User{ID: fmt.Sprintf("u-%07d", i), Email: a.Email}
			a.Radius = &providers.Radius{APIKeys: []string{fmt.Sprintf("AK%07d", i)}, Bindings: []string{"rb-1", "rb-2"}}
		default:
			a.Op, a.Reason, a.InvitationID = reconcile.OpCreate, "in roster; not invited yet", ""
		}
		res.Actions[i] = a
	}
	res.Plan.Actions = res.Actions
	return res
}

// BenchmarkWrite10kActions writes all four formats for 10,000 actions
// (target: under 2 s per report set).
func BenchmarkWrite10kActions(b *testing.B) {
	b.Setenv("GITHUB_STEP_SUMMARY", "")
	res := bigResult(10_000)
	dir := b.TempDir()
	var bytes int64
	start := time.Now()
	for b.Loop() {
		paths, err := Write(dir, Formats, res)
		if err != nil {
			b.Fatal(err)
		}
		bytes = 0
		for _, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				b.Fatal(err)
			}
			bytes += st.Size()
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/report")
	b.ReportMetric(float64(bytes)/(1<<20), "MiB/report")
	// Per format, so a regression points at its writer.
	doc := NewDocument(res)
	for _, f := range Formats {
		t0 := time.Now()
		path := filepath.Join(dir, "single-"+f)
		var err error
		switch f {
		case "json":
			err = writeAtomic(path, func(w io.Writer) error { return writeJSON(w, doc) })
		case "md":
			err = writeAtomic(path, func(w io.Writer) error { return writeMarkdown(w, doc) })
		case "xlsx":
			err = writeAtomic(path, func(w io.Writer) error { return writeXLSX(w, doc) })
		case "html":
			err = writeAtomic(path, func(w io.Writer) error { return writeHTML(w, doc) })
		}
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds()*1000, f+"-ms")
	}
}

// BenchmarkWrite1MActions writes every format for plans of 100k and 1M
// actions shaped like a big org's (planShaped) and reports each format's
// time (wall and CPU), size and bytes allocated, the peak Go heap the
// report set adds (garbage the GC has not reclaimed yet included), and, where
// Chromium is installed, how long report.html takes to become interactive
// (headless Chromium loading it and running its script; goal: under 3 s).
// all-s and cpu-s are the formats one after the other; write-s is Write,
// which writes them concurrently (what a run waits for).
// cpu-s is the process's CPU time for the report set (what the machine's
// other load does not inflate, unlike the wall times).
// It also writes an XLSX with 1.1M actions of one kind: past Excel's row
// limit it must split the kind across sheets, not fail.
func BenchmarkWrite1MActions(b *testing.B) {
	b.Setenv("GITHUB_STEP_SUMMARY", "")
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			res := planShaped(n)
			dir := b.TempDir()
			for b.Loop() {
				doc := NewDocument(res)
				runtime.GC()
				stop := sampleHeap()
				start, cpu0 := time.Now(), cpuTime()
				for _, f := range Formats {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					t0, c0, a0 := time.Now(), cpuTime(), ms.TotalAlloc
					path := filepath.Join(dir, fileNames[f])
					if err := writeAtomic(path, func(w io.Writer) error { return render(f, w, doc) }); err != nil {
						b.Fatal(err)
					}
					st, err := os.Stat(path)
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(time.Since(t0).Seconds()*1000, f+"-ms")
					b.ReportMetric((cpuTime()-c0).Seconds()*1000, f+"-cpu-ms")
					runtime.ReadMemStats(&ms)
					b.ReportMetric(float64(ms.TotalAlloc-a0)/(1<<20), f+"-alloc-MiB")
					b.ReportMetric(float64(st.Size())/(1<<20), f+"-MiB")
				}
				b.ReportMetric(time.Since(start).Seconds(), "all-s")
				b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
				b.ReportMetric(float64(stop())/(1<<20), "peak-heap-growth-MiB")
				// What a run waits for: Write, the formats side by side.
				t0 := time.Now()
				if _, err := Write(dir, Formats, res); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(t0).Seconds(), "write-s")
			}
			if bin := findChromium(); bin != "" {
				fileURL := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "report.html")}).String()
				wall, page := chromiumLoad(b, bin, fileURL+"#kind=create&q=person00")
				b.ReportMetric(wall.Seconds(), "html-chromium-wall-s")
				b.ReportMetric(page.Seconds(), "html-interactive-s")
			}
		})
	}
	b.Run("xlsx-1.1M-one-kind", func(b *testing.B) {
		res := sampleResult()
		res.Actions = make([]reconcile.Action, 1_100_000)
		for i := range res.Actions {
			res.Actions[i] = reconcile.Action{Op: reconcile.OpCreate, Email: fmt.Sprintf("p%07d@example.com", i),
				Reason: "in roster; not invited yet", Status: reconcile.StatusPlanned}
		}
		dir := b.TempDir()
		for b.Loop() {
			t0, cpu0 := time.Now(), cpuTime()
			if _, err := Write(dir, []string{"xlsx"}, res); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "xlsx-s")
			b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
		}
		zr, err := zip.OpenReader(filepath.Join(dir, "report.xlsx"))
		if err != nil {
			b.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if f.Name != "xl/workbook.xml" {
				continue
			}
			rc, _ := f.Open()
			wb, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Contains(wb, []byte(`name="create"`)) || !bytes.Contains(wb, []byte(`name="create (2)"`)) {
				b.Fatalf("workbook lacks the create and create (2) sheets: %.600s", wb)
			}
		}
	})
}

// sampleHeap samples the Go heap in use until the returned func is called,
// which returns the peak above the heap in use at the start (the result
// being reported is not counted).
func sampleHeap() func() uint64 {
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var peak atomic.Uint64
	peak.Store(ms0.HeapInuse)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { close(done); <-stopped; return peak.Load() - ms0.HeapInuse }
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// chromiumLoad loads url in headless Chromium and returns the wall time of
// the whole run (browser start included) and the page's own time from
// navigation start until its script made it interactive (data-ready-ms).
func chromiumLoad(b *testing.B, bin, url string) (wall, page time.Duration) {
	b.Helper()
	t0 := time.Now()
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+b.TempDir(), "--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+b.TempDir())
	out, err := cmd.Output()
	wall = time.Since(t0)
	if err != nil {
		b.Fatalf("chromium: %v", err)
	}
	m := readyMsRE.FindSubmatch(out)
	if m == nil {
		b.Fatalf("chromium: the page's script did not run")
	}
	ms, _ := strconv.Atoi(string(m[1]))
	return wall, time.Duration(ms) * time.Millisecond
}

var readyMsRE = regexp.MustCompile(`data-ready-ms="(\d+)"`)
