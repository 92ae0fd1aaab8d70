package report

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/invitesync/invitesync/reconcile"
)

// demoResult is the sample roster applied against the emulator's seed,
// with one failure: the README screenshot.
func demoResult() *reconcile.Result {
	start := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	act := func(op reconcile.Op, email, reason, id string, st reconcile.ActionStatus, attempts int, reqID string) reconcile.Action {
		return reconcile.Action{Op: op, Email: email, Reason: reason, InvitationID: id, Status: st, Attempts: attempts, RequestID: reqID}
	}
	actions := []reconcile.Action{
		act(reconcile.OpLeave, "ada@example.com", "pending invitation matches the roster", "i-7f3a0c", reconcile.StatusPlanned, 0, ""),
		act(reconcile.OpReinvite, "bob@example.com", "auth type differs: AUTH_TYPE_LOCAL -> AUTH_TYPE_SSO", "i-9b21e4", reconcile.StatusDone, 2, "req-4f1c"),
		act(reconcile.OpReinvite, "cy@example.com", "invitation expired", "i-c0ffee", reconcile.StatusDone, 1, "req-77aa"),
		act(reconcile.OpLeave, "dee@example.com", "accepted: already a member", "i-5d1e2f", reconcile.StatusPlanned, 0, ""),
		act(reconcile.OpCreate, "eve@example.com", "not invited", "i-e0e1e2", reconcile.StatusDone, 1, "req-0e01"),
		act(reconcile.OpCreate, "fay@example.com", "not invited", "i-fa1fa2", reconcile.StatusDone, 1, "req-0e02"),
		act(reconcile.OpCreate, "gus@example.com", "not invited", "i-9a5b6c", reconcile.StatusDone, 3, "req-0e03"),
		act(reconcile.OpCreate, "hal@example.com", "not invited", "i-4a1b2c", reconcile.StatusDone, 1, "req-0e04"),
		act(reconcile.OpCreate, "ivy@example.com", "not invited", "i-1c2d3e", reconcile.StatusDone, 1, "req-0e05"),
		act(reconcile.OpCreate, "jon@example.com", "not invited", "", reconcile.StatusFailed, 6, "req-0e06"),
		act(reconcile.OpCreate, "kim@example.com", "not invited", "i-8e9f0a", reconcile.StatusDone, 1, "req-0e07"),
		act(reconcile.OpCreate, "lou@example.com", "not invited", "i-2b3c4d", reconcile.StatusDone, 1, "req-0e08"),
		act(reconcile.OpRevoke, "old-contractor@example.com", "not in the roster; pending and created by u-invitesync", "i-0dc0de", reconcile.StatusDone, 1, "req-0e09"),
		act(reconcile.OpLeave, "partner@example.org", "not in the roster; pending but created by u-someone-else", "i-9a9b9c", reconcile.StatusPlanned, 0, ""),
	}
	actions[9].Error = "create jon@example.com: 503 Service Unavailable after 6 attempts"
	actions[13].Unmanaged = true
	plan := &reconcile.Plan{Version: 1, Provider: "confluent", Organization: "org-demo", CreatedAt: start,
		Policy: reconcile.PolicySync, RosterFile: "samples/roster.csv", RosterRows: 12, Actions: actions}
	return &reconcile.Result{Mode: "apply", Plan: plan, StartedAt: start, FinishedAt: start.Add(2412 * time.Millisecond), Actions: actions}
}

// hostileResult adds actions whose every text field tries to inject markup or
// script into the page.
func hostileResult() *reconcile.Result {
	res := demoResult()
	evil := []string{
		`<script>document.body.setAttribute("data-pwned","1")</script>`,
		`"><img src=x onerror="document.body.setAttribute('data-pwned','1')">`,
		`javascript:document.body.setAttribute('data-pwned','1')`,
		`</textarea></table><svg onload="document.body.setAttribute('data-pwned','1')">`,
	}
	for i, e := range evil {
		res.Actions = append(res.Actions, reconcile.Action{
			Op: reconcile.OpCreate, Email: fmt.Sprintf("x%d%s@evil.example", i, e), Reason: e, Error: e,
			InvitationID: e, RequestID: e, Status: reconcile.StatusFailed, Attempts: 1,
		})
	}
	for i, h := range hostileStrings {
		res.Actions = append(res.Actions, reconcile.Action{
			Op: reconcile.OpRevoke, Email: fmt.Sprintf("ctl%d%s@evil.example", i, h), Reason: h, Error: h,
			InvitationID: h, RequestID: h, Status: reconcile.StatusDone, Attempts: 1,
		})
	}
	acc := accessResult().Actions
	res.Actions = append(res.Actions, acc[len(acc)-4:]...)
	// (No alert(): a dialog would hang headless Chromium instead of failing.)
	res.Plan.Organization = `org"><script>document.body.setAttribute("data-pwned","1")</script>`
	res.Plan.RosterFile = `</code><img src=x onerror="document.body.setAttribute('data-pwned','1')">`
	return res
}

