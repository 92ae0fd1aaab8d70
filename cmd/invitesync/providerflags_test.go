package main

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/providers/azure"
	"github.com/invitesync/invitesync/providers/confluent"
	"github.com/invitesync/invitesync/providers/csp"
	"github.com/invitesync/invitesync/providers/emulator"
)

const (
	envConfluentKey    = confluent.EnvAPIKey
	envConfluentSecret = confluent.EnvAPISecret
	envCSPToken        = csp.EnvAPIToken
	envAzureToken      = azure.EnvAccessToken
)

func TestProviderFlagsBuild(t *testing.T) {
	creds := map[string]string{
		envConfluentKey: emulator.DefaultConfluentKey, envConfluentSecret: emulator.DefaultConfluentSecret,
		envCSPToken: emulator.DefaultCSPRefreshToken, envAzureToken: emulator.DefaultAzureToken,
	}
	azureArgs := []string{"--provider", "azure", "--subscription-id", "s", "--resource-group", "rg", "--organization", "o"}
	tests := []struct {
		name    string
		args    []string
		unset   []string // environment variables to clear
		want    string   // provider name built, or
		wantErr string   // error text
	}{
		{"confluent", []string{"--provider", "confluent"}, nil, "confluent", ""},
		{"csp", []string{"--provider", "csp", "--org-id", "demo-org", "--csp-batch", "5"}, nil, "csp", ""},
		{"azure", azureArgs, nil, "azure", ""},
		{"no provider", nil, nil, "", "--provider is required"},
		{"unknown provider", []string{"--provider", "aws"}, nil, "", `"aws"`},
		{"provider typo suggests the name", []string{"--provider", "confluen"}, nil, "", `did you mean "confluent"?`},
		{"confluent without key", []string{"--provider", "confluent"}, []string{envConfluentKey}, "", "CONFLUENT_CLOUD_API_KEY"},
		{"confluent without secret", []string{"--provider", "confluent"}, []string{envConfluentSecret}, "", "CONFLUENT_CLOUD_API_SECRET"},
		{"csp without token", []string{"--provider", "csp", "--org-id", "o"}, []string{envCSPToken}, "", "CSP_REFRESH_TOKEN"},
		{"csp without org", []string{"--provider", "csp"}, nil, "", "--org-id is required"},
		{"csp batch 0", []string{"--provider", "csp", "--org-id", "o", "--csp-batch", "0"}, nil, "", "--csp-batch"},
		{"azure without group", []string{"--provider", "azure", "--subscription-id", "s", "--organization", "o"}, nil, "", "--resource-group"},
		{"flag of another provider", []string{"--provider", "confluent", "--org-id", "x"}, nil, "", "--org-id is for --provider csp"},
		{"negative rate", []string{"--provider", "confluent", "--rate", "-1"}, nil, "", "--rate"},
		{"plain http off loopback", []string{"--provider", "confluent", "--endpoint", "http://api.example.com"}, nil, "", "only loopback"},
		{"http on loopback", []string{"--provider", "confluent", "--endpoint", "http://127.0.0.1:8787"}, nil, "confluent", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range creds {
				t.Setenv(k, v)
			}
			for _, k := range tt.unset {
				t.Setenv(k, "")
			}
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			fs.SetOutput(io.Discard)
			pf := addProviderFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			p, err := pf.build(zerolog.Nop(), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("build = %v, want an error containing %q", err, tt.wantErr)
				}
				var ee *exitError
				if !errors.As(err, &ee) || ee.code != exitInvalid {
					t.Fatalf("build error %v: want exit %d", err, exitInvalid)
				}
				for _, v := range creds {
					if strings.Contains(err.Error(), v) {
						t.Fatalf("error %q quotes a credential", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if p.Name() != tt.want {
				t.Fatalf("built %q, want %q", p.Name(), tt.want)
			}
		})
	}
}

func TestProviderFlagsCSPBatchIsMaxBatch(t *testing.T) {
	t.Setenv(envCSPToken, "token-value")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	pf := addProviderFlags(fs)
	if err := fs.Parse([]string{"--provider", "csp", "--org-id", "o", "--csp-batch", "7"}); err != nil {
		t.Fatal(err)
	}
	p, err := pf.build(zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Capabilities().MaxBatch; got != 7 {
		t.Fatalf("MaxBatch = %d, want --csp-batch 7", got)
	}
}
