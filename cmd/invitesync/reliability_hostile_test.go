//go:build reliability

package main_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The hostile-upstream suite: the emulator's misbehaviour modes (POST
// /_emulator/misbehave) play an upstream, or a proxy in front of it, that
// answers in ways nobody here wrote, and each test checks a promise of the
// README against the real binary. Scenarios that mostly wait (held creates,
// endless listings) run side by side in goroutines, so the suite stays short
// whatever go test's -parallel is.

// hostile is one scenario: an emulator and the flags pointing invitesync at it.
type hostile struct {
	t      *testing.T
	p      string
	emu    *emulatorProc
	dir    string
	common []string
}

func newHostile(t *testing.T, p string, emuArgs ...string) *hostile {
	h := &hostile{t: t, p: p, emu: startEmulator(t, emuArgs...), dir: t.TempDir()}
	h.common = append(providerArgs(p, h.emu.url), "--ledger", filepath.Join(h.dir, "ledger.jsonl"), "--no-progress",
		"--log-format", "json", "--log-level", "warn", "--rate", "1000", "--format", "json,md,html")
	return h
}

// roster writes a one-column roster of n people named prefix00@example.com...
func (h *hostile) roster(name, prefix string, n int) string {
	rows := [][]string{{"email"}}
	for i := range n {
		rows = append(rows, []string{fmt.Sprintf("%s%02d@example.com", prefix, i)})
	}
	path := filepath.Join(h.dir, name)
	writeRoster(h.t, path, rows)
	return path
}

// run runs invitesync cmd with --roster and --report dir/report, plus args and the common flags.
func (h *hostile) run(cmd, roster, report string, args ...string) result {
	all := append([]string{cmd, "--roster", roster, "--report", filepath.Join(h.dir, report)}, args...)
	if cmd == "apply" {
		all = append(all, "--yes")
	}
	return invitesync(h.t, runOpts{env: isolated(h.dir, defaultCreds)}, append(all, h.common...)...)
}

// isolated is the environment of a child with credentials c and its own
// TMPDIR: every emulator's Confluent org has the same id, and invitesync
// locks per org in TMPDIR, so side-by-side scenarios (or anyone else's run
// on this machine) would otherwise wait for each other's lock.
func isolated(dir string, c creds) []string { return c.env("TMPDIR=" + dir) }

// misbehave switches the emulator's misbehaviour modes (none = all off).
func (e *emulatorProc) misbehave(modes ...string) {
	e.t.Helper()
	if modes == nil {
		modes = []string{}
	}
	e.control("POST", "misbehave", map[string]any{"modes": modes})
}

// misbehaveState is GET /_emulator/misbehave.
func (e *emulatorProc) misbehaveState() (modes []string, held int) {
	e.t.Helper()
	var st struct {
		Modes []string `json:"modes"`
		Held  int      `json:"held"`
	}
	if err := json.Unmarshal(e.control("GET", "misbehave", nil), &st); err != nil {
		e.t.Fatalf("misbehave state: %v", err)
	}
	return st.Modes, st.Held
}

// misbehaviours is stats.misbehaviours (not in emuStats, which mirrors the
// fields the older tests rely on).
func (e *emulatorProc) misbehaviours() map[string]int64 {
	e.t.Helper()
	var st struct {
		M map[string]int64 `json:"misbehaviours"`
	}
	if err := json.Unmarshal(e.control("GET", "stats", nil), &st); err != nil {
		e.t.Fatalf("stats: %v", err)
	}
	return st.M
}

// revokes counts the revoke requests the emulator received for provider p.
func revokes(st emuStats, p string) int64 {
	switch p {
	case "confluent":
		return st.ByRoute["DELETE /iam/v2/invitations/{id}"]
	case "csp":
		return st.ByRoute["POST /csp/gateway/am/api/orgs/{orgId}/invitations?action=revoke"] +
			st.ByRoute["DELETE /csp/gateway/am/api/orgs/{orgId}/invitations/{invitationId}"]
	}
	return 0 // Azure has no revoke
}

// actionsOf lists the report's actions of op (any status).
func (d reportDoc) actionsOf(op string) []string {
	var out []string
	for _, a := range d.Actions {
		if a.Op == op {
			out = append(out, fmt.Sprintf("%s %s [%s] %s %s", a.Op, a.Email, a.Status, a.Reason, a.Error))
		}
	}
	return out
}

