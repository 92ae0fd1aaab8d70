package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/providers"
)

// Flag annotations: the help group a flag is listed under, and the providers
// a provider-specific flag belongs to.
const (
	annGroup     = "invitesync/group"
	annProviders = "invitesync/providers"
)

// Help groups of flags, in the order -h lists them.
const (
	groupRoster   = "Roster"
	groupProvider = "Provider"
	groupRun      = "Plan and apply"
	groupOutput   = "Output"
	groupConfig   = "Configuration"
)

// providerFlags are the flags every command that talks to an upstream takes:
// the common ones here, and each registered provider's own (its package
// defines them). Credentials never come from flags: only from the environment.
type providerFlags struct {
	fs          *pflag.FlagSet
	name        string
	endpoint    string
	rate        float64
	timeout     time.Duration
	maxAttempts int
	// concurrency pins the requests in flight (0 = adapt); set by the run.
	concurrency int

	builders map[string]providers.Builder
	own      map[string]*pflag.FlagSet // each provider's flags, as its package defined them

	// getenv reads credentials; nil is os.Getenv. A fleet target sets its own.
	getenv func(string) string
	// onResponse, when set, sees every HTTP answer (check).
	onResponse func(method, path string, status int, header http.Header, body []byte)
}

func addProviderFlags(fs *pflag.FlagSet) *providerFlags {
	pf := &providerFlags{fs: fs, builders: map[string]providers.Builder{}, own: map[string]*pflag.FlagSet{}}
	names := providers.Names()
	fs.StringVar(&pf.name, "provider", "", "upstream: "+strings.Join(names, ", "))
	fs.StringVar(&pf.endpoint, "endpoint", "", "API base URL (default: the real service); http:// only on loopback")
	fs.Float64Var(&pf.rate, "rate", 0, "client requests/second (default per provider: "+defaultRates()+")")
	fs.DurationVar(&pf.timeout, "timeout", 0, "time limit of one HTTP attempt (default 30s)")
	fs.IntVar(&pf.maxAttempts, "max-attempts", 0, fmt.Sprintf("attempts per request, retries included (default %d)", providers.DefaultMaxAttempts))
	for _, n := range []string{"provider", "endpoint", "rate", "timeout", "max-attempts"} {
		annotate(fs, n, annGroup, groupProvider)
	}
	for _, name := range names {
		f, _ := providers.Lookup(name)
		own := pflag.NewFlagSet(name, pflag.ContinueOnError)
		pf.builders[name] = f.Flags(own)
		pf.own[name] = own
		own.VisitAll(func(fl *pflag.Flag) {
			if fs.Lookup(fl.Name) == nil {
				fs.AddFlag(fl)
				annotate(fs, fl.Name, annGroup, groupProvider)
			}
			// A name two providers define is one flag on the command line;
			// build copies its value into the chosen provider's own.
			annotate(fs, fl.Name, annProviders, name)
		})
	}
	return pf
}

// annotate appends value to a flag's annotation key.
func annotate(fs *pflag.FlagSet, flag, key, value string) {
	fl := fs.Lookup(flag)
	if fl == nil {
		return
	}
	if fl.Annotations == nil {
		fl.Annotations = map[string][]string{}
	}
	if !slices.Contains(fl.Annotations[key], value) {
		fl.Annotations[key] = append(fl.Annotations[key], value)
	}
}

func defaultRates() string {
	var parts []string
	for _, n := range providers.Names() {
		f, _ := providers.Lookup(n)
		parts = append(parts, fmt.Sprintf("%s %g", n, f.DefaultRate))
	}
	return strings.Join(parts, ", ")
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
	if err := checkProviderName(pf.name); err != nil {
		return nil, err
	}
	if pf.fs != nil {
		var wrong []string
		pf.fs.Visit(func(f *pflag.Flag) {
			if ps := f.Annotations[annProviders]; len(ps) > 0 && !slices.Contains(ps, pf.name) {
				wrong = append(wrong, fmt.Sprintf("--%s is for --provider %s", f.Name, strings.Join(ps, " or ")))
			}
		})
		if len(wrong) > 0 {
			return nil, usageErrorf("%s, not %s", strings.Join(wrong, "; "), pf.name)
		}
		// A flag name shared with another provider was parsed into that
		// provider's variable: give the chosen provider its value.
		var err error
		pf.own[pf.name].VisitAll(func(own *pflag.Flag) {
			if cmd := pf.fs.Lookup(own.Name); err == nil && cmd != nil && cmd != own && cmd.Changed {
				err = own.Value.Set(cmd.Value.String())
			}
		})
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
	}
	cfg := providers.Config{
		Endpoint:    pf.endpoint,
		Rate:        pf.rate, // 0 = the provider's default
		MaxAttempts: pf.maxAttempts,
		Timeout:     pf.timeout,
		Concurrency: pf.concurrency,
		Logger:      log,
		OnAttempt:   onAttempt,
		OnResponse:  pf.onResponse,
	}
	getenv := pf.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	p, err := pf.builders[pf.name](cfg, getenv)
	if err != nil {
		return nil, withCode(exitInvalid, err)
	}
	return p, nil
}

