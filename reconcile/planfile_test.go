package reconcile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

func samplePlan(t *testing.T) (*Plan, []providers.Invitation) {
	t.Helper()
	members := []sources.Member{
		member("ada@example.com", auth(sources.AuthSSO)),
		member("bob@example.com", auth(sources.AuthSSO)),
		member("cy@example.com"),
		member("eve@example.com", auth(sources.AuthLocal)),
	}
	current := []providers.Invitation{
		inv("i-1", "ada@example.com", providers.StatusPending),
		inv("i-2", "bob@example.com", providers.StatusPending, iauth(sources.AuthLocal)),
		inv("i-3", "cy@example.com", providers.StatusExpired),
		inv("i-4", "old@example.com", providers.StatusPending),
		inv("i-5", "partner@example.org", providers.StatusPending, creator("u-else")),
	}
	plan, err := Compute(members, current, Options{Now: now, Owner: me, Capabilities: confluentCaps, MaxRevoke: "5",
		Provider: "confluent", Organization: "org-1", RosterFile: "roster.csv", RosterDigest: "sha256:00"})
	if err != nil {
		t.Fatal(err)
	}
	return plan, current
}

func TestSaveLoadPlan(t *testing.T) {
	plan, _ := samplePlan(t)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := SavePlan(path, plan); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPlan(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest == "" {
		t.Fatal("the saved plan carries no digest")
	}
	got.Digest = ""
	// Compare through JSON: times lose their monotonic reading on the way.
	a, _ := json.Marshal(plan)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Errorf("round trip changed the plan:\n%s\n%s", a, b)
	}
	if !reflect.DeepEqual(got.Actions[0].Member.Origin, plan.Actions[0].Member.Origin) {
		t.Error("member origin lost")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestLoadPlanRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// sealed writes a plan as SavePlan does (with its digest), so the
	// checks behind the seal are reached.
	sealed := func(name string, p Plan) string {
		p.Version = PlanVersion
		path := filepath.Join(dir, name)
		if err := SavePlan(path, &p); err != nil {
			t.Fatal(err)
		}
		return path
	}
	base := Plan{Provider: "confluent", Organization: "org-1", RosterDigest: "sha256:00"}
	with := func(edit func(*Plan)) Plan { p := base; edit(&p); return p }
	for _, tc := range []struct {
		name, path, want string
	}{
		{"future", write("future.json", `{"version": 3, "provider": "confluent", "actions": []}`), "version 3 is not supported"},
		{"old", write("old.json", `{"version": 1, "provider": "confluent", "actions": []}`), "version 1 is not supported"},
		{"noversion", write("noversion.json", `{"provider": "confluent"}`), "no version"},
		{"roster", write("roster.csv", "email\nada@example.com\n"), "not a plan file"},
		{"unsealed", write("unsealed.json", `{"version": 2, "provider": "confluent", "organization": "o", "roster_digest": "sha256:00", "actions": []}`), "was edited after it was written"},
		{"noprovider", sealed("noprovider.json", with(func(p *Plan) { p.Provider = "" })), "no provider"},
		{"noorg", sealed("noorg.json", with(func(p *Plan) { p.Organization = "" })), "no organization or roster digest"},
		{"nodigest", sealed("nodigest.json", with(func(p *Plan) { p.RosterDigest = "" })), "no organization or roster digest"},
		{"badop", sealed("badop.json", with(func(p *Plan) { p.Actions = []Action{{Op: "delete", Email: "a@b.c"}} })), `unknown op "delete"`},
		{"nomember", sealed("nomember.json", with(func(p *Plan) { p.Actions = []Action{{Op: OpCreate, Email: "a@b.c"}} })), "no member"},
		{"nocurrent", sealed("nocurrent.json", with(func(p *Plan) { p.Actions = []Action{{Op: OpRevoke, Email: "a@b.c"}} })), "no current invitation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadPlan(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want it to say %q", err, tc.want)
			}
		})
	}
	if _, err := LoadPlan(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// Any edit of a saved plan's content breaks its seal.
func TestLoadPlanRefusesEditedContent(t *testing.T) {
	plan, _ := samplePlan(t)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := SavePlan(path, plan); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"email": "eve@example.com"`, `"email": "mallory@example.com"`, 1)
	if edited == string(data) {
		t.Fatal("test plan has no eve to edit")
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	var te *TamperedError
	if _, err := LoadPlan(path); !errors.As(err, &te) {
		t.Fatalf("edited plan loaded: err = %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	plan, current := samplePlan(t)
	fp := Fingerprint(current)
	if plan.Fingerprint != fp {
		t.Errorf("Compute's fingerprint %s != Fingerprint's %s", plan.Fingerprint, fp)
	}
	dup := append(slices.Clone(current), inv("i-1b", "ADA@example.com", providers.StatusRevoked))
	if p2, err := Compute(nil, dup, Options{Now: now, MaxRevoke: "100%"}); err != nil || p2.Fingerprint != Fingerprint(dup) {
		t.Errorf("with two invitations for one email: Compute %s, Fingerprint %s (%v)", p2.Fingerprint, Fingerprint(dup), err)
	}
	rev := make([]providers.Invitation, len(current))
	for i := range current {
		rev[len(current)-1-i] = current[i]
	}
	if Fingerprint(rev) != fp {
		t.Error("fingerprint depends on the listing order")
	}
	for _, mod := range []func(*providers.Invitation){
		func(i *providers.Invitation) { i.Status = providers.StatusRevoked },
		func(i *providers.Invitation) { i.AuthType = sources.AuthLocal },
		func(i *providers.Invitation) { i.Groups = []string{"g"} },
		func(i *providers.Invitation) { i.ID = "i-9" },
	} {
		c := append([]providers.Invitation(nil), current...)
		mod(&c[0])
		if Fingerprint(c) == fp {
			t.Errorf("fingerprint unchanged after %+v", c[0])
		}
	}
	if Fingerprint(current[:4]) == fp {
		t.Error("fingerprint unchanged with one invitation less")
	}
}
