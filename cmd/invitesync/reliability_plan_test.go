//go:build reliability

package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/reconcile"
)

// A saved plan is a promise in both directions: apply --plan does only what
// a fresh plan from the same reviewed roster, options and upstream would
// do, and refuses (exit 4, naming each difference) when they differ, with
// nothing sent upstream. Each case edits a reviewed plan the way an
// outsider could: by hand (the seal breaks), or re-sealed with the
// project's own code (only the re-derivation can catch it).
func TestReliabilitySavedPlan(t *testing.T) {
	type edit struct {
		name string
		// change edits the plan; reseal re-seals it as SavePlan would.
		change func(p *reconcile.Plan)
		reseal bool
		// planArgs are extra plan flags, args extra apply flags; want is
		// the exit code and a phrase of stderr.
		planArgs, args []string
		code           int
		want           string
	}
	cases := []edit{
		{name: "untouched plan applies", code: 0},
		{name: "hand edit breaks the seal", code: 4, want: "was edited after it was written",
			change: func(p *reconcile.Plan) { p.Actions[0].Reason += " (edited)" }},
		{name: "an op turned into a revoke of someone else's invitation", reseal: true, code: 4, want: "- revoke \"ada@example.com\"",
			change: func(p *reconcile.Plan) {
				for i, a := range p.Actions {
					if a.Op == reconcile.OpLeave && a.Current != nil && a.Current.Status == "pending" {
						p.Actions[i].Op = reconcile.OpRevoke
						return
					}
				}
				panic("no pending leave to turn into a revoke")
			}},
		{name: "an edited member email", reseal: true, code: 4, want: `email="mallory@example.com"`,
			change: func(p *reconcile.Plan) {
				for i, a := range p.Actions {
					if a.Op == reconcile.OpCreate {
						m := *a.Member
						m.Email = "mallory@example.com"
						p.Actions[i].Member = &m
						return
					}
				}
			}},
		{name: "an email the validator refuses", reseal: true, code: 4, want: "ada\\x00",
			change: func(p *reconcile.Plan) {
				for i, a := range p.Actions {
					if a.Op == reconcile.OpCreate {
						m := *a.Member
						m.Email = "ada\x00@example.com"
						p.Actions[i].Member = &m
						p.Actions[i].Email = m.Email
						return
					}
				}
			}},
		{name: "a blanked roster digest", reseal: true, code: 3, want: "no organization or roster digest",
			change: func(p *reconcile.Plan) { p.RosterDigest = "" }},
		{name: "another roster digest", reseal: true, code: 4, want: "is not the one the plan was made from",
			change: func(p *reconcile.Plan) { p.RosterDigest = "sha256:" + strings.Repeat("0", 64) }},
		{name: "the plan's policy loosened behind its actions' back", reseal: true, code: 4, want: "+ revoke \"cy@example.com\"",
			planArgs: []string{"--policy", "create-only"},
			change:   func(p *reconcile.Plan) { p.Options.Policy = reconcile.PolicySync }},
		{name: "another organization", reseal: true, code: 4, want: "but these credentials reach",
			change: func(p *reconcile.Plan) { p.Organization = "00000000-0000-0000-0000-000000000000" }},
		{name: "a looser --max-revoke than the plan's", code: 3, want: "is looser than the plan's",
			args: []string{"--max-revoke", "100%"}},
		{name: "a looser --policy than the plan's", code: 3, want: "is looser than the plan's",
			planArgs: []string{"--policy", "create-only"}, args: []string{"--policy", "sync"}},
		{name: "a stricter --policy than the plan's wins: no revoke", code: 0,
			args: []string{"--policy", "create-only"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startEmulator(t)
			dir := t.TempDir()
			roster := filepath.Join(dir, "roster.csv")
			ledger := filepath.Join(dir, "ledger.jsonl")
			args := providerArgs("confluent", e.url)
			// Before: ours pending for ada, bob, cy; then the roster drops cy
			// and adds dee and eve.
			writeRoster(t, roster, [][]string{{"email"}, {"ada@example.com"}, {"bob@example.com"}, {"cy@example.com"}})
			if r := invitesync(t, runOpts{}, append([]string{"apply", "--roster", roster, "--ledger", ledger, "--yes", "--no-progress", "--report", filepath.Join(dir, "r0")}, args...)...); r.code != 0 {
				t.Fatalf("setup apply: %s", r)
			}
			writeRoster(t, roster, [][]string{{"email"}, {"ada@example.com"}, {"bob@example.com"}, {"dee@example.com"}, {"eve@example.com"}})
			planPath := filepath.Join(dir, "plan.json")
			r := invitesync(t, runOpts{}, append(append([]string{"plan", "--roster", roster, "--ledger", ledger, "--out", planPath,
				"--max-revoke", "1", "--no-progress", "--report", filepath.Join(dir, "r1")}, args...), tc.planArgs...)...)
			if r.code != 2 {
				t.Fatalf("plan: %s", r)
			}
			if tc.change != nil {
				if tc.reseal {
					p, err := reconcile.LoadPlan(planPath)
					if err != nil {
						t.Fatal(err)
					}
					tc.change(p)
					if err := reconcile.SavePlan(planPath, p); err != nil {
						t.Fatal(err)
					}
				} else {
					data, _ := os.ReadFile(planPath)
					var p reconcile.Plan
					if err := json.Unmarshal(data, &p); err != nil {
						t.Fatal(err)
					}
					tc.change(&p)
					data, _ = json.MarshalIndent(&p, "", "  ")
					os.WriteFile(planPath, data, 0o644)
				}
			}
			before := e.stats()
			r = invitesync(t, runOpts{}, append(append([]string{"apply", "--plan", planPath, "--ledger", ledger, "--yes", "--no-progress",
				"--report", filepath.Join(dir, "r2")}, args...), tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("apply --plan: want exit %d saying %q; got %s", tc.code, tc.want, r)
			}
			after := e.stats()
			writes := func(s emuStats) int64 {
				return s.ByRoute["POST /iam/v2/invitations"] + s.ByRoute["DELETE /iam/v2/invitations/{id}"]
			}
			if tc.code != 0 && writes(after) != writes(before) {
				t.Fatalf("a refused apply --plan sent %d writes upstream", writes(after)-writes(before))
			}
			want := int64(3) // 2 creates, 1 revoke
			if slices.Contains(tc.args, "create-only") || slices.Contains(tc.planArgs, "create-only") {
				want = 2
			}
			if tc.code == 0 && writes(after)-writes(before) != want {
				t.Fatalf("the reviewed plan's %d changes made %d writes", want, writes(after)-writes(before))
			}
		})
	}
}

// The org is the org: a plan reviewed for org A, applied with org B's key in
// the environment against the same host, is refused (exit 4) naming both
// org ids, and nothing is sent.
func TestReliabilitySavedPlanOtherOrgsKey(t *testing.T) {
	e := startEmulator(t, "--confluent-second-key", "other-key", "--confluent-second-secret", "other-secret")
	dir := t.TempDir()
	roster := filepath.Join(dir, "roster.csv")
	writeRoster(t, roster, [][]string{{"email"}, {"ada@example.com"}})
	planPath := filepath.Join(dir, "plan.json")
	args := providerArgs("confluent", e.url)
	if r := invitesync(t, runOpts{}, append([]string{"plan", "--roster", roster, "--out", planPath, "--report", filepath.Join(dir, "p")}, args...)...); r.code != 2 {
		t.Fatalf("plan for org A: %v", r)
	}
	other := creds{"other-key", "other-secret", defaultCreds.cspToken, defaultCreds.azureToken}
	before := e.stats()
	r := invitesync(t, runOpts{env: other.env()}, append([]string{"apply", "--plan", planPath, "--yes", "--report", filepath.Join(dir, "a")}, args...)...)
	if r.code != 4 || !strings.Contains(r.stderr, "but these credentials reach") {
		t.Fatalf("org A's plan with org B's key: want exit 4 naming both orgs: %v", r)
	}
	if after := e.stats(); after.ByRoute["POST /iam/v2/invitations"] != before.ByRoute["POST /iam/v2/invitations"] {
		t.Fatal("the refused apply sent a create")
	}
}
