package csp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/emulator"
)

func TestStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		raw     string
		expires time.Time
		want    providers.Status
	}{
		{"AVAILABLE", now.Add(time.Hour), providers.StatusPending},
		{"AVAILABLE", time.Time{}, providers.StatusPending},
		{"AVAILABLE", now.Add(-time.Millisecond), providers.StatusExpired}, // CSP has no expired status
		{"REDEEMED", now.Add(-time.Hour), providers.StatusAccepted},
		{MemberStatus, time.Time{}, providers.StatusAccepted},
		{"REVOKED", now.Add(time.Hour), providers.StatusRevoked},
		{"SUSPENDED", now.Add(time.Hour), providers.StatusUnknown},
		{"available", now.Add(time.Hour), providers.StatusUnknown},
	}
	for _, tt := range tests {
		if got := Status(tt.raw, tt.expires, now); got != tt.want {
			t.Errorf("Status(%q, %v) = %q, want %q", tt.raw, tt.expires, got, tt.want)
		}
	}
}

func TestRefLinkID(t *testing.T) {
	tests := map[string]string{
		"/csp/gateway/am/api/orgs/o-1/invitations/6f1c2e1a-aaaa-4bbb-8ccc-123456789abc":  "6f1c2e1a-aaaa-4bbb-8ccc-123456789abc",
		"/csp/gateway/am/api/orgs/o-1/invitations/6f1c2e1a-aaaa-4bbb-8ccc-123456789abc/": "6f1c2e1a-aaaa-4bbb-8ccc-123456789abc",
		"https://console.cloud.vmware.com/csp/gateway/am/api/orgs/o/invitations/x?y=z":   "x",
		"":  "",
		"/": "",
	}
	for in, want := range tests {
		if got := RefLinkID(in); got != want {
			t.Errorf("RefLinkID(%q) = %q, want %q", in, got, want)
		}
	}
}

