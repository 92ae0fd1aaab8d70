package csp_test

import (
	"testing"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/csp"
	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/providers/providertest"
)

const (
	badToken = "wrong-csp-api-token-4711"
	org      = "org-conformance"
)

func harness() providertest.Harness {
	return providertest.Harness{
		API: emulator.APICSP,
		// Vendor specifics the shared suite asks of the harness.
		Seed:                 providertest.CSPSeed,
		ListRoute:            "GET /csp/gateway/am/api/orgs/{orgId}/invitations",
		RawRevoked:           "REVOKED",
		RawUnknown:           "SUSPENDED",
		BadCredentialsStatus: 400, // the API-token exchange refuses it
		TokenExchange:        true,
		// Nobody pending or a member is ever sent: the listing answers.
		MemberIsAlreadyInvited: true,
		Roles:                  []string{"vmc-user:full@ybUdoTC05kYFC9ZG560kpsn0I8M_"},
		ManyCreates:            500,
		Org:                    org,
		Principal:              emulator.DefaultCSPPrincipal,
		Secrets:                []string{emulator.DefaultCSPRefreshToken},
		BadSecrets:             []string{badToken},
		New: func(t testing.TB, cfg providers.Config, bad bool) providers.Provider {
			tok := emulator.DefaultCSPRefreshToken
			if bad {
				tok = badToken
			}
			c, err := csp.New(cfg, csp.Options{OrgID: org, APIToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
}

func TestConformance(t *testing.T) {
	providertest.Run(t, harness())
}

// TestConformanceSwitches runs the suite against each answer the real
// service may give where its documentation is silent (emulator.CSPConfig).
// Left out: IgnoreExpiryDays, where the suite's own expectation (the
// roster's expiry is the invitation's) cannot hold; TestExpiryHonoured
// covers that the client notices and says so.
func TestConformanceSwitches(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole suite once per switch")
	}
	tests := []struct {
		name string
		cfg  emulator.CSPConfig
	}{
		{"re-invites answer 409", emulator.CSPConfig{Duplicate409: true}},
		{"REDEEMED not listed", emulator.CSPConfig{HideRedeemed: true}},
		{"expirationTime in seconds", emulator.CSPConfig{ExpirySeconds: true}},
		{"invitedByUsername filled by the server", emulator.CSPConfig{FillInvitedBy: true}},
		{"only declared orgs exist", emulator.CSPConfig{Orgs: []string{org}}},
		{"batches over 50 refused (400)", emulator.CSPConfig{MaxUsernames: 50}},
		{"batches over 50 refused (413)", emulator.CSPConfig{MaxUsernames: 50, BatchTooLarge413: true}},
		{"users paged by page number without nextLink", emulator.CSPConfig{UsersPageMax: 2, UsersPageStartIsPage: true, UsersNoNextLink: true}},
		{"every non-default answer at once", emulator.CSPConfig{
			Orgs: []string{org}, Duplicate409: true, HideRedeemed: true, ExpirySeconds: true, FillInvitedBy: true,
			MaxUsernames: 64, UsersPageMax: 3, UsersPageStartIsPage: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness()
			h.Emulator = func(c *emulator.Config) { c.CSP = tt.cfg }
			providertest.Run(t, h)
		})
	}
}