// chromiumPath finds a headless-capable Chromium: skipped locally when there
// is none, a failure in CI (CI set), where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set: .ci/run must install Debian's chromium package")
	}
	t.Skip("chromium is not installed: apt-get install -y chromium to run the HTML report's browser test")
	return ""
}

// runChromium runs headless Chromium with no network-facing extras and the
// given extra arguments, returning stdout.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

var (
	trRE      = regexp.MustCompile(`<tr data-kind="([^"]*)" data-status="([^"]*)" data-email="([^"]*)"([^>]*)>`)
	barRE     = regexp.MustCompile(`<g class="bar" data-kind="([^"]*)" data-count="([^"]*)">`)
	countsRE  = regexp.MustCompile(`<output id="rendered-counts"([^>]*)>`)
	shownRE   = regexp.MustCompile(`<p id="shown"([^>]*)>([^<]*)</p>`)
	dataAttrR = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)
)

// checkNoInjection parses the rendered DOM: the page's one script is the only
// script, no hostile value became an element or an event handler, and none
// of them ran.
func checkNoInjection(t *testing.T, dom string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	scripts, data := 0, 0
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "script":
			// The actions' JSON is inert data; anything else is a script.
			if len(n.Attr) == 2 && n.Attr[0].Key == "type" && n.Attr[0].Val == "application/json" && n.Attr[1].Val == "report-data" {
				data++
				continue
			}
			scripts++
		case "img", "iframe", "object", "embed", "textarea", "a":
			t.Errorf("injected <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "data-pwned" {
				t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
			}
		}
	}
	if scripts != 1 || data != 1 {
		t.Errorf("%d script elements and %d data elements, want the page's one of each", scripts, data)
	}
}

type domRow struct {
	kind, status, email string
	hidden              bool
}

func parseRows(dom string) []domRow {
	var rows []domRow
	for _, m := range trRE.FindAllStringSubmatch(dom, -1) {
		rows = append(rows, domRow{kind: m[1], status: m[2], email: m[3], hidden: strings.Contains(m[4], "hidden")})
	}
	return rows
}

func dataAttrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range dataAttrR.FindAllStringSubmatch(s, -1) {
		m[a[1]] = a[2]
	}
	return m
}

func summaryCounts(s reconcile.Summary) map[string]int {
	return map[string]int{"create": s.Create, "reinvite": s.Reinvite, "revoke": s.Revoke, "leave": s.Leave,
		"unmanaged": s.Unmanaged, "failed": s.Failed, "unsupported": s.Unsupported,
		"grant": s.Grant, "ungrant": s.Ungrant, "remove-member": s.RemoveMember, "unknown": s.Unknown}
}

