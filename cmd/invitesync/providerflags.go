package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/azure"
	"github.com/invitesync/invitesync/providers/confluent"
	"github.com/invitesync/invitesync/providers/csp"
)

// Environment variables holding credentials (never flags, never printed).
const (
	envConfluentKey    = "CONFLUENT_CLOUD_API_KEY"
	envConfluentSecret = "CONFLUENT_CLOUD_API_SECRET"
	envCSPToken        = "CSP_REFRESH_TOKEN"
	envAzureToken      = "AZURE_ACCESS_TOKEN"
)

// providerFlags are the flags every command that talks to an upstream takes.
// Credentials never come from flags: only from the environment.
type providerFlags struct {
	fs          *flag.FlagSet
	name        string
	endpoint    string
	rate        float64
	timeout     time.Duration
	maxAttempts int

	orgID    string // csp
	cspBatch int    // csp

	subscriptionID, resourceGroup, organization, apiVersion string // azure
}

// providerOnly names the flags that mean something to one provider only.
var providerOnly = map[string]string{
	"org-id": "csp", "csp-batch": "csp",
	"subscription-id": "azure", "resource-group": "azure", "organization": "azure", "api-version": "azure",
}

func addProviderFlags(fs *flag.FlagSet) *providerFlags {
	pf := &providerFlags{fs: fs}
	fs.StringVar(&pf.name, "provider", "", "upstream: confluent, csp or azure")
	fs.StringVar(&pf.endpoint, "endpoint", "", "API base URL (default: the real service); http:// only on loopback")
	fs.Float64Var(&pf.rate, "rate", 0, "client requests/second (default per provider: confluent 10, csp 10, azure 5)")
	fs.DurationVar(&pf.timeout, "timeout", 0, "time limit of one HTTP attempt (default 30s)")
	fs.IntVar(&pf.maxAttempts, "max-attempts", 0, fmt.Sprintf("attempts per request, retries included (default %d)", providers.DefaultMaxAttempts))
	fs.StringVar(&pf.orgID, "org-id", "", "csp: the organization id (CSP_REFRESH_TOKEN from the environment)")
	fs.IntVar(&pf.cspBatch, "csp-batch", csp.DefaultBatch, "csp: most people per invite call")
	fs.StringVar(&pf.subscriptionID, "subscription-id", "", "azure: subscription id")
	fs.StringVar(&pf.resourceGroup, "resource-group", "", "azure: resource group")
	fs.StringVar(&pf.organization, "organization", "", "azure: Confluent organization resource name")
	fs.StringVar(&pf.apiVersion, "api-version", azure.DefaultAPIVersion, "azure: ARM api-version")
	return pf
}

// build makes the provider the flags name. onAttempt, when non-nil, sees every
// HTTP attempt (the audit log). Flag and credential problems are exit 3.
func (pf *providerFlags) build(log zerolog.Logger, onAttempt func(providers.Attempt)) (providers.Provider, error) {
	switch {
	case pf.rate < 0:
		return nil, usageErrorf("--rate %v: want > 0 (or 0 for the provider's default)", pf.rate)
	case pf.timeout < 0:
		return nil, usageErrorf("--timeout %v: want > 0", pf.timeout)
	case pf.maxAttempts < 0:
		return nil, usageErrorf("--max-attempts %d: want >= 1", pf.maxAttempts)
	}
	if pf.fs != nil {
		var wrong []string
		pf.fs.Visit(func(f *flag.Flag) {
			if p, ok := providerOnly[f.Name]; ok && p != pf.name {
				wrong = append(wrong, fmt.Sprintf("--%s is for --provider %s", f.Name, p))
			}
		})
		if len(wrong) > 0 {
			return nil, usageErrorf("%s, not %s", strings.Join(wrong, "; "), pf.name)
		}
	}
	cfg := providers.Config{
		Endpoint:    pf.endpoint,
		Rate:        pf.rate, // 0 = the provider's default
		MaxAttempts: pf.maxAttempts,
		Timeout:     pf.timeout,
		Logger:      log,
		OnAttempt:   onAttempt,
	}
	var p providers.Provider
	var err error
	switch pf.name {
	case "confluent":
		key, secret := os.Getenv(envConfluentKey), os.Getenv(envConfluentSecret)
		if key == "" || secret == "" {
			return nil, withCode(exitInvalid, fmt.Errorf("confluent: set %s and %s in the environment (a Cloud API key and its secret)", envConfluentKey, envConfluentSecret))
		}
		p, err = confluent.New(cfg, key, secret)
	case "csp":
		if pf.orgID == "" {
			return nil, usageErrorf("csp: --org-id is required")
		}
		if pf.cspBatch < 1 {
			return nil, usageErrorf("--csp-batch %d: want >= 1", pf.cspBatch)
		}
		tok := os.Getenv(envCSPToken)
		if tok == "" {
			return nil, withCode(exitInvalid, fmt.Errorf("csp: set %s in the environment (the org's API token)", envCSPToken))
		}
		p, err = csp.New(cfg, csp.Options{OrgID: pf.orgID, APIToken: tok, Batch: pf.cspBatch})
	case "azure":
		var missing []string
		for _, f := range []struct{ v, name string }{{pf.subscriptionID, "--subscription-id"}, {pf.resourceGroup, "--resource-group"}, {pf.organization, "--organization"}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return nil, usageErrorf("azure: %s required", strings.Join(missing, ", "))
		}
		src := azure.StaticToken(os.Getenv(envAzureToken))
		if os.Getenv(envAzureToken) == "" {
			if src, err = azure.DefaultCredential(); err != nil {
				return nil, withCode(exitInvalid, fmt.Errorf("azure: set %s in the environment, or make azidentity's default credential work (az login, AZURE_CLIENT_ID...): %w", envAzureToken, err))
			}
		}
		p, err = azure.New(cfg, azure.Options{
			SubscriptionID: pf.subscriptionID, ResourceGroup: pf.resourceGroup, Organization: pf.organization,
			APIVersion: pf.apiVersion, Token: src,
		})
	case "":
		return nil, usageErrorf("--provider is required (confluent, csp or azure)")
	default:
		return nil, usageErrorf("--provider %q: want confluent, csp or azure", pf.name)
	}
	if err != nil {
		return nil, withCode(exitInvalid, err)
	}
	return p, nil
}
