package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

var now = time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)

const me = "u-invitesync"

// Capabilities as the three providers give them.
var (
	confluentCaps = providers.Capabilities{Revoke: true, MaxBatch: 1, AuthType: true}
	cspCaps       = providers.Capabilities{Revoke: true, MaxBatch: 20, OrgRoles: true, ServiceRoles: true, Groups: true, Expiry: true,
		MaxGroups: 15, MinExpiryDays: 1, MaxExpiryDays: 90}
	azureCaps = providers.Capabilities{Revoke: false, MaxBatch: 1, AuthType: true,
		RevokeHint: "the Azure access API has no revoke: revoke it with --provider confluent and a Cloud API key for this org"}
)

func member(email string, mods ...func(*sources.Member)) sources.Member {
	m := sources.Member{Email: email, Origin: sources.Origin{File: "roster.csv", Row: 2}}
	for _, f := range mods {
		f(&m)
	}
	return m
}

func auth(a string) func(*sources.Member)      { return func(m *sources.Member) { m.AuthType = a } }
func groups(g ...string) func(*sources.Member) { return func(m *sources.Member) { m.Groups = g } }
func roles(r ...string) func(*sources.Member)  { return func(m *sources.Member) { m.OrgRoles = r } }
func expiry(d int) func(*sources.Member)       { return func(m *sources.Member) { m.ExpiresInDays = d } }
func row(r int) func(*sources.Member)          { return func(m *sources.Member) { m.Origin.Row = r } }
func svc(link, role string) func(*sources.Member) {
	return func(m *sources.Member) {
		m.ServiceRoles = append(m.ServiceRoles, sources.ServiceRole{Link: link, Role: role})
	}
}

// inv builds an invitation created a day before now, expiring in 3 days, by us.
func inv(id, email string, st providers.Status, mods ...func(*providers.Invitation)) providers.Invitation {
	raw := map[providers.Status]string{
		providers.StatusPending: "INVITE_STATUS_SENT", providers.StatusAccepted: "INVITE_STATUS_ACCEPTED",
		providers.StatusExpired: "INVITE_STATUS_EXPIRED", providers.StatusRevoked: "INVITE_STATUS_DEACTIVATED",
	}[st]
	i := providers.Invitation{ID: id, Email: email, Status: st, RawStatus: raw, AuthType: sources.AuthSSO,
		CreatedAt: now.Add(-24 * time.Hour), ExpiresAt: now.Add(72 * time.Hour), CreatorID: me}
	if st == providers.StatusAccepted {
		i.AcceptedAt = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	}
	for _, f := range mods {
		f(&i)
	}
	return i
}

func creator(c string) func(*providers.Invitation) {
	return func(i *providers.Invitation) { i.CreatorID = c }
}
func iauth(a string) func(*providers.Invitation) {
	return func(i *providers.Invitation) { i.AuthType = a }
}
func igroups(g ...string) func(*providers.Invitation) {
	return func(i *providers.Invitation) { i.Groups = g }
}
func iroles(r ...string) func(*providers.Invitation) {
	return func(i *providers.Invitation) { i.OrgRoles = r }
}
func expires(t time.Time) func(*providers.Invitation) {
	return func(i *providers.Invitation) { i.ExpiresAt = t }
}
func created(t time.Time) func(*providers.Invitation) {
	return func(i *providers.Invitation) { i.CreatedAt = t }
}
func raw(s string) func(*providers.Invitation) {
	return func(i *providers.Invitation) { i.RawStatus = s }
}

// want is one expected action: op, email, status, unmanaged, invitation id and
// a fragment the reason must contain.
type want struct {
	op        Op
	email     string
	status    ActionStatus
	id        string
	reason    string
	unmanaged bool
}

func (w want) String() string {
	return fmt.Sprintf("%s %s [%s] id=%s unmanaged=%v reason~%q", w.op, w.email, w.status, w.id, w.unmanaged, w.reason)
}

func got(a Action) want {
	return want{op: a.Op, email: a.Email, status: a.Status, id: a.InvitationID, reason: a.Reason, unmanaged: a.Unmanaged}
}

