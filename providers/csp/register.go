package csp

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/providers"
)

// EnvAPIToken holds the org-scoped API token (never a flag, never printed).
const EnvAPIToken = "CSP_REFRESH_TOKEN"

func init() {
	providers.Register("csp", providers.Factory{
		Summary:     "VMware Cloud Services (CSP org invitations)",
		DefaultRate: DefaultRate,
		Credentials: []providers.Credential{
			{Env: EnvAPIToken, Help: "the org's API token, exchanged for an access token", Secret: true},
		},
		Flags: func(fs *pflag.FlagSet) providers.Builder {
			org := fs.String("org-id", "", "csp: the organization id")
			batch := fs.Int("csp-batch", DefaultBatch, "csp: usernames per invite call to start with (halved for the run when the upstream refuses a call as too large)")
			return func(cfg providers.Config, getenv func(string) string) (providers.Provider, error) {
				if *org == "" {
					return nil, errors.New("csp: --org-id is required")
				}
				if *batch < 1 {
					return nil, fmt.Errorf("--csp-batch %d: want >= 1", *batch)
				}
				tok := getenv(EnvAPIToken)
				if tok == "" {
					return nil, &providers.CredentialError{Provider: "csp", Vars: []string{EnvAPIToken}, Reason: "no API token"}
				}
				return New(cfg, Options{OrgID: *org, APIToken: tok, Batch: *batch})
			}
		},
	})
}
