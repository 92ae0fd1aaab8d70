package providertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/providers/emulator"
)

// env is one fresh emulator on loopback and what the suite records about the
// providers it builds against it (debug logs, attempts, secrets on the wire).
type env struct {
	t     *testing.T
	h     Harness
	emu   *emulator.Server
	base  string
	clock *clock

	logs syncBuffer
	mu   sync.Mutex
	recs []providers.Attempt
	hook func(providers.Attempt) // extra per-attempt hook a case may set
	wire *observer
}

// setHook runs fn after every attempt (nil: none).
func (e *env) setHook(fn func(providers.Attempt)) {
	e.mu.Lock()
	e.hook = fn
	e.mu.Unlock()
}

type envOptions struct {
	emu     emulator.Config
	rewrite func([]byte) []byte // rewrites every answer body (served through a wrapper)
}

func newEnv(t *testing.T, h Harness, o envOptions) *env {
	t.Helper()
	e := &env{t: t, h: h, clock: &clock{}}
	e.wire = &observer{base: http.DefaultTransport.(*http.Transport).Clone(), seen: map[string]bool{}}
	cfg := o.emu
	if h.Emulator != nil {
		h.Emulator(&cfg)
	}
	cfg.Now = e.clock.Now
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	e.emu = emu
	if o.rewrite == nil {
		base, err := emu.Start("127.0.0.1:0")
		if err != nil {
			t.Fatalf("emulator: %v", err)
		}
		e.base = base
	} else {
		srv := httptest.NewServer(rewriter(emu.Handler(), o.rewrite))
		t.Cleanup(srv.Close)
		e.base = srv.URL
	}
	t.Cleanup(func() {
		if err := emu.Close(); err != nil {
			t.Errorf("emulator close: %v", err)
		}
	})
	// Registered last, so it runs first: every subtest ends with the check
	// that no secret reached a log line, an attempt record or the suite's view.
	t.Cleanup(e.checkNoSecrets)
	return e
}

// provider builds the provider under test with the suite's logger and
// attempt recorder. Zero Rate means unlimited here: tests pace nothing
// unless they mean to.
func (e *env) provider(cfg providers.Config, bad bool) providers.Provider {
	e.t.Helper()
	cfg.Endpoint = e.base
	if cfg.Rate == 0 {
		cfg.Rate = -1
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffCap = 5*time.Millisecond, 100*time.Millisecond
	}
	cfg.Logger = zerolog.New(&e.logs).Level(zerolog.DebugLevel)
	cfg.OnAttempt = func(a providers.Attempt) {
		e.mu.Lock()
		e.recs = append(e.recs, a)
		hook := e.hook
		e.mu.Unlock()
		if hook != nil {
			hook(a)
		}
	}
	cfg.HTTPClient = &http.Client{
		Transport:     e.wire,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e.h.New(e.t, cfg, bad)
}

// attempts returns the attempt records so far.
func (e *env) attempts() []providers.Attempt {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.recs)
}

// checkNoSecrets greps the debug log and the attempt records for every
// credential: the harness's own and those seen on the wire (Basic and Bearer
// values, CSP access tokens handed out by the token exchange).
func (e *env) checkNoSecrets() {
	recs, _ := json.Marshal(e.attempts())
	logs := e.logs.String()
	for _, s := range e.secrets() {
		if strings.Contains(logs, s) {
			e.t.Errorf("a debug log line holds a secret (%d chars)", len(s))
		}
		if strings.Contains(string(recs), s) {
			e.t.Errorf("an attempt record holds a secret (%d chars)", len(s))
		}
	}
	if len(e.attempts()) > 0 && !strings.Contains(logs, `"message":"http attempt"`) {
		e.t.Errorf("attempts were made but the debug log has no attempt line")
	}
}

func (e *env) secrets() []string {
	out := append(slices.Clone(e.h.Secrets), e.h.BadSecrets...)
	return append(out, e.wire.values()...)
}

// assertNoSecret fails if err's text holds a credential.
func (e *env) assertNoSecret(what string, err error) {
	e.t.Helper()
	if err == nil {
		return
	}
	for _, s := range e.secrets() {
		if strings.Contains(err.Error(), s) {
			e.t.Errorf("%s: error text holds a secret (%d chars): the error must never quote credentials", what, len(s))
		}
	}
}

// Person is one seeded invitation in API-neutral terms.
type Person struct {
	Email  string
	Status providers.Status // pending (default), accepted, expired, revoked
	Other  bool             // created by someone else
}

// person is the suite's short name for Person.
type person = Person

// seed puts ps in the org under test, in the API's own vocabulary.
func (e *env) seed(ps ...person) {
	e.t.Helper()
	if err := e.emu.Seed(e.h.Seed(e.h.Org, ps)); err != nil {
		e.t.Fatalf("seed: %v", err)
	}
}

// inviteStatus is Confluent's (and Azure's, Confluent underneath) wire status.
var inviteStatus = map[providers.Status]string{
	"": "INVITE_STATUS_SENT", providers.StatusPending: "INVITE_STATUS_SENT", providers.StatusAccepted: "INVITE_STATUS_ACCEPTED",
	providers.StatusExpired: "INVITE_STATUS_EXPIRED", providers.StatusRevoked: "INVITE_STATUS_DEACTIVATED",
}