// checkProviderName refuses an empty or unknown --provider, suggesting the
// closest registered name.
func checkProviderName(name string) error {
	names := providers.Names()
	if name == "" {
		return usageErrorf("--provider is required (%s)", strings.Join(names, ", "))
	}
	if _, ok := providers.Lookup(name); ok {
		return nil
	}
	hint := ""
	if s := closest(name, names); s != "" {
		hint = fmt.Sprintf("; did you mean %q?", s)
	}
	return usageErrorf("--provider %q: want %s%s", name, strings.Join(names, ", "), hint)
}

// explainUpstreamError adds to an upstream refusal of the credentials which
// environment variables to look at, and says when it was the credential
// exchange (CSP's token call), not the call it was made for, that failed.
func explainUpstreamError(provider string, err error) error {
	if err == nil {
		return nil
	}
	var ce *providers.CredentialError
	if errors.As(err, &ce) {
		return err // names its variables already
	}
	e, ok := providers.AsError(err)
	if !ok {
		return err
	}
	exchange := strings.HasPrefix(e.Message, "credential exchange") ||
		(e.Err != nil && strings.Contains(e.Err.Error(), "credential exchange"))
	noToken := e.Status == 0 && e.Err != nil && strings.HasPrefix(e.Err.Error(), "authorize: ")
	if !exchange && !noToken && e.Status != http.StatusUnauthorized && e.Status != http.StatusForbidden {
		return err
	}
	vars := credentialVars(provider)
	switch {
	case noToken:
		// No token could be had at all (Azure's default chain found none).
		return &explained{msg: fmt.Sprintf("%s: no credential could be obtained: check %s: %s; %s %s, which needed it, was not sent",
			provider, vars, strings.TrimPrefix(e.Err.Error(), "authorize: "), e.Method, e.Path), err: err}
	case exchange:
		// The client reports the exchange under the call it was made for;
		// that call was never sent, so name the exchange alone.
		var b strings.Builder
		if e.Status == 0 {
			// No answer: nothing was refused, the exchange could not be made.
			fmt.Fprintf(&b, "%s: the credential exchange for %s got no answer", provider, vars)
		} else {
			fmt.Fprintf(&b, "%s: the credential exchange refused %s", provider, vars)
		}
		if e.Status != 0 {
			fmt.Fprintf(&b, ": HTTP %d", e.Status)
			if e.Code != "" {
				b.WriteString(" " + e.Code)
			}
		}
		if m := strings.TrimSpace(strings.TrimPrefix(e.Message, "credential exchange:")); m != "" {
			b.WriteString(": " + m)
		} else if e.Err != nil {
			b.WriteString(": " + e.Err.Error())
		}
		if e.RequestID != "" {
			fmt.Fprintf(&b, " (request id %s)", e.RequestID)
		}
		fmt.Fprintf(&b, "; %s %s, which needed the token, was not sent", e.Method, e.Path)
		return &explained{msg: b.String(), err: err}
	case e.Status == http.StatusUnauthorized:
		return &explained{msg: fmt.Sprintf("%s: the upstream refused the credentials in %s: %v", provider, vars, err), err: err}
	default:
		return &explained{msg: fmt.Sprintf("%s: the credentials in %s were accepted but lack a permission (HTTP 403): %v", provider, vars, err), err: err}
	}
}

// explained is an upstream error told in the user's terms; it unwraps to
// the original (its exit code, its *providers.Error).
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// credentialVars names a provider's credential variables for a message.
func credentialVars(provider string) string {
	f, ok := providers.Lookup(provider)
	if !ok || len(f.Credentials) == 0 {
		return "the credentials in the environment"
	}
	var vs []string
	for _, c := range f.Credentials {
		if !c.Optional || c.Secret {
			vs = append(vs, c.Env)
		}
	}
	return strings.Join(vs, ", ")
}
