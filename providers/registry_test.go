package providers

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestRegistry(t *testing.T) {
	noFlags := func(*pflag.FlagSet) Builder {
		return func(Config, func(string) string) (Provider, error) { return nil, nil }
	}
	Register("zz-test", Factory{Flags: noFlags})
	if _, ok := Lookup("zz-test"); !ok {
		t.Fatal("registered provider not found")
	}
	names := Names()
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("Names not sorted: %v", names)
		}
	}
	for _, tc := range []struct {
		name string
		f    Factory
	}{
		{"zz-test", Factory{Flags: noFlags}}, // twice
		{"Bad Name", Factory{Flags: noFlags}},
		{"", Factory{Flags: noFlags}},
		{"zz-noflags", Factory{}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", tc.name)
				}
			}()
			Register(tc.name, tc.f)
		}()
	}
}

func TestMissingCredentials(t *testing.T) {
	env := map[string]string{"A_KEY": "x", "B_SECRET": " "}
	getenv := func(k string) string { return env[k] }
	creds := []Credential{{Env: "A_KEY"}, {Env: "B_SECRET"}, {Env: "C_TOKEN"}, {Env: "D_OPTIONAL", Optional: true}}
	err := MissingCredentials("p", creds, getenv)
	if err == nil || err.Error() != "p: no credentials: set B_SECRET and C_TOKEN in the environment" {
		t.Errorf("got %v", err)
	}
	env["B_SECRET"], env["C_TOKEN"] = "y", "z"
	if err := MissingCredentials("p", creds, getenv); err != nil {
		t.Errorf("all set: %v", err)
	}
	ce := &CredentialError{Provider: "csp", Vars: []string{"CSP_REFRESH_TOKEN"}, Reason: "refused", Err: &Error{Method: "POST", Path: "/x", Status: 400}}
	if s := ce.Error(); !strings.Contains(s, "csp: refused: set CSP_REFRESH_TOKEN in the environment (POST /x: HTTP 400)") {
		t.Errorf("got %q", s)
	}
	if _, ok := AsError(ce); !ok {
		t.Error("CredentialError does not unwrap to the upstream's *Error")
	}
}
