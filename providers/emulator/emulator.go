package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Credentials and principals the emulator accepts when Config leaves them empty.
// They are not secrets: the emulator only listens on loopback.
const (
	DefaultConfluentKey       = "emulator-key"
	DefaultConfluentSecret    = "emulator-secret"
	DefaultConfluentPrincipal = "u-invitesync"
	DefaultCSPRefreshToken    = "emulator-refresh-token"
	DefaultCSPPrincipal       = "invitesync@example.com"
	DefaultAzureToken         = "emulator-token"
)

// Other defaults.
const (
	// DefaultConfluentInviteTTL: the API's seed example shows 3 days between
	// creation and expiry.
	DefaultConfluentInviteTTL = 72 * time.Hour
	// DefaultCSPTokenTTL is the access token lifetime.
	DefaultCSPTokenTTL = 1800 * time.Second
	// MaxPageSize is the documented maximum page_size of Confluent's list (and,
	// an emulator guess, of Azure's listInvitations).
	MaxPageSize = 100
	// DefaultPageSize is the page size when a list names none.
	DefaultPageSize = 10
	// SlowFaultDelay is how long a "slow" fault holds the answer.
	SlowFaultDelay = 2 * time.Second
)

// Fault kinds (Config.Faults, SetFaults).
const (
	Fault429   = "429"   // answer 429 with Retry-After: 1
	Fault500   = "500"   // writes: applied first in half of the cases, then 500
	Fault503   = "503"   // answer 503, nothing applied
	FaultReset = "reset" // hijack and close the connection (writes: applied first in half of the cases)
	FaultSlow  = "slow"  // delay the answer by SlowFaultDelay, then serve it normally
)

// AllFaults is the kind list used when faults are on and no kinds are named.
var AllFaults = []string{Fault429, Fault500, Fault503, FaultReset, FaultSlow}

// API names as used in Stats, Accept, Expire and the control endpoints.
const (
	APIConfluent = "confluent"
	APICSP       = "csp"
	APIAzure     = "azure"
)

// Config configures a Server. Zero values mean the documented defaults.
type Config struct {
	// Rate is the token bucket's refill in requests/second over every request
	// but /_emulator/; 0 = unlimited.
	Rate float64
	// Burst is the bucket's size; 0 = DefaultBurst(Rate).
	Burst int

	// FaultRate is the probability (0..1) that a request gets a fault.
	FaultRate float64
	// Faults are the kinds drawn from (Fault429 ...); empty = AllFaults.
	Faults []string
	// FaultSeed seeds the PRNG that decides faults, so a run is repeatable.
	FaultSeed int64

	// Latency is added to every API request.
	Latency time.Duration

	// Misbehave lists the misbehaviour modes on from the start
	// (MisbehaveOverlapPages ...; SetMisbehave changes them at run time).
	Misbehave []string
	// MisbehaveDelay is how long late-answer and late-land hold a create
	// (0 = DefaultMisbehaveDelay).
	MisbehaveDelay time.Duration
	// HugeBodyBytes is huge-lists' padding (0 = DefaultHugeBodyBytes).
	HugeBodyBytes int64

	ConfluentKey, ConfluentSecret, ConfluentPrincipal string
	ConfluentInviteTTL                                time.Duration // also Azure's (Confluent underneath)
	// Confluent switches for what the vendor does not document, and a second
	// org behind the same host (confluent_access.go; doc.go lists them).
	Confluent ConfluentConfig

	CSPRefreshToken, CSPPrincipal string
	CSPTokenTTL                   time.Duration
	// CSP switches for what the vendor does not document; each zero value
	// is the documented or most likely behaviour (doc.go lists them).
	CSP CSPConfig

	AzureToken string
	// Azure switches (azure_access.go; doc.go lists them).
	Azure AzureConfig

	// PageSizeMax lowers the paged lists' maximum page size (default MaxPageSize).
	PageSizeMax int

	// StatePath, when set, is loaded at New if present and rewritten
	// atomically after every change, before the change is acknowledged.
	StatePath string

	// Now is the clock for invitation timestamps and expiry (default
	// time.Now). The rate limiter always uses the real clock.
	Now func() time.Time

	// Log, when set, gets one debug line per request (never credentials).
	Log *zerolog.Logger
}