// expirationTime's unit is not documented: both units are read by
// magnitude, and a value no unit makes sense of is an error.
func TestEpochTime(t *testing.T) {
	at := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      int64
		want    time.Time
		wantErr bool
	}{
		{0, time.Time{}, false},
		{at.UnixMilli(), at, false},
		{at.Unix(), at, false},
		{946684800, time.Unix(946684800, 0).UTC(), false},           // 2000-01-01 in seconds
		{946684800 * 1000, time.Unix(946684800, 0).UTC(), false},    // and in milliseconds
		{4102444799999, time.UnixMilli(4102444799999).UTC(), false}, // the last ms of 2099
		{4102444800 * 1000, time.Time{}, true},                      // 2100 in ms
		{at.UnixMicro(), time.Time{}, true},                         // microseconds
		{86400 * 7, time.Time{}, true},                              // a duration, not a time
		{-1, time.Time{}, true},
		{500_000_000_000, time.Time{}, true}, // 1985 in ms? no: too small for ms of 2000+, too big for s
	}
	for _, tt := range tests {
		got, err := EpochTime(tt.in)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("EpochTime(%d) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestInviteBody(t *testing.T) {
	r := providers.InviteRequest{
		OrgRoles: []string{"org_member"},
		ServiceRoles: []providers.ServiceRole{
			{Link: "/svc/a", Role: "r1"}, {Link: "/svc/b", Role: "r2"}, {Link: "/svc/a", Role: "r3"},
		},
		Groups:        []string{"g-eng"},
		ExpiresInDays: 30,
	}
	b, err := json.Marshal(newInviteBody([]string{"a@example.com", "b@example.com"}, r, "me@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"usernames":["a@example.com","b@example.com"],"organizationRoles":[{"name":"org_member"}],` +
		`"serviceRolesDtos":[{"serviceDefinitionLink":"/svc/a","serviceRoles":[{"name":"r1"},{"name":"r3"}]},` +
		`{"serviceDefinitionLink":"/svc/b","serviceRoles":[{"name":"r2"}]}],"customGroupsIds":["g-eng"],` +
		`"invitedBy":"me@example.com","invitationExpirationInDays":30}`
	if string(b) != want {
		t.Fatalf("body\n%s\nwant\n%s", b, want)
	}
	// No roster role: org_member all the same; no expiry asked: none sent.
	b, _ = json.Marshal(newInviteBody([]string{"a@example.com"}, withDefaultRole(providers.InviteRequest{}), "me@example.com"))
	if string(b) != `{"usernames":["a@example.com"],"organizationRoles":[{"name":"org_member"}],"invitedBy":"me@example.com"}` {
		t.Fatalf("minimal body %s", b)
	}
}

func TestValidate(t *testing.T) {
	many := make([]string, MaxGroups+1)
	for i := range many {
		many[i] = fmt.Sprint("g", i)
	}
	tests := []struct {
		r    providers.InviteRequest
		want string
	}{
		{providers.InviteRequest{Email: "a@example.com"}, ""},
		{providers.InviteRequest{Email: "a@example.com", Groups: many[:MaxGroups], ExpiresInDays: 90}, ""},
		{providers.InviteRequest{Email: "a@example.com", ExpiresInDays: 1}, ""},
		{providers.InviteRequest{Email: "a@example.com", Groups: many}, "16 custom groups"},
		{providers.InviteRequest{Email: "a@example.com", ExpiresInDays: 91}, "91 days"},
		{providers.InviteRequest{Email: "a@example.com", ExpiresInDays: -3}, "-3 days"},
		{providers.InviteRequest{Email: " "}, "no email"},
	}
	for _, tt := range tests {
		err := validate(tt.r)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("validate(%d groups, %d days, %q) = %v, want %q", len(tt.r.Groups), tt.r.ExpiresInDays, tt.r.Email, err, tt.want)
		}
	}
}

func TestTooLarge(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&providers.Error{Status: 413}, true},
		{&providers.Error{Status: 400, Message: fmt.Sprintf(emulator.CSPBatchTooLargeMessage, 300, 100)}, true},
		{&providers.Error{Status: 400, Message: "Invalid request body | Maximum number of users per request exceeded"}, true},
		{&providers.Error{Status: 400, Message: "Invalid request body | usernames cannot be invited: x@y.example"}, false},
		{&providers.Error{Status: 400, Message: "Invalid request body | customGroupsIds: at most 15 allowed"}, false},
		{&providers.Error{Status: 429, Message: "too many requests from this user"}, false},
		{errors.New("too many usernames"), false},
	}
	for _, tt := range tests {
		if got := tooLarge(tt.err); got != tt.want {
			t.Errorf("tooLarge(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestCheckRole(t *testing.T) {
	tests := []struct {
		role string
		want string // error text, "" for valid
	}{
		{"org_member", ""},
		{"org_owner", ""},
		{"vmc-user:full@ybUdoTC05kYFC9ZG560kpsn0I8M_", ""},
		{"nsx:cloud_admin@svc-1.x", ""},
		{"org_admin", "not an organization role"},
		{"", "not an organization role"},
		{"@svc", "service role name"},
		{"role@", "service definition id"},
		{"role@a/b", "service definition id"},
		{"ro le@svc", "service role name"},
	}
	c := &Client{}
	for _, tt := range tests {
		err := c.CheckRole(tt.role)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckRole(%q) = %v, want %q", tt.role, err, tt.want)
		}
	}
}

// env is an emulator on loopback (org "o" seeded, so unknown orgs are 404)
// and a client for it whose warnings land in logs.
type env struct {
	emu  *emulator.Server
	c    *Client
	base string
	logs *bytes.Buffer
}

func newEnv(t *testing.T, cfg emulator.Config, sd emulator.Seed, batch int) *env {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sd.CSP == nil {
		sd.CSP = map[string][]emulator.SeedCSP{}
	}
	if _, ok := sd.CSP["o"]; !ok {
		sd.CSP["o"] = nil // declare the org
	}
	if err := emu.Seed(sd); err != nil {
		t.Fatal(err)
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	e := &env{emu: emu, base: base, logs: &bytes.Buffer{}}
	e.c = e.client(t, "o", batch)
	return e
}

func (e *env) client(t *testing.T, org string, batch int) *Client {
	t.Helper()
	c, err := New(providers.Config{Endpoint: e.base, Rate: -1, Logger: zerolog.New(syncWriter{b: e.logs})},
		Options{OrgID: org, APIToken: emulator.DefaultCSPRefreshToken, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var logMu sync.Mutex

type syncWriter struct{ b *bytes.Buffer }

func (w syncWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return w.b.Write(p)
}

func (e *env) log() string {
	logMu.Lock()
	defer logMu.Unlock()
	return e.logs.String()
}

func inviteCalls(st emulator.Stats) int64 {
	return st.ByRoute["POST /csp/gateway/am/api/orgs/{orgId}/invitations"]
}

func byEmail(invs []providers.Invitation) map[string][]providers.Invitation {
	m := map[string][]providers.Invitation{}
	for _, inv := range invs {
		m[strings.ToLower(inv.Email)] = append(m[strings.ToLower(inv.Email)], inv)
	}
	return m
}

func people(prefix string, n int, roles ...string) []providers.InviteRequest {
	var out []providers.InviteRequest
	for i := range n {
		out = append(out, providers.InviteRequest{Email: fmt.Sprintf("%s%03d@example.com", prefix, i), OrgRoles: roles})
	}
	return out
}

func TestWhoAmI(t *testing.T) {
	e := newEnv(t, emulator.Config{}, emulator.Seed{}, 0)
	ctx := context.Background()
	id, err := e.c.WhoAmI(ctx)
	if err != nil || id.Principal != emulator.DefaultCSPPrincipal || id.Org != "o" {
		t.Fatalf("WhoAmI = %+v, %v", id, err)
	}
	_, err = e.client(t, "no-such-org", 0).WhoAmI(ctx)
	if err == nil || !strings.Contains(err.Error(), `organization "no-such-org" not found`) || !strings.Contains(err.Error(), "--org-id") ||
		!strings.Contains(err.Error(), "Organization with this identifier is not found.") {
		t.Fatalf("WhoAmI on an unknown org: %v", err)
	}
}

// People with different attributes never share a call; identical ones do,
// at most Batch per call; a row without an org role gets org_member.
func TestCreateBatchesByAttributes(t *testing.T) {
	e := newEnv(t, emulator.Config{}, emulator.Seed{}, 3)
	reqs := people("m", 7, "org_member")
	reqs = append(reqs,
		providers.InviteRequest{Email: "owner@example.com", OrgRoles: []string{"org_owner"}},
		providers.InviteRequest{Email: "norole@example.com"},
		providers.InviteRequest{Email: "late@example.com", OrgRoles: []string{"org_member"}, ExpiresInDays: 30},
		providers.InviteRequest{Email: "bad@example.com", ExpiresInDays: 400},
	)
	res, err := e.c.Create(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Email != reqs[i].Email {
			t.Fatalf("result %d is for %s, want %s (order kept)", i, r.Email, reqs[i].Email)
		}
		if wantErr := r.Email == "bad@example.com"; (r.Err != nil) != wantErr {
			t.Fatalf("%s: err %v", r.Email, r.Err)
		}
	}
	// 7 + norole alike in calls of 3 (3 calls), the owner (1), the 30-day one (1).
	if got := inviteCalls(e.emu.Stats()); got != 5 {
		t.Fatalf("%d invite calls, want 5", got)
	}
	invs, err := e.c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := byEmail(invs)
	for email, want := range map[string]string{"owner@example.com": "org_owner", "m006@example.com": "org_member", "norole@example.com": "org_member"} {
		if inv := got[email]; len(inv) != 1 || strings.Join(inv[0].OrgRoles, ",") != want || inv[0].CreatorID != emulator.DefaultCSPPrincipal {
			t.Errorf("%s: %+v, want roles %s by the principal", email, inv, want)
		}
	}
}

// Whatever the upstream answers a re-invite (202 or 409), nobody pending
// or a member is sent: they come back AlreadyInvited with what was read.
func TestCreateSkipsPendingAndMembers(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  emulator.CSPConfig
	}{
		{"re-invites answer 202", emulator.CSPConfig{}},
		{"re-invites answer 409", emulator.CSPConfig{Duplicate409: true}},
		{"REDEEMED not listed", emulator.CSPConfig{HideRedeemed: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Config{CSP: tt.cfg}, emulator.Seed{
				CSP: map[string][]emulator.SeedCSP{"o": {
					{Username: "taken@example.com", InvitedBy: "admin@example.org"},
					{Username: "joined@example.com", Status: "REDEEMED"},
				}},
				CSPMembers: map[string][]emulator.SeedCSPMember{"o": {{Username: "member@example.com"}}},
			}, 0)
			reqs := []providers.InviteRequest{{Email: "a@example.com"}, {Email: "Taken@example.com"}, {Email: "member@example.com"}, {Email: "joined@example.com"}, {Email: "b@example.com"}}
			res, err := e.c.Create(context.Background(), reqs)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				already := r.Email != "a@example.com" && r.Email != "b@example.com"
				if r.Err != nil || r.AlreadyInvited != already {
					t.Fatalf("%s: %+v, want AlreadyInvited %v", r.Email, r, already)
				}
			}
			if inv := res[1].Invitation; inv == nil || inv.CreatorID != "admin@example.org" || inv.ID == "" {
				t.Errorf("taken: %+v, want the existing invitation with its creator", inv)
			}
			for _, i := range []int{2, 3} {
				if inv := res[i].Invitation; inv == nil || inv.Status != providers.StatusAccepted {
					t.Errorf("%s: %+v, want the membership (accepted)", res[i].Email, inv)
				}
			}
			st := e.emu.Stats()
			if inviteCalls(st) != 1 || st.DuplicateCreates != 0 || st.Invitations["csp"].Pending != 3 {
				t.Fatalf("%d invite calls, duplicate_creates %d, pending %d: want 1, 0, 3", inviteCalls(st), st.DuplicateCreates, st.Invitations["csp"].Pending)
			}
		})
	}
}

// One refused username never sinks the others: the call is split until it
// stands alone.
func TestCreateBadApple(t *testing.T) {
	e := newEnv(t, emulator.Config{CSP: emulator.CSPConfig{RefusedDomains: []string{"blocked.example"}}}, emulator.Seed{}, 0)
	reqs := people("p", 40)
	reqs[17].Email = "mallory@blocked.example"
	res, err := e.c.Create(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		bad := r.Email == "mallory@blocked.example"
		if (r.Err != nil) != bad || r.AlreadyInvited {
			t.Fatalf("%s: %+v", r.Email, r)
		}
		if bad && !strings.Contains(r.Err.Error(), "usernames cannot be invited") {
			t.Errorf("the refused one's error does not say why: %v", r.Err)
		}
	}
	st := e.emu.Stats()
	if p := st.Invitations["csp"].Pending; p != 39 {
		t.Fatalf("%d pending, want the 39 others", p)
	}
	// Bisection: about 2*log2(40) calls, never one per person.
	if n := inviteCalls(st); n < 3 || n > 14 {
		t.Fatalf("%d invite calls for 40 people with one bad apple", n)
	}
	if e.c.BatchSize() != DefaultBatch {
		t.Errorf("a refused username shrank the batch to %d", e.c.BatchSize())
	}
}

// A call refused as too large halves the batch for the rest of the run.
func TestCreateBatchTooLarge(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  emulator.CSPConfig
	}{
		{"400 with a message", emulator.CSPConfig{MaxUsernames: 50}},
		{"413", emulator.CSPConfig{MaxUsernames: 50, BatchTooLarge413: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Config{CSP: tt.cfg}, emulator.Seed{}, 0)
			ctx := context.Background()
			res, err := e.c.Create(ctx, people("a", 120))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatalf("%s: %v", r.Email, r.Err)
				}
			}
			n := e.c.BatchSize()
			if n > 50 || n < 25 || e.c.Capabilities().MaxBatch != n {
				t.Fatalf("batch %d (caps %d), want halved to at most 50", n, e.c.Capabilities().MaxBatch)
			}
			if !strings.Contains(e.log(), "too large") {
				t.Error("no warning says the batch shrank")
			}
			refused := e.emu.Stats().ByStatus["400"] + e.emu.Stats().ByStatus["413"]
			// The size is remembered: the next run of creates meets no refusal.
			if _, err := e.c.Create(ctx, people("b", 2*n)); err != nil {
				t.Fatal(err)
			}
			st := e.emu.Stats()
			if again := st.ByStatus["400"] + st.ByStatus["413"]; again != refused || st.Invitations["csp"].Pending != 120+2*n {
				t.Fatalf("refusals %d -> %d, pending %d", refused, again, st.Invitations["csp"].Pending)
			}
		})
	}
}

