package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validate --provider holds the roster to that provider's limits and role
// names with no upstream call (the endpoint is a closed port).
func TestValidateWithProvider(t *testing.T) {
	dir := t.TempDir()
	roster := filepath.Join(dir, "r.csv")
	os.WriteFile(roster, []byte("email,roles\nada@example.com,EnvironmentAdmin@env-abc123\nbob@example.com,NoSuchRole\n"), 0o644)
	t.Setenv("CONFLUENT_CLOUD_API_KEY", "k")
	t.Setenv("CONFLUENT_CLOUD_API_SECRET", "s")
	r := runCLI(t, "validate", "--roster", roster, "--provider", "confluent", "--endpoint", "http://127.0.0.1:1")
	if r.code != exitInvalid || !strings.Contains(r.stdout, "r.csv:3:roles: ") || !strings.Contains(r.stdout, `unknown role "NoSuchRole"`) {
		t.Fatalf("validate --provider confluent: want exit 3 naming row 3's role: %v", r)
	}
	if r := runCLI(t, "validate", "--roster", roster); r.code != exitOK {
		t.Fatalf("validate without a provider checks syntax only: %v", r)
	}
}
