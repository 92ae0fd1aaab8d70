package azure

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// DefaultCredential is azidentity's default chain (environment, workload
// identity, managed identity, Azure CLI, ...) for the ARM scope. The client
// caches what it returns until 5 minutes before expiry.
func DefaultCredential() (TokenSource, error) {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("azure credential: %w", err)
	}
	return func(ctx context.Context) (Token, error) {
		t, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
		if err != nil {
			return Token{}, fmt.Errorf("no Azure credential (set AZURE_ACCESS_TOKEN, or sign in with az login / AZURE_CLIENT_ID...): %w", err)
		}
		return Token{Value: t.Token, ExpiresOn: t.ExpiresOn}, nil
	}, nil
}
