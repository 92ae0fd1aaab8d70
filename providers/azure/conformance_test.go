package azure_test

import (
	"testing"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/azure"
	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/providers/providertest"
)

const (
	sub, rg, org = "00000000-0000-0000-0000-000000000000", "rg-test", "org-test"
	badToken     = "wrong-azure-token-4711"
)

// TestConformance runs the whole suite under the behaviours the examples
// suggest and under another page-token rule and duplicate answer. The
// "link" rule costs one discovery request on a client's first listing,
// which the suite's exact request counts do not allow: it runs in
// TestPagingRules and TestSwitchCombos, as do timestamp forms and declared
// orgs.
func TestConformance(t *testing.T) {
	for _, sc := range []struct {
		name string
		cfg  emulator.AzureConfig
	}{
		{"examples", emulator.AzureConfig{}},
		{"bare next token, 400 duplicates", emulator.AzureConfig{NextToken: emulator.AzureNextBareToken, Duplicate: emulator.AzureDupBadRequest}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel() // mostly waiting (Retry-After, read-backs): side by side
			conformance(t, sc.cfg)
		})
	}
}

func conformance(t *testing.T, cfg emulator.AzureConfig) {
	providertest.Run(t, providertest.Harness{
		Emulator: func(c *emulator.Config) { c.Azure = cfg },
		API:      emulator.APIAzure,
		// Vendor specifics the shared suite asks of the harness.
		Seed:                   providertest.AzureSeed,
		ListRoute:              "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Confluent/organizations/{organizationName}/access/default/listInvitations",
		PageSize:               100,
		NoAcceptedTime:         true,
		RawRevoked:             "INVITE_STATUS_DEACTIVATED",
		RawUnknown:             "INVITE_STATUS_ON_HOLD",
		MemberIsAlreadyInvited: true,
		Roles:                  []string{"MetricsViewer"},
		ManyCreates:            500,
		Org:                    sub + "/" + rg + "/" + org,
		Secrets:                []string{emulator.DefaultAzureToken},
		BadSecrets:             []string{badToken},
		New: func(t testing.TB, cfg providers.Config, bad bool) providers.Provider {
			tok := emulator.DefaultAzureToken
			if bad {
				tok = badToken
			}
			c, err := azure.New(cfg, azure.Options{SubscriptionID: sub, ResourceGroup: rg, Organization: org, Token: azure.StaticToken(tok)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	})
}

// switchCombos are the emulator switches for what the vendor leaves open;
// each combination is an Azure that could plausibly be real.
var switchCombos = []struct {
	name string
	cfg  emulator.AzureConfig
	page int // PageSizeMax, 0 = default
}{
	{"examples: page_token, 409 default error, RFC 3339", emulator.AzureConfig{}, 0},
	{"whole next link, 400 duplicates", emulator.AzureConfig{NextToken: emulator.AzureNextLink, Duplicate: emulator.AzureDupBadRequest}, 0},
	{"bare token, legacy codes, mixed timestamps", emulator.AzureConfig{NextToken: emulator.AzureNextBareToken, Duplicate: emulator.AzureDupLegacy, Timestamps: emulator.AzureTimesMixed}, 0},
	{"declared orgs, mixed timestamps", emulator.AzureConfig{Orgs: []string{sub + "/" + rg + "/" + org}, Timestamps: emulator.AzureTimesMixed}, 0},
	{"small pages, whole next link", emulator.AzureConfig{NextToken: emulator.AzureNextLink}, 7},
}

// TestSwitchCombos runs what depends on the open behaviours under each
// combination: paging to the end, a create whose answer is lost after it
// landed (read back, never re-sent), duplicates told by read-back, members
// and access.
func TestSwitchCombos(t *testing.T) {
	for _, sc := range switchCombos {
		t.Run(sc.name, func(t *testing.T) {
			seed := people(45, "")
			seed = append(seed, emulator.SeedAzure{Email: "member@example.com", Status: "INVITE_STATUS_ACCEPTED"})
			e := newEnv(t, emulator.Config{Azure: sc.cfg, PageSizeMax: sc.page}, seed)
			cx := ctx(t)
			if _, err := e.c.WhoAmI(cx); err != nil {
				t.Fatal(err)
			}
			invs, err := e.c.List(cx)
			if err != nil || len(invs) != len(seed) {
				t.Fatalf("List: %d %v, want %d", len(invs), err, len(seed))
			}
			if err := e.emu.SetMisbehave([]string{emulator.MisbehaveCutCreate}, 0, 0); err != nil {
				t.Fatal(err)
			}
			res, err := e.c.Create(cx, []providers.InviteRequest{{Email: "Ada.Lovelace@Example.com"}})
			_ = e.emu.SetMisbehave(nil, 0, 0)
			if err != nil || res[0].Err != nil || res[0].Unknown || res[0].Invitation == nil {
				t.Fatalf("create with a lost answer: %+v %v", res, err)
			}
			res, err = e.c.Create(cx, []providers.InviteRequest{{Email: "p001@example.com"}, {Email: "member@example.com"}})
			if err != nil || res[0].Err != nil || !res[0].AlreadyInvited || res[1].Err != nil || !res[1].AlreadyInvited {
				t.Fatalf("duplicates: %+v %v", res, err)
			}
			if d := e.emu.Stats().DuplicateCreates; d != 1 {
				t.Fatalf("duplicate_creates %d, want the one for a pending person, sent on purpose", d)
			}
			members, err := e.c.ListMembers(cx)
			if err != nil || len(members) != 1 {
				t.Fatalf("members %v %v", members, err)
			}
			g := providers.Grant{Email: members[0].Email, UserID: members[0].ID, Role: "OrganizationAdmin"}
			if r, err := e.c.GrantRole(cx, g); err != nil || r.NotFound {
				t.Fatalf("grant %+v %v", r, err)
			}
			grants, err := e.c.ListAccess(cx, []providers.Person{{Email: g.Email, UserID: g.UserID}})
			if err != nil || len(grants) != 1 || grants[0].Role != g.Role {
				t.Fatalf("access %+v %v", grants, err)
			}
		})
	}
}
