package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// BenchmarkWrite10kActions writes all four formats for 10,000 actions
// (target: under 2 s per report set, see design.md's report section).
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
