package reconcile

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/fake"
)

// runEnv is one org on the fake upstream and the files a run keeps.
type runEnv struct {
	t      *testing.T
	p      *fake.Provider
	dir    string
	ledger string
}

func newRunEnv(t *testing.T, opts fake.Options) *runEnv {
	t.Setenv("INVITESYNC_LOCK_DIR", t.TempDir())
	dir := t.TempDir()
	return &runEnv{t: t, p: fake.New(opts), dir: dir, ledger: filepath.Join(dir, "ledger.jsonl")}
}

// roster writes a CSV roster (lines after the header) and returns its path.
func (e *runEnv) roster(header string, rows ...string) string {
	e.t.Helper()
	path := filepath.Join(e.dir, "roster.csv")
	if err := os.WriteFile(path, []byte(header+"\n"+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func (e *runEnv) run(mode, roster string, edit ...func(*RunConfig)) *Outcome {
	e.t.Helper()
	cfg := RunConfig{Mode: mode, Provider: e.p, Roster: roster, Ledger: e.ledger, Yes: true,
		Options: PlanOptions{MaxRevoke: "100%", MaxRemove: "100%"}, Logger: zerolog.Nop()}
	for _, f := range edit {
		f(&cfg)
	}
	return Run(context.Background(), cfg)
}

func ops(out *Outcome) []string {
	var s []string
	if out.Result == nil {
		return nil
	}
	for _, a := range out.Result.Actions {
		if a.Op == OpLeave && !a.Unmanaged {
			continue
		}
		line := string(a.Op) + " " + a.Email
		if a.Grant != nil {
			line += " " + a.Grant.Role
		}
		if a.Unmanaged {
			line += " (unmanaged)"
		}
		s = append(s, line+" ["+string(a.Status)+"]")
	}
	return s
}

func wantVerdict(t *testing.T, out *Outcome, v Verdict) {
	t.Helper()
	if out.Verdict != v {
		t.Fatalf("verdict %d, want %d: %v\n  %s", out.Verdict, v, out.Err, strings.Join(ops(out), "\n  "))
	}
}

// Onboarding with roles grants exactly the listed access, the next plan is
// empty, one changed cell is one grant and one ungrant, and a binding made
// by someone else is left and listed unmanaged.
func TestRunAccessConverges(t *testing.T) {
	e := newRunEnv(t, fake.Options{})
	e.p.SeedMember(providers.User{ID: "u-old", Email: "old@example.com"})
	e.p.Seed(providers.Invitation{Email: "old@example.com", Status: providers.StatusAccepted, UserID: "u-old", CreatorID: "someone"})
	e.p.SeedGrant(providers.Grant{Email: "old@example.com", UserID: "u-old", Role: "MetricsViewer"})
	roster := e.roster("email,roles",
		"ada@example.com,EnvironmentAdmin@env-abc123",
		"bob@example.com,CloudClusterAdmin@env-abc123/lkc-xyz789;MetricsViewer",
		"old@example.com,EnvironmentAdmin@env-abc123")
	wantVerdict(t, e.run("plan", roster), VerdictPending)
	out := e.run("apply", roster)
	wantVerdict(t, out, VerdictOK)

	held := map[string]bool{}
	for _, g := range e.p.Grants() {
		held[g.Email+" "+g.Role] = true
	}
	for _, want := range []string{"ada@example.com EnvironmentAdmin@env-abc123", "bob@example.com CloudClusterAdmin@env-abc123/lkc-xyz789",
		"bob@example.com MetricsViewer", "old@example.com EnvironmentAdmin@env-abc123", "old@example.com MetricsViewer"} {
		if !held[want] {
			t.Errorf("not granted upstream: %s (held: %v)", want, held)
		}
	}
	again := e.run("plan", roster)
	wantVerdict(t, again, VerdictOK)
	if got := strings.Join(ops(again), "; "); got != "leave old@example.com MetricsViewer (unmanaged) [planned]" {
		t.Errorf("second plan: %s; want only someone else's binding, unmanaged", got)
	}

	roster = e.roster("email,roles",
		"ada@example.com,EnvironmentAdmin@env-new",
		"bob@example.com,CloudClusterAdmin@env-abc123/lkc-xyz789;MetricsViewer",
		"old@example.com,EnvironmentAdmin@env-abc123")
	changed := e.run("plan", roster)
	wantVerdict(t, changed, VerdictPending)
	want := "grant ada@example.com EnvironmentAdmin@env-new [planned]; ungrant ada@example.com EnvironmentAdmin@env-abc123 [planned]; leave old@example.com MetricsViewer (unmanaged) [planned]"
	if got := strings.Join(ops(changed), "; "); got != want {
		t.Errorf("one changed cell:\n got %s\nwant %s", got, want)
	}
}

// A create whose outcome is unknown is reported so, never re-sent in the
// run; the next run's listing settles it and the ledger records it then.
func TestRunUnknownCreateSettlesNextRun(t *testing.T) {
	for _, landed := range []bool{fake.Landed, fake.NotLanded} {
		t.Run(fmt.Sprint("landed=", landed), func(t *testing.T) {
			e := newRunEnv(t, fake.Options{Capabilities: &providers.Capabilities{Revoke: true, MaxBatch: 1}})
			roster := e.roster("email", "ada@example.com")
			e.p.UnknownCreate("ada@example.com", landed)
			out := e.run("apply", roster)
			wantVerdict(t, out, VerdictFailed)
			if a := out.Result.Actions[0]; a.Status != StatusUnknown || !strings.HasPrefix(a.Error, OutcomeUnknown) {
				t.Fatalf("action %s %q, want unknown", a.Status, a.Error)
			}
			if n := e.p.Count("create", "ada@example.com"); n != 1 {
				t.Fatalf("%d creates sent, want 1", n)
			}
			e.p.Heal()
			next := e.run("plan", roster)
			if landed {
				wantVerdict(t, next, VerdictOK)
				if len(next.Resolved) != 1 {
					t.Errorf("resolved %v, want ada", next.Resolved)
				}
				// Ours: a roster without ada revokes it.
				if got := strings.Join(ops(e.run("plan", e.roster("email", "bob@example.com"))), "; "); !strings.Contains(got, "revoke ada@example.com") {
					t.Errorf("the invitation the unknown create made is not ours: %s", got)
				}
			} else {
				wantVerdict(t, next, VerdictPending)
			}
		})
	}
}

// Reinvites revoke first: they count against --max-revoke, and once a
// create is refused for good (402), no further pending invitation is
// revoked for a reinvite.
func TestRunReinviteGuards(t *testing.T) {
	e := newRunEnv(t, fake.Options{})
	var rows []string
	for i := range 5 {
		email := fmt.Sprintf("p%d@example.com", i)
		e.p.Seed(providers.Invitation{Email: email, AuthType: "AUTH_TYPE_LOCAL", CreatorID: "u-invitesync"})
		rows = append(rows, email+",AUTH_TYPE_SSO")
	}
	roster := e.roster("email,auth_type", rows...)
	out := e.run("plan", roster, func(c *RunConfig) { c.Options.MaxRevoke = "2" })
	wantVerdict(t, out, VerdictRefused)
	if !strings.Contains(out.Err.Error(), "would revoke 5 pending invitations (reinvites revoke first)") {
		t.Errorf("guard error: %v", out.Err)
	}

	quota := &providers.Error{Method: http.MethodPost, Path: "/fake/create", Status: http.StatusPaymentRequired, Code: "quota_exceeded", Attempts: 1}
	for i := range 5 {
		e.p.FailCreate(fmt.Sprintf("p%d@example.com", i), quota)
	}
	out = e.run("apply", roster, func(c *RunConfig) { c.Concurrency = 1 })
	wantVerdict(t, out, VerdictFailed)
	revokes := 0
	for _, c := range e.p.Calls() {
		if c.Op == "revoke" {
			revokes++
		}
	}
	if revokes != 1 {
		t.Errorf("%d pending invitations revoked for reinvites after a 402, want only the first", revokes)
	}
	skipped := 0
	for _, a := range out.Result.Actions {
		if a.Status == StatusSkipped && strings.Contains(a.Error, "refused for good (402)") {
			skipped++
		}
	}
	if skipped != 4 {
		t.Errorf("%d reinvites skipped saying why, want 4:\n  %s", skipped, strings.Join(ops(out), "\n  "))
	}
}

// An invitation listed twice is kept, never revoked as its own duplicate.
func TestRunListedTwiceNeverRevoked(t *testing.T) {
	e := newRunEnv(t, fake.Options{})
	e.p.Seed(providers.Invitation{Email: "ada@example.com", CreatorID: "u-invitesync"})
	e.p.ListTwice("ada@example.com")
	out := e.run("apply", e.roster("email", "ada@example.com"))
	wantVerdict(t, out, VerdictOK)
	if n := e.p.Count("revoke", "ada@example.com"); n != 0 {
		t.Fatalf("revoked the invitation it keeps (%d revokes)", n)
	}
}

// Offboarding: three people leave a roster of 50 members: three removals
// with their blast radius; a roster cut to 5 rows is refused by the guard;
// apply removes exactly the three; the next plan is empty; a member the
// tool did not invite is never removed without adoption.
func TestRunOffboarding(t *testing.T) {
	e := newRunEnv(t, fake.Options{})
	var rows []string
	for i := range 50 {
		email := fmt.Sprintf("m%02d@example.com", i)
		id := fmt.Sprintf("u-%02d", i)
		e.p.Seed(providers.Invitation{Email: email, Status: providers.StatusAccepted, CreatorID: "u-invitesync", UserID: id})
		e.p.SeedMember(providers.User{ID: id, Email: email})
		rows = append(rows, email)
	}
	e.p.SeedGrant(providers.Grant{Email: "m47@example.com", UserID: "u-47", Role: "MetricsViewer"})
	e.p.SeedMember(providers.User{ID: "u-x", Email: "stranger@example.com"})
	e.p.SeedMember(providers.User{ID: "u-invitesync", Email: "invitesync@example.com"})
	offboard := func(c *RunConfig) { c.Options.RemoveMembers, c.Options.MaxRemove = true, "" }

	out := e.run("plan", e.roster("email", rows[:47]...), offboard)
	wantVerdict(t, out, VerdictPending)
	var removals []string
	for _, a := range out.Result.Actions {
		if a.Op == OpRemoveMember {
			removals = append(removals, a.Email)
			if a.Email == "m47@example.com" && (a.Radius == nil || len(a.Radius.Bindings) != 1 || !strings.Contains(a.Reason, "1 role binding")) {
				t.Errorf("m47's removal does not show its binding: %+v %q", a.Radius, a.Reason)
			}
		}
	}
	if strings.Join(removals, " ") != "m47@example.com m48@example.com m49@example.com" {
		t.Fatalf("removals %v, want m47..m49\n  %s", removals, strings.Join(ops(out), "\n  "))
	}

	truncated := e.run("apply", e.roster("email", rows[:5]...), offboard)
	wantVerdict(t, truncated, VerdictRefused)
	if !strings.Contains(truncated.Err.Error(), "--max-remove") || len(e.p.Members()) != 52 {
		t.Fatalf("truncated roster: %v; %d members left", truncated.Err, len(e.p.Members()))
	}

	wantVerdict(t, e.run("apply", e.roster("email", rows[:47]...), offboard), VerdictOK)
	if n := len(e.p.Members()); n != 49 {
		t.Fatalf("%d members after removing three of 52", n)
	}
	again := e.run("plan", e.roster("email", rows[:47]...), offboard)
	wantVerdict(t, again, VerdictOK)
	if got := strings.Join(ops(again), "; "); got != "leave stranger@example.com (unmanaged) [planned]" {
		t.Errorf("after removal: %s", got)
	}

	// Adopted, the stranger is removed; the principal never is.
	adopt := filepath.Join(e.dir, "adopt.txt")
	os.WriteFile(adopt, []byte("# existing staff\nstranger@example.com\ninvitesync@example.com\n"), 0o644)
	withAdopt := func(c *RunConfig) { offboard(c); c.AdoptFile = adopt }
	wantVerdict(t, e.run("apply", e.roster("email", rows[:47]...), withAdopt), VerdictOK)
	for _, u := range e.p.Members() {
		if u.Email == "stranger@example.com" {
			t.Error("the adopted member was not removed")
		}
	}
	if e.p.Count("remove-member", "invitesync@example.com") != 0 {
		t.Error("removed the principal the tool runs as")
	}
}

// A saved plan runs only against the organization it was made for.
func TestRunSavedPlanOtherOrg(t *testing.T) {
	e := newRunEnv(t, fake.Options{Org: "org-a"})
	roster := e.roster("email", "ada@example.com")
	out := e.run("plan", roster)
	wantVerdict(t, out, VerdictPending)
	path := filepath.Join(e.dir, "plan.json")
	if err := SavePlan(path, out.Result.Plan); err != nil {
		t.Fatal(err)
	}
	other := fake.New(fake.Options{Org: "org-b"})
	res := e.run("apply", "", func(c *RunConfig) { c.Provider, c.SavedPlan = other, path })
	wantVerdict(t, res, VerdictRefused)
	if !strings.Contains(res.Err.Error(), "the plan is for organization org-a, but these credentials reach org-b") {
		t.Errorf("error: %v", res.Err)
	}
	if len(other.Calls()) != 1 { // who-am-I only
		t.Errorf("calls to the other org: %+v", other.Calls())
	}
	wantVerdict(t, e.run("apply", "", func(c *RunConfig) { c.SavedPlan = path }), VerdictOK)
}