// sideBySide runs fn as a subtest per name, all at once, and waits for all.
// The subtests do not call t.Parallel: they mostly wait (held creates,
// listings that never end), so go test's -parallel (the core count) would
// only make the suite slower. Each has its own name, hence its own lock
// directory in the harness.
func sideBySide(t *testing.T, names []string, fn func(t *testing.T, name string)) {
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(n, func(t *testing.T) { fn(t, n) })
		}()
	}
	wg.Wait()
}

// TestReliabilityHostileOverlappingPages: pages that overlap (the last item of
// a page listed again at the top of the next, same id; CSP's one array names
// every invitation twice) must never make the plan revoke the invitation it
// keeps: after a clean apply of 7 people, plan and apply see nothing to
// change and no revoke reaches the upstream.
func TestReliabilityHostileOverlappingPages(t *testing.T) {
	for _, p := range providerNames {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, p, "--page-size-max", "2")
			roster := h.roster("roster.csv", "lap", 7)
			if r := h.run("apply", roster, "setup"); r.code != 0 {
				t.Fatalf("setup apply: %v", r)
			}
			h.emu.misbehave("overlap-pages")
			r := h.run("plan", roster, "plan")
			doc := readReportJSON(t, filepath.Join(h.dir, "plan"))
			if rv := doc.actionsOf("revoke"); len(rv) > 0 {
				t.Errorf("an invitation listed twice made the plan revoke:\n%s", strings.Join(rv, "\n"))
			}
			if r.code != 0 {
				t.Errorf("plan over overlapping pages: want exit 0 (nothing to change): %v", r)
			}
			// No guard may hide the wrongful revoke: allow them all.
			r = h.run("apply", roster, "apply", "--max-revoke", "100%")
			st := h.emu.stats()
			if n := revokes(st, p); n > 0 || r.code != 0 {
				t.Errorf("apply over overlapping pages: exit %d, %d revoke requests; want 0 and 0\n%v", r.code, n, r)
			}
			if st.Invitations[p]["pending"] != 7 || st.DuplicateCreates != 0 {
				t.Errorf("upstream after apply: %v, duplicate_creates %d; want 7 pending, 0", st.Invitations[p], st.DuplicateCreates)
			}
			if h.emu.misbehaviours()["overlap-pages"] == 0 {
				t.Errorf("no page overlapped: the test did not exercise the mode")
			}
		})
	}
}

// paginationBudget is how long a listing that never ends may run before
// invitesync must have given up by itself.
const paginationBudget = 30 * time.Second

// TestReliabilityHostileEndlessPages: a listing whose next link never runs
// out (a fresh page token every page, or tokens cycling A -> B -> A) stops
// with exit 1 and an error that says the paging did not end, within
// seconds, on Confluent and Azure (CSP's list has no pages).
func TestReliabilityHostileEndlessPages(t *testing.T) {
	type scenario struct{ p, mode string }
	var names []string
	cases := map[string]scenario{}
	for _, p := range []string{"confluent", "azure"} {
		for _, m := range []string{"endless-pages", "cycle-pages"} {
			n := p + "/" + m
			names = append(names, n)
			cases[n] = scenario{p, m}
		}
	}
	clear := regexp.MustCompile(`(?i)pag(e|ing|ination)|token|never end`)
	sideBySide(t, names, func(t *testing.T, n string) {
		h := newHostile(t, cases[n].p, "--page-size-max", "2")
		roster := h.roster("roster.csv", "page", 5)
		if r := h.run("apply", roster, "setup"); r.code != 0 {
			t.Fatalf("setup apply: %v", r)
		}
		h.emu.misbehave(cases[n].mode)
		args := append([]string{"plan", "--roster", roster, "--report", filepath.Join(h.dir, "plan")}, h.common...)
		cmd := startInvitesync(t, runOpts{env: isolated(h.dir, defaultCreds)}, args...)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		begin := time.Now()
		select {
		case <-done:
		case <-time.After(paginationBudget):
			cmd.Process.Kill()
			<-done
			t.Errorf("%s: plan still listing after %s (killed; %d requests served): the listing has no page or time budget",
				n, paginationBudget, h.emu.stats().Requests)
			return
		}
		out := cmd.Stdout.(*syncBuffer).String() + cmd.Stderr.(*syncBuffer).String()
		code := cmd.ProcessState.ExitCode()
		t.Logf("%s: exit %d after %s", n, code, time.Since(begin).Round(time.Millisecond))
		if code != 1 || !clear.MatchString(out) {
			t.Errorf("%s: exit %d, want 1 with an error about the paging that does not end:\n%s", n, code, clipText(out))
		}
		if h.emu.misbehaviours()[cases[n].mode] == 0 {
			t.Errorf("%s: the mode never changed an answer", n)
		}
	})
}

