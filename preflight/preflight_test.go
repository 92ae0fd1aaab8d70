package preflight

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/providers/fake"
	"github.com/invitesync/invitesync/sources"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestTimestampCheck(t *testing.T) {
	pending := func(created, expires time.Time) providers.Invitation {
		return providers.Invitation{Email: "a@example.com", Status: providers.StatusPending, CreatedAt: created, ExpiresAt: expires}
	}
	for _, tc := range []struct {
		name string
		invs []providers.Invitation
		want Status
		says string
	}{
		{"plausible", []providers.Invitation{pending(now.Add(-time.Hour), now.Add(71*time.Hour))}, OK, "plausible"},
		{"milliseconds read as seconds (year 58000)", []providers.Invitation{pending(now, time.UnixMilli(now.UnixMilli()*1000))}, Fail, "implausible"},
		{"seconds read as milliseconds (1970)", []providers.Invitation{pending(time.UnixMilli(now.Unix()), now.Add(time.Hour))}, Fail, "created 1970"},
		{"no expiry on a pending one", []providers.Invitation{pending(now, time.Time{})}, Warn, "without an expiry"},
		{"pending past its expiry by our clock", []providers.Invitation{pending(now.Add(-100*time.Hour), now.Add(-time.Hour))}, Warn, "upstream's status is trusted"},
		{"no creation time", []providers.Invitation{pending(time.Time{}, now.Add(time.Hour))}, Warn, "without a creation time"},
		{"empty org", nil, OK, "0 invitations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := timestampCheck(tc.invs, now)
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.says) {
				t.Errorf("got %s %q, want %s mentioning %q", r.Status, r.Detail, tc.want, tc.says)
			}
		})
	}
}

func TestStatusCheck(t *testing.T) {
	inv := func(st providers.Status, raw, email string) providers.Invitation {
		return providers.Invitation{Email: email, Status: st, RawStatus: raw}
	}
	for _, tc := range []struct {
		name string
		invs []providers.Invitation
		want Status
		says string
	}{
		{"known statuses", []providers.Invitation{inv(providers.StatusPending, "SENT", "a@x.io"), inv(providers.StatusAccepted, "ACC", "b@x.io")}, OK, "1 pending, 1 accepted"},
		{"unknown status named", []providers.Invitation{inv(providers.StatusUnknown, "INVITE_STATUS_FROZEN", "a@x.io"), inv(providers.StatusUnknown, "INVITE_STATUS_FROZEN", "b@x.io")}, Warn, `"INVITE_STATUS_FROZEN" x2`},
		{"no email", []providers.Invitation{inv(providers.StatusPending, "SENT", " ")}, Warn, "1 without an email"},
		{"escape sequences in a status are not printed", []providers.Invitation{inv(providers.StatusUnknown, "\x1b[31mRED", "a@x.io")}, Warn, "[31mRED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := statusCheck(tc.invs)
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.says) || strings.Contains(r.Detail, "\x1b") {
				t.Errorf("got %s %q, want %s mentioning %q", r.Status, r.Detail, tc.want, tc.says)
			}
		})
	}
}

func TestRecorderKeepsRateHeadersOnly(t *testing.T) {
	var rec Recorder
	h := http.Header{}
	h.Set("X-RateLimit-Remaining", "3")
	h.Set("Authorization", "Basic c2VjcmV0")
	h.Set("Set-Cookie", "session=abc")
	rec.OnResponse("GET", "/a", 200, h, []byte(`{"secret":"x"}`))
	rec.OnResponse("GET", "/a", 429, http.Header{"Retry-After": {"2"}}, nil)
	r := rateCheck(&rec)
	if r.Status != Warn || !strings.Contains(r.Detail, "X-Ratelimit-Remaining: 3") || !strings.Contains(r.Detail, "Retry-After: 2") || !strings.Contains(r.Detail, "1 answers were 429") {
		t.Errorf("rate check: %s %q", r.Status, r.Detail)
	}
	if strings.Contains(r.Detail, "c2VjcmV0") || strings.Contains(r.Detail, "session") {
		t.Errorf("a non-rate header leaked: %q", r.Detail)
	}
}