// DefaultBurst is the bucket size used when Config.Burst is 0: a tenth of a
// second of traffic, and at least 2 so that a client pacing itself at exactly
// Rate is not refused because of scheduling jitter on loopback.
func DefaultBurst(rate float64) int {
	b := int(rate/10 + 0.999999)
	return max(b, 2)
}

// Server is the emulator. Create it with New, serve it with Start or Handler.
type Server struct {
	cfg Config
	now func() time.Time
	log zerolog.Logger

	handler http.Handler

	mu  sync.Mutex // guards st and gen
	st  *store
	gen uint64 // bumped by every change; the persister writes up to it

	snapSize int // size of the last state snapshot (guarded by mu)

	limiter *bucket // nil = unlimited
	faults  faultGen
	stats   counters

	// misbehave holds the misbehaviour modes (misbehave.go).
	misbehave misbehaver

	tokens  cspTokens
	persist *persister // nil without StatePath

	reqPrefix string
	reqSeq    atomic.Uint64
	started   time.Time

	srvMu   sync.Mutex
	httpSrv *http.Server
	closed  bool
	conns   map[net.Conn]http.ConnState // guarded by srvMu
}

// trackConn follows connection states (http.Server.ConnState).
func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	default:
		if s.conns == nil {
			s.conns = map[net.Conn]http.ConnState{}
		}
		s.conns[c] = st
	}
}

// closeUnused closes connections that have not started a request.
func (s *Server) closeUnused() {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	for c, st := range s.conns {
		if st == http.StateNew {
			_ = c.Close()
			delete(s.conns, c)
		}
	}
}

