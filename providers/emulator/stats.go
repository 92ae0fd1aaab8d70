package emulator

import (
	"maps"
	"strconv"
	"sync"
)

// Stats is what GET /_emulator/stats answers. Control endpoints are never
// counted.
type Stats struct {
	Requests       int64            `json:"requests"`  // every API request, whatever its answer
	ByStatus       map[string]int64 `json:"by_status"` // "200" -> n; a reset connection has no status and is not here
	ByRoute        map[string]int64 `json:"by_route"`  // route template -> n, e.g. "DELETE /iam/v2/invitations/{id}"
	RateLimited    int64            `json:"rate_limited"`
	FaultsInjected int64            `json:"faults_injected"`
	FaultsByKind   map[string]int64 `json:"faults_by_kind"`
	// Invitations counts the store's invitations by normalised status, per API
	// (all orgs of that API together).
	Invitations map[string]StatusCounts `json:"invitations"`
	// DuplicateCreates counts creates that arrived (whatever their answer) for
	// an email that already had a pending invitation in that org (CSP: per
	// username of a bulk invite, members included, since CSP answers 202 to
	// those too).
	DuplicateCreates int64 `json:"duplicate_creates"`
	// DuplicateGrants counts role-binding creates (Confluent, Azure) that
	// arrived for a binding that already existed.
	DuplicateGrants int64 `json:"duplicate_grants"`
	// Misbehaviours counts, per misbehaviour mode (misbehave.go), the
	// answers it changed (late-land: the creates it held).
	Misbehaviours map[string]int64 `json:"misbehaviours"`
	// Access counts users, role bindings and API keys per API (Confluent
	// and Azure; all orgs of that API together).
	Access map[string]AccessCounts `json:"access"`
}

// AccessCounts is one API's members, role bindings and API keys.
type AccessCounts struct {
	Users    int `json:"users"`
	Bindings int `json:"role_bindings"`
	APIKeys  int `json:"api_keys"`
}

// StatusCounts is one API's invitations by normalised status.
type StatusCounts struct {
	Pending  int `json:"pending"`
	Accepted int `json:"accepted"`
	Expired  int `json:"expired"`
	Revoked  int `json:"revoked"`
}

// counters are the request counters behind Stats.
type counters struct {
	mu       sync.Mutex
	requests int64
	byStatus map[string]int64
	byRoute  map[string]int64
	limited  int64
	faults   int64
	byFault  map[string]int64
	dupes    int64
	grants   int64 // duplicate role-binding creates
	misbeh   map[string]int64
}

func (c *counters) reset() {
	c.mu.Lock()
	c.requests, c.limited, c.faults, c.dupes, c.grants = 0, 0, 0, 0, 0
	c.byStatus, c.byRoute, c.byFault = map[string]int64{}, map[string]int64{}, map[string]int64{}
	c.misbeh = map[string]int64{}
	c.mu.Unlock()
}

// misbehaved counts an answer a misbehaviour mode changed.
func (c *counters) misbehaved(mode string) {
	c.mu.Lock()
	c.misbeh[mode]++
	c.mu.Unlock()
}

// arrived counts a request as it comes in.
func (c *counters) arrived(route string) {
	c.mu.Lock()
	c.requests++
	c.byRoute[route]++
	c.mu.Unlock()
}

// answered counts a status code as it is written.
func (c *counters) answered(status int) {
	c.mu.Lock()
	c.byStatus[strconv.Itoa(status)]++
	c.mu.Unlock()
}

// faulted counts an injected fault as it is decided.
func (c *counters) faulted(kind string) {
	c.mu.Lock()
	c.faults++
	c.byFault[kind]++
	c.mu.Unlock()
}

func (c *counters) rateLimited() {
	c.mu.Lock()
	c.limited++
	c.mu.Unlock()
}

func (c *counters) addDuplicateGrants(n int) {
	c.mu.Lock()
	c.grants += int64(n)
	c.mu.Unlock()
}

func (c *counters) addDuplicates(n int) {
	c.mu.Lock()
	c.dupes += int64(n)
	c.mu.Unlock()
}

// Stats returns the counters and the store's invitation counts.
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	st := Stats{
		Requests:         s.stats.requests,
		ByStatus:         maps.Clone(s.stats.byStatus),
		ByRoute:          maps.Clone(s.stats.byRoute),
		RateLimited:      s.stats.limited,
		FaultsInjected:   s.stats.faults,
		FaultsByKind:     maps.Clone(s.stats.byFault),
		DuplicateCreates: s.stats.dupes,
		DuplicateGrants:  s.stats.grants,
		Misbehaviours:    maps.Clone(s.stats.misbeh),
	}
	s.stats.mu.Unlock()

	var cf, cs, az StatusCounts
	s.mu.Lock()
	now := s.now()
	s.st.Confluent.counts(&cf, now)
	st.Access = s.accessCountsLocked()
	for _, o := range s.st.CSP {
		o.counts(&cs, now)
	}
	for _, o := range s.st.Azure {
		o.counts(&az, now)
	}
	s.mu.Unlock()
	st.Invitations = map[string]StatusCounts{APIConfluent: cf, APICSP: cs, APIAzure: az}
	return st
}
