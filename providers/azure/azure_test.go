package azure_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/azure"
	"github.com/invitesync/invitesync/providers/emulator"
)

func azureEnv(t *testing.T) (*emulator.Server, string) {
	t.Helper()
	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Seed(emulator.Seed{Azure: map[string][]emulator.SeedAzure{sub + "/" + rg + "/" + org: {{Email: "ada@example.com"}}}}); err != nil {
		t.Fatal(err)
	}
	base, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return emu, base
}

func newClient(t *testing.T, base string, o azure.Options) *azure.Client {
	t.Helper()
	o.SubscriptionID, o.ResourceGroup, o.Organization = sub, rg, org
	c, err := azure.New(providers.Config{Endpoint: base, Rate: -1}, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A token is fetched once and kept until 5 minutes before it expires.
func TestTokenCached(t *testing.T) {
	_, base := azureEnv(t)
	tests := []struct {
		name      string
		expiresIn time.Duration
		want      int32 // fetches over three lists
	}{
		{"long-lived", time.Hour, 1},
		{"static", 0, 1},
		{"about to expire", 4 * time.Minute, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fetches atomic.Int32
			c := newClient(t, base, azure.Options{Token: func(context.Context) (azure.Token, error) {
				fetches.Add(1)
				tok := azure.Token{Value: emulator.DefaultAzureToken}
				if tt.expiresIn > 0 {
					tok.ExpiresOn = time.Now().Add(tt.expiresIn)
				}
				return tok, nil
			}})
			for range 3 {
				if _, err := c.List(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if got := fetches.Load(); got != tt.want {
				t.Fatalf("%d token fetches, want %d", got, tt.want)
			}
		})
	}
}

// A refreshable token refused with 401 is fetched again, once.
func TestTokenRefreshedAfter401(t *testing.T) {
	emu, base := azureEnv(t)
	var fetches atomic.Int32
	c := newClient(t, base, azure.Options{Token: func(context.Context) (azure.Token, error) {
		v := emulator.DefaultAzureToken
		if fetches.Add(1) == 1 {
			v = "revoked-token-value" // the first one was revoked early
		}
		return azure.Token{Value: v, ExpiresOn: time.Now().Add(time.Hour)}, nil
	}})
	invs, err := c.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(invs) != 1 || fetches.Load() != 2 || emu.Stats().ByStatus["401"] != 1 {
		t.Fatalf("%d invitations, %d fetches, %d 401s: want 1, 2, 1", len(invs), fetches.Load(), emu.Stats().ByStatus["401"])
	}
}

func TestTokenSourceError(t *testing.T) {
	emu, base := azureEnv(t)
	c := newClient(t, base, azure.Options{Token: func(context.Context) (azure.Token, error) {
		return azure.Token{}, errors.New("no credential available")
	}})
	_, err := c.List(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no credential available") {
		t.Fatalf("List = %v, want the credential error", err)
	}
	if n := emu.Stats().Requests; n != 0 {
		t.Fatalf("%d requests sent without a token", n)
	}
}

func TestAPIVersion(t *testing.T) {
	_, base := azureEnv(t)
	tests := []struct {
		version string
		code    string // "" = accepted
	}{
		{"", ""}, // the default, 2024-07-01
		{"2023-08-22", ""},
		{"2026-06-02-preview", ""},
		{"2020-01-01", "InvalidApiVersionParameter"},
	}
	for _, tt := range tests {
		c := newClient(t, base, azure.Options{APIVersion: tt.version, Token: azure.StaticToken(emulator.DefaultAzureToken)})
		_, err := c.List(context.Background())
		if tt.code == "" {
			if err != nil {
				t.Errorf("api-version %q: %v", tt.version, err)
			}
			continue
		}
		e, ok := providers.AsError(err)
		if !ok || e.Status != 400 || e.Code != tt.code || !e.Permanent() {
			t.Errorf("api-version %q: %v, want a permanent 400 %s", tt.version, err, tt.code)
		}
	}
}

func TestNewRefusesMissingFlags(t *testing.T) {
	_, err := azure.New(providers.Config{}, azure.Options{SubscriptionID: "s", Token: azure.StaticToken("t")})
	if err == nil || !strings.Contains(err.Error(), "--resource-group, --organization") {
		t.Fatalf("New = %v, want the missing flags named", err)
	}
}

func TestRevokeUnsupported(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", azure.Options{Token: azure.StaticToken("t")})
	if _, err := c.Revoke(context.Background(), providers.Invitation{ID: "i-1"}); !errors.Is(err, azure.ErrRevokeUnsupported) {
		t.Fatalf("Revoke = %v", err)
	}
	if caps := c.Capabilities(); caps.Revoke || !strings.Contains(caps.RevokeHint, "--provider confluent") {
		t.Fatalf("capabilities %+v", caps)
	}
}
