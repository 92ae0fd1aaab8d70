package confluent_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent"
	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/providers/providertest"
)

const badSecret = "wrong-confluent-secret-4711"

func harness() providertest.Harness {
	return providertest.Harness{
		API: emulator.APIConfluent,
		// Vendor specifics the shared suite asks of the harness.
		Seed:                   providertest.ConfluentSeed,
		ListRoute:              "GET /iam/v2/invitations",
		PageSize:               100,
		RawRevoked:             "INVITE_STATUS_DEACTIVATED",
		RawUnknown:             "INVITE_STATUS_ON_HOLD",
		MemberIsAlreadyInvited: true,
		RateLimitHeaders:       true,
		Roles:                  []string{"MetricsViewer"},
		ManyCreates:            500,
		Principal:              emulator.DefaultConfluentPrincipal,
		Secrets:                []string{emulator.DefaultConfluentSecret, emulator.DefaultConfluentKey},
		BadSecrets:             []string{badSecret},
		New: func(t testing.TB, cfg providers.Config, bad bool) providers.Provider {
			secret := emulator.DefaultConfluentSecret
			if bad {
				secret = badSecret
			}
			c, err := confluent.New(cfg, emulator.DefaultConfluentKey, secret)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
}

// TestConformance runs the whole suite under the documented behaviours and
// under the switches that keep the suite's own expectations (a create for
// someone pending answers "already invited"; the 201 switch is covered by
// TestSwitchCombos).
func TestConformance(t *testing.T) {
	for _, sc := range []struct {
		name string
		cfg  emulator.ConfluentConfig
	}{
		{"documented", emulator.ConfluentConfig{}},
		{"email filter folds case, emails stored lower-cased, a second org behind the host", emulator.ConfluentConfig{
			EmailFilter: emulator.ConfluentEmailFold, EmailCase: emulator.ConfluentEmailLower,
			SecondKey: "KEY2-emu", SecondSecret: "SECRET2-emu"}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel() // mostly waiting (Retry-After, read-backs): side by side
			h := harness()
			h.Emulator = func(c *emulator.Config) { c.Confluent = sc.cfg }
			providertest.Run(t, h)
		})
	}
}

// switchCombos are the emulator switches for what the vendor leaves open,
// each combination a real Confluent could plausibly be. dupAlready says
// whether a create for someone pending is answered "already invited".
var switchCombos = []struct {
	name       string
	cfg        emulator.Config
	dupAlready bool
}{
	{"documented: exact email filter, 409 duplicates", emulator.Config{}, true},
	{"email filter folds case", emulator.Config{Confluent: emulator.ConfluentConfig{EmailFilter: emulator.ConfluentEmailFold}}, true},
	{"duplicate create makes a second invitation", emulator.Config{Confluent: emulator.ConfluentConfig{Duplicate: emulator.ConfluentDuplicate201}}, false},
	{"fold and 201", emulator.Config{Confluent: emulator.ConfluentConfig{EmailFilter: emulator.ConfluentEmailFold, Duplicate: emulator.ConfluentDuplicate201}}, false},
	{"a second org behind the host", emulator.Config{Confluent: emulator.ConfluentConfig{SecondKey: "KEY2-emu", SecondSecret: "SECRET2-emu"}}, true},
	{"small pages", emulator.Config{PageSizeMax: 7}, true},
	{"emails stored in lower case", emulator.Config{Confluent: emulator.ConfluentConfig{EmailCase: emulator.ConfluentEmailLower}}, true},
}

// TestSwitchCombos runs what depends on the open behaviours under each
// combination: paging, a create whose answer is lost after it landed
// (read back, never re-sent, whatever the letter case of the email), a
// create for someone pending, who-am-I, and access.
func TestSwitchCombos(t *testing.T) {
	for _, sc := range switchCombos {
		t.Run(sc.name, func(t *testing.T) {
			var seed []emulator.SeedConfluent
			for i := range 45 {
				seed = append(seed, emulator.SeedConfluent{Email: fmt.Sprintf("p%03d@example.com", i)})
			}
			seed = append(seed, emulator.SeedConfluent{Email: "Grace.Hopper@Example.com"})
			e := newEnv(t, sc.cfg, emulator.Seed{Confluent: seed})
			cx := ctx(t)

			id, err := e.c.WhoAmI(cx)
			if err != nil || id.Principal != emulator.DefaultConfluentPrincipal || id.Org == "" {
				t.Fatalf("WhoAmI %+v %v", id, err)
			}
			invs, err := e.c.List(cx)
			if err != nil || len(invs) != len(seed) {
				t.Fatalf("List: %d %v, want %d", len(invs), err, len(seed))
			}

			// The answer is lost after the create landed: a read-back finds it.
			for _, email := range []string{"Ada.Lovelace@Example.com", "alan@example.com"} {
				if err := e.emu.SetMisbehave([]string{emulator.MisbehaveCutCreate}, 0, 0); err != nil {
					t.Fatal(err)
				}
				res, err := e.c.Create(cx, []providers.InviteRequest{{Email: email}})
				_ = e.emu.SetMisbehave(nil, 0, 0)
				if err != nil || res[0].Err != nil || res[0].Unknown || res[0].Invitation == nil || !strings.EqualFold(res[0].Invitation.Email, email) {
					t.Fatalf("create %s with a lost answer: %+v %v", email, res, err)
				}
			}
			if d := e.emu.Stats().DuplicateCreates; d != 0 {
				t.Fatalf("duplicate_creates %d: a landed create was sent again", d)
			}

			// A create for someone pending.
			res, err := e.c.Create(cx, []providers.InviteRequest{{Email: "Grace.Hopper@Example.com"}})
			if err != nil || res[0].Err != nil || res[0].AlreadyInvited != sc.dupAlready {
				t.Fatalf("create for a pending person: %+v %v, want AlreadyInvited %v", res, err, sc.dupAlready)
			}

			// Access for the invitee, before acceptance.
			all, err := e.c.List(cx)
			if err != nil {
				t.Fatal(err)
			}
			var ada providers.Invitation
			for _, inv := range all {
				if strings.EqualFold(inv.Email, "Ada.Lovelace@Example.com") {
					ada = inv
				}
			}
			g := providers.Grant{Email: ada.Email, UserID: ada.UserID, Role: "EnvironmentAdmin@env-a1"}
			if res, err := e.c.GrantRole(cx, g); err != nil || res.NotFound {
				t.Fatalf("grant: %+v %v", res, err)
			}
			grants, err := e.c.ListAccess(cx, []providers.Person{{Email: ada.Email, UserID: ada.UserID}})
			if err != nil || len(grants) != 1 || grants[0].Role != g.Role {
				t.Fatalf("ListAccess %+v %v", grants, err)
			}
		})
	}
}