func TestComputeDiffTable(t *testing.T) {
	ledger, err := LoadLedger("", "confluent", "org")
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.Record("i-ledger", "led@example.com", now); err != nil {
		t.Fatal(err)
	}
	if err := ledger.RecordInvitation(providers.Invitation{CreatedAt: now.Add(-time.Hour)}, "noid@example.com", now); err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name    string
		members []sources.Member
		current []providers.Invitation
		opts    Options // Now and Owner default to now and me; Capabilities to confluent
		want    []want
	}
	sync := Options{Policy: PolicySync}
	createOnly := Options{Policy: PolicyCreateOnly}
	withCaps := func(o Options, c providers.Capabilities) Options { o.Capabilities = c; return o }
	tcs := []tc{}
	// Rows of the diff table, under each policy.
	for _, pol := range []Options{sync, createOnly} {
		p := string(pol.Policy)
		revokeOp, revokeReason := OpRevoke, "not in roster; created by this tool"
		reinvitePendingOp := OpReinvite
		if pol.Policy == PolicyCreateOnly {
			revokeOp, revokeReason = OpLeave, "--policy create-only never revokes"
			reinvitePendingOp = OpLeave
		}
		tcs = append(tcs,
			tc{name: p + "/present, none: create", opts: pol,
				members: []sources.Member{member("new@example.com")},
				want:    []want{{op: OpCreate, email: "new@example.com", status: StatusPlanned, reason: "not invited yet"}}},
			tc{name: p + "/present, pending equal: leave", opts: pol,
				members: []sources.Member{member("ada@example.com", auth("AUTH_TYPE_SSO"))},
				current: []providers.Invitation{inv("i-1", "ada@example.com", providers.StatusPending)},
				want:    []want{{op: OpLeave, email: "ada@example.com", status: StatusPlanned, id: "i-1", reason: "matches the roster"}}},
			tc{name: p + "/present, pending auth type differs: reinvite", opts: pol,
				members: []sources.Member{member("bob@example.com", auth("AUTH_TYPE_SSO"))},
				current: []providers.Invitation{inv("i-2", "bob@example.com", providers.StatusPending, iauth("AUTH_TYPE_LOCAL"))},
				want:    []want{{op: reinvitePendingOp, email: "bob@example.com", status: StatusPlanned, id: "i-2", reason: "auth type differs: AUTH_TYPE_LOCAL -> AUTH_TYPE_SSO"}}},
			tc{name: p + "/present, pending groups differ (csp): reinvite", opts: withCaps(pol, cspCaps),
				members: []sources.Member{member("gus@example.com", groups("g2", "g3"))},
				current: []providers.Invitation{inv("c-1", "gus@example.com", providers.StatusPending, igroups("g1", "g2"))},
				want:    []want{{op: reinvitePendingOp, email: "gus@example.com", status: StatusPlanned, id: "c-1", reason: "groups differ: +g3 -g1"}}},
			tc{name: p + "/present, pending org roles differ (csp): reinvite", opts: withCaps(pol, cspCaps),
				members: []sources.Member{member("hal@example.com", roles("org_owner"))},
				current: []providers.Invitation{inv("c-2", "hal@example.com", providers.StatusPending, iroles("org_member"))},
				want:    []want{{op: reinvitePendingOp, email: "hal@example.com", status: StatusPlanned, id: "c-2", reason: "org roles differ: +org_owner -org_member"}}},
			tc{name: p + "/present, accepted: leave", opts: pol,
				members: []sources.Member{member("dee@example.com", auth("AUTH_TYPE_SSO"))},
				current: []providers.Invitation{inv("i-3", "dee@example.com", providers.StatusAccepted)},
				want:    []want{{op: OpLeave, email: "dee@example.com", status: StatusPlanned, id: "i-3", reason: "accepted on 2026-10-01"}}},
			tc{name: p + "/present, accepted with other attributes: leave, said so", opts: pol,
				members: []sources.Member{member("dee@example.com", auth("AUTH_TYPE_LOCAL"))},
				current: []providers.Invitation{inv("i-3", "dee@example.com", providers.StatusAccepted)},
				want:    []want{{op: OpLeave, email: "dee@example.com", status: StatusPlanned, id: "i-3", reason: "accepted on 2026-10-01; attribute changes are not applied to accepted members"}}},
			tc{name: p + "/present, expired: reinvite", opts: pol,
				members: []sources.Member{member("cy@example.com")},
				current: []providers.Invitation{inv("i-4", "cy@example.com", providers.StatusExpired, expires(time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)))},
				want:    []want{{op: OpReinvite, email: "cy@example.com", status: StatusPlanned, id: "i-4", reason: "pending invitation expired on 2026-11-02"}}},
			// Clock skew: the upstream says pending; our clock says expired. The
			// upstream wins, or every run re-creates and never converges.
			tc{name: p + "/present, pending upstream though past its expiry by our clock: leave", opts: pol,
				members: []sources.Member{member("cy@example.com")},
				current: []providers.Invitation{inv("i-4", "cy@example.com", providers.StatusPending, expires(now.Add(-time.Minute)))},
				want:    []want{{op: OpLeave, email: "cy@example.com", status: StatusPlanned, id: "i-4", reason: "pending invitation matches the roster"}}},
			tc{name: p + "/present, expired upstream: reinvite", opts: pol,
				members: []sources.Member{member("cy@example.com")},
				current: []providers.Invitation{inv("i-4", "cy@example.com", providers.StatusExpired, expires(now.Add(-time.Minute)))},
				want:    []want{{op: OpReinvite, email: "cy@example.com", status: StatusPlanned, id: "i-4", reason: "pending invitation expired on 2026-11-10"}}},
			tc{name: p + "/present, revoked: reinvite", opts: pol,
				members: []sources.Member{member("eve@example.com")},
				current: []providers.Invitation{inv("i-5", "eve@example.com", providers.StatusRevoked)},
				want:    []want{{op: OpReinvite, email: "eve@example.com", status: StatusPlanned, id: "i-5", reason: "invitation was revoked (INVITE_STATUS_DEACTIVATED)"}}},
			tc{name: p + "/absent, pending ours: revoke under sync only", opts: pol,
				current: []providers.Invitation{inv("i-6", "old-contractor@example.com", providers.StatusPending)},
				want:    []want{{op: revokeOp, email: "old-contractor@example.com", status: StatusPlanned, id: "i-6", reason: revokeReason}}},
			tc{name: p + "/absent, pending not ours: leave unmanaged", opts: pol,
				current: []providers.Invitation{inv("i-7", "partner@example.org", providers.StatusPending, creator("u-someone-else"))},
				want:    []want{{op: OpLeave, email: "partner@example.org", status: StatusPlanned, id: "i-7", unmanaged: true, reason: "not in roster; not created by this tool (unmanaged)"}}},
			tc{name: p + "/absent, accepted: leave", opts: pol,
				current: []providers.Invitation{inv("i-8", "gone@example.com", providers.StatusAccepted)},
				want:    []want{{op: OpLeave, email: "gone@example.com", status: StatusPlanned, id: "i-8", reason: "not in roster; accepted on 2026-10-01 (invitesync never removes members)"}}},
			tc{name: p + "/absent, expired: leave", opts: pol,
				current: []providers.Invitation{inv("i-9", "gone@example.com", providers.StatusExpired, expires(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)))},
				want:    []want{{op: OpLeave, email: "gone@example.com", status: StatusPlanned, id: "i-9", reason: "not in roster; pending invitation expired on 2026-11-02"}}},
			tc{name: p + "/absent, revoked: leave", opts: pol,
				current: []providers.Invitation{inv("i-10", "gone@example.com", providers.StatusRevoked)},
				want:    []want{{op: OpLeave, email: "gone@example.com", status: StatusPlanned, id: "i-10", reason: "not in roster; invitation was revoked"}}},
			tc{name: p + "/unknown status: leave", opts: pol,
				members: []sources.Member{member("odd@example.com")},
				current: []providers.Invitation{inv("i-11", "odd@example.com", providers.StatusUnknown, raw("INVITE_STATUS_FROZEN"))},
				want:    []want{{op: OpLeave, email: "odd@example.com", status: StatusPlanned, id: "i-11", reason: "status INVITE_STATUS_FROZEN is unknown to invitesync; left alone"}}},
			tc{name: p + "/absent, unknown status: leave", opts: pol,
				current: []providers.Invitation{inv("i-12", "odd@example.com", providers.StatusUnknown, raw("INVITE_STATUS_FROZEN"))},
				want:    []want{{op: OpLeave, email: "odd@example.com", status: StatusPlanned, id: "i-12", reason: "not in roster; status INVITE_STATUS_FROZEN is unknown"}}},
		)
	}
	refresh := sync
	refresh.RefreshBefore = 7 * 24 * time.Hour
	revokeUnmanaged := sync
	revokeUnmanaged.RevokeUnmanaged = true
	createOnlyRU := createOnly
	createOnlyRU.RevokeUnmanaged = true
	noOwner := sync
	noOwner.Owner = "-" // replaced with "" below
	withLedger := Options{Policy: PolicySync, Ledger: ledger, Owner: "-"}
	tcs = append(tcs,
		tc{name: "refresh-before: expiring within it: reinvite", opts: refresh,
			members: []sources.Member{member("ada@example.com")},
			current: []providers.Invitation{inv("i-1", "ada@example.com", providers.StatusPending, expires(time.Date(2026, 11, 13, 0, 0, 0, 0, time.UTC)))},
			want:    []want{{op: OpReinvite, email: "ada@example.com", status: StatusPlanned, id: "i-1", reason: "pending invitation expires on 2026-11-13, within --refresh-before 7d"}}},
		tc{name: "refresh-before: expiring later: leave", opts: refresh,
			members: []sources.Member{member("ada@example.com")},
			current: []providers.Invitation{inv("i-1", "ada@example.com", providers.StatusPending, expires(now.Add(8*24*time.Hour)))},
			want:    []want{{op: OpLeave, email: "ada@example.com", status: StatusPlanned, id: "i-1"}}},
		tc{name: "refresh-before off: expiring tomorrow: leave", opts: sync,
			members: []sources.Member{member("ada@example.com")},
			current: []providers.Invitation{inv("i-1", "ada@example.com", providers.StatusPending, expires(now.Add(24*time.Hour)))},
			want:    []want{{op: OpLeave, email: "ada@example.com", status: StatusPlanned, id: "i-1"}}},
		tc{name: "revoke-unmanaged: revoke", opts: revokeUnmanaged,
			current: []providers.Invitation{inv("i-7", "partner@example.org", providers.StatusPending, creator("u-someone-else"))},
			want:    []want{{op: OpRevoke, email: "partner@example.org", status: StatusPlanned, id: "i-7", reason: "revoked because of --revoke-unmanaged"}}},
		tc{name: "revoke-unmanaged under create-only: leave unmanaged", opts: createOnlyRU,
			current: []providers.Invitation{inv("i-7", "partner@example.org", providers.StatusPending, creator("u-someone-else"))},
			want:    []want{{op: OpLeave, email: "partner@example.org", status: StatusPlanned, id: "i-7", unmanaged: true}}},
		tc{name: "owner unknown: ours by creator is not enough: unmanaged", opts: noOwner,
			current: []providers.Invitation{inv("i-6", "old@example.com", providers.StatusPending)},
			want:    []want{{op: OpLeave, email: "old@example.com", status: StatusPlanned, id: "i-6", unmanaged: true}}},
		tc{name: "ownership by ledger id", opts: withLedger,
			current: []providers.Invitation{inv("i-ledger", "led@example.com", providers.StatusPending, creator(""))},
			want:    []want{{op: OpRevoke, email: "led@example.com", status: StatusPlanned, id: "i-ledger", reason: "created by this tool (ledger)"}}},
		tc{name: "ownership by ledger email and upstream creation time (entry without id)", opts: withLedger,
			current: []providers.Invitation{inv("c-9", "NoId@Example.com", providers.StatusPending, creator(""), created(now.Add(-time.Hour)))},
			want:    []want{{op: OpRevoke, email: "NoId@Example.com", status: StatusPlanned, id: "c-9", reason: "(ledger)"}}},
		// Someone else's invitation for the same email, made at another time
		// by the upstream's clock, is not ours, however our clock runs.
		tc{name: "id-less ledger entry does not own another invitation of the email", opts: withLedger,
			current: []providers.Invitation{inv("c-8", "noid@example.com", providers.StatusPending, creator(""), created(now.Add(-30*time.Minute)))},
			want:    []want{{op: OpLeave, email: "noid@example.com", status: StatusPlanned, id: "c-8", unmanaged: true}}},
		tc{name: "id-less ledger entry does not own an invitation with no creation time", opts: withLedger,
			current: []providers.Invitation{inv("c-7", "noid@example.com", providers.StatusPending, creator(""))},
			want:    []want{{op: OpLeave, email: "noid@example.com", status: StatusPlanned, id: "c-7", unmanaged: true}}},
		// Page overlap: one invitation listed twice is one invitation.
		tc{name: "an invitation listed twice is kept, never revoked as its own duplicate", opts: withLedger,
			members: []sources.Member{member("led@example.com")},
			current: []providers.Invitation{inv("i-ledger", "led@example.com", providers.StatusPending), inv("i-ledger", "led@example.com", providers.StatusPending)},
			want:    []want{{op: OpLeave, email: "led@example.com", status: StatusPlanned, id: "i-ledger", reason: "matches"}}},
		tc{name: "ledger does not own other ids", opts: withLedger,
			current: []providers.Invitation{inv("i-other", "led2@example.com", providers.StatusPending, creator(""))},
			want:    []want{{op: OpLeave, email: "led2@example.com", status: StatusPlanned, id: "i-other", unmanaged: true}}},
		// Unsupported operations (Azure has no revoke).
		tc{name: "azure: revoke unsupported, with the hint", opts: withCaps(sync, azureCaps),
			current: []providers.Invitation{inv("i-6", "old@example.com", providers.StatusPending)},
			want:    []want{{op: OpRevoke, email: "old@example.com", status: StatusUnsupported, id: "i-6", reason: "not in roster; created by this tool; unsupported: the Azure access API has no revoke: revoke it with --provider confluent"}}},
		tc{name: "azure: reinvite of a pending invitation unsupported", opts: withCaps(sync, azureCaps),
			members: []sources.Member{member("bob@example.com", auth("AUTH_TYPE_SSO"))},
			current: []providers.Invitation{inv("i-2", "bob@example.com", providers.StatusPending, iauth("AUTH_TYPE_LOCAL"))},
			want:    []want{{op: OpReinvite, email: "bob@example.com", status: StatusUnsupported, id: "i-2", reason: "auth type differs: AUTH_TYPE_LOCAL -> AUTH_TYPE_SSO; unsupported: the Azure"}}},
		tc{name: "azure: reinvite of an expired invitation is a create: planned", opts: withCaps(sync, azureCaps),
			members: []sources.Member{member("cy@example.com")},
			current: []providers.Invitation{inv("i-4", "cy@example.com", providers.StatusExpired)},
			want:    []want{{op: OpReinvite, email: "cy@example.com", status: StatusPlanned, id: "i-4"}}},
		// Attributes per capability.
		tc{name: "csp does not compare auth type", opts: withCaps(sync, cspCaps),
			members: []sources.Member{member("bob@example.com", auth("AUTH_TYPE_SSO"))},
			current: []providers.Invitation{inv("c-2", "bob@example.com", providers.StatusPending, iauth(""))},
			want:    []want{{op: OpLeave, email: "bob@example.com", status: StatusPlanned, id: "c-2"}}},
		tc{name: "confluent does not compare groups or roles", opts: sync,
			members: []sources.Member{member("gus@example.com", groups("g1"), roles("org_owner"))},
			current: []providers.Invitation{inv("i-2", "gus@example.com", providers.StatusPending)},
			want:    []want{{op: OpLeave, email: "gus@example.com", status: StatusPlanned, id: "i-2"}}},
		tc{name: "empty member auth type is the upstream default: not compared", opts: sync,
			members: []sources.Member{member("fay@example.com")},
			current: []providers.Invitation{inv("i-2", "fay@example.com", providers.StatusPending, iauth("AUTH_TYPE_LOCAL"))},
			want:    []want{{op: OpLeave, email: "fay@example.com", status: StatusPlanned, id: "i-2"}}},
		tc{name: "auth type compared case-insensitively", opts: sync,
			members: []sources.Member{member("ada@example.com", auth("auth_type_sso"))},
			current: []providers.Invitation{inv("i-1", "ada@example.com", providers.StatusPending)},
			want:    []want{{op: OpLeave, email: "ada@example.com", status: StatusPlanned, id: "i-1"}}},
		tc{name: "csp service roles compared as a set, expiry never compared", opts: withCaps(sync, cspCaps),
			members: []sources.Member{member("ivy@example.com", svc("/l/a", "r1"), svc("/l/b", "r2"), expiry(30))},
			current: []providers.Invitation{inv("c-3", "ivy@example.com", providers.StatusPending, func(i *providers.Invitation) {
				i.ServiceRoles = []providers.ServiceRole{{Link: "/l/b", Role: "r2"}, {Link: "/l/a", Role: "r1"}}
			})},
			want: []want{{op: OpLeave, email: "ivy@example.com", status: StatusPlanned, id: "c-3"}}},
		tc{name: "csp service role differs", opts: withCaps(sync, cspCaps),
			members: []sources.Member{member("ivy@example.com", svc("/l/a", "r1"))},
			current: []providers.Invitation{inv("c-3", "ivy@example.com", providers.StatusPending, func(i *providers.Invitation) {
				i.ServiceRoles = []providers.ServiceRole{{Link: "/l/a", Role: "r0"}}
			})},
			want: []want{{op: OpReinvite, email: "ivy@example.com", status: StatusPlanned, id: "c-3", reason: "service roles differ: +/l/a=r1 -/l/a=r0"}}},
		// Several invitations for one email.
		tc{name: "accepted wins over pending", opts: sync,
			members: []sources.Member{member("dee@example.com")},
			current: []providers.Invitation{
				inv("i-20", "dee@example.com", providers.StatusPending, created(now.Add(-time.Hour))),
				inv("i-21", "dee@example.com", providers.StatusAccepted),
			},
			want: []want{{op: OpLeave, email: "dee@example.com", status: StatusPlanned, id: "i-21", reason: "accepted"}}},
		tc{name: "newest pending compared, older one of ours revoked, older unmanaged one left", opts: sync,
			members: []sources.Member{member("ada@example.com", auth("AUTH_TYPE_SSO"))},
			current: []providers.Invitation{
				inv("i-30", "ada@example.com", providers.StatusPending, created(now.Add(-48*time.Hour))),
				inv("i-31", "ada@example.com", providers.StatusPending, created(now.Add(-2*time.Hour))),
				inv("i-29", "ada@example.com", providers.StatusPending, created(now.Add(-72*time.Hour)), creator("u-else")),
			},
			want: []want{
				{op: OpRevoke, email: "ada@example.com", status: StatusPlanned, id: "i-30", reason: "older duplicate pending invitation created by this tool; the newest one (i-31) is kept"},
				{op: OpLeave, email: "ada@example.com", status: StatusPlanned, id: "i-31"},
			}},
		tc{name: "expired and revoked: reinvite from the newest", opts: sync,
			members: []sources.Member{member("cy@example.com")},
			current: []providers.Invitation{
				inv("i-40", "cy@example.com", providers.StatusExpired, created(now.Add(-30*24*time.Hour))),
				inv("i-41", "cy@example.com", providers.StatusRevoked, created(now.Add(-10*24*time.Hour))),
			},
			want: []want{{op: OpReinvite, email: "cy@example.com", status: StatusPlanned, id: "i-41", reason: "revoked"}}},
		tc{name: "unknown wins over pending", opts: sync,
			current: []providers.Invitation{
				inv("i-50", "odd@example.com", providers.StatusUnknown, raw("INVITE_STATUS_NEW")),
				inv("i-51", "odd@example.com", providers.StatusPending),
			},
			want: []want{{op: OpLeave, email: "odd@example.com", status: StatusPlanned, id: "i-50", reason: "unknown"}}},
		tc{name: "absent with two pending: one row each", opts: sync,
			current: []providers.Invitation{
				inv("i-61", "x@example.com", providers.StatusPending, creator("u-else")),
				inv("i-60", "x@example.com", providers.StatusPending),
			},
			want: []want{
				{op: OpRevoke, email: "x@example.com", status: StatusPlanned, id: "i-60"},
				{op: OpLeave, email: "x@example.com", status: StatusPlanned, id: "i-61", unmanaged: true},
			}},
		tc{name: "emails match case-insensitively, roster spelling kept", opts: sync,
			members: []sources.Member{member(" Ada@Example.COM ", auth("AUTH_TYPE_SSO"))},
			current: []providers.Invitation{inv("i-1", "ada@example.com", providers.StatusPending)},
			want:    []want{{op: OpLeave, email: " Ada@Example.COM ", status: StatusPlanned, id: "i-1"}}},
		tc{name: "sorted by email key, then op", opts: sync,
			members: []sources.Member{member("zed@example.com"), member("Bee@example.com"), member("amy@example.com")},
			current: []providers.Invitation{
				inv("i-70", "cat@example.com", providers.StatusPending),
				inv("i-71", "amy@example.com", providers.StatusPending, created(now.Add(-time.Hour))),
				inv("i-72", "amy@example.com", providers.StatusPending, created(now.Add(-2*time.Hour))),
			},
			want: []want{
				{op: OpRevoke, email: "amy@example.com", status: StatusPlanned, id: "i-72"},
				{op: OpLeave, email: "amy@example.com", status: StatusPlanned, id: "i-71"},
				{op: OpCreate, email: "Bee@example.com", status: StatusPlanned},
				{op: OpRevoke, email: "cat@example.com", status: StatusPlanned, id: "i-70"},
				{op: OpCreate, email: "zed@example.com", status: StatusPlanned},
			}},
	)

	for _, tc := range tcs {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Now = now
			opts.MaxRevoke = "100%"
			switch opts.Owner {
			case "":
				opts.Owner = me
			case "-":
				opts.Owner = ""
			}
			if opts.Capabilities == (providers.Capabilities{}) {
				opts.Capabilities = confluentCaps
			}
			plan, err := Compute(tc.members, tc.current, opts)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			var have []want
			for _, a := range plan.Actions {
				have = append(have, got(a))
			}
			if len(have) != len(tc.want) {
				t.Fatalf("got %d actions, want %d:\n got %v\nwant %v", len(have), len(tc.want), have, tc.want)
			}
			for i, w := range tc.want {
				h := have[i]
				if h.op != w.op || h.email != w.email || h.status != w.status || h.id != w.id || h.unmanaged != w.unmanaged || !strings.Contains(h.reason, w.reason) {
					t.Errorf("action %d:\n got %v\nwant %v", i, h, w)
				}
				if h.reason == "" {
					t.Errorf("action %d has no reason", i)
				}
			}
			for _, a := range plan.Actions {
				if (a.Op == OpCreate) != (a.Current == nil) {
					t.Errorf("%s %s: Current = %v; want nil exactly for creates", a.Op, a.Email, a.Current)
				}
				if (a.Op == OpCreate || a.Op == OpReinvite) && a.Member == nil {
					t.Errorf("%s %s has no member", a.Op, a.Email)
				}
			}
		})
	}
}