// hugeRSSLimit: half the sample CronJob's 512Mi memory limit.
const hugeRSSLimit = 256 << 20

// TestReliabilityHostileHugeBody: a list answer of 300 MiB (valid JSON,
// padded with whitespace; Confluent's paged list and CSP's one-array list)
// ends the plan with exit 1 and an error saying the answer is too large,
// and invitesync's peak RSS stays under hugeRSSLimit.
func TestReliabilityHostileHugeBody(t *testing.T) {
	clear := regexp.MustCompile(`(?i)too (large|big)|exceed|larger than|over .*(limit|bytes|MiB)`)
	sideBySide(t, []string{"confluent", "csp"}, func(t *testing.T, p string) {
		h := newHostile(t, p, "--huge-body-mib", "300")
		roster := h.roster("roster.csv", "big", 3)
		if r := h.run("apply", roster, "setup"); r.code != 0 {
			t.Fatalf("setup apply: %v", r)
		}
		h.emu.misbehave("huge-lists")
		args := append([]string{"plan", "--roster", roster, "--report", filepath.Join(h.dir, "plan")}, h.common...)
		cmd := startInvitesync(t, runOpts{env: isolated(h.dir, defaultCreds)}, args...)
		if err := cmd.Wait(); err != nil && cmd.ProcessState == nil {
			t.Errorf("%s: %v", p, err)
			return
		}
		out := cmd.Stdout.(*syncBuffer).String() + cmd.Stderr.(*syncBuffer).String()
		rss := maxRSS(cmd.ProcessState)
		t.Logf("%s: exit %d, peak RSS %d MiB", p, cmd.ProcessState.ExitCode(), rss>>20)
		if code := cmd.ProcessState.ExitCode(); code != 1 || !clear.MatchString(out) {
			t.Errorf("%s: a 300 MiB list answer: exit %d, want 1 with an error saying it is too large:\n%s", p, code, clipText(out))
		}
		if rss > hugeRSSLimit {
			t.Errorf("%s: peak RSS %d MiB reading a 300 MiB answer, want under %d MiB", p, rss>>20, hugeRSSLimit>>20)
		}
		if h.emu.misbehaviours()["huge-lists"] == 0 {
			t.Errorf("%s: no list answer was padded", p)
		}
	})
}

// maxRSS is a finished child's peak resident set size in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) // bytes there
	}
	return int64(ru.Maxrss) << 10 // KiB on Linux
}