// invitationExpirationInDays is sent only when asked, and the first such
// create reports whether the upstream honoured it.
func TestExpiryHonoured(t *testing.T) {
	for _, ignored := range []bool{false, true} {
		t.Run(fmt.Sprint("ignored=", ignored), func(t *testing.T) {
			e := newEnv(t, emulator.Config{CSP: emulator.CSPConfig{IgnoreExpiryDays: ignored}}, emulator.Seed{}, 0)
			ctx := context.Background()
			if _, err := e.c.Create(ctx, people("plain", 1)); err != nil {
				t.Fatal(err)
			}
			if _, known := e.c.ExpiryHonoured(); known {
				t.Fatal("known without an expiry ever asked")
			}
			r := people("late", 1)
			r[0].ExpiresInDays = 30
			res, err := e.c.Create(ctx, r)
			if err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
			honoured, known := e.c.ExpiryHonoured()
			if !known || honoured == ignored {
				t.Fatalf("ExpiryHonoured = %v, %v with the upstream ignoring it: %v", honoured, known, ignored)
			}
			if inv := res[0].Invitation; inv == nil || inv.ID == "" {
				t.Errorf("the read-back's invitation is not returned: %+v", inv)
			}
			if warned := strings.Contains(e.log(), "ignored invitationExpirationInDays"); warned != ignored {
				t.Errorf("warning logged %v, want %v:\n%s", warned, ignored, e.log())
			}
		})
	}
}

