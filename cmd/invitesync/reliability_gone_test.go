//go:build reliability

package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReliabilityUpstreamGone: the upstream stops answering in the middle of
// an apply of 200 creates, bounded by --timeout 1s and --max-attempts 2.
//
//   - frozen (Confluent): the emulator is SIGSTOPped. The kernel still takes
//     the requests, nobody answers: an action whose request may have reached
//     the upstream is failed with an error beginning "outcome unknown".
//   - killed (Azure, emulator with --state): the emulator is SIGKILLed. The
//     requests in flight may have landed (outcome unknown); later ones are
//     refused at connect, which proves they were not applied (plain failed).
//
// Either way the apply stops starting actions once the upstream is seen gone
// and reports the rest skipped (never sent), exits 1 within seconds, and
// writes a report. When the upstream is back: everything reported done is
// there, nothing reported skipped or not applied is, and the next apply
// converges with nobody invited twice.
func TestReliabilityUpstreamGone(t *testing.T) {
	t.Run("frozen", func(t *testing.T) {
		t.Parallel()
		upstreamGone(t, "confluent", false)
	})
	t.Run("killed", func(t *testing.T) {
		t.Parallel()
		upstreamGone(t, "azure", true)
	})
}

func upstreamGone(t *testing.T, p string, kill bool) {
	const people = 200
	dir := t.TempDir()
	state := filepath.Join(dir, "emulator-state.json")
	emuArgs := []string{"--latency", "20ms"}
	if kill {
		emuArgs = append(emuArgs, "--state", state)
	}
	emu := startEmulator(t, emuArgs...)
	rows := [][]string{{"email"}}
	for i := range people {
		rows = append(rows, []string{fmt.Sprintf("user%03d@example.com", i)})
	}
	roster := filepath.Join(dir, "roster.csv")
	writeRoster(t, roster, rows)
	ledger := filepath.Join(dir, "ledger.jsonl")
	flags := func(url string) []string {
		return append(providerArgs(p, url), "--roster", roster, "--ledger", ledger, "--no-progress", "--log-format", "json",
			"--log-level", "warn", "--rate", "1000", "--concurrency", "4", "--timeout", "1s", "--max-attempts", "2")
	}

	cmd := startInvitesync(t, runOpts{}, append([]string{"apply", "--yes", "--report", filepath.Join(dir, "gone")}, flags(emu.url)...)...)
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	audit := filepath.Join(dir, "gone", "audit.jsonl")
	waitFor(t, "40 requests audited", time.Minute, func() bool { return countLines(audit) >= 40 })
	if kill {
		emu.kill()
	} else {
		emu.pause()
	}
	goneAt := time.Now()
	select {
	case <-exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("apply still running 2 minutes after the upstream went away")
	}
	took := time.Since(goneAt)
	out := cmd.Stdout.(*syncBuffer).String() + cmd.Stderr.(*syncBuffer).String()
	t.Logf("apply exited %d, %s after the upstream went away", cmd.ProcessState.ExitCode(), took.Round(time.Millisecond))
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("apply against a vanished upstream: exit %d, want 1\n%s", code, clipText(out))
	}

	doc := readReportJSON(t, filepath.Join(dir, "gone"))
	byStatus := map[string][]string{}
	unknown, notApplied := map[string]bool{}, map[string]bool{}
	for _, a := range doc.Actions {
		kind := a.Status
		if a.Status == "failed" {
			if strings.HasPrefix(a.Error, "outcome unknown") {
				kind = "unknown"
				unknown[a.Email] = true
			} else {
				notApplied[a.Email] = true
			}
		}
		byStatus[kind] = append(byStatus[kind], a.Email)
	}
	counts := map[string]int{}
	for k, v := range byStatus {
		counts[k] = len(v)
	}
	t.Logf("report: %v", counts)
	if len(doc.Actions) != people || counts["done"] == 0 || counts["unknown"] == 0 || counts["skipped"] == 0 {
		t.Errorf("report statuses %v: want some done, some outcome unknown, the rest skipped", counts)
	}
	if !kill && len(notApplied) > 0 {
		// Frozen, every request sent was taken by the kernel: none is known
		// not to have been applied.
		t.Errorf("%d actions failed as if not applied although their requests may have landed: %v", len(notApplied), sortedKeys(notApplied))
	}
	for _, a := range doc.Actions {
		if a.Status == "skipped" && !strings.Contains(a.Error, "stopped answering") {
			t.Errorf("skipped %s: error %q does not say it was never sent", a.Email, a.Error)
		}
	}
	for _, name := range []string{"report.md", "report.html"} {
		if data, err := os.ReadFile(filepath.Join(dir, "gone", name)); err != nil || !strings.Contains(string(data), "outcome unknown") {
			t.Errorf("%s does not show the unknown outcomes (%v)", name, err)
		}
	}

	// The upstream comes back: what was reported is what happened.
	url := emu.url
	if kill {
		emu = startEmulator(t, "--state", state)
		url = emu.url
	} else {
		emu.resume()
	}
	// Requests the frozen emulator had queued are served now; let them land.
	settle(t, emu)
	have := dumpEmails(t, p, url)
	for _, e := range byStatus["done"] {
		if !have[e] {
			t.Errorf("%s is reported done but was not invited", e)
		}
	}
	for _, e := range append(byStatus["skipped"], sortedKeys(notApplied)...) {
		if have[e] {
			t.Errorf("%s is reported skipped or not applied but was invited", e)
		}
	}
	landed := 0
	for e := range unknown {
		if have[e] {
			landed++
		}
	}
	t.Logf("%d of the %d outcome-unknown creates had landed", landed, len(unknown))

	r := invitesync(t, runOpts{}, append([]string{"apply", "--yes", "--report", filepath.Join(dir, "again")}, flags(url)...)...)
	if r.code != 0 {
		t.Fatalf("apply once the upstream is back: %v", r)
	}
	if r := invitesync(t, runOpts{}, append([]string{"plan", "--report", filepath.Join(dir, "plan")}, flags(url)...)...); r.code != 0 {
		t.Errorf("final plan: %v", r)
	}
	st := emu.stats()
	if st.DuplicateCreates != 0 || st.Invitations[p]["pending"] != people {
		t.Errorf("after recovery: duplicate_creates %d, %v invitations; want 0 and %d pending", st.DuplicateCreates, st.Invitations[p], people)
	}
}

// settle waits until the emulator's request count stops moving for 300 ms.
func settle(t *testing.T, emu *emulatorProc) {
	t.Helper()
	last, still := int64(-1), time.Now()
	waitFor(t, "the emulator to settle", time.Minute, func() bool {
		n := emu.stats().Requests
		if n != last {
			last, still = n, time.Now()
		}
		return time.Since(still) > 300*time.Millisecond
	})
}
