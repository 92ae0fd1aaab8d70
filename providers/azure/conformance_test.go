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

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		API:         emulator.APIAzure,
		ManyCreates: 500,
		Org:         sub + "/" + rg + "/" + org,
		Secrets:     []string{emulator.DefaultAzureToken},
		BadSecrets:  []string{badToken},
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