// expirationTime in seconds reads right; a value no unit explains makes
// List refuse, naming the invitation.
func TestListExpiryUnits(t *testing.T) {
	e := newEnv(t, emulator.Config{CSP: emulator.CSPConfig{ExpirySeconds: true}}, emulator.Seed{CSP: map[string][]emulator.SeedCSP{"o": {{Username: "a@example.com", ExpiresInDays: 10}}}}, 0)
	invs, err := e.c.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := time.Now().Add(10 * 24 * time.Hour)
	if len(invs) != 1 || invs[0].Status != providers.StatusPending || invs[0].ExpiresAt.Sub(want).Abs() > time.Minute {
		t.Fatalf("listed %+v, want pending until about %v", invs, want)
	}

	// An answer with microseconds: neither unit.
	exp := regexp.MustCompile(`"expirationTime":\d+`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		e.emu.Handler().ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(exp.ReplaceAll(rec.Body.Bytes(), []byte(fmt.Sprintf(`"expirationTime":%d`, time.Now().UnixMicro()))))
	}))
	defer srv.Close()
	c, err := New(providers.Config{Endpoint: srv.URL, Rate: -1}, Options{OrgID: "o", APIToken: emulator.DefaultCSPRefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.List(context.Background())
	if err == nil || !strings.Contains(err.Error(), "a@example.com") || !strings.Contains(err.Error(), "expirationTime") {
		t.Fatalf("List with a nonsense expirationTime: %v", err)
	}
}

// Members are accepted in List (from the org users API) whether or not the
// invitation list keeps REDEEMED ones, and ListMembers pages through them
// whatever pageStart counts and whether nextLink is sent.
func TestMembersPaging(t *testing.T) {
	var ms []emulator.SeedCSPMember
	for i := range 45 {
		ms = append(ms, emulator.SeedCSPMember{Username: fmt.Sprintf("m%02d@example.com", i)})
	}
	for _, tt := range []struct {
		name string
		cfg  emulator.CSPConfig
	}{
		{"defaults", emulator.CSPConfig{}},
		{"small pages", emulator.CSPConfig{UsersPageMax: 7}},
		{"small pages, page numbers", emulator.CSPConfig{UsersPageMax: 7, UsersPageStartIsPage: true}},
		{"small pages, no nextLink", emulator.CSPConfig{UsersPageMax: 7, UsersNoNextLink: true}},
		{"page numbers, no nextLink", emulator.CSPConfig{UsersPageMax: 7, UsersPageStartIsPage: true, UsersNoNextLink: true}},
		{"REDEEMED hidden", emulator.CSPConfig{HideRedeemed: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Config{CSP: tt.cfg}, emulator.Seed{
				CSP:        map[string][]emulator.SeedCSP{"o": {{Username: "joined@example.com", Status: "REDEEMED"}, {Username: "wait@example.com"}}},
				CSPMembers: map[string][]emulator.SeedCSPMember{"o": ms},
			}, 0)
			ctx := context.Background()
			users, err := e.c.ListMembers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, u := range users {
				if seen[u.Email] || u.ID == "" || len(u.Roles) == 0 {
					t.Fatalf("user %+v listed twice or without id/roles", u)
				}
				seen[u.Email] = true
			}
			if len(users) != 46 || !seen["joined@example.com"] {
				t.Fatalf("%d members, want 46 with joined@example.com", len(users))
			}
			invs, err := e.c.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := byEmail(invs)
			j := got["joined@example.com"]
			if len(j) != 1 || j[0].Status != providers.StatusAccepted || j[0].AcceptedAt.IsZero() {
				t.Fatalf("joined: %+v, want one accepted invitation with a time", j)
			}
			if len(invs) != 47 || got["wait@example.com"][0].Status != providers.StatusPending {
				t.Fatalf("List: %d entries, want 47 (45 members, joined, wait)", len(invs))
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, emulator.Config{}, emulator.Seed{CSP: map[string][]emulator.SeedCSP{"o": {{Username: "old@example.com"}, {Username: "keep@example.com"}}}}, 0)
	ctx := context.Background()
	invs, err := e.c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	old := byEmail(invs)["old@example.com"][0]
	for _, tt := range []struct {
		name     string
		inv      providers.Invitation
		notFound bool
	}{
		{"by listing", old, false},
		{"again", old, false},
		{"no id", providers.Invitation{Email: "keep@example.com"}, false},
		{"missing", providers.Invitation{ID: "7d1e3b8a-0000-4000-8000-000000000000", Email: "nobody@example.com"}, true},
	} {
		res, err := e.c.Revoke(ctx, tt.inv)
		if err != nil || res.NotFound != tt.notFound || res.Unknown || res.Attempts < 2 {
			t.Fatalf("%s: %+v %v", tt.name, res, err)
		}
	}
	st := e.emu.Stats()
	if st.ByRoute["POST /csp/gateway/am/api/orgs/{orgId}/invitations?action=revoke"] != 4 || st.ByRoute["DELETE /csp/gateway/am/api/orgs/{orgId}/invitations/{invitationId}"] != 0 {
		t.Fatalf("routes %v: want revoke by username only", st.ByRoute)
	}
	if st.Invitations["csp"].Revoked != 2 {
		t.Fatalf("revoked %d, want 2", st.Invitations["csp"].Revoked)
	}
}

func TestRemoveMember(t *testing.T) {
	e := newEnv(t, emulator.Config{}, emulator.Seed{CSPMembers: map[string][]emulator.SeedCSPMember{"o": {
		{Username: "boss@example.com", OrgRoles: []string{"org_owner"}},
		{Username: "dev@example.com", ServiceRoles: []emulator.SeedServiceRole{{ServiceDefinitionLink: "svc1", Roles: []string{"vmc-user:full"}}}},
	}}}, 0)
	ctx := context.Background()
	users, err := e.c.ListMembers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]providers.User{}
	for _, u := range users {
		by[u.Email] = u
	}
	r, err := e.c.BlastRadius(ctx, providers.User{ID: by["dev@example.com"].ID})
	if err != nil || strings.Join(r.Bindings, ",") != "org_member,vmc-user:full@svc1" || len(r.APIKeys) != 0 {
		t.Fatalf("blast radius %+v %v", r, err)
	}
	res, err := e.c.RemoveMember(ctx, by["dev@example.com"])
	if err != nil || res.NotFound || res.Unknown {
		t.Fatalf("remove dev: %+v %v", res, err)
	}
	res, err = e.c.RemoveMember(ctx, by["dev@example.com"])
	if err != nil || !res.NotFound {
		t.Fatalf("remove dev again: %+v %v, want NotFound", res, err)
	}
	if _, err = e.c.RemoveMember(ctx, by["boss@example.com"]); err == nil || !strings.Contains(err.Error(), "last org owner") {
		t.Fatalf("remove the last owner: %v", err)
	}
	if users, _ := e.c.ListMembers(ctx); len(users) != 1 || users[0].Email != "boss@example.com" {
		t.Fatalf("members left: %+v", users)
	}
}

func TestAccess(t *testing.T) {
	e := newEnv(t, emulator.Config{}, emulator.Seed{
		CSP:        map[string][]emulator.SeedCSP{"o": {{Username: "wait@example.com", OrgRoles: []string{"org_member"}, ServiceRoles: []emulator.SeedServiceRole{{ServiceDefinitionLink: "/csp/gateway/slc/api/definitions/external/svc1", Roles: []string{"viewer"}}}}}},
		CSPMembers: map[string][]emulator.SeedCSPMember{"o": {{Username: "boss@example.com", OrgRoles: []string{"org_owner"}}, {Username: "dev@example.com"}}},
	}, 0)
	ctx := context.Background()
	roles := func() map[string]string {
		t.Helper()
		gs, err := e.c.ListAccess(ctx, []providers.Person{{Email: "dev@example.com"}, {Email: "wait@example.com"}, {Email: "nobody@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, g := range gs {
			m[g.Email] = strings.TrimPrefix(m[g.Email]+","+g.Role, ",")
		}
		return m
	}
	if got := roles(); got["dev@example.com"] != "org_member" || got["wait@example.com"] != "org_member,viewer@svc1" || len(got) != 2 {
		t.Fatalf("access before: %v", got)
	}
	steps := []struct {
		name     string
		grant    bool
		g        providers.Grant
		notFound bool
		err      string
	}{
		{"grant a service role", true, providers.Grant{Email: "dev@example.com", Role: "admin@svc2"}, false, ""},
		{"grant org_owner", true, providers.Grant{Email: "DEV@example.com", Role: "org_owner"}, false, ""},
		{"grant it again", true, providers.Grant{Email: "dev@example.com", Role: "org_owner"}, true, ""},
		{"ungrant org_member", false, providers.Grant{Email: "dev@example.com", Role: "org_member"}, false, ""},
		{"ungrant what is not held", false, providers.Grant{Email: "dev@example.com", Role: "viewer@svc1"}, true, ""},
		{"grant to an invitee", true, providers.Grant{Email: "wait@example.com", Role: "org_owner"}, false, "not a member"},
		{"a bad role", true, providers.Grant{Email: "dev@example.com", Role: "superuser"}, false, "not an organization role"},
		{"the last owner's role", false, providers.Grant{Email: "boss@example.com", Role: "org_owner"}, false, ""},
		{"then dev's, the last", false, providers.Grant{Email: "dev@example.com", Role: "org_owner"}, false, "last org owner"},
	}
	for _, st := range steps {
		var res providers.WriteResult
		var err error
		if st.grant {
			res, err = e.c.GrantRole(ctx, st.g)
		} else {
			res, err = e.c.UngrantRole(ctx, st.g)
		}
		if st.err != "" {
			if err == nil || !strings.Contains(err.Error(), st.err) {
				t.Fatalf("%s: %v, want an error with %q", st.name, err, st.err)
			}
			continue
		}
		if err != nil || res.NotFound != st.notFound || res.Unknown {
			t.Fatalf("%s: %+v %v", st.name, res, err)
		}
	}
	if got := roles(); got["dev@example.com"] != "admin@svc2,org_owner" {
		t.Fatalf("access after: %v", got)
	}
	if n := e.emu.Stats().ByRoute["PATCH /csp/gateway/am/api/v3/users/{userId}/orgs/{orgId}/roles"]; n != 5 {
		t.Fatalf("%d role calls, want 5 (no call for what was already so)", n)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, o := range []Options{{APIToken: "t"}, {OrgID: "o"}, {OrgID: "o", APIToken: "t", Batch: -1}} {
		if _, err := New(providers.Config{}, o); err == nil {
			t.Errorf("New(%+v): want an error", o)
		}
	}
}

// A create that may have landed and cannot be read back is "outcome
// unknown", never a plain failure and never re-sent blindly.
func TestCreateOutcomeUnknown(t *testing.T) {
	e := newEnv(t, emulator.Config{}, emulator.Seed{}, 0)
	c, err := New(providers.Config{Endpoint: e.base, Rate: -1, MaxAttempts: 2, BackoffBase: time.Millisecond, BackoffCap: time.Millisecond},
		Options{OrgID: "o", APIToken: emulator.DefaultCSPRefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.List(ctx); err != nil { // warm: token, principal, snapshot
		t.Fatal(err)
	}
	e.emu.SetFaults(1, []string{emulator.Fault500})
	res, err := c.Create(ctx, people("u", 2))
	e.emu.SetFaults(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err == nil || !r.Unknown {
			t.Fatalf("%s: %+v, want an error with Unknown set", r.Email, r)
		}
	}
	if n := inviteCalls(e.emu.Stats()); n != 1 {
		t.Fatalf("%d invite calls: a call that may have landed was re-sent without a read-back", n)
	}
}

// A reinvite is a revoke then a create within one listing's window: the
// create must go out.
func TestReinviteAfterRevoke(t *testing.T) {
	e := newEnv(t, emulator.Config{}, emulator.Seed{CSP: map[string][]emulator.SeedCSP{"o": {{Username: "bob@example.com", OrgRoles: []string{"org_member"}}}}}, 0)
	ctx := context.Background()
	invs, err := e.c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Revoke(ctx, invs[0]); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.Create(ctx, []providers.InviteRequest{{Email: "bob@example.com", OrgRoles: []string{"org_owner"}}})
	if err != nil || res[0].Err != nil || res[0].AlreadyInvited {
		t.Fatalf("create after revoke: %+v %v", res, err)
	}
	if p := e.emu.Stats().Invitations["csp"].Pending; p != 1 {
		t.Fatalf("%d pending, want bob's new invitation", p)
	}
}

// Roles in roster access syntax may come in the org roles; each lands where
// CSP keeps it.
func TestInviteRoles(t *testing.T) {
	tests := []struct {
		in       providers.InviteRequest
		org, svc string
	}{
		{providers.InviteRequest{}, "org_member", ""},
		{providers.InviteRequest{OrgRoles: []string{"org_owner"}}, "org_owner", ""},
		{providers.InviteRequest{OrgRoles: []string{"vmc-user:full@svc1"}}, "org_member", "/csp/gateway/slc/api/definitions/external/svc1=vmc-user:full"},
		{providers.InviteRequest{OrgRoles: []string{"org_owner", "admin@svc2"}, ServiceRoles: []providers.ServiceRole{{Link: "/csp/gateway/slc/api/definitions/paid/x", Role: "r"}}},
			"org_owner", "/csp/gateway/slc/api/definitions/paid/x=r,/csp/gateway/slc/api/definitions/external/svc2=admin"},
		{providers.InviteRequest{ServiceRoles: []providers.ServiceRole{{Link: "svc3", Role: "viewer"}}}, "org_member", "/csp/gateway/slc/api/definitions/external/svc3=viewer"},
	}
	for _, tt := range tests {
		got := withDefaultRole(tt.in)
		var svc []string
		for _, s := range got.ServiceRoles {
			svc = append(svc, s.Link+"="+s.Role)
		}
		if strings.Join(got.OrgRoles, ",") != tt.org || strings.Join(svc, ",") != tt.svc {
			t.Errorf("withDefaultRole(%+v) = %v / %v, want %s / %s", tt.in, got.OrgRoles, svc, tt.org, tt.svc)
		}
	}
	// End to end: ListAccess reads back what the invitation carries.
	e := newEnv(t, emulator.Config{}, emulator.Seed{}, 0)
	ctx := context.Background()
	if res, err := e.c.Create(ctx, []providers.InviteRequest{{Email: "a@example.com", OrgRoles: []string{"org_owner", "admin@svc2"}}}); err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	gs, err := e.c.ListAccess(ctx, []providers.Person{{Email: "a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, g := range gs {
		roles = append(roles, g.Role)
	}
	if strings.Join(roles, ",") != "admin@svc2,org_owner" {
		t.Fatalf("access of the invitee: %v", roles)
	}
}
