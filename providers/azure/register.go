package azure

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/providers"
)

// EnvAccessToken holds a bearer token for ARM; without it azidentity's
// default chain (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET,
// workload or managed identity, az login) is used.
const EnvAccessToken = "AZURE_ACCESS_TOKEN"

func init() {
	providers.Register("azure", providers.Factory{
		Summary:     "Confluent on Azure (Microsoft.Confluent access API)",
		DefaultRate: DefaultRate,
		Credentials: []providers.Credential{
			{Env: EnvAccessToken, Help: "an ARM bearer token; else azidentity's default chain", Secret: true, Optional: true},
			{Env: "AZURE_CLIENT_ID", Help: "service principal or managed identity id (default chain)", Optional: true},
			{Env: "AZURE_TENANT_ID", Help: "tenant id (default chain)", Optional: true},
			{Env: "AZURE_CLIENT_SECRET", Help: "service principal secret (default chain)", Secret: true, Optional: true},
		},
		Flags: func(fs *pflag.FlagSet) providers.Builder {
			sub := fs.String("subscription-id", "", "azure: subscription id")
			rg := fs.String("resource-group", "", "azure: resource group")
			org := fs.String("organization", "", "azure: Confluent organization resource name")
			ver := fs.String("api-version", DefaultAPIVersion, "azure: ARM api-version")
			return func(cfg providers.Config, getenv func(string) string) (providers.Provider, error) {
				var missing []string
				for _, f := range []struct{ v, name string }{{*sub, "--subscription-id"}, {*rg, "--resource-group"}, {*org, "--organization"}} {
					if strings.TrimSpace(f.v) == "" {
						missing = append(missing, f.name)
					}
				}
				if len(missing) > 0 {
					return nil, fmt.Errorf("azure: %s required", strings.Join(missing, ", "))
				}
				src := StaticToken(getenv(EnvAccessToken))
				if getenv(EnvAccessToken) == "" {
					var err error
					if src, err = DefaultCredential(); err != nil {
						return nil, &providers.CredentialError{Provider: "azure",
							Vars:   []string{EnvAccessToken + " (or AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET, or az login)"},
							Reason: "no Azure credential", Err: err}
					}
				}
				return New(cfg, Options{SubscriptionID: *sub, ResourceGroup: *rg, Organization: *org, APIVersion: *ver, Token: src})
			}
		},
	})
}