// New makes a Server from cfg, loading cfg.StatePath when the file exists.
func New(cfg Config) (*Server, error) {
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("emulator: rate %v: want >= 0", cfg.Rate)
	}
	if cfg.Burst < 0 {
		return nil, fmt.Errorf("emulator: burst %d: want >= 0", cfg.Burst)
	}
	if cfg.FaultRate < 0 || cfg.FaultRate > 1 {
		return nil, fmt.Errorf("emulator: fault rate %v: want 0..1", cfg.FaultRate)
	}
	if err := checkFaultKinds(cfg.Faults); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if cfg.PageSizeMax < 0 {
		return nil, fmt.Errorf("emulator: page size max %d: want >= 0", cfg.PageSizeMax)
	}
	if err := cfg.CSP.check(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if err := checkMisbehaviours(cfg.Misbehave); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if cfg.MisbehaveDelay < 0 || cfg.HugeBodyBytes < 0 {
		return nil, fmt.Errorf("emulator: misbehave delay %v, huge body %d bytes: want >= 0", cfg.MisbehaveDelay, cfg.HugeBodyBytes)
	}
	if err := cfg.Confluent.check(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if err := cfg.Azure.check(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if cfg.ConfluentKey == "" {
		cfg.ConfluentKey = DefaultConfluentKey
	}
	if cfg.ConfluentSecret == "" {
		cfg.ConfluentSecret = DefaultConfluentSecret
	}
	if cfg.ConfluentPrincipal == "" {
		cfg.ConfluentPrincipal = DefaultConfluentPrincipal
	}
	if cfg.ConfluentInviteTTL <= 0 {
		cfg.ConfluentInviteTTL = DefaultConfluentInviteTTL
	}
	if cfg.CSPRefreshToken == "" {
		cfg.CSPRefreshToken = DefaultCSPRefreshToken
	}
	if cfg.CSPPrincipal == "" {
		cfg.CSPPrincipal = DefaultCSPPrincipal
	}
	if cfg.CSPTokenTTL <= 0 {
		cfg.CSPTokenTTL = DefaultCSPTokenTTL
	}
	if cfg.AzureToken == "" {
		cfg.AzureToken = DefaultAzureToken
	}
	if cfg.PageSizeMax == 0 || cfg.PageSizeMax > MaxPageSize {
		cfg.PageSizeMax = MaxPageSize
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst(cfg.Rate)
	}
	s := &Server{
		cfg:     cfg,
		now:     cfg.Now,
		log:     zerolog.Nop(),
		st:      newStore(),
		started: time.Now(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Log != nil {
		s.log = *cfg.Log
	}
	if cfg.Rate > 0 {
		s.limiter = newBucket(cfg.Rate, cfg.Burst)
	}
	s.faults.init(cfg.FaultRate, cfg.Faults, cfg.FaultSeed)
	s.misbehave.init(cfg.Misbehave, cfg.MisbehaveDelay, cfg.HugeBodyBytes)
	s.stats.reset()
	s.tokens.m = map[string]time.Time{}
	var p [10]byte
	if _, err := rand.Read(p[:]); err != nil {
		return nil, fmt.Errorf("emulator: request id prefix: %w", err)
	}
	// xxxxxxxx-xxxx-4xxx-8xxx- then a 12-digit counter: unique, UUID-shaped.
	h := hex.EncodeToString(p[:])
	s.reqPrefix = h[0:8] + "-" + h[8:12] + "-4" + h[12:15] + "-8" + h[15:18] + "-"
	if cfg.StatePath != "" {
		st, err := loadState(cfg.StatePath)
		if err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
		if st != nil {
			s.st = st
		}
		s.persist = newPersister(cfg.StatePath, s.snapshot)
	}
	s.handler = s.routes()
	return s, nil
}

// Handler serves the three APIs and the /_emulator/ control endpoints.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in the
// background until Close. It returns the base URL, e.g. http://127.0.0.1:8787.
func (s *Server) Start(addr string) (string, error) {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.closed {
		return "", errors.New("emulator: start: server closed")
	}
	if s.httpSrv != nil {
		return "", errors.New("emulator: start: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emulator: listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.trackConn,
	}
	s.httpSrv = srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error().Err(err).Msg("emulator: serve")
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops serving (letting requests in flight finish, for up to 5 s) and,
// with a state file, writes the last changes. It is safe to call twice.
func (s *Server) Close() error {
	s.srvMu.Lock()
	if s.closed {
		s.srvMu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.httpSrv
	s.srvMu.Unlock()

	var errs []error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		done := make(chan error, 1)
		go func() { done <- srv.Shutdown(ctx) }()
		// Shutdown waits up to 5 s for connections that never sent a request
		// (a client's spare keep-alive dials); nothing is lost closing them.
		tick := time.NewTicker(20 * time.Millisecond)
	wait:
		for {
			s.closeUnused()
			select {
			case err := <-done:
				if err != nil {
					errs = append(errs, fmt.Errorf("emulator: shutdown: %w", err))
					_ = srv.Close()
				}
				break wait
			case <-tick.C:
			}
		}
		tick.Stop()
		cancel()
	}
	if s.persist != nil {
		if err := s.persist.close(); err != nil {
			errs = append(errs, fmt.Errorf("emulator: save state: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Reset empties the store and the counters, refills the rate limiter and
// re-seeds the fault PRNG (so a test after Reset sees the same fault
// sequence). Configuration and CSP access tokens are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	s.st.clear()
	gen := s.changedLocked()
	s.mu.Unlock()
	s.stats.reset()
	if s.limiter != nil {
		s.limiter.refill()
	}
	s.faults.reseed()
	s.misbehave.forget()
	if err := s.durable(context.Background(), gen); err != nil {
		s.log.Error().Err(err).Msg("emulator: reset: save state")
	}
}

// SetFaults changes the fault rate and kinds at run time (empty kinds =
// AllFaults). Unknown kinds are dropped; rate is clamped to 0..1.
func (s *Server) SetFaults(rate float64, kinds []string) {
	var ok []string
	for _, k := range kinds {
		if isFaultKind(k) {
			ok = append(ok, k)
		}
	}
	s.faults.set(min(max(rate, 0), 1), ok)
}

// changedLocked records a change to the store (s.mu held) and returns its
// generation, to wait on with durable before acknowledging it.
func (s *Server) changedLocked() uint64 {
	s.gen++
	if s.persist != nil {
		s.persist.kick()
	}
	return s.gen
}

// durable waits until the change of generation gen is on disk (no-op
// without a state file).
func (s *Server) durable(ctx context.Context, gen uint64) error {
	if s.persist == nil {
		return nil
	}
	return s.persist.wait(ctx, gen)
}

// newRequestID returns a unique, UUID-shaped request id.
func (s *Server) newRequestID() string {
	return fmt.Sprintf("%s%012x", s.reqPrefix, s.reqSeq.Add(1))
}
