package reconcile

import (
	"strings"
	"testing"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

func access(r ...string) func(*sources.Member) {
	return func(m *sources.Member) {
		if r == nil {
			r = []string{}
		}
		m.Roles = r
	}
}

func grant(email, role string) providers.Grant {
	return providers.Grant{Email: email, UserID: "u-" + strings.Split(email, "@")[0], Role: role, ID: "rb-" + role}
}

func TestPlanAccess(t *testing.T) {
	ledger, err := LoadLedger("", "confluent", "org")
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.RecordGrant("ada@example.com", "EnvironmentAdmin@env-old", "rb-1", now); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{"ada@example.com": "u-ada", "bob@example.com": "u-bob"}
	for _, tc := range []struct {
		name    string
		members []sources.Member
		inv     []Action
		grants  []providers.Grant
		all     bool
		// afterAccept: the provider grants only to members (CSP, Azure).
		afterAccept bool
		want        []string // "op email role [status] unmanaged"
	}{
		{name: "no roles column: access is not managed",
			members: []sources.Member{member("ada@example.com")},
			grants:  []providers.Grant{grant("ada@example.com", "OrganizationAdmin")}},
		{name: "grants what the roster lists and the person lacks",
			members: []sources.Member{member("ada@example.com", access("EnvironmentAdmin@env-abc123", "MetricsViewer"))},
			grants:  []providers.Grant{grant("ada@example.com", "MetricsViewer")},
			want:    []string{"grant ada@example.com EnvironmentAdmin@env-abc123 planned false"}},
		{name: "one cell changed: one grant and one ungrant of ours",
			members: []sources.Member{member("ada@example.com", access("EnvironmentAdmin@env-new"))},
			grants:  []providers.Grant{grant("ada@example.com", "EnvironmentAdmin@env-old")},
			want:    []string{"grant ada@example.com EnvironmentAdmin@env-new planned false", "ungrant ada@example.com EnvironmentAdmin@env-old planned false"}},
		{name: "someone else's binding is left and listed unmanaged",
			members: []sources.Member{member("bob@example.com", access())},
			grants:  []providers.Grant{grant("bob@example.com", "CloudClusterAdmin@env-a/lkc-b")},
			want:    []string{"leave bob@example.com CloudClusterAdmin@env-a/lkc-b planned true"}},
		{name: "--manage-all-roles removes it",
			members: []sources.Member{member("bob@example.com", access())}, all: true,
			grants: []providers.Grant{grant("bob@example.com", "CloudClusterAdmin@env-a/lkc-b")},
			want:   []string{"ungrant bob@example.com CloudClusterAdmin@env-a/lkc-b planned false"}},
		{name: "someone invited in this run is granted once the create names the user",
			members: []sources.Member{member("new@example.com", access("OrganizationAdmin"))},
			inv:     []Action{{Op: OpCreate, Email: "new@example.com", Status: StatusPlanned}},
			want:    []string{"grant new@example.com OrganizationAdmin planned false"}},
		{name: "an invitee whose API names no user yet waits for acceptance",
			members: []sources.Member{member("wait@example.com", access("org_member"))}},
		{name: "someone invited in this run, on an upstream that grants only to members, waits",
			members: []sources.Member{member("new@example.com", access("OrganizationAdmin"))}, afterAccept: true,
			inv: []Action{{Op: OpCreate, Email: "new@example.com", Status: StatusPlanned}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanAccess(tc.members, tc.inv, AccessInput{Grants: tc.grants, UserIDs: ids, ManageAllRoles: tc.all, Ledger: ledger, BeforeAccept: !tc.afterAccept})
			var lines []string
			for _, a := range got {
				lines = append(lines, strings.Join([]string{string(a.Op), a.Email, a.Grant.Role, string(a.Status), boolWord(a.Unmanaged)}, " "))
			}
			if strings.Join(lines, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(lines, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, a := range got {
				if a.Op == OpGrant && !strings.Contains(a.Reason, "adds ") {
					t.Errorf("reason %q does not say what it adds", a.Reason)
				}
			}
		})
	}
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestRoleWords(t *testing.T) {
	for in, want := range map[string]string{
		"OrganizationAdmin":                       "OrganizationAdmin (organization)",
		"EnvironmentAdmin@env-abc123":             "EnvironmentAdmin on env-abc123",
		"CloudClusterAdmin@env-abc123/lkc-xyz789": "CloudClusterAdmin on env-abc123/lkc-xyz789",
	} {
		if got := RoleWords(in); got != want {
			t.Errorf("RoleWords(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlanOffboarding(t *testing.T) {
	users := []providers.User{
		{ID: "u-me", Email: "invitesync@example.com"},
		{ID: "u-ours", Email: "ours@example.com"},
		{ID: "u-keys", Email: "keys@example.com"},
		{ID: "u-theirs", Email: "theirs@example.com"},
		{ID: "u-adopted", Email: "adopted@example.com"},
		{ID: "u-stays", Email: "stays@example.com"},
		{ID: "u-pending", Email: "pending@example.com"},
	}
	owned := func(u providers.User) bool { return u.Email != "theirs@example.com" }
	radius := map[string]providers.Radius{
		"u-ours": {Bindings: []string{"rb-1"}},
		"u-keys": {APIKeys: []string{"KEY1", "KEY2"}},
	}
	caps := providers.Capabilities{Members: true, RemoveMembers: true}
	base := OffboardInput{Mode: OffboardRemove, Members: users, Pending: map[string]bool{"pending@example.com": true},
		Identity: providers.Identity{Principal: "u-me"}, Owned: owned, Radius: radius, Caps: caps}
	roster := []sources.Member{member("stays@example.com")}
	for _, tc := range []struct {
		name string
		in   func(OffboardInput) OffboardInput
		want []string
	}{
		{name: "removes only ours; never the principal; keys need --allow-key-loss",
			in: func(in OffboardInput) OffboardInput { return in },
			want: []string{
				"remove-member adopted@example.com planned",
				"leave invitesync@example.com planned principal",
				"remove-member keys@example.com skipped --allow-key-loss",
				"remove-member ours@example.com planned 1 role binding",
				"leave theirs@example.com planned unmanaged",
			}},
		{name: "--allow-key-loss removes the key owner, listing its keys",
			in: func(in OffboardInput) OffboardInput { in.AllowKeyLoss = true; return in },
			want: []string{
				"remove-member adopted@example.com planned",
				"leave invitesync@example.com planned principal",
				"remove-member keys@example.com planned KEY1, KEY2",
				"remove-member ours@example.com planned",
				"leave theirs@example.com planned unmanaged",
			}},
		{name: "the last admin is never removed",
			in: func(in OffboardInput) OffboardInput {
				in.Members = []providers.User{{ID: "u-admin", Email: "admin@example.com", Roles: []string{"OrganizationAdmin"}}}
				return in
			},
			want: []string{"remove-member admin@example.com skipped last organization admin"}},
		{name: "azure: removal unsupported, with the hint",
			in: func(in OffboardInput) OffboardInput {
				in.Caps = providers.Capabilities{Members: true, RemoveHint: "use the confluent provider"}
				in.Members = users[1:2]
				return in
			},
			want: []string{"remove-member ours@example.com unsupported use the confluent provider"}},
		{name: "strip-roles removes our grants and keeps the member",
			in: func(in OffboardInput) OffboardInput {
				in.Mode = OffboardStripRoles
				in.Members = users[1:2]
				l, _ := LoadLedger("", "confluent", "org")
				l.RecordGrant("ours@example.com", "EnvironmentAdmin@env-1", "", now)
				in.Access = AccessInput{Ledger: l, Grants: []providers.Grant{grant("ours@example.com", "EnvironmentAdmin@env-1"), grant("ours@example.com", "MetricsViewer")}}
				return in
			},
			want: []string{"ungrant ours@example.com planned EnvironmentAdmin", "leave ours@example.com planned unmanaged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanOffboarding(roster, tc.in(base))
			if len(got) != len(tc.want) {
				for _, a := range got {
					t.Logf("%s %s %s: %s", a.Op, a.Email, a.Status, a.Reason)
				}
				t.Fatalf("%d actions, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				f := strings.SplitN(w, " ", 4)
				a := got[i]
				if string(a.Op) != f[0] || a.Email != f[1] || string(a.Status) != f[2] || len(f) == 4 && !strings.Contains(a.Reason, f[3]) {
					t.Errorf("action %d: %s %s %s %q, want %s", i, a.Op, a.Email, a.Status, a.Reason, w)
				}
			}
		})
	}
}

func TestDiff(t *testing.T) {
	plan, _ := samplePlan(t)
	same := func() []Action {
		out := make([]Action, len(plan.Actions))
		for i, a := range plan.Actions {
			out[i] = a
			if a.Member != nil {
				m := *a.Member
				out[i].Member = &m
			}
			if a.Current != nil {
				c := *a.Current
				out[i].Current = &c
			}
		}
		return out
	}
	if err := Diff(plan.Actions, same()); err != nil {
		t.Fatalf("a plan differs from itself: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func([]Action) []Action
		want string
	}{
		{"reasons are words, not deeds", func(a []Action) []Action { a[0].Reason = "whatever"; a[1].Reason = "x"; return a }, ""},
		{"an edited op", func(a []Action) []Action { a[4].Op = OpLeave; return a }, `+ revoke "old@example.com"`},
		{"another invitation revoked", func(a []Action) []Action { c := *a[4].Current; c.ID = "i-5"; a[4].Current = &c; return a }, `invitation="i-5"`},
		{"an edited member email", func(a []Action) []Action { a[3].Member.Email = "mallory@example.com"; return a }, `email="mallory@example.com"`},
		{"an edited auth type", func(a []Action) []Action { a[1].Member.AuthType = sources.AuthLocal; return a }, "auth=AUTH_TYPE_LOCAL"},
		{"an added action", func(a []Action) []Action {
			return append(a, Action{Op: OpRevoke, Email: "partner@example.org", Status: StatusPlanned, Current: a[5].Current})
		}, `- revoke "partner@example.org"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Diff(tc.edit(same()), plan.Actions)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Diff = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Diff = %v, want it to name %q", err, tc.want)
			}
		})
	}
}

func TestMergeOptions(t *testing.T) {
	saved := PlanOptions{Policy: PolicySync, MaxRevoke: "10%", MaxRemove: "5", RemoveMembers: true}
	for _, tc := range []struct {
		name     string
		given    PlanOptions
		explicit []string
		want     func(PlanOptions) bool
		err      string
	}{
		{name: "nothing given: the plan's own", want: func(o PlanOptions) bool { return o.MaxRevoke == "10%" && o.Policy == PolicySync }},
		{name: "defaults not given explicitly are not held against the plan", given: PlanOptions{MaxRevoke: "50%"},
			want: func(o PlanOptions) bool { return o.MaxRevoke == "10%" }},
		{name: "a stricter guard wins", given: PlanOptions{MaxRevoke: "2%"}, explicit: []string{"max-revoke"},
			want: func(o PlanOptions) bool { return o.MaxRevoke == "2%" }},
		{name: "create-only is stricter than sync", given: PlanOptions{Policy: PolicyCreateOnly}, explicit: []string{"policy"},
			want: func(o PlanOptions) bool { return o.Policy == PolicyCreateOnly }},
		{name: "a looser guard is an error", given: PlanOptions{MaxRevoke: "50%", MaxRemove: "9"}, explicit: []string{"max-revoke", "max-remove"},
			err: "--max-revoke 50% is looser than the plan's 10%; --max-remove 9 is looser than the plan's 5"},
		{name: "sync over create-only is an error", given: PlanOptions{Policy: PolicySync}, explicit: []string{"policy"},
			want: func(o PlanOptions) bool { return o.Policy == PolicySync }},
		{name: "switching removals off is stricter", given: PlanOptions{RemoveMembers: false}, explicit: []string{"remove-members"},
			want: func(o PlanOptions) bool { return !o.RemoveMembers }},
		{name: "a count is not comparable to a percentage unless 0", given: PlanOptions{MaxRevoke: "3"}, explicit: []string{"max-revoke"},
			err: "--max-revoke 3 is looser"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := map[string]bool{}
			for _, e := range tc.explicit {
				ex[e] = true
			}
			got, err := mergeOptions(saved, tc.given, ex)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !tc.want(got) {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
	createOnly := saved
	createOnly.Policy = PolicyCreateOnly
	if _, err := mergeOptions(createOnly, PlanOptions{Policy: PolicySync}, map[string]bool{"policy": true}); err == nil {
		t.Error("--policy sync over a create-only plan was taken")
	}
}
