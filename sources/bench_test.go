package sources

import (
	"bufio"
	"fmt"
	"github.com/invitesync/invitesync/bench/peak"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

const benchRows = 100_000

// benchDir holds the generated rosters, made once per test binary run and
// removed by TestMain.
var (
	benchDir     string
	benchDirOnce sync.Once
	benchFiles   sync.Map // kind -> *benchFile
)

type benchFile struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchMembers is a realistic roster: every column used, lists on most rows.
func benchMembers(n int) []Member {
	link := "/csp/gateway/slc/api/definitions/external/ybUdoTC05kYFC9ZG560kpsn0I8M_"
	ms := make([]Member, n)
	for i := range ms {
		m := Member{
			Email:    fmt.Sprintf("user.%06d@example.com", i),
			OrgRoles: []string{"org_member"},
			Groups:   []string{"g-eng", "g-ops", fmt.Sprintf("g-team-%d", i%50)},
		}
		switch i % 3 {
		case 0:
			m.AuthType = AuthSSO
		case 1:
			m.AuthType = AuthLocal
		}
		if i%5 == 0 {
			m.ServiceRoles = []ServiceRole{{Link: link, Role: "vmc-user:full"}}
		}
		if i%4 == 0 {
			m.ExpiresInDays = 30
		}
		ms[i] = m
	}
	return ms
}

// benchRoster writes the 100k-row roster once per kind: "csv", "xlsx"
// (WriteFile's StreamWriter: inline strings) or "sst.xlsx" (a shared string
// table, as Excel and LibreOffice save a workbook).
func benchRoster(b *testing.B, kind string) string {
	v, _ := benchFiles.LoadOrStore(kind, &benchFile{})
	bf := v.(*benchFile)
	bf.once.Do(func() {
		benchDirOnce.Do(func() { benchDir, bf.err = os.MkdirTemp("", "invitesync-bench-") })
		if bf.err != nil {
			return
		}
		bf.path = filepath.Join(benchDir, "roster100k."+kind)
		if kind == "5m.csv" {
			bf.path = filepath.Join(benchDir, "roster5m.csv")
			bf.err = writeEmailsCSV(bf.path, bench5MRows)
			return
		}
		if kind == "sst.xlsx" {
			bf.err = writeSharedStringsXLSX(bf.path, benchMembers(benchRows))
			return
		}
		bf.err = WriteFile(bf.path, benchMembers(benchRows))
	})
	if bf.err != nil {
		b.Fatal(bf.err)
	}
	return bf.path
}

// bench5MRows is the big roster of issue 16: 5M people in a 100 MB CSV.
const bench5MRows = 5_000_000

// writeEmailsCSV writes an email-only roster: 20 bytes a row, so 5M rows
// are a 100 MB file.
func writeEmailsCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("email\n")
	for i := range n {
		fmt.Fprintf(w, "u%07d@example.com\n", i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeSharedStringsXLSX writes members through excelize's cell API, which
// stores text in the shared string table.
func writeSharedStringsXLSX(path string, members []Member) error {
	f := excelize.NewFile()
	defer f.Close()
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = c
	}
	if err := f.SetSheetRow("Sheet1", "A1", &header); err != nil {
		return err
	}
	for i := range members {
		row := make([]any, numColumns)
		for j, s := range cells(&members[i]) {
			if s != "" {
				row[j] = s
			}
		}
		if d := members[i].ExpiresInDays; d != 0 {
			row[colExpires] = d
		}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			return err
		}
	}
	return f.SaveAs(path)
}

// heapSampler records the peak of the heap in use (live objects plus free
// space in spans, i.e. MemStats.HeapInuse) while a read runs, read from
// runtime/metrics, which does not stop the world.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

func heapInuse(s []metrics.Sample) uint64 {
	metrics.Read(s)
	var n uint64
	for _, x := range s {
		n += x.Value.Uint64()
	}
	return n
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		s[i].Name = name
	}
	go func() {
		defer close(h.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if n := heapInuse(s); n > h.peak {
				h.peak = n
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}

// cpuTime is the CPU this process has used (all threads, GC included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRead reads the roster b.N times and reports rows/s, wall and CPU
// seconds per read (CPU is the steadier figure on a shared machine), and the
// peak heap growth over the heap before the read (the members included).
func benchRead(b *testing.B, kind string) { benchReadN(b, kind, benchRows) }

func benchReadN(b *testing.B, kind string, rows int) {
	path := benchRoster(b, kind)
	peak.Reset() // the peak RSS figure covers the reads, not the file's generation
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	var (
		peakGrowth uint64
		cpu        time.Duration
	)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		s := make([]metrics.Sample, len(heapMetrics))
		for i, name := range heapMetrics {
			s[i].Name = name
		}
		base := heapInuse(s)
		h := startHeapSampler()
		cpu0 := cpuTime()
		b.StartTimer()
		ms, err := ReadFile(path, ReadOptions{})
		b.StopTimer()
		cpu += cpuTime() - cpu0
		peak := h.Stop()
		if err != nil {
			b.Fatal(err)
		}
		if len(ms) != rows {
			b.Fatalf("read %d members, want %d", len(ms), rows)
		}
		if peak > base && peak-base > peakGrowth {
			peakGrowth = peak - base
		}
		b.StartTimer()
	}
	elapsed := b.Elapsed()
	b.ReportMetric(float64(rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/read")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/read")
	b.ReportMetric(float64(peakGrowth)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(peak.RSSMiB(), "peak-rss-MiB")
	b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
}

func BenchmarkReadXLSX100k(b *testing.B)              { benchRead(b, "xlsx") }
func BenchmarkReadXLSX100kSharedStrings(b *testing.B) { benchRead(b, "sst.xlsx") }
func BenchmarkReadCSV100k(b *testing.B)               { benchRead(b, "csv") }

// BenchmarkReadCSV5M reads a 100 MB, 5M-row CSV roster. Its peak-rss-MiB
// is the process's peak resident memory over the read, members included:
// the figure for "a 5M-row CSV roster validates under 1.5 GiB" (3.4 GB
// before members were stored compactly). Run it alone (-run='^$' -bench
// BenchmarkReadCSV5M -benchtime=1x): it writes the file first.
func BenchmarkReadCSV5M(b *testing.B) { benchReadN(b, "5m.csv", bench5MRows) }
