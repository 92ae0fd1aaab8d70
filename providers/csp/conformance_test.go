package csp_test

import (
	"testing"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/csp"
	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/providers/providertest"
)

const badToken = "wrong-csp-api-token-4711"

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		API:         emulator.APICSP,
		ManyCreates: 500,
		Org:         "org-conformance",
		Principal:   emulator.DefaultCSPPrincipal,
		Secrets:     []string{emulator.DefaultCSPRefreshToken},
		BadSecrets:  []string{badToken},
		New: func(t testing.TB, cfg providers.Config, bad bool) providers.Provider {
			tok := emulator.DefaultCSPRefreshToken
			if bad {
				tok = badToken
			}
			c, err := csp.New(cfg, csp.Options{OrgID: "org-conformance", APIToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	})
}
