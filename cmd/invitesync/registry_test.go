package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/fake"
)

// A fourth provider is its package's one Register call (here an in-memory
// fake): the CLI lists it, takes its flags, builds it by name and runs check
// against it, with no change in cmd.
func init() {
	providers.Register("testfake", providers.Factory{
		Summary:     "in-memory upstream for the CLI's tests",
		DefaultRate: 1,
		Credentials: []providers.Credential{{Env: "TESTFAKE_TOKEN", Help: "any value", Secret: true}},
		Flags: func(fs *pflag.FlagSet) providers.Builder {
			org := fs.String("testfake-org", "", "testfake: the org")
			// A name csp also defines: one flag on the command line, each
			// provider gets its value.
			orgID := fs.String("org-id", "", "testfake: an org id")
			return func(_ providers.Config, getenv func(string) string) (providers.Provider, error) {
				if err := providers.MissingCredentials("testfake", []providers.Credential{{Env: "TESTFAKE_TOKEN"}}, getenv); err != nil {
					return nil, err
				}
				return fake.New(fake.Options{Name: "testfake", Org: *org + *orgID}), nil
			}
		},
	})
}

func TestRegisteredProviderNeedsNoCmdChange(t *testing.T) {
	t.Setenv("TESTFAKE_TOKEN", "x-0005")
	if r := runCLI(t, "plan", "-h"); !strings.Contains(r.stdout, "--testfake-org") || !strings.Contains(r.stdout, "TESTFAKE_TOKEN") {
		t.Errorf("plan -h lacks the new provider's flag or credential:\n%s", r.stdout)
	}
	r := runCLI(t, "check", "--provider", "testfake", "--testfake-org", "acme-")
	if r.code != exitOK || !strings.Contains(r.stdout, "ok   listing") {
		t.Errorf("check of the registered provider: %v", r)
	}
	// org-id is shared with csp: the value reaches the chosen provider.
	r = runCLI(t, "check", "--provider", "testfake", "--org-id", "o-42")
	if r.code != exitOK || !strings.Contains(r.stdout, "o-42") {
		t.Errorf("a shared flag name did not reach testfake: %v", r)
	}
	if r := runCLI(t, "check", "--provider", "confluent", "--testfake-org", "x"); r.code != exitInvalid || !strings.Contains(r.stderr, "--testfake-org is for --provider testfake") {
		t.Errorf("another provider's flag: %v", r)
	}
	if r := runCLI(t, "check", "--provider", "testfake", "--record", "x.yaml"); r.code != exitInvalid || !strings.Contains(r.stderr, "no seed format") {
		t.Errorf("--record for a provider the emulator does not play: %v", r)
	}
	t.Setenv("TESTFAKE_TOKEN", "")
	if r := runCLI(t, "check", "--provider", "testfake"); r.code != exitFailed || !strings.Contains(r.stdout, "set TESTFAKE_TOKEN") {
		t.Errorf("missing credential: %v", r)
	}
}
