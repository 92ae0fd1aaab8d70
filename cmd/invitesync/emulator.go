package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/invitesync/invitesync/providers/emulator"
)

// runEmulator serves the three upstream APIs until ctx ends (SIGINT or
// SIGTERM), then shuts down gracefully and saves --state. The first stdout
// line is "listening on http://HOST:PORT"; scripts wait for it.
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	flags := pflag.NewFlagSet("emulator", pflag.ContinueOnError)
	flags.SetOutput(io.Discard) // the parse error is returned (and printed once by run)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: invitesync emulator [--listen 127.0.0.1:8787] [--seed FILE] [--state FILE] [--rate R --burst B]\n"+
			"                           [--fault-rate P --faults KINDS --fault-seed S] [--latency D] [flags]\n\nflags:")
		flags.SetOutput(stderr)
		flags.PrintDefaults()
		flags.SetOutput(io.Discard)
	}
	var (
		cfg                        emulator.Config
		listen, seed, faults       string
		logLevel, logFormat        string
		allowRemote                bool
		confluentTTL, cspTokenTTL  time.Duration
		confluentKey, confluentSec string
		misbehave                  string
		hugeMiB                    int64
	)
	flags.StringVar(&listen, "listen", "127.0.0.1:8787", "address to listen on; port 0 picks a free one")
	flags.BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --listen (the emulator has no real authentication)")
	flags.StringVar(&seed, "seed", "", "YAML or JSON seed file loaded at start (skipped when --state already exists)")
	flags.StringVar(&cfg.StatePath, "state", "", "state file: loaded at start if present, saved atomically after every change")
	flags.Float64Var(&cfg.Rate, "rate", 0, "token bucket refill in requests/second over all API requests; 0 = unlimited")
	flags.IntVar(&cfg.Burst, "burst", 0, "token bucket size (default max(2, ceil(rate/10)))")
	flags.Float64Var(&cfg.FaultRate, "fault-rate", 0, "probability 0..1 that a request gets a fault")
	flags.StringVar(&faults, "faults", strings.Join(emulator.AllFaults, ","), "fault kinds to draw from: 429,500,503,reset,slow")
	flags.Int64Var(&cfg.FaultSeed, "fault-seed", 1, "seed of the fault PRNG (same seed, same faults for the same requests)")
	flags.DurationVar(&cfg.Latency, "latency", 0, "latency added to every API request, e.g. 20ms")
	flags.StringVar(&misbehave, "misbehave", "", "misbehaviour modes on from the start (POST /_emulator/misbehave switches them): "+
		strings.Join(emulator.AllMisbehaviours, ","))
	flags.DurationVar(&cfg.MisbehaveDelay, "misbehave-delay", emulator.DefaultMisbehaveDelay, "how long late-answer and late-land hold a create")
	flags.Int64Var(&hugeMiB, "huge-body-mib", emulator.DefaultHugeBodyBytes>>20, "MiB of whitespace huge-lists pads each list answer with")
	flags.StringVar(&confluentKey, "confluent-key", emulator.DefaultConfluentKey, "Confluent Cloud API key accepted")
	flags.StringVar(&confluentSec, "confluent-secret", emulator.DefaultConfluentSecret, "its secret (an emulator credential, not a real one)")
	flags.StringVar(&cfg.ConfluentPrincipal, "confluent-principal", emulator.DefaultConfluentPrincipal, "user id owning that key (invitations' creator)")
	flags.DurationVar(&confluentTTL, "confluent-invite-ttl", emulator.DefaultConfluentInviteTTL, "lifetime of a Confluent (and Azure) invitation")
	flags.StringVar(&cfg.CSPRefreshToken, "csp-refresh-token", emulator.DefaultCSPRefreshToken, "CSP API (refresh) token accepted")
	flags.StringVar(&cfg.CSPPrincipal, "csp-principal", emulator.DefaultCSPPrincipal, "CSP user the token belongs to (invitedByUsername)")
	flags.DurationVar(&cspTokenTTL, "csp-token-ttl", emulator.DefaultCSPTokenTTL, "lifetime of a CSP access token")
	flags.StringSliceVar(&cfg.CSP.Orgs, "csp-orgs", nil, "CSP orgs that exist besides seeded ones; once any is declared, others answer 404 (default: any org while none is declared)")
	flags.BoolVar(&cfg.CSP.AnyOrg, "csp-any-org", false, "every CSP orgId exists on first use, declared or not")
	flags.BoolVar(&cfg.CSP.Duplicate409, "csp-duplicate-409", false, "a CSP re-invite of a pending user or a member answers 409 and applies nothing (default: 202, as VMware's tooling saw)")
	flags.BoolVar(&cfg.CSP.HideRedeemed, "csp-hide-redeemed", false, "the CSP invitation list leaves REDEEMED invitations out")
	flags.BoolVar(&cfg.CSP.ExpirySeconds, "csp-expiry-seconds", false, "CSP expirationTime in epoch seconds (default milliseconds)")
	flags.BoolVar(&cfg.CSP.FillInvitedBy, "csp-fill-invited-by", false, "CSP invitedByUsername is the token's user whatever invitedBy says (default: echoes invitedBy)")
	flags.BoolVar(&cfg.CSP.IgnoreExpiryDays, "csp-ignore-expiry-days", false, "CSP ignores invitationExpirationInDays (every invitation lasts 7 days)")
	flags.IntVar(&cfg.CSP.MaxUsernames, "csp-max-usernames", 0, "CSP refuses invites naming more usernames as too large (0 = no cap, as documented)")
	flags.BoolVar(&cfg.CSP.BatchTooLarge413, "csp-batch-too-large-413", false, "that refusal is 413 (default 400 with a message)")
	flags.StringSliceVar(&cfg.CSP.RefusedDomains, "csp-refused-domains", nil, "CSP refuses usernames in these domains with 400, failing their whole invite call")
	flags.BoolVar(&cfg.CSP.UsersPageStartIsPage, "csp-users-page-start-is-page", false, "the CSP org users list's pageStart counts pages (default: items, as documented)")
	flags.BoolVar(&cfg.CSP.UsersNoNextLink, "csp-users-no-next-link", false, "CSP org users pages carry no nextLink")
	flags.IntVar(&cfg.CSP.UsersPageMax, "csp-users-page-max", 0, "most CSP org users per page (default 200, the documented maximum)")
	flags.StringVar(&cfg.Confluent.EmailFilter, "confluent-email-filter", emulator.ConfluentEmailExact, "how the invitations list's email filter matches: exact (documented) or fold (ignores case)")
	flags.StringVar(&cfg.Confluent.EmailCase, "confluent-email-case", emulator.ConfluentEmailAsSent, "how a created invitation's email is stored: as-sent or lower; undocumented")
	flags.StringVar(&cfg.Confluent.Duplicate, "confluent-duplicate", emulator.ConfluentDuplicate409, "a create for someone pending: 409 (with Location) or 201 (a second invitation); undocumented")
	flags.StringVar(&cfg.Confluent.SecondKey, "confluent-second-key", "", "a second Cloud API key, reaching a second org behind the same host")
	flags.StringVar(&cfg.Confluent.SecondSecret, "confluent-second-secret", "", "the second key's secret")
	flags.StringVar(&cfg.Confluent.SecondPrincipal, "confluent-second-principal", emulator.DefaultConfluentSecondPrincipal, "user id owning the second key")
	flags.StringVar(&cfg.AzureToken, "azure-token", emulator.DefaultAzureToken, "Azure bearer token accepted")
	flags.StringVar(&cfg.Azure.NextToken, "azure-next-token", emulator.AzureNextPageToken, "how metadata.next maps to searchFilters.pageToken: page_token, link (the whole next link) or token (next is the bare token)")
	flags.StringVar(&cfg.Azure.Duplicate, "azure-duplicate", emulator.AzureDupConflict, "a create for someone pending or a member: conflict (409, ARM default error), badrequest (400) or legacy (409 InvitationAlreadyExists)")
	flags.StringVar(&cfg.Azure.Timestamps, "azure-timestamps", emulator.AzureTimesRFC3339, "rfc3339, or mixed (other forms, and some that are no date)")
	flags.StringSliceVar(&cfg.Azure.Orgs, "azure-orgs", nil, "the only Azure organizations that exist (sub/rg/org,...), others answer 404 (default: any, on first use)")
	flags.IntVar(&cfg.PageSizeMax, "page-size-max", 0, "lower the paged lists' maximum page size (default: each API's real maximum, 100)")
	flags.StringVar(&logLevel, "log-level", "info", "debug logs one line per request")
	flags.StringVar(&logFormat, "log-format", "", "console or json (default: console on a terminal, json otherwise)")
	if describe, ok := ctx.Value(describeFlagsKey{}).(func(*pflag.FlagSet)); ok {
		describe(flags) // the cobra command's help and completion
		return exitOK, nil
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK, renderFlagsHelp(flags, "invitesync emulator", stdout)
		}
		return exitInvalid, withCode(exitInvalid, fmt.Errorf("%w%s", err, unknownFlagHint(flags, err)))
	}
	if flags.NArg() > 0 {
		flags.Usage()
		return exitInvalid, usageErrorf("unexpected argument %q", flags.Arg(0))
	}
	if err := checkListen(listen, allowRemote); err != nil {
		return exitInvalid, withCode(exitInvalid, err)
	}
	kinds, err := emulator.ParseFaults(faults)
	if err != nil {
		return exitInvalid, usageErrorf("--faults: %v", err)
	}
	if confluentTTL <= 0 || cspTokenTTL <= 0 {
		return exitInvalid, usageErrorf("--confluent-invite-ttl and --csp-token-ttl must be positive")
	}
	if cfg.Latency < 0 {
		return exitInvalid, usageErrorf("--latency must not be negative")
	}
	cfg.Faults = kinds
	if cfg.Misbehave, err = emulator.ParseMisbehave(misbehave); err != nil {
		return exitInvalid, usageErrorf("--misbehave: %v", err)
	}
	if cfg.MisbehaveDelay <= 0 || hugeMiB <= 0 {
		return exitInvalid, usageErrorf("--misbehave-delay and --huge-body-mib must be positive")
	}
	cfg.HugeBodyBytes = hugeMiB << 20
	cfg.ConfluentKey, cfg.ConfluentSecret = confluentKey, confluentSec
	cfg.ConfluentInviteTTL, cfg.CSPTokenTTL = confluentTTL, cspTokenTTL

	log, err := newLogger(zerolog.SyncWriter(stderr), logFormat, logLevel)
	if err != nil {
		return exitInvalid, err
	}
	cfg.Log = &log

	stateExists := false
	if cfg.StatePath != "" {
		_, err := os.Stat(cfg.StatePath)
		stateExists = err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return exitFailed, fmt.Errorf("--state: %w", err)
		}
	}
	srv, err := emulator.New(cfg)
	if err != nil {
		// Bad values (rate, burst, fault rate) are flag problems; a broken
		// state file is not.
		if stateExists {
			return exitFailed, err
		}
		return exitInvalid, withCode(exitInvalid, err)
	}
	switch {
	case seed != "" && stateExists:
		// The state is the continuation of an earlier run that was seeded
		// already; seeding again would duplicate its invitations.
		log.Info().Str("state", cfg.StatePath).Str("seed", seed).Msg("state file exists: seed not loaded")
	case seed != "":
		if err := srv.LoadSeedFile(seed); err != nil {
			_ = srv.Close()
			return exitInvalid, withCode(exitInvalid, err)
		}
	}
	base, err := srv.Start(listen)
	if err != nil {
		_ = srv.Close()
		return exitFailed, err
	}
	if _, err := fmt.Fprintf(stdout, "listening on %s\n", base); err != nil {
		_ = srv.Close()
		return exitFailed, fmt.Errorf("write listening line: %w", err)
	}
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync() // scripts read this line: make sure it is out
	}
	log.Info().Str("url", base).Float64("rate", cfg.Rate).Float64("fault_rate", cfg.FaultRate).
		Strs("faults", kinds).Strs("misbehave", cfg.Misbehave).Dur("latency", cfg.Latency).Str("state", cfg.StatePath).Str("seed", seed).
		Msg("emulator serving")

	<-ctx.Done()
	log.Info().Msg("emulator shutting down")
	if err := srv.Close(); err != nil {
		return exitFailed, err
	}
	return exitOK, nil
}

// checkListen refuses a non-loopback address unless allowed: the emulator
// accepts fixed, published credentials.
func checkListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: want HOST:PORT: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %q is not a loopback address; the emulator has no real authentication (use --allow-remote to insist)", addr)
}
