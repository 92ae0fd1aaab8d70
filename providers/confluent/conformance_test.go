package confluent_test

import (
	"testing"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/confluent"
	"github.com/invitesync/invitesync/providers/emulator"
	"github.com/invitesync/invitesync/providers/providertest"
)

const badSecret = "wrong-confluent-secret-4711"

func harness() providertest.Harness {
	return providertest.Harness{
		API:         emulator.APIConfluent,
		ManyCreates: 500,
		Principal:   emulator.DefaultConfluentPrincipal,
		Secrets:     []string{emulator.DefaultConfluentSecret, emulator.DefaultConfluentKey},
		BadSecrets:  []string{badSecret},
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

func TestConformance(t *testing.T) { providertest.Run(t, harness()) }