// Run on the in-memory fake: every check says something, a roster's roles
// are checked by the provider, and a failed listing fails the check.
func TestRunOnFake(t *testing.T) {
	p := fake.New(fake.Options{Roles: []string{"OrganizationAdmin"}, Now: func() time.Time { return now }})
	p.Seed(providers.Invitation{ID: "i-1", Email: "ada@example.com", Status: providers.StatusPending, RawStatus: "SENT",
		CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour), CreatorID: "u-invitesync"})
	roster := []sources.Member{
		{Email: "ada@example.com", AuthType: sources.AuthSSO, Roles: []string{"OrganizationAdmin"}},
		{Email: "bob@example.com", Groups: []string{"g"}, Roles: []string{"Janitor"}},
	}
	rep := Run(context.Background(), p, nil, Options{Roster: roster, RosterFile: "team.csv", Now: now})
	got := map[string]Status{}
	for _, c := range rep.Checks {
		if c.Name == "column" {
			got[strings.Fields(c.Detail)[0]] = c.Status
			continue
		}
		got[c.Name] = c.Status
	}
	for name, want := range map[string]Status{"credentials": OK, "listing": OK, "organization": OK, "statuses": OK, "timestamps": OK,
		"roster": OK, "auth_type": OK, "groups": OK, "roles:": Fail, "rate-limit": OK} {
		if got[name] != want {
			t.Errorf("%s: %q, want %q (%v)", name, got[name], want, rep.Checks)
		}
	}
	if rep.OK() {
		t.Error("an unknown role passed")
	}

	p.FailList(&providers.Error{Method: "GET", Path: "/list", Status: 403, Message: "forbidden"})
	rep = Run(context.Background(), p, nil, Options{Now: now})
	if rep.OK() || rep.Invitations != nil {
		t.Errorf("a refused listing passed: %v", rep.Checks)
	}
	var orgLine string
	for _, c := range rep.Checks {
		if c.Name == "organization" {
			orgLine = string(c.Status) + " " + c.Detail
		}
	}
	if !strings.HasPrefix(orgLine, "FAIL") {
		t.Errorf("a 403 listing should fail the organization check: %q", orgLine)
	}
}

// A recording is a seed the emulator loads: emails hashed (stably, so a
// replayed recording records the same), one pending invitation per email,
// statuses the emulator does not play left out and said so.
func TestWriteRecord(t *testing.T) {
	inv := func(email, raw string, st providers.Status, exp time.Time) providers.Invitation {
		return providers.Invitation{Email: email, RawStatus: raw, Status: st, ExpiresAt: exp, CreatorID: "u-1", AuthType: "AUTH_TYPE_SSO"}
	}
	later := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	rep := &Report{Provider: "confluent", Organization: "org", Invitations: []providers.Invitation{
		inv("Ada@Example.com", "INVITE_STATUS_SENT", providers.StatusPending, later),
		inv("ada@example.com", "INVITE_STATUS_SENT", providers.StatusPending, later), // the same person listed twice
		inv("bob@example.com", "INVITE_STATUS_FROZEN", providers.StatusUnknown, later),
		inv("not an email", "INVITE_STATUS_SENT", providers.StatusPending, later),
		inv("cy@example.com", "INVITE_STATUS_ACCEPTED", providers.StatusAccepted, later),
	}, Checks: []Result{{Name: "listing", Status: OK, Detail: "5 invitations"}}}
	dir := t.TempDir()
	path := filepath.Join(dir, "rec.yaml")
	if err := WriteRecord(path, rep, RecordOptions{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	s := string(b)
	for _, bad := range []string{"ada@", "Ada@", "cy@example.com", "bob@"} {
		if strings.Contains(s, bad) {
			t.Errorf("the recording holds %q:\n%s", bad, s)
		}
	}
	for _, want := range []string{"# left out: 1 second pending invitations", `# left out: 1 with status "INVITE_STATUS_FROZEN"`, "# left out: 1 without a usable email", "creator: u-1"} {
		if !strings.Contains(s, want) {
			t.Errorf("recording lacks %q:\n%s", want, s)
		}
	}
	srv, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.LoadSeedFile(path); err != nil {
		t.Fatalf("the emulator refuses the recording: %v\n%s", err, s)
	}
	if err := WriteRecord(filepath.Join(dir, "x.json"), rep, RecordOptions{}); err == nil {
		t.Error("a .json recording was written; the seed is YAML")
	}
	if err := WriteRecord(path, &Report{Provider: "other"}, RecordOptions{}); err == nil || !strings.Contains(err.Error(), "no seed section") {
		t.Errorf("unknown provider: %v", err)
	}
	r := &redactor{}
	if h := r.email("Ada@Example.com"); h != r.email("ada@example.com") || r.email(h) != h {
		t.Errorf("hash not stable across case or not idempotent: %s", h)
	}
}
