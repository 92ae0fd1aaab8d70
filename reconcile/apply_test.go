package reconcile

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent"
	"github.com/invitesync/invitesync/providers/csp"
	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/sources"
)

// startEmulator serves a fresh emulator on a loopback port for the test.
func startEmulator(t testing.TB, cfg emulator.Config, seed emulator.Seed) (*emulator.Server, string) {
	t.Helper()
	srv, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Seed(seed); err != nil {
		t.Fatal(err)
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, url
}

// fastRetries keeps retried requests quick in tests; the backoff shape is the providers' business.
func providerConfig(url string) providers.Config {
	return providers.Config{Endpoint: url, Rate: -1, BackoffBase: 5 * time.Millisecond, BackoffCap: 100 * time.Millisecond}
}

func newConfluent(t testing.TB, cfg providers.Config) *confluent.Client {
	t.Helper()
	p, err := confluent.New(cfg, emulator.DefaultConfluentKey, emulator.DefaultConfluentSecret)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleSeed is the emulator seed of the sample people (Confluent).
var sampleSeed = emulator.Seed{Confluent: []emulator.SeedConfluent{
	{Email: "ada@example.com", AuthType: sources.AuthSSO, Status: "INVITE_STATUS_SENT", Creator: emulator.DefaultConfluentPrincipal},
	{Email: "bob@example.com", AuthType: sources.AuthLocal, Status: "INVITE_STATUS_SENT", Creator: emulator.DefaultConfluentPrincipal},
	{Email: "cy@example.com", AuthType: sources.AuthLocal, Status: "INVITE_STATUS_EXPIRED"},
	{Email: "dee@example.com", AuthType: sources.AuthSSO, Status: "INVITE_STATUS_ACCEPTED"},
	{Email: "old-contractor@example.com", Status: "INVITE_STATUS_SENT", Creator: emulator.DefaultConfluentPrincipal},
	{Email: "partner@example.org", Status: "INVITE_STATUS_SENT", Creator: "u-someone-else"},
}}

// sampleRoster is the sample roster's people (auth types only matter for Confluent).
func sampleRoster() []sources.Member {
	var ms []sources.Member
	for i, p := range []struct{ name, auth string }{
		{"ada", sources.AuthSSO}, {"bob", sources.AuthSSO}, {"cy", sources.AuthLocal}, {"dee", sources.AuthSSO},
		{"eve", sources.AuthLocal}, {"fay", ""}, {"gus", sources.AuthSSO}, {"hal", sources.AuthLocal},
		{"ivy", sources.AuthSSO}, {"jon", ""}, {"kim", sources.AuthSSO}, {"lou", sources.AuthLocal},
	} {
		ms = append(ms, member(p.name+"@example.com", auth(p.auth), row(i+2)))
	}
	return ms
}

// planAgainst lists the upstream and computes a plan, as the CLI does.
func planAgainst(t testing.TB, p providers.Provider, members []sources.Member, opts Options) (*Plan, error) {
	t.Helper()
	ctx := context.Background()
	owner, err := p.WhoAmI(ctx)
	if err != nil {
		t.Fatalf("who am I: %v", err)
	}
	current, err := p.List(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	opts.Owner = owner.Principal
	opts.Capabilities = p.Capabilities()
	opts.Provider, opts.Organization = p.Name(), p.Organization()
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	return Compute(members, current, opts)
}

func opsOf(actions []Action) []string {
	var out []string
	for _, a := range actions {
		s := string(a.Op) + " " + a.Email
		if a.Unmanaged {
			s += " (unmanaged)"
		}
		out = append(out, s)
	}
	return out
}

func TestApplyConfluentSample(t *testing.T) {
	srv, url := startEmulator(t, emulator.Config{}, sampleSeed)
	p := newConfluent(t, providerConfig(url))
	ledger, err := LoadLedger(filepath.Join(t.TempDir(), "ledger.jsonl"), p.Name(), p.Organization())
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()

	plan, err := planAgainst(t, p, sampleRoster(), Options{Ledger: ledger, MaxRevoke: "3"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"leave ada@example.com", "reinvite bob@example.com", "reinvite cy@example.com", "leave dee@example.com",
		"create eve@example.com", "create fay@example.com", "create gus@example.com", "create hal@example.com",
		"create ivy@example.com", "create jon@example.com", "create kim@example.com", "create lou@example.com",
		"revoke old-contractor@example.com", "leave partner@example.org (unmanaged)",
	}
	if got := opsOf(plan.Actions); !slices.Equal(got, want) {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var progress []int
	res, err := Apply(context.Background(), p, plan, ApplyOptions{Concurrency: 4, Ledger: ledger, Logger: zerolog.New(zerolog.NewTestWriter(t)),
		OnProgress: func(done, total int) {
			if total != 11 {
				t.Errorf("progress total = %d, want 11", total)
			}
			progress = append(progress, done)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cancelled || res.Mode != "apply" || res.StartedAt.IsZero() || res.FinishedAt.Before(res.StartedAt) {
		t.Errorf("result header: %+v", res)
	}
	for _, a := range res.Actions {
		wantStatus := StatusDone
		if a.Op == OpLeave {
			wantStatus = StatusPlanned
		}
		if a.Status != wantStatus || a.Error != "" {
			t.Errorf("%s %s: status %s, error %q; want %s", a.Op, a.Email, a.Status, a.Error, wantStatus)
		}
		if a.Op == OpCreate || a.Op == OpReinvite {
			if !strings.HasPrefix(a.InvitationID, "i-") && a.InvitationID == "" {
				t.Errorf("%s %s: no new invitation id", a.Op, a.Email)
			}
			if a.Attempts < 1 || a.RequestID == "" {
				t.Errorf("%s %s: attempts %d, request id %q", a.Op, a.Email, a.Attempts, a.RequestID)
			}
		}
	}
	if len(progress) != 11 || progress[10] != 11 {
		t.Errorf("progress calls = %v", progress)
	}
	kinds := map[string]int{}
	for _, e := range ledger.Entries() {
		kinds[e.Kind]++
	}
	if kinds[KindInvitation] != 10 || kinds[KindIntent] != 10 || len(ledger.Intents()) != 0 {
		t.Errorf("ledger entries by kind = %v (open intents %d), want 10 intents each resolved by its invitation (8 creates, 2 reinvites)", kinds, len(ledger.Intents()))
	}

	st := srv.Stats()
	if st.DuplicateCreates != 0 {
		t.Errorf("duplicate_creates = %d", st.DuplicateCreates)
	}
	if got := st.ByRoute["DELETE /iam/v2/invitations/{id}"]; got != 2 {
		t.Errorf("deletes = %d, want 2 (bob's old invitation and old-contractor)", got)
	}
	if got := st.ByRoute["POST /iam/v2/invitations"]; got != 10 {
		t.Errorf("creates = %d, want 10", got)
	}

	// Converged: the next plan changes nothing.
	again, err := planAgainst(t, p, sampleRoster(), Options{Ledger: ledger})
	if err != nil {
		t.Fatal(err)
	}
	if Changes(again.Actions) {
		t.Errorf("second plan still has changes:\n%s", strings.Join(opsOf(again.Actions), "\n"))
	}
}

// A create for someone invited meanwhile comes back "already invited": done, not failed.
func TestApplyAlreadyInvited(t *testing.T) {
	srv, url := startEmulator(t, emulator.Config{}, emulator.Seed{})
	p := newConfluent(t, providerConfig(url))
	members := []sources.Member{member("ada@example.com"), member("bob@example.com")}
	plan, err := planAgainst(t, p, members, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Seed(emulator.Seed{Confluent: []emulator.SeedConfluent{{Email: "ada@example.com", Creator: "u-else"}}}); err != nil {
		t.Fatal(err)
	}
	res, err := Apply(context.Background(), p, plan, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Actions {
		if a.Status != StatusDone {
			t.Errorf("%s: %s %s", a.Email, a.Status, a.Error)
		}
	}
	if a := res.Actions[0]; !strings.Contains(a.Reason, "already invited") || a.InvitationID == "" {
		t.Errorf("ada: reason %q, id %q; want already invited with the existing id", a.Reason, a.InvitationID)
	}
	if c := srv.Stats().Invitations[emulator.APIConfluent]; c.Pending != 2 {
		t.Errorf("pending = %d, want 2", c.Pending)
	}
}

// Unsupported and leave actions are never sent; a failed action does not stop the others.
func TestApplyRecordsFailuresAndSkipsUnsupported(t *testing.T) {
	srv, url := startEmulator(t, emulator.Config{}, emulator.Seed{Confluent: []emulator.SeedConfluent{
		{Email: "acc@example.com", Status: "INVITE_STATUS_ACCEPTED"},
		{Email: "old@example.com"},
	}})
	p := newConfluent(t, providerConfig(url))
	current, err := p.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byEmail := map[string]*providers.Invitation{}
	for i := range current {
		byEmail[current[i].Email] = &current[i]
	}
	// A hand-made plan: revoking an accepted invitation is refused upstream
	// (400), which the planner never plans, so it stands in for a failure.
	m := member("new@example.com")
	plan := &Plan{Version: PlanVersion, Provider: p.Name(), Organization: p.Organization(), CreatedAt: time.Now(), Actions: []Action{
		{Op: OpRevoke, Email: "acc@example.com", Status: StatusPlanned, Current: byEmail["acc@example.com"], InvitationID: byEmail["acc@example.com"].ID},
		{Op: OpCreate, Email: "new@example.com", Status: StatusPlanned, Member: &m},
		{Op: OpRevoke, Email: "old@example.com", Status: StatusUnsupported, Current: byEmail["old@example.com"]},
		{Op: OpLeave, Email: "x@example.com", Status: StatusPlanned},
	}}
	before := srv.Stats().Requests
	res, err := Apply(context.Background(), p, plan, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := []ActionStatus{res.Actions[0].Status, res.Actions[1].Status, res.Actions[2].Status, res.Actions[3].Status}
	if want := []ActionStatus{StatusFailed, StatusDone, StatusUnsupported, StatusPlanned}; !slices.Equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if a := res.Actions[0]; !strings.Contains(a.Error, "already accepted") || a.RequestID == "" || a.Attempts != 1 {
		t.Errorf("failed action: error %q, request id %q, attempts %d", a.Error, a.RequestID, a.Attempts)
	}
	if n := srv.Stats().Requests - before; n != 2 {
		t.Errorf("requests = %d, want 2 (one revoke, one create)", n)
	}
	if s := Summarize(res.Actions); s.Failed != 1 || s.Unsupported != 1 {
		t.Errorf("summary = %+v", s)
	}
}

// With faults on, an apply still ends with every action done, nobody is
// invited twice, and the next plan is empty.
func TestApplyConvergesUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("faults make this take a few seconds")
	}
	srv, url := startEmulator(t, emulator.Config{FaultRate: 0.2, FaultSeed: 7, Faults: emulator.AllFaults}, emulator.Seed{
		Confluent: []emulator.SeedConfluent{{Email: "leaver1@example.com"}, {Email: "leaver2@example.com"}, {Email: "u00@example.com", AuthType: sources.AuthLocal}},
	})
	cfg := providerConfig(url)
	cfg.Timeout = 5 * time.Second
	p := newConfluent(t, cfg)
	var members []sources.Member
	for i := range 60 {
		members = append(members, member(fmt.Sprintf("u%02d@example.com", i), auth(sources.AuthSSO)))
	}
	plan, err := planAgainst(t, p, members, Options{MaxRevoke: "3"})
	if err != nil {
		t.Fatal(err)
	}
	if s := Summarize(plan.Actions); s.Create != 59 || s.Reinvite != 1 || s.Revoke != 2 {
		t.Fatalf("plan summary %+v", s)
	}
	res, err := Apply(context.Background(), p, plan, ApplyOptions{Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Actions {
		if a.Status != StatusDone {
			t.Errorf("%s %s: %s %s", a.Op, a.Email, a.Status, a.Error)
		}
	}
	srv.SetFaults(0, nil)
	st := srv.Stats()
	if st.FaultsInjected == 0 {
		t.Fatal("no fault was injected: the test proves nothing")
	}
	if st.DuplicateCreates != 0 {
		t.Errorf("duplicate_creates = %d", st.DuplicateCreates)
	}
	if c := st.Invitations[emulator.APIConfluent]; c.Pending != 60 {
		t.Errorf("pending = %d, want 60", c.Pending)
	}
	again, err := planAgainst(t, p, members, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if Changes(again.Actions) {
		t.Errorf("plan after the faulty apply still changes:\n%s", strings.Join(opsOf(again.Actions), "\n"))
	}
	t.Logf("faults injected: %v", st.FaultsByKind)
}

// Cancelling stops new actions; in-flight ones finish; the rest are skipped,
// and a second run completes without inviting anybody twice.
func TestApplyCancel(t *testing.T) {
	srv, url := startEmulator(t, emulator.Config{Latency: 20 * time.Millisecond}, emulator.Seed{})
	p := newConfluent(t, providerConfig(url))
	var members []sources.Member
	for i := range 40 {
		members = append(members, member(fmt.Sprintf("u%02d@example.com", i)))
	}
	plan, err := planAgainst(t, p, members, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var finished atomic.Int32
	res, err := Apply(ctx, p, plan, ApplyOptions{Concurrency: 4, OnProgress: func(done, total int) {
		if finished.Add(1) == 5 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cancelled {
		t.Fatal("Result.Cancelled not set")
	}
	count := map[ActionStatus]int{}
	for _, a := range res.Actions {
		count[a.Status]++
	}
	if count[StatusFailed] != 0 || count[StatusSkipped] == 0 || count[StatusDone] < 5 || count[StatusDone]+count[StatusSkipped] != 40 {
		t.Errorf("statuses after cancel: %v (in-flight creates must finish, not fail)", count)
	}
	if c := srv.Stats().Invitations[emulator.APIConfluent]; c.Pending != count[StatusDone] {
		t.Errorf("pending upstream = %d, done = %d", c.Pending, count[StatusDone])
	}

	plan2, err := planAgainst(t, p, members, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := Summarize(plan2.Actions); s.Create != count[StatusSkipped] {
		t.Errorf("second plan creates %d, want the %d skipped", s.Create, count[StatusSkipped])
	}
	if _, err := Apply(context.Background(), p, plan2, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.DuplicateCreates != 0 || st.Invitations[emulator.APIConfluent].Pending != 40 {
		t.Errorf("after resume: duplicate_creates %d, pending %d", st.DuplicateCreates, st.Invitations[emulator.APIConfluent].Pending)
	}
}

// Ownership by ledger alone (the principal unknown, as on Azure): what this
// tool created is revoked when it leaves the roster; the rest is unmanaged.
func TestApplyLedgerOwnership(t *testing.T) {
	_, url := startEmulator(t, emulator.Config{}, emulator.Seed{Confluent: []emulator.SeedConfluent{
		{Email: "theirs@example.com"}, // created by the key's principal, but we do not know who we are
	}})
	p := newConfluent(t, providerConfig(url))
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	ledger, err := LoadLedger(path, p.Name(), p.Organization())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list := func() []providers.Invitation {
		cur, err := p.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cur
	}
	opts := Options{Ledger: ledger, Capabilities: p.Capabilities(), Now: time.Now(), MaxRevoke: "100%"}
	plan, err := Compute([]sources.Member{member("ours@example.com")}, list(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, p, plan, ApplyOptions{Ledger: ledger}); err != nil {
		t.Fatal(err)
	}
	ledger.Close()

	ledger, err = LoadLedger(path, p.Name(), p.Organization()) // a later run reads it back
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	opts.Ledger = ledger
	plan, err = Compute(nil, list(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"revoke ours@example.com", "leave theirs@example.com (unmanaged)"}
	if got := opsOf(plan.Actions); !slices.Equal(got, want) {
		t.Errorf("plan = %v, want %v", got, want)
	}
}

// BenchmarkApply2000At200rps: 2,000 creates against an emulator limited to
// 200 requests/s, client paced at the same rate, concurrency 16. Target:
// about 10.5 s and almost no 429s.
func BenchmarkApply2000At200rps(b *testing.B) {
	const n, rate = 2000, 200.0
	var members []sources.Member
	for i := range n {
		members = append(members, member(fmt.Sprintf("bench%04d@example.com", i), auth(sources.AuthSSO)))
	}
	for b.Loop() {
		b.StopTimer()
		srv, url := startEmulator(b, emulator.Config{Rate: rate}, emulator.Seed{})
		cfg := providers.Config{Endpoint: url, Rate: rate}
		p := newConfluent(b, cfg)
		b.StartTimer()
		start := time.Now()
		plan, err := planAgainst(b, p, members, Options{})
		if err != nil {
			b.Fatal(err)
		}
		res, err := Apply(context.Background(), p, plan, ApplyOptions{Concurrency: 16})
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		for _, a := range res.Actions {
			if a.Status != StatusDone {
				b.Fatalf("%s: %s %s", a.Email, a.Status, a.Error)
			}
		}
		st := srv.Stats()
		b.ReportMetric(elapsed.Seconds(), "s/apply")
		b.ReportMetric(float64(st.Requests)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(st.RateLimited), "429s")
		srv.Close()
		b.StartTimer()
	}
}

// CSP: creates with identical roles, groups and expiry share one bulk call
// (at most MaxBatch usernames); a reinvite revokes before it creates.
func TestApplyCSPBatches(t *testing.T) {
	const org = "demo-org"
	srv, url := startEmulator(t, emulator.Config{}, emulator.Seed{CSP: map[string][]emulator.SeedCSP{org: {
		{Username: "ada@example.com", OrgRoles: []string{"org_member"}, Groups: []string{"g-eng"}},
		{Username: "bob@example.com", OrgRoles: []string{"org_member"}},
		{Username: "cy@example.com", OrgRoles: []string{"org_member"}, Expired: true},
		{Username: "dee@example.com", Status: "REDEEMED"},
		{Username: "old-contractor@example.com", OrgRoles: []string{"org_member"}},
		{Username: "partner@example.org", InvitedBy: "someone@example.org"},
	}}})
	p, err := csp.New(providerConfig(url), csp.Options{OrgID: org, APIToken: emulator.DefaultCSPRefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	members := []sources.Member{
		member("ada@example.com", roles("org_member"), groups("g-eng"), expiry(14)), // expiry is never compared
		member("bob@example.com", roles("org_owner")),
		member("cy@example.com", roles("org_member")),
		member("dee@example.com", roles("org_member")),
	}
	for i := range 25 {
		members = append(members, member(fmt.Sprintf("new%02d@example.com", i), roles("org_member")))
	}
	plan, err := planAgainst(t, p, members, Options{MaxRevoke: "3"})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(plan.Actions)
	if s.Create != 25 || s.Reinvite != 2 || s.Revoke != 1 || s.Leave != 2 || s.Unmanaged != 1 {
		t.Fatalf("summary = %+v\n%s", s, strings.Join(opsOf(plan.Actions), "\n"))
	}
	before := srv.Stats()
	res, err := Apply(context.Background(), p, plan, ApplyOptions{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Actions {
		if a.Op != OpLeave && a.Status != StatusDone {
			t.Errorf("%s %s: %s %s", a.Op, a.Email, a.Status, a.Error)
		}
	}
	st := srv.Stats()
	// 26 identical invites (25 new + cy) in one call (the batch starts
	// large), bob's in another.
	if got := st.ByRoute["POST /csp/gateway/am/api/orgs/{orgId}/invitations"] - before.ByRoute["POST /csp/gateway/am/api/orgs/{orgId}/invitations"]; got != 2 {
		t.Errorf("invite calls = %d, want 2", got)
	}
	if st.DuplicateCreates != 0 {
		t.Errorf("duplicate_creates = %d", st.DuplicateCreates)
	}
	again, err := planAgainst(t, p, members, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if Changes(again.Actions) {
		t.Errorf("second plan still changes:\n%s", strings.Join(opsOf(again.Actions), "\n"))
	}
}

// BenchmarkApplyAt500rps is the throughput figure in the README: 5,000 creates
// and 1,000 revokes against an emulator limited to 500 requests/s, the
// client paced at the same rate, concurrency 16. Targets: rate-ratio (the
// requests/s achieved over the whole run, who-am-I and list included, over
// the limit) >= 0.95; 429-pct < 1; extra-list-requests (list requests
// beyond ceil(1000/100)) 0.
func BenchmarkApplyAt500rps(b *testing.B) {
	const creates, revokes, rate = 5000, 1000, 500.0
	var members []sources.Member
	for i := range creates {
		members = append(members, member(fmt.Sprintf("new%04d@example.com", i), auth(sources.AuthSSO)))
	}
	var seed emulator.Seed
	for i := range revokes {
		seed.Confluent = append(seed.Confluent, emulator.SeedConfluent{Email: fmt.Sprintf("leaver%04d@example.com", i)})
	}
	for b.Loop() {
		b.StopTimer()
		srv, url := startEmulator(b, emulator.Config{Rate: rate}, seed)
		p := newConfluent(b, providers.Config{Endpoint: url, Rate: rate})
		b.StartTimer()
		start := time.Now()
		plan, err := planAgainst(b, p, members, Options{MaxRevoke: "100%"})
		if err != nil {
			b.Fatal(err)
		}
		res, err := Apply(context.Background(), p, plan, ApplyOptions{Concurrency: 16})
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if s := Summarize(res.Actions); s.Create != creates || s.Revoke != revokes || s.Failed != 0 {
			b.Fatalf("summary %+v", s)
		}
		st := srv.Stats()
		achieved := float64(st.Requests) / elapsed.Seconds()
		b.ReportMetric(elapsed.Seconds(), "s/apply")
		b.ReportMetric(achieved, "req/s")
		b.ReportMetric(achieved/rate, "rate-ratio")
		b.ReportMetric(100*float64(st.RateLimited)/float64(st.Requests), "429-pct")
		b.ReportMetric(float64(st.ByRoute["GET /iam/v2/invitations"]-(revokes+99)/100), "extra-list-requests")
		srv.Close()
		b.StartTimer()
	}
}