// TestReliabilityHostileAmbiguousCreates: creates whose outcome the client
// cannot see (--timeout 1s, --max-attempts 2):
//
//   - late-land: held 3 s, then applied (a read-back in between sees nothing);
//   - late-answer: applied at once, answered after 3 s;
//   - cut-create: applied, then the connection is reset;
//   - garbage-create: applied, answered 2xx with a body that is not JSON.
//
// On every provider: no create is ever sent for an email the upstream has,
// or is about to have, a pending invitation for (duplicate_creates 0); each
// create is reported done or "outcome unknown", never plain failed
// (garbage-create: done, resolved by read-back); once the held creates have
// landed the next plan has nothing to change.
func TestReliabilityHostileAmbiguousCreates(t *testing.T) {
	type scenario struct{ p, mode string }
	var names []string
	cases := map[string]scenario{}
	for _, m := range []string{"late-land", "late-answer", "cut-create", "garbage-create"} {
		for _, p := range providerNames {
			n := p + "/" + m
			names = append(names, n)
			cases[n] = scenario{p, m}
		}
	}
	sideBySide(t, names, func(t *testing.T, n string) {
		mode, p := cases[n].mode, cases[n].p
		h := newHostile(t, p, "--misbehave", mode, "--misbehave-delay", "3s")
		roster := h.roster("roster.csv", "amb", 3)
		r := h.run("apply", roster, "apply", "--timeout", "1s", "--max-attempts", "2")
		if _, err := os.Stat(filepath.Join(h.dir, "apply", "report.json")); err != nil {
			t.Errorf("%s: apply wrote no report.json (%v): %v", n, err, r)
			return
		}
		doc := readReportJSON(t, filepath.Join(h.dir, "apply"))
		for _, a := range doc.Actions {
			if a.Op != "create" {
				continue
			}
			unknown := a.Status == "unknown" || (a.Status == "failed" && strings.HasPrefix(a.Error, "outcome unknown"))
			switch {
			case a.Status == "done":
			case mode == "garbage-create":
				t.Errorf("%s: create %s reported %s %q; want done (the read-back finds it)", n, a.Email, a.Status, a.Error)
			case !unknown:
				t.Errorf("%s: create %s reported %s %q; want done or outcome unknown", n, a.Email, a.Status, a.Error)
			}
		}
		if got := doc.statuses(); got["done"]+got["unknown"]+got["failed"] != 3 {
			t.Errorf("%s: report statuses %v, want the 3 creates\n%v", n, got, r)
		}
		// Let every held create land, then look again with a well-behaved upstream.
		deadline := time.Now().Add(time.Minute)
		for _, held := h.emu.misbehaveState(); held > 0; _, held = h.emu.misbehaveState() {
			if time.Now().After(deadline) {
				t.Errorf("%s: %d creates still held after a minute", n, held)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		h.emu.misbehave()
		if r := h.run("plan", roster, "plan"); r.code != 0 {
			t.Errorf("%s: plan after the creates landed: want exit 0 (converged): %v", n, r)
		}
		st := h.emu.stats()
		if st.DuplicateCreates != 0 || st.Invitations[p]["pending"] != 3 {
			t.Errorf("%s: duplicate_creates %d, invitations %v; want 0 and 3 pending", n, st.DuplicateCreates, st.Invitations[p])
		}
		if h.emu.misbehaviours()[mode] == 0 {
			t.Errorf("%s: the mode never changed an answer", n)
		}
	})
}

// TestReliabilityHostileEchoedCredentials: an upstream (or proxy) that
// echoes the request's Authorization / csp-auth-token / api_token in a
// response header and in every error message, with 30% 503 faults so errors
// happen, and with wrong credentials (401, CSP's 400): no credential, its
// Basic base64 form or a CSP access token appears in stdout, stderr, any
// report, audit.jsonl, the ledger, the saved plan or the dump, at
// --log-level debug.
func TestReliabilityHostileEchoedCredentials(t *testing.T) {
	sideBySide(t, providerNames, func(t *testing.T, p string) {
		good := creds{unusual(t, "ckey"), unusual(t, "csecret"), unusual(t, "cspRefresh"), unusual(t, "azToken")}
		bad := creds{unusual(t, "wrongKey"), unusual(t, "wrongSecret"), unusual(t, "wrongRefresh"), unusual(t, "wrongAz")}
		emu := startEmulator(t, "--misbehave", "echo-auth", "--confluent-key", good.confluentKey, "--confluent-secret", good.confluentSecret,
			"--csp-refresh-token", good.cspToken, "--azure-token", good.azureToken)
		dir := t.TempDir()
		rows := [][]string{{"email"}}
		for i := range 20 {
			rows = append(rows, []string{fmt.Sprintf("echo%02d@example.com", i)})
		}
		roster := filepath.Join(dir, "roster.csv")
		writeRoster(t, roster, rows)
		logging := []string{"--log-format", "json", "--log-level", "debug"}
		common := append(append(providerArgs(p, emu.url), logging...), "--no-progress", "--rate", "1000", "--max-attempts", "3")
		var outputs []string
		run := func(c creds, args ...string) int {
			r := invitesync(t, runOpts{env: isolated(dir, c)}, args...)
			t.Logf("%s: %s exit %d after %s", p, args[0], r.code, r.took.Round(time.Millisecond))
			outputs = append(outputs, r.stdout, r.stderr)
			return r.code
		}
		run(good, append([]string{"plan", "--roster", roster, "--out", filepath.Join(dir, "plan.json"), "--report", filepath.Join(dir, "plan")}, common...)...)
		// 503s carry error bodies (the echo) and are retried at once; the
		// other kinds only add waiting here.
		emu.setFaults(0.3, "503")
		apply := append([]string{"apply", "--yes", "--roster", roster, "--ledger", filepath.Join(dir, "ledger.jsonl"),
			"--report", filepath.Join(dir, "apply")}, common...)
		if p == "csp" {
			apply = append(apply, "--csp-batch", "1")
		}
		run(good, apply...)
		emu.setFaults(0)
		run(good, append(append([]string{"dump", "--out", filepath.Join(dir, "dump.csv")}, providerArgs(p, emu.url)...), logging...)...)
		if code := run(bad, append([]string{"plan", "--roster", roster, "--report", filepath.Join(dir, "bad-plan")}, common...)...); code != 1 {
			t.Errorf("%s: plan with wrong credentials: exit %d, want 1", p, code)
		}
		run(bad, append([]string{"apply", "--yes", "--roster", roster, "--report", filepath.Join(dir, "bad-apply")}, common...)...)
		st := emu.stats()
		if st.FaultsInjected == 0 || st.ByStatus["401"]+st.ByStatus["400"] == 0 || emu.misbehaviours()["echo-auth"] == 0 {
			t.Errorf("%s: faults %d, 401/400 %d, echoes %d: the error paths were not exercised",
				p, st.FaultsInjected, st.ByStatus["401"]+st.ByStatus["400"], emu.misbehaviours()["echo-auth"])
		}
		texts := map[string]string{}
		for i, o := range outputs {
			texts[fmt.Sprintf("output %d", i)] = o
		}
		for name, data := range readTree(t, dir) {
			texts[name] = data
		}
		needles := map[string]string{"a CSP access token": cspTokenPrefix}
		for _, c := range []struct {
			name string
			c    creds
		}{{"good", good}, {"wrong", bad}} {
			needles[c.name+" Confluent key"] = c.c.confluentKey
			needles[c.name+" Confluent secret"] = c.c.confluentSecret
			needles[c.name+" Basic authorization"] = base64.StdEncoding.EncodeToString([]byte(c.c.confluentKey + ":" + c.c.confluentSecret))
			needles[c.name+" CSP refresh token"] = c.c.cspToken
			needles[c.name+" Azure token"] = c.c.azureToken
		}
		// The echoes reached invitesync's error paths: their text is there,
		// with the credentials scrubbed out.
		echoed := 0
		for _, text := range texts {
			echoed += strings.Count(text, "[request ")
		}
		if echoed == 0 {
			t.Errorf("%s: no echoed error text reached any output: the sinks were not exercised", p)
		}
		for _, what := range sortedKeys(needles) {
			for _, where := range sortedKeys(texts) {
				if i := strings.Index(texts[where], needles[what]); i >= 0 {
					lo, hi := max(i-120, 0), min(i+len(needles[what])+40, len(texts[where]))
					t.Errorf("%s: echoed %s found in %s: ...%s...", p, what, where, texts[where][lo:hi])
				}
			}
		}
	})
}

// rawControls are bytes that must never reach a terminal or a report from
// upstream text: ESC, BEL, CR and the C1 CSI (U+009B, as UTF-8).
var rawControls = map[string]string{"ESC": "\x1b", "BEL": "\a", "CR": "\r", "C1 CSI": "\u009b"}

// TestReliabilityHostileEscapes: escape sequences (ANSI colour, OSC 52
// clipboard write, BEL, CR, C1 CSI) in every error message and in listed
// fields (the email's display part, status, auth type, inviter) never
// reach stdout, stderr, report.md or report.html raw: in a plan over the
// poisoned listing, in runs whose every request fails (503, wrong
// credentials), and in an apply under faults whose failed actions carry the
// poisoned errors.
func TestReliabilityHostileEscapes(t *testing.T) {
	sideBySide(t, providerNames, func(t *testing.T, p string) {
		h := newHostile(t, p)
		roster := h.roster("roster.csv", "esc", 4)
		if r := h.run("apply", roster, "setup"); r.code != 0 {
			t.Fatalf("setup apply: %v", r)
		}
		var outputs []result
		h.emu.misbehave("escape-errors", "escape-fields")
		outputs = append(outputs, h.run("plan", roster, "plan-fields"))

		h.emu.misbehave("escape-errors")
		h.emu.setFaults(1, "503")
		outputs = append(outputs, h.run("plan", roster, "plan-503", "--max-attempts", "1"))
		h.emu.setFaults(0)
		outputs = append(outputs, invitesync(t, runOpts{env: isolated(h.dir, creds{"no-key", "no-secret", "no-token", "no-az"})},
			append([]string{"plan", "--roster", roster, "--report", filepath.Join(h.dir, "plan-401")}, h.common...)...))

		more := h.roster("more.csv", "esc", 12)
		h.emu.setFaults(0.3, "500", "503")
		args := []string{"--max-attempts", "1"}
		if p == "csp" {
			args = append(args, "--csp-batch", "1") // one failure per person, not per batch
		}
		outputs = append(outputs, h.run("apply", more, "apply-faults", args...))
		h.emu.setFaults(0)

		if m := h.emu.misbehaviours(); m["escape-errors"] == 0 || m["escape-fields"] == 0 {
			t.Errorf("%s: misbehaviours %v: the payload never went out", p, m)
		}
		texts := map[string]string{}
		for i, r := range outputs {
			texts[fmt.Sprintf("run %d stdout", i)] = r.stdout
			texts[fmt.Sprintf("run %d stderr", i)] = r.stderr
		}
		for name, data := range readTree(t, h.dir) {
			if strings.HasSuffix(name, "report.md") || strings.HasSuffix(name, "report.html") {
				texts[name] = data
			}
		}
		// The payload reached the outputs (neutralised): its printable part is there.
		shown := 0
		for _, text := range texts {
			shown += strings.Count(text, "52;c;aW52aXRlc3luYw==")
		}
		if shown == 0 {
			t.Errorf("%s: no upstream text with the payload reached stdout, stderr or a report: the sinks were not exercised", p)
		}
		for _, c := range sortedKeys(rawControls) {
			for _, where := range sortedKeys(texts) {
				if i := strings.Index(texts[where], rawControls[c]); i >= 0 {
					lo, hi := max(i-80, 0), min(i+40, len(texts[where]))
					t.Errorf("%s: raw %s in %s: %q", p, c, where, texts[where][lo:hi])
				}
			}
		}
	})
}

// TestReliabilityHostileClockSkew: the upstream lists our pending
// invitations as pending (INVITE_STATUS_SENT) with an expiry 30 days in the
// past, as a skewed clock sees them. invitesync trusts the status: the
// plan has nothing to change (exit 0), and an apply sends no create and no
// revoke. (CSP is not covered: its status has no word for expired, so an
// AVAILABLE invitation past its expirationTime is expired there.)
func TestReliabilityHostileClockSkew(t *testing.T) {
	for _, p := range []string{"confluent", "azure"} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			h := newHostile(t, p)
			roster := h.roster("roster.csv", "skew", 5)
			if r := h.run("apply", roster, "setup"); r.code != 0 {
				t.Fatalf("setup apply: %v", r)
			}
			before := h.emu.stats()
			h.emu.misbehave("clock-skew")
			r := h.run("plan", roster, "plan")
			doc := readReportJSON(t, filepath.Join(h.dir, "plan"))
			if changes := append(doc.actionsOf("create"), append(doc.actionsOf("reinvite"), doc.actionsOf("revoke")...)...); r.code != 0 || len(changes) > 0 {
				t.Errorf("plan with pending invitations expired by our clock: exit %d, want 0 with no change:\n%s\n%v", r.code, strings.Join(changes, "\n"), r)
			}
			r = h.run("apply", roster, "apply")
			after := h.emu.stats()
			creates := after.ByRoute[createRoute(p)] - before.ByRoute[createRoute(p)]
			if r.code != 0 || creates != 0 || revokes(after, p) != revokes(before, p) || after.DuplicateCreates != 0 {
				t.Errorf("apply: exit %d, %d creates, %d revokes, duplicate_creates %d; want 0, 0, 0, 0\n%v",
					r.code, creates, revokes(after, p)-revokes(before, p), after.DuplicateCreates, r)
			}
			if h.emu.misbehaviours()["clock-skew"] == 0 {
				t.Errorf("no listed invitation was skewed: the test did not exercise the mode")
			}
		})
	}
}

// TestReliabilityHostileMisbehaveFlag: --misbehave names its modes or is
// refused before anything listens (exit 3, naming the unknown mode), and the
// modes it names are on from the start.
func TestReliabilityHostileMisbehaveFlag(t *testing.T) {
	r := invitesync(t, runOpts{}, "emulator", "--listen", "127.0.0.1:0", "--misbehave", "overlap-pages,sideways")
	if r.code != 3 || !strings.Contains(r.stderr, `"sideways"`) {
		t.Errorf("--misbehave with an unknown mode: want exit 3 naming it: %v", r)
	}
	emu := startEmulator(t, "--misbehave", "clock-skew, echo-auth")
	if modes, _ := emu.misbehaveState(); strings.Join(modes, ",") != "echo-auth,clock-skew" {
		t.Errorf("modes on after --misbehave 'clock-skew, echo-auth': %v", modes)
	}
}