func TestHTMLInChromium(t *testing.T) {
	bin := chromiumPath(t)
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	res := hostileResult()
	dir := t.TempDir()
	if _, err := Write(dir, []string{"html"}, res); err != nil {
		t.Fatal(err)
	}
	fileURL := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "report.html")}).String()
	sum := reconcile.Summarize(res.Actions)
	want := summaryCounts(sum)

	dom := string(runChromium(t, bin, "--dump-dom", fileURL))
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Fatalf("the page's script did not run:\n%.2000s", dom)
	}
	checkNoInjection(t, dom)
	// Control characters and escape sequences arrive visible, never raw.
	for _, r := range dom {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || unsafeRune(r) {
			t.Errorf("the page holds %U raw", r)
		}
	}
	if !strings.Contains(dom, `\x1b[2J\x1b[H`) || !strings.Contains(dom, `rtl\u202eexe.txt`) {
		t.Errorf("hostile control text not shown escaped")
	}
	if !strings.Contains(dom, "2 API keys: AKIDLEFT1, AKIDLEFT2; 3 role bindings") || !strings.Contains(dom, "EnvironmentAdmin@env-abc123") {
		t.Errorf("access and removal details missing")
	}

	// The chart has one bar per kind with the summary's count.
	bars := barRE.FindAllStringSubmatch(dom, -1)
	if len(bars) != len(want) {
		t.Errorf("chart has %d bars, want %d", len(bars), len(want))
	}
	for _, b := range bars {
		if n, _ := strconv.Atoi(b[2]); n != want[b[1]] {
			t.Errorf("chart bar %s = %d, want %d", b[1], n, want[b[1]])
		}
	}
	// The script counted the table it rendered: the same counts.
	m := countsRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatal("no rendered-counts in the DOM")
	}
	got := dataAttrs(m[1])
	for k, n := range want {
		if got[k] != strconv.Itoa(n) {
			t.Errorf("rendered %s = %q, want %d", k, got[k], n)
		}
	}
	if got["rows"] != strconv.Itoa(len(res.Actions)) {
		t.Errorf("rendered rows = %q, want %d", got["rows"], len(res.Actions))
	}
	rows := parseRows(dom)
	if len(rows) != len(res.Actions) {
		t.Fatalf("table has %d rows, want %d", len(rows), len(res.Actions))
	}
	for _, r := range rows {
		if r.hidden {
			t.Errorf("row %s hidden with no filter", r.email)
		}
	}

	// The filter honours the URL hash: only the chosen rows stay visible.
	filters := []struct {
		hash string
		keep func(domRow) bool
		want int
	}{
		{"kind=create", func(r domRow) bool { return r.kind == "create" }, sum.Create},
		{"kind=failed", func(r domRow) bool { return r.status == "failed" }, sum.Failed},
		{"kind=unmanaged", func(r domRow) bool { return r.kind == "unmanaged" }, sum.Unmanaged},
		{"q=EXAMPLE.ORG", func(r domRow) bool { return strings.Contains(r.email, "example.org") }, 1},
		{"kind=create&q=evil", func(r domRow) bool { return r.kind == "create" && strings.Contains(r.email, "evil") }, 4},
		{"kind=remove-member", func(r domRow) bool { return r.kind == "remove-member" }, 1},
		{"kind=unknown", func(r domRow) bool { return r.status == "unknown" }, 1},
		{"kind=bogus", func(domRow) bool { return true }, len(res.Actions)},
	}
	for _, f := range filters {
		t.Run(f.hash, func(t *testing.T) {
			dom := string(runChromium(t, bin, "--dump-dom", fileURL+"#"+f.hash))
			visible := 0
			for _, r := range parseRows(dom) {
				if r.hidden == f.keep(r) {
					t.Errorf("row %s/%s/%s hidden=%v", r.kind, r.status, r.email, r.hidden)
				}
				if !r.hidden {
					visible++
				}
			}
			if visible != f.want {
				t.Errorf("%d rows visible, want %d", visible, f.want)
			}
			sm := shownRE.FindStringSubmatch(dom)
			if sm == nil || dataAttrs(sm[1])["shown"] != strconv.Itoa(f.want) {
				t.Errorf("status line = %v, want shown %d", sm, f.want)
			}
		})
	}
}

// TestHTMLScreenshot renders the demo report in Chromium and checks it is a
// real 1200x900 picture; UPDATE_SCREENSHOT=1 keeps it for the README.
func TestHTMLScreenshot(t *testing.T) {
	bin := chromiumPath(t)
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	if _, err := Write(dir, []string{"html"}, demoResult()); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	fileURL := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "report.html")}).String()
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1200,900", fileURL)
	raw, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %dx%d, want 1200x900", b.Dx(), b.Dy())
	}
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		if err := os.WriteFile(filepath.Join("testdata", "report-screenshot.png"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("updated testdata/report-screenshot.png")
	}
}

