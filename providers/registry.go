package providers

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"
)

// Credential is one environment variable a provider reads its credentials
// from. Credentials never come from flags or files, only from the environment.
type Credential struct {
	Env  string // e.g. CONFLUENT_CLOUD_API_KEY
	Help string // what it holds, for -h and error messages
	// Secret: the value must never be printed (false for ids such as AZURE_CLIENT_ID).
	Secret bool
	// Optional: the provider works without it (another source may serve).
	Optional bool
}

// Builder makes the provider from the flag values its Factory bound and from
// the environment, read through getenv only (so a caller can give each
// provider its own credentials). Its errors are the user's to fix: a missing
// flag or credential (a *CredentialError names the variables to set).
type Builder func(cfg Config, getenv func(string) string) (Provider, error)

// Factory is one kind of upstream, registered by its package under its CLI name.
type Factory struct {
	Summary     string       // one line for -h, e.g. "Confluent Cloud (IAM v2 invitations)"
	DefaultRate float64      // requests/second when --rate is 0, for -h
	Credentials []Credential // the environment variables it reads
	// Flags defines the provider's own flags on fs and returns the builder
	// that reads them once fs is parsed. Flags are named for the command
	// line (org-id, subscription-id); two providers may share a name.
	Flags func(fs *pflag.FlagSet) Builder
}

var (
	regMu    sync.RWMutex
	registry = map[string]Factory{}
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
)

// Register makes a provider available by name; each provider package calls
// it once from init. A duplicate or malformed registration is a programming
// error and panics at start.
func Register(name string, f Factory) {
	if !nameRE.MatchString(name) {
		panic(fmt.Sprintf("providers.Register: bad name %q", name))
	}
	if f.Flags == nil {
		panic(fmt.Sprintf("providers.Register(%q): Flags is nil", name))
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("providers.Register: %q registered twice", name))
	}
	registry[name] = f
}

// Lookup returns the factory registered under name.
func Lookup(name string) (Factory, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	f, ok := registry[name]
	return f, ok
}

// Names lists the registered providers, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CredentialError says that a provider's credentials are missing or were
// refused, and which environment variables to set. It never holds a value.
type CredentialError struct {
	Provider string
	Vars     []string // the variables to set, e.g. CSP_REFRESH_TOKEN
	Reason   string   // e.g. "not set", "refused by the token exchange"
	Err      error    // the upstream's answer, when it refused them
}

func (e *CredentialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", e.Provider)
	if e.Reason != "" {
		b.WriteString(e.Reason)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "set %s in the environment", joinAnd(e.Vars))
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	return b.String()
}

func (e *CredentialError) Unwrap() error { return e.Err }

// MissingCredentials returns a *CredentialError for the required
// credentials of creds that getenv does not give, or nil.
func MissingCredentials(provider string, creds []Credential, getenv func(string) string) error {
	var missing []string
	for _, c := range creds {
		if !c.Optional && strings.TrimSpace(getenv(c.Env)) == "" {
			missing = append(missing, c.Env)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &CredentialError{Provider: provider, Vars: missing, Reason: "no credentials"}
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return "the provider's credentials"
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