func TestComputeGuard(t *testing.T) {
	// 10 pending invitations of ours, 2 of them for people still in the roster.
	var current []providers.Invitation
	for i := range 10 {
		current = append(current, inv(fmt.Sprintf("i-%02d", i), fmt.Sprintf("p%02d@example.com", i), providers.StatusPending))
	}
	current = append(current, inv("i-acc", "acc@example.com", providers.StatusAccepted)) // not pending: not in the base
	keep := []sources.Member{member("p00@example.com"), member("p01@example.com")}
	for _, tc := range []struct {
		name      string
		members   []sources.Member
		current   []providers.Invitation
		maxRevoke string
		caps      providers.Capabilities
		policy    Policy
		refuse    bool
		limit     int
	}{
		{name: "default 10% of 10 pending = 1, 8 revokes", members: keep, maxRevoke: "", refuse: true, limit: 1},
		{name: "N over", members: keep, maxRevoke: "7", refuse: true, limit: 7},
		{name: "N exactly", members: keep, maxRevoke: "8"},
		{name: "N% over (50% of 10 = 5)", members: keep, maxRevoke: "50%", refuse: true, limit: 5},
		{name: "N% exactly (80% of 10 = 8)", members: keep, maxRevoke: "80%"},
		{name: "at least 1: 0 still allows one", members: append(slices.Clone(keep), member("p02@example.com"), member("p03@example.com"),
			member("p04@example.com"), member("p05@example.com"), member("p06@example.com"), member("p07@example.com"), member("p08@example.com")), maxRevoke: "0"},
		{name: "at least 1: 0 refuses two", members: keep[:1], current: current[:3], maxRevoke: "0%", refuse: true, limit: 1},
		{name: "unsupported revokes do not count", members: keep, caps: azureCaps},
		{name: "create-only revokes nothing", members: keep, policy: PolicyCreateOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := tc.current
			if cur == nil {
				cur = current
			}
			caps := tc.caps
			if caps == (providers.Capabilities{}) {
				caps = confluentCaps
			}
			plan, err := Compute(tc.members, cur, Options{Now: now, Owner: me, Capabilities: caps, MaxRevoke: tc.maxRevoke, Policy: tc.policy})
			var ge *GuardError
			if tc.refuse != errors.As(err, &ge) {
				t.Fatalf("err = %v; want guard refusal %v", err, tc.refuse)
			}
			if plan == nil {
				t.Fatal("no plan returned")
			}
			if tc.refuse {
				if ge.Limit != tc.limit {
					t.Errorf("limit = %d, want %d", ge.Limit, tc.limit)
				}
				if !strings.Contains(ge.Error(), "--max-revoke") {
					t.Errorf("message %q does not name --max-revoke", ge.Error())
				}
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseMaxRevoke(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    RevokeLimit
		wantErr bool
	}{
		{in: "", want: RevokeLimit{N: 10, Percent: true}},
		{in: "5", want: RevokeLimit{N: 5}},
		{in: " 25% ", want: RevokeLimit{N: 25, Percent: true}},
		{in: "0", want: RevokeLimit{N: 0}},
		{in: "100%", want: RevokeLimit{N: 100, Percent: true}},
		{in: "101%", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "ten", wantErr: true},
		{in: "5.5%", wantErr: true},
		{in: "%", wantErr: true},
	} {
		got, err := ParseMaxRevoke(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("ParseMaxRevoke(%q) = %+v, %v; want %+v, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	if got := (RevokeLimit{N: 10, Percent: true}).Of(9); got != 1 {
		t.Errorf("10%% of 9 = %d, want 1 (at least one)", got)
	}
	if got := (RevokeLimit{N: 10, Percent: true}).Of(25); got != 2 {
		t.Errorf("10%% of 25 = %d, want 2 (rounded down)", got)
	}
}

func TestComputeValidatesAgainstProvider(t *testing.T) {
	many := make([]string, 16)
	for i := range many {
		many[i] = fmt.Sprintf("g%d", i)
	}
	members := []sources.Member{
		member("a@example.com", row(2)),
		member("b@example.com", row(4), groups(many...)),
		member("c@example.com", row(6), expiry(91)),
		member("B@example.com", row(7)),
	}
	_, err := Compute(members, nil, Options{Now: now, Capabilities: cspCaps})
	var ps sources.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v; want sources.Problems", err)
	}
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.String())
	}
	wantLines := []string{
		"roster.csv:4:groups: 16 groups; the provider allows at most 15",
		"roster.csv:6:expires_in_days: 91 days; the provider allows 1..90",
		"roster.csv:7:email: duplicate of row 4",
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	// Confluent sets neither groups nor expiry: only the duplicate is a problem.
	_, err = Compute(members[:3], nil, Options{Now: now, Capabilities: confluentCaps})
	if err != nil {
		t.Errorf("confluent: %v; want no problem (groups and expiry are ignored there)", err)
	}
}

func TestIgnoredAttributes(t *testing.T) {
	members := []sources.Member{
		member("a@example.com", auth("AUTH_TYPE_SSO"), groups("g1"), expiry(7)),
		member("b@example.com", auth("AUTH_TYPE_LOCAL"), roles("org_member")),
		member("c@example.com"),
	}
	for _, tc := range []struct {
		name string
		caps providers.Capabilities
		want []string
	}{
		{name: "csp", caps: cspCaps, want: []string{"auth_type is set for 2 members but this provider cannot set it: ignored"}},
		{name: "confluent", caps: confluentCaps, want: []string{
			"org_roles is set for 1 member but this provider cannot set it: ignored",
			"groups is set for 1 member but this provider cannot set it: ignored",
			"expires_in_days is set for 1 member but this provider cannot set it: ignored",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IgnoredAttributes(members, tc.caps); !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestComputeDeterministic shuffles the inputs: the plan must not change.
func TestComputeDeterministic(t *testing.T) {
	var members []sources.Member
	var current []providers.Invitation
	st := []providers.Status{providers.StatusPending, providers.StatusAccepted, providers.StatusExpired, providers.StatusRevoked}
	for i := range 200 {
		if i%3 != 0 {
			members = append(members, member(fmt.Sprintf("u%03d@example.com", i), auth(sources.AuthSSO)))
		}
		if i%2 == 0 {
			current = append(current, inv(fmt.Sprintf("i-%03d", i), fmt.Sprintf("u%03d@example.com", i), st[i%4],
				iauth([]string{sources.AuthSSO, sources.AuthLocal}[i%5%2]), created(now.Add(-time.Duration(i)*time.Minute))))
		}
		if i%7 == 0 { // a second invitation for some
			current = append(current, inv(fmt.Sprintf("j-%03d", i), fmt.Sprintf("U%03d@example.com", i), st[(i+1)%4]))
		}
	}
	opts := Options{Now: now, Owner: me, Capabilities: confluentCaps, MaxRevoke: "100%"}
	first, err := Compute(members, current, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(first)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		m := slices.Clone(members)
		c := slices.Clone(current)
		rng.Shuffle(len(m), func(i, j int) { m[i], m[j] = m[j], m[i] })
		rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
		p, err := Compute(m, c, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(p); string(got) != string(want) {
			t.Fatal("plan differs when the inputs are shuffled")
		}
	}
}

func TestComputePlanHeader(t *testing.T) {
	plan, err := Compute([]sources.Member{member("a@example.com")}, nil, Options{
		Now: now, Capabilities: confluentCaps, Provider: "confluent", Organization: "org-1",
		RosterFile: "roster.csv", RosterDigest: "sha256:abc", Policy: PolicyCreateOnly,
	})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Version != PlanVersion || plan.Provider != "confluent" || plan.Organization != "org-1" || plan.RosterFile != "roster.csv" ||
		plan.RosterRows != 1 || plan.RosterDigest != "sha256:abc" || !plan.CreatedAt.Equal(now) || plan.Policy != PolicyCreateOnly ||
		!strings.HasPrefix(plan.Fingerprint, "sha256:") {
		t.Errorf("plan header = %+v", plan)
	}
	if _, err := Compute(nil, nil, Options{Policy: "delete-all"}); err == nil {
		t.Error("unknown policy accepted")
	}
	if _, err := Compute(nil, nil, Options{MaxRevoke: "lots"}); err == nil {
		t.Error("bad --max-revoke accepted")
	}
}

// TestComputeSortsByKey checks the join's order and grouping on keys that
// share long prefixes, are prefixes of each other, or are shorter than the
// 16 bytes the sort keeps inline.
func TestComputeSortsByKey(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	email := func() string {
		prefix := []string{"", "a", "averylongsharedprefix.", "averylongsharedprefix.x", "ab"}[rng.IntN(5)]
		b := []byte(prefix)
		for range rng.IntN(6) {
			b = append(b, "abAB.z"[rng.IntN(6)])
		}
		return string(b) + "@x.io"
	}
	seen := map[string]bool{}
	var members []sources.Member
	var current []providers.Invitation
	for i := range 3000 {
		e := email()
		if !seen[sources.Key(e)] && rng.IntN(2) == 0 {
			seen[sources.Key(e)] = true
			members = append(members, member(e, row(i+2)))
		}
		if rng.IntN(2) == 0 {
			current = append(current, inv(fmt.Sprintf("i-%04d", i), strings.ToUpper(email()), providers.StatusPending))
		}
	}
	plan, err := Compute(members, current, Options{Now: now, Owner: me, Capabilities: confluentCaps, MaxRevoke: "100%"})
	if err != nil {
		t.Fatal(err)
	}
	invited := map[string]int{}
	for _, c := range current {
		invited[sources.Key(c.Email)]++
	}
	perKey := map[string]int{}
	for i, a := range plan.Actions {
		k := sources.Key(a.Email)
		if i > 0 && sources.Key(plan.Actions[i-1].Email) > k {
			t.Fatalf("actions out of key order at %d: %q after %q", i, a.Email, plan.Actions[i-1].Email)
		}
		if a.Member != nil && sources.Key(a.Member.Email) != k || a.Current != nil && sources.Key(a.Current.Email) != k {
			t.Fatalf("action %d mixes keys: %+v", i, a)
		}
		perKey[k]++
	}
	for k := range seen {
		if perKey[k] == 0 {
			t.Errorf("member %q has no action", k)
		}
	}
	for k, n := range invited {
		if !seen[k] && perKey[k] != n {
			t.Errorf("%q: %d actions for %d pending invitations of someone absent", k, perKey[k], n)
		}
	}
}