// TestHTMLLargeInChromium: a large plan's page stays small and becomes
// interactive (the filter and the pager answer from the URL) in headless
// Chromium; leave rows are counted and sampled, every change is listed. The
// 3 s goal is measured by BenchmarkWrite1MActions, not asserted here.
func TestHTMLLargeInChromium(t *testing.T) {
	bin := chromiumPath(t)
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	res := planShaped(300_000)
	dir := t.TempDir()
	if _, err := Write(dir, []string{"html"}, res); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "report.html")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 20<<20 {
		t.Errorf("report.html is %d bytes for 300k actions, over 20 MB", fi.Size())
	}
	sum := reconcile.Summarize(res.Actions)
	var creates []string
	for _, a := range res.Actions {
		if a.Op == reconcile.OpCreate {
			creates = append(creates, a.Email)
		}
	}
	fileURL := (&url.URL{Scheme: "file", Path: path}).String()

	dom := string(runChromium(t, bin, "--dump-dom", fileURL+"#kind=create&page=2"))
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Fatalf("the page's script did not run:\n%.2000s", dom)
	}
	// Every count is the summary's, folded rows included.
	got := dataAttrs(countsRE.FindStringSubmatch(dom)[1])
	for k, n := range summaryCounts(sum) {
		if got[k] != strconv.Itoa(n) {
			t.Errorf("rendered %s = %q, want %d", k, got[k], n)
		}
	}
	changes := len(res.Actions) - sum.Leave - sum.Unmanaged
	listed, _ := strconv.Atoi(got["rows"])
	if listed < changes || listed > changes+2*htmlSamples {
		t.Errorf("%d rows listed, want every one of %d changes plus at most %d samples", listed, changes, 2*htmlSamples)
	}
	// The fold is said, with its numbers.
	want := fmt.Sprintf(`data-kind="leave" data-count="%d" data-listed="%d"`, sum.Leave, htmlSamples)
	if !strings.Contains(dom, want) || !strings.Contains(dom, "are counted, not listed") {
		t.Errorf("no note of the folded leave rows (%s)", want)
	}
	// Page 2 of the creates: rows 501-1000, in plan order; the DOM holds one page.
	rows := parseRows(dom)
	if len(rows) != 500 || rows[0].email != creates[500] || rows[499].email != creates[999] {
		t.Fatalf("page 2 of creates: %d rows, first %v; want 500 from %s", len(rows), rows[:min(1, len(rows))], creates[500])
	}
	if sm := shownRE.FindStringSubmatch(dom); sm == nil || dataAttrs(sm[1])["shown"] != strconv.Itoa(sum.Create) {
		t.Errorf("status line = %v, want %d creates", sm, sum.Create)
	}

	// A search narrows to the matching rows.
	q := "person0012"
	wantN := 0
	for _, a := range res.Actions {
		if a.Op == reconcile.OpRevoke && strings.Contains(a.Email, q) {
			wantN++
		}
	}
	dom = string(runChromium(t, bin, "--dump-dom", fileURL+"#kind=revoke&q="+q))
	if sm := shownRE.FindStringSubmatch(dom); sm == nil || dataAttrs(sm[1])["shown"] != strconv.Itoa(wantN) || len(parseRows(dom)) != min(wantN, 500) {
		t.Errorf("search %q: status %v, %d rows; want %d", q, sm, len(parseRows(dom)), wantN)
	}
}

// TestHTMLChangesCutInChromium: past htmlMaxChanges (lowered here) the first
// changes are listed, the rest counted by kind in a note, and the page's
// counts are still the summary's.
func TestHTMLChangesCutInChromium(t *testing.T) {
	bin := chromiumPath(t)
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	old := htmlMaxChanges
	htmlMaxChanges = 2000
	t.Cleanup(func() { htmlMaxChanges = old })
	res := planShaped(100_000)
	for i := range res.Actions {
		if i%997 == 0 && res.Actions[i].Op != reconcile.OpLeave {
			res.Actions[i].Status, res.Actions[i].Error = reconcile.StatusFailed, "503"
		}
	}
	dir := t.TempDir()
	if _, err := Write(dir, []string{"html"}, res); err != nil {
		t.Fatal(err)
	}
	sum := reconcile.Summarize(res.Actions)
	fileURL := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "report.html")}).String()
	dom := string(runChromium(t, bin, "--dump-dom", fileURL+"#kind=failed"))
	got := dataAttrs(countsRE.FindStringSubmatch(dom)[1])
	for k, n := range summaryCounts(sum) {
		if got[k] != strconv.Itoa(n) {
			t.Errorf("rendered %s = %q, want %d", k, got[k], n)
		}
	}
	// 2000 changes, the leave samples, every unmanaged one (too few to fold).
	if sum.Unmanaged > htmlFoldAbove || got["rows"] != strconv.Itoa(2000+htmlSamples+sum.Unmanaged) {
		t.Errorf("%s rows listed, want 2000 changes, %d samples and %d unmanaged", got["rows"], htmlSamples, sum.Unmanaged)
	}
	// Unlisted changes by kind, counted the way the page must say them.
	byKind := map[reconcile.Op]int{}
	seen := 0
	for _, a := range res.Actions {
		if a.Op == reconcile.OpLeave {
			continue
		}
		if seen++; seen > 2000 {
			byKind[a.Op]++
		}
	}
	changes := len(res.Actions) - sum.Leave - sum.Unmanaged
	want := fmt.Sprintf("Only the first 2000 of %d <b>changes</b> are listed here, so the page opens at once; not listed: %d create, %d reinvite, %d revoke, %d grant, %d remove-member.",
		changes, byKind[reconcile.OpCreate], byKind[reconcile.OpReinvite], byKind[reconcile.OpRevoke], byKind[reconcile.OpGrant], byKind[reconcile.OpRemoveMember])
	if !strings.Contains(dom, want) {
		t.Errorf("no cut note %q", want)
	}
	for _, r := range parseRows(dom) {
		if r.status != "failed" {
			t.Errorf("row %v shown under kind=failed", r)
		}
	}
}