// ConfluentSeed is Harness.Seed for Confluent Cloud (org is unused: one org
// behind the emulator's key).
func ConfluentSeed(_ string, ps []Person) emulator.Seed {
	var sd emulator.Seed
	for _, p := range ps {
		c := emulator.SeedConfluent{Email: p.Email, Status: inviteStatus[p.Status]}
		if p.Other {
			c.Creator = "u-someone-else"
		}
		sd.Confluent = append(sd.Confluent, c)
	}
	return sd
}

// AzureSeed is Harness.Seed for Confluent on Azure (org is
// "subscriptionId/resourceGroup/organizationName"). The API names no
// creator, so Other changes nothing.
func AzureSeed(org string, ps []Person) emulator.Seed {
	sd := emulator.Seed{Azure: map[string][]emulator.SeedAzure{}}
	for _, p := range ps {
		sd.Azure[org] = append(sd.Azure[org], emulator.SeedAzure{Email: p.Email, Status: inviteStatus[p.Status]})
	}
	return sd
}

// CSPSeed is Harness.Seed for VMware CSP (org is the org id).
func CSPSeed(org string, ps []Person) emulator.Seed {
	sd := emulator.Seed{CSP: map[string][]emulator.SeedCSP{}}
	for _, p := range ps {
		c := emulator.SeedCSP{Username: p.Email, Status: "AVAILABLE"}
		switch p.Status {
		case providers.StatusAccepted:
			c.Status = "REDEEMED"
		case providers.StatusRevoked:
			c.Status = "REVOKED"
		case providers.StatusExpired:
			c.Expired = true
		}
		if p.Other {
			c.InvitedBy = "someone-else@example.org"
		}
		sd.CSP[org] = append(sd.CSP[org], c)
	}
	return sd
}

// listRequests counts the list calls the emulator served for the API under test.
func (e *env) listRequests() int64 {
	return e.emu.Stats().ByRoute[e.h.ListRoute]
}

// createAll creates reqs in calls of at most MaxBatch, workers at a time,
// as reconcile's executor does; results come back in reqs' order.
func createAll(ctx context.Context, p providers.Provider, reqs []providers.InviteRequest, workers int) ([]providers.CreateResult, error) {
	batch := max(p.Capabilities().MaxBatch, 1)
	out := make([]providers.CreateResult, len(reqs))
	var g errgroup.Group
	g.SetLimit(workers)
	for i := 0; i < len(reqs); i += batch {
		j := min(i+batch, len(reqs))
		g.Go(func() error {
			res, err := p.Create(ctx, reqs[i:j])
			if err != nil {
				return err
			}
			if len(res) != j-i {
				return fmt.Errorf("Create returned %d results for %d requests", len(res), j-i)
			}
			copy(out[i:j], res)
			return nil
		})
	}
	return out, g.Wait()
}

// byEmail indexes invitations by lower-cased email.
func byEmail(invs []providers.Invitation) map[string][]providers.Invitation {
	m := map[string][]providers.Invitation{}
	for _, inv := range invs {
		k := strings.ToLower(inv.Email)
		m[k] = append(m[k], inv)
	}
	return m
}

// clock is the emulator's clock: real time plus an offset tests advance
// (to expire CSP access tokens behind the client's back).
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// observer is the HTTP transport of the providers under test: it passes
// everything through and remembers credential values it sees go by, so the
// suite can grep for them.
type observer struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool
	// accessTokens: a csp-auth-token header went by.
	accessTokens bool
}

func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	if v := r.Header.Get("csp-auth-token"); v != "" {
		o.add(v)
		o.mu.Lock()
		o.accessTokens = true
		o.mu.Unlock()
	}
	if v := r.Header.Get("Authorization"); v != "" {
		scheme, cred, _ := strings.Cut(v, " ")
		o.add(cred)
		if strings.EqualFold(scheme, "Basic") {
			if b, err := base64.StdEncoding.DecodeString(cred); err == nil {
				if _, secret, ok := strings.Cut(string(b), ":"); ok {
					o.add(secret)
				}
			}
		}
	}
	resp, err := o.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/auth/api-tokens/authorize") {
		return resp, err
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if rerr != nil {
		return resp, nil
	}
	var tok map[string]any
	if json.Unmarshal(b, &tok) == nil {
		for _, k := range []string{"access_token", "id_token", "refresh_token"} {
			if s, ok := tok[k].(string); ok {
				o.add(s)
			}
		}
	}
	return resp, nil
}

func (o *observer) add(v string) {
	if len(v) < 8 { // too short to grep for meaningfully
		return
	}
	o.mu.Lock()
	o.seen[v] = true
	o.mu.Unlock()
}

func (o *observer) values() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]string, 0, len(o.seen))
	for v := range o.seen {
		out = append(out, v)
	}
	return out
}

// rewriter serves h and passes every answer body through fn (the emulator
// refuses to seed statuses outside the documented set, so an unknown one is
// made on the wire).
func rewriter(h http.Handler, fn func([]byte) []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := fn(rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (log lines).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
