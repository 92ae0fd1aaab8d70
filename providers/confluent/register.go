package confluent

import (
	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/providers"
)

// Environment variables holding the Cloud API key (never a flag, never printed).
const (
	EnvAPIKey    = "CONFLUENT_CLOUD_API_KEY"
	EnvAPISecret = "CONFLUENT_CLOUD_API_SECRET"
)

func init() {
	providers.Register("confluent", providers.Factory{
		Summary:     "Confluent Cloud (IAM v2 invitations)",
		DefaultRate: DefaultRate,
		Credentials: []providers.Credential{
			{Env: EnvAPIKey, Help: "Cloud API key owned by a user with OrganizationAdmin", Secret: true},
			{Env: EnvAPISecret, Help: "its secret", Secret: true},
		},
		Flags: func(*pflag.FlagSet) providers.Builder {
			return func(cfg providers.Config, getenv func(string) string) (providers.Provider, error) {
				key, secret := getenv(EnvAPIKey), getenv(EnvAPISecret)
				if key == "" || secret == "" {
					return nil, &providers.CredentialError{Provider: "confluent", Vars: []string{EnvAPIKey, EnvAPISecret},
						Reason: "no Cloud API key (a key and its secret)"}
				}
				return New(cfg, key, secret)
			}
		},
	})
}
