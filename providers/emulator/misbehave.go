package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Misbehaviour modes (Config.Misbehave, SetMisbehave, --misbehave,
// POST /_emulator/misbehave). Each plays an upstream, or a proxy in front of
// it, that answers in a way a client must survive. They are implemented here,
// around the vendor handlers, by rewriting requests and answers, so every API
// gets them alike. Stats.Misbehaviours counts, per mode, the answers it
// changed.
const (
	// MisbehaveOverlapPages: each page of a paged list (Confluent
	// invitations, Azure listInvitations and listUsers) starts with the
	// last item of the page before it, same id; CSP's unpaged list names
	// every invitation twice.
	MisbehaveOverlapPages = "overlap-pages"
	// MisbehaveEndlessPages: every page of a paged list has a next link
	// with a page token never seen before; after the last real page the
	// listing starts over, so it never ends.
	MisbehaveEndlessPages = "endless-pages"
	// MisbehaveCyclePages: page tokens cycle A -> B -> A; each page serves
	// the first page's items.
	MisbehaveCyclePages = "cycle-pages"
	// MisbehaveHugeLists: list answers (all three APIs) are padded with
	// HugeBodyBytes of JSON whitespace, so they stay valid JSON.
	MisbehaveHugeLists = "huge-lists"
	// MisbehaveLateAnswer: a create is applied at once, its answer is held
	// for MisbehaveDelay (longer than a client's timeout).
	MisbehaveLateAnswer = "late-answer"
	// MisbehaveLateLand: a create is held for MisbehaveDelay, then applied
	// and answered, even if the client has gone: a read-back before then
	// does not see it. A create for the same email arriving while one is
	// held counts in Stats.DuplicateCreates (the held one will land).
	MisbehaveLateLand = "late-land"
	// MisbehaveCutCreate: a create is applied, then the connection is
	// reset instead of answered.
	MisbehaveCutCreate = "cut-create"
	// MisbehaveGarbageCreate: a create is applied and answered with its 2xx
	// status and a body that is not JSON (the first half of the real one,
	// or an HTML scrap when it had none).
	MisbehaveGarbageCreate = "garbage-create"
	// MisbehaveEchoAuth: every answer carries the request's credentials in
	// X-Echo-Authorization and X-Echo-Csp-Auth-Token, and every error
	// body's message/detail/title quotes Authorization, csp-auth-token and
	// the api_token/refresh_token of a CSP token exchange.
	MisbehaveEchoAuth = "echo-auth"
	// MisbehaveEscapeErrors: EscapePayload is appended to every error
	// body's message/detail/title.
	MisbehaveEscapeErrors = "escape-errors"
	// MisbehaveEscapeFields: listed and read items carry EscapePayload: in
	// the display part of their email ("\x1b...Name" <addr>) and appended
	// to status, auth_type and invitedByUsername.
	MisbehaveEscapeFields = "escape-fields"
	// MisbehaveClockSkew: pending invitations (INVITE_STATUS_SENT/STAGED,
	// AVAILABLE) are listed and read with an expiry ClockSkewAge in the
	// past (created time moved back alike) while their status still says
	// pending, and the store keeps them pending.
	MisbehaveClockSkew = "clock-skew"
)

// AllMisbehaviours lists every mode, in documentation order.
var AllMisbehaviours = []string{
	MisbehaveOverlapPages, MisbehaveEndlessPages, MisbehaveCyclePages, MisbehaveHugeLists,
	MisbehaveLateAnswer, MisbehaveLateLand, MisbehaveCutCreate, MisbehaveGarbageCreate,
	MisbehaveEchoAuth, MisbehaveEscapeErrors, MisbehaveEscapeFields, MisbehaveClockSkew,
}

const (
	// DefaultMisbehaveDelay is how long late-answer and late-land hold a
	// create: above a typical test client's 1-2 s timeout.
	DefaultMisbehaveDelay = 3 * time.Second
	// DefaultHugeBodyBytes is huge-lists' padding: over the 256 MiB a
	// client may think generous, and over half a 512 MiB memory limit.
	DefaultHugeBodyBytes = 300 << 20
	// ClockSkewAge is how far in the past clock-skew puts an expiry.
	ClockSkewAge = 30 * 24 * time.Hour
	// EscapePayload is what the escape modes add: an SGR colour, an OSC 52
	// clipboard write ended by BEL, a BEL, a carriage return and a C1 CSI
	// "clear screen".
	EscapePayload = "\x1b[31m\x1b]52;c;aW52aXRlc3luYw==\x07\a\r\u009b2J"

	// maxOverlapMemory bounds the items overlap-pages remembers for the
	// next page; past it the memory is dropped (the tokens then answer 400).
	maxOverlapMemory = 100_000
	// tokenMark starts every page token a misbehaviour made; it is not in
	// the base64url alphabet of the handlers' own tokens.
	tokenMark = "~"
)

func isMisbehaviour(m string) bool { return slices.Contains(AllMisbehaviours, m) }

func checkMisbehaviours(modes []string) error {
	for _, m := range modes {
		if !isMisbehaviour(m) {
			return fmt.Errorf("unknown misbehaviour %q (want %s)", m, strings.Join(AllMisbehaviours, ","))
		}
	}
	return nil
}

// ParseMisbehave splits a comma-separated mode list (the --misbehave flag).
func ParseMisbehave(s string) ([]string, error) {
	var modes []string
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" && !slices.Contains(modes, m) {
			modes = append(modes, m)
		}
	}
	if err := checkMisbehaviours(modes); err != nil {
		return nil, err
	}
	return modes, nil
}

// MisbehaveState is the misbehaviour configuration (GET /_emulator/misbehave).
type MisbehaveState struct {
	Modes []string `json:"modes"`
	// Delay is late-answer's and late-land's hold, as a Go duration.
	Delay string `json:"delay"`
	// HugeBytes is huge-lists' padding.
	HugeBytes int64 `json:"huge_bytes"`
	// Held counts the creates late-land holds right now (not yet applied).
	Held int `json:"held"`
}

// misbehaver holds the modes switched on and what they remember.
type misbehaver struct {
	mu      sync.Mutex
	modes   map[string]bool
	delay   time.Duration
	huge    int64
	seq     uint64                 // misbehaviour page tokens handed out
	overlap map[string]overlapPage // overlap token -> what its page repeats
	held    map[string]int         // late-land: path + email key -> creates held
	heldN   int
}

// overlapPage is what an overlap-pages token stands for.
type overlapPage struct {
	real string          // the handler's own page token
	item json.RawMessage // the last item of the page before, served again
}

func (m *misbehaver) init(modes []string, delay time.Duration, huge int64) {
	m.overlap = map[string]overlapPage{}
	m.held = map[string]int{}
	m.set(modes, delay, huge)
}

// set replaces the modes; delay and huge keep their value when <= 0.
func (m *misbehaver) set(modes []string, delay time.Duration, huge int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.modes = map[string]bool{}
	for _, k := range modes {
		m.modes[k] = true
	}
	if delay > 0 {
		m.delay = delay
	} else if m.delay == 0 {
		m.delay = DefaultMisbehaveDelay
	}
	if huge > 0 {
		m.huge = huge
	} else if m.huge == 0 {
		m.huge = DefaultHugeBodyBytes
	}
}

func (m *misbehaver) state() MisbehaveState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := MisbehaveState{Modes: []string{}, Delay: m.delay.String(), HugeBytes: m.huge, Held: m.heldN}
	for _, k := range AllMisbehaviours {
		if m.modes[k] {
			st.Modes = append(st.Modes, k)
		}
	}
	return st
}

// forget drops what paging remembers (Reset).
func (m *misbehaver) forget() {
	m.mu.Lock()
	m.overlap = map[string]overlapPage{}
	m.mu.Unlock()
}

// SetMisbehave switches the misbehaviour modes at run time (none = all off).
// delay (late-answer, late-land) and hugeBytes (huge-lists) keep their
// current value when <= 0.
func (s *Server) SetMisbehave(modes []string, delay time.Duration, hugeBytes int64) error {
	if err := checkMisbehaviours(modes); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	s.misbehave.set(modes, delay, hugeBytes)
	return nil
}

// Misbehave returns the misbehaviour configuration and the creates held.
func (s *Server) Misbehave() MisbehaveState { return s.misbehave.state() }

// ---- one request ----

// routeClass is what a misbehaviour needs to know of an endpoint.
type routeClass int

const (
	classOther  routeClass = iota
	classList              // a list of invitations or users
	classGet               // one invitation
	classCreate            // an invite (not a CSP revoke)
)

func classOf(rt *route, r *http.Request) routeClass {
	switch rt.pattern {
	case confluentList, azureList, azureUsers, cspInvitationsGET,
		"GET /iam/v2/users", "GET /csp/gateway/am/api/v2/orgs/{orgId}/users":
		return classList
	case confluentGet, cspInvitationGET:
		return classGet
	}
	if rt.dupes != nil && !(rt.api == APICSP && r.URL.Query().Get("action") != "") {
		return classCreate
	}
	return classOther
}

// misbehaviour is the modes that apply to one request, decided as it
// arrives so that a switch mid-request does not half-apply.
type misbehaviour struct {
	m     *misbehaver
	class routeClass
	on    map[string]bool
	delay time.Duration
	huge  int64

	creds    []string        // echo-auth: the credentials the request carried
	prepend  json.RawMessage // overlap-pages: served first on this page
	cycleWas string          // cycle-pages: "A" or "B" when the request came with one
	// changed records the modes that altered this answer (counted once).
	changed map[string]bool
}

// begin returns the misbehaviour of a request, or nil when no mode applies.
func (m *misbehaver) begin(rt *route, r *http.Request) *misbehaviour {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.modes) == 0 {
		return nil
	}
	mb := &misbehaviour{m: m, class: classOf(rt, r), on: map[string]bool{}, delay: m.delay, huge: m.huge, changed: map[string]bool{}}
	for k := range m.modes {
		if mb.applies(k) {
			mb.on[k] = true
		}
	}
	if len(mb.on) == 0 {
		return nil
	}
	return mb
}

func (mb *misbehaviour) applies(mode string) bool {
	switch mode {
	case MisbehaveOverlapPages, MisbehaveEndlessPages, MisbehaveCyclePages, MisbehaveHugeLists:
		return mb.class == classList
	case MisbehaveLateAnswer, MisbehaveLateLand, MisbehaveCutCreate, MisbehaveGarbageCreate:
		return mb.class == classCreate
	case MisbehaveEscapeFields, MisbehaveClockSkew:
		return mb.class == classList || mb.class == classGet || mb.class == classCreate
	}
	return true // echo-auth, escape-errors: every answer
}

// pre rewrites the request before the handler sees it: page tokens a
// misbehaviour made are turned back into the handler's own; echo-auth
// notes the credentials.
func (mb *misbehaviour) pre(r *http.Request) {
	if mb.on[MisbehaveEchoAuth] {
		for _, h := range []string{"Authorization", "csp-auth-token"} {
			if v := r.Header.Get(h); v != "" {
				mb.creds = append(mb.creds, h+": "+v)
			}
		}
		if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
			if err == nil {
				r.Body = io.NopCloser(bytes.NewReader(body))
				if q, err := url.ParseQuery(string(body)); err == nil {
					for _, k := range []string{"api_token", "refresh_token"} {
						if v := q.Get(k); v != "" {
							mb.creds = append(mb.creds, k+"="+v)
						}
					}
				}
			}
		}
	}
	if mb.class == classList && (mb.on[MisbehaveOverlapPages] || mb.on[MisbehaveEndlessPages] || mb.on[MisbehaveCyclePages]) {
		tok, set := pageTokenIn(r)
		if strings.HasPrefix(tok, tokenMark) {
			set(mb.unwrapToken(tok))
		}
	}
}

// unwrapToken turns a misbehaviour's page token into the handler's own ("" =
// the first page). An unknown one is passed on as it is: the handler refuses it.
func (mb *misbehaviour) unwrapToken(tok string) string {
	rest := strings.TrimPrefix(tok, tokenMark)
	switch {
	case strings.HasPrefix(rest, "o"):
		mb.m.mu.Lock()
		p, ok := mb.m.overlap[tok]
		mb.m.mu.Unlock()
		if !ok {
			return tok
		}
		mb.prepend = p.item
		return p.real
	case strings.HasPrefix(rest, "e"):
		// ~e<n>.<real>: the counter makes each token new, the rest is the handler's.
		if _, real, ok := strings.Cut(rest, "."); ok {
			return real
		}
		return tok
	case rest == "cA" || rest == "cB":
		mb.cycleWas = rest[1:]
		return ""
	}
	return tok
}

// pageTokenIn finds a paged list request's page token: the page_token query
// parameter (Confluent) or searchFilters.pageToken of the JSON body (Azure).
// set replaces it ("" removes it).
func pageTokenIn(r *http.Request) (tok string, set func(string)) {
	if q := r.URL.Query(); q.Has("page_token") || r.Method == http.MethodGet {
		return q.Get("page_token"), func(v string) {
			if v == "" {
				q.Del("page_token")
			} else {
				q.Set("page_token", v)
			}
			r.URL.RawQuery = q.Encode()
		}
	}
	if r.Body == nil {
		return "", func(string) {}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	r.Body = io.NopCloser(bytes.NewReader(body))
	var doc map[string]any
	if err != nil || json.Unmarshal(body, &doc) != nil {
		return "", func(string) {}
	}
	sf, _ := doc["searchFilters"].(map[string]any)
	tok, _ = sf["pageToken"].(string)
	return tok, func(v string) {
		if v == "" {
			delete(sf, "pageToken")
		} else {
			sf["pageToken"] = v
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
}

// ---- late-land: held creates ----

// createEmails are the emails a create body invites (Confluent email, Azure
// invitedUserDetails.invitedEmail, CSP usernames).
func createEmails(body []byte) []string {
	var b struct {
		Email              string   `json:"email"`
		Usernames          []string `json:"usernames"`
		InvitedUserDetails *struct {
			InvitedEmail string `json:"invitedEmail"`
		} `json:"invitedUserDetails"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	var out []string
	if b.Email != "" {
		out = append(out, b.Email)
	}
	if b.InvitedUserDetails != nil && b.InvitedUserDetails.InvitedEmail != "" {
		out = append(out, b.InvitedUserDetails.InvitedEmail)
	}
	return append(out, dedupe(b.Usernames)...)
}

// heldKey names an email in one org: the path names CSP's and Azure's org,
// the Basic user Confluent's (a second org may sit behind the same host).
func heldKey(r *http.Request, email string) string {
	user, _, _ := r.BasicAuth()
	return r.URL.Path + "\x00" + user + "\x00" + key(email)
}

// heldDupes counts the emails of a create that another create, held by
// late-land, is about to apply.
func (m *misbehaver) heldDupes(r *http.Request, body []byte) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.heldN == 0 {
		return 0
	}
	n := 0
	for _, e := range createEmails(body) {
		if m.held[heldKey(r, e)] > 0 {
			n++
		}
	}
	return n
}

// hold keeps a create for the delay before it is applied; release ends it.
func (mb *misbehaviour) hold(r *http.Request, body []byte) (release func()) {
	emails := createEmails(body)
	m := mb.m
	m.mu.Lock()
	for _, e := range emails {
		m.held[heldKey(r, e)]++
	}
	m.heldN++
	m.mu.Unlock()
	// The client may leave; the create lands all the same.
	time.Sleep(mb.delay)
	return func() {
		m.mu.Lock()
		for _, e := range emails {
			k := heldKey(r, e)
			if m.held[k]--; m.held[k] <= 0 {
				delete(m.held, k)
			}
		}
		m.heldN--
		m.mu.Unlock()
	}
}

// ---- the answer ----

// bufWriter collects a handler's answer so a misbehaviour can change it
// before it leaves. Headers go straight to the real writer's map.
type bufWriter struct {
	rw     http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufWriter) Header() http.Header { return b.rw.Header() }

func (b *bufWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufWriter) Unwrap() http.ResponseWriter { return b.rw }

// finish rewrites the collected answer and sends it on w (the recorder).
func (s *Server) finishMisbehaviour(mb *misbehaviour, w http.ResponseWriter, buf *bufWriter, r *http.Request) {
	if buf.status == 0 {
		return // the handler wrote nothing (the client left)
	}
	status, body := buf.status, buf.body.Bytes()
	orig := len(body)
	h := w.Header()
	if mb.on[MisbehaveEchoAuth] && len(mb.creds) > 0 {
		for _, c := range mb.creds {
			name, v, _ := strings.Cut(c, ": ")
			switch strings.ToLower(name) {
			case "authorization":
				h.Set("X-Echo-Authorization", v)
			case "csp-auth-token":
				h.Set("X-Echo-Csp-Auth-Token", v)
			}
		}
		mb.changed[MisbehaveEchoAuth] = true
	}
	applied := status/100 == 2
	switch {
	case status >= 400:
		var extra string
		if mb.on[MisbehaveEchoAuth] && len(mb.creds) > 0 {
			extra += " [request " + strings.Join(mb.creds, "; ") + "]"
		}
		if mb.on[MisbehaveEscapeErrors] {
			extra += " " + EscapePayload
			mb.changed[MisbehaveEscapeErrors] = true
		}
		if extra != "" {
			body = rewriteJSON(body, func(v any) any { return appendToMessages(v, extra) })
		}
	case applied && len(body) > 0 && mb.class != classOther:
		body = s.rewriteItems(mb, body, r)
	}
	if applied && mb.class == classCreate {
		switch {
		case mb.on[MisbehaveCutCreate]:
			mb.changed[MisbehaveCutCreate] = true
			s.countMisbehaviours(mb)
			resetConn(w)
			return
		case mb.on[MisbehaveGarbageCreate]:
			if len(body) > 1 {
				body = body[:len(body)/2]
			} else {
				body = []byte("<html><body>502 Bad Gateway</body></html>")
			}
			h.Set("Content-Type", "application/json")
			mb.changed[MisbehaveGarbageCreate] = true
		}
		if mb.on[MisbehaveLateAnswer] {
			mb.changed[MisbehaveLateAnswer] = true
			s.countMisbehaviours(mb)
			if !sleep(r.Context(), mb.delay) {
				return // the client gave up; the create stays applied
			}
		}
	}
	var pad int64
	if applied && mb.class == classList && mb.on[MisbehaveHugeLists] && len(body) > 0 {
		pad = mb.huge
		mb.changed[MisbehaveHugeLists] = true
	}
	s.countMisbehaviours(mb)
	if len(body) != orig || pad > 0 {
		h.Set("Content-Length", strconv.FormatInt(int64(len(body))+pad, 10))
	}
	w.WriteHeader(status)
	if pad == 0 {
		_, _ = w.Write(body)
		return
	}
	// Whitespace after the opening bracket keeps the answer valid JSON.
	if _, err := w.Write(body[:1]); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte{' '}, 64<<10)
	for pad > 0 {
		n := min(pad, int64(len(chunk)))
		if _, err := w.Write(chunk[:n]); err != nil {
			return
		}
		pad -= n
	}
	_, _ = w.Write(body[1:])
}

// countMisbehaviours moves Stats.Misbehaviours once per answer.
func (s *Server) countMisbehaviours(mb *misbehaviour) {
	for k := range mb.changed {
		s.stats.misbehaved(k)
	}
	clear(mb.changed)
}

// rewriteItems applies the item and paging modes to a 2xx list, read or
// create answer.
func (s *Server) rewriteItems(mb *misbehaviour, body []byte, r *http.Request) []byte {
	fields, skew := mb.on[MisbehaveEscapeFields], mb.on[MisbehaveClockSkew]
	paging := mb.class == classList && (mb.on[MisbehaveOverlapPages] || mb.on[MisbehaveEndlessPages] || mb.on[MisbehaveCyclePages])
	if !fields && !skew && !paging {
		return body
	}
	now := s.now()
	return rewriteJSON(body, func(doc any) any {
		if paging {
			doc = mb.page(doc, r)
		}
		if fields || skew {
			forItems(doc, func(item map[string]any) {
				if skew && skewItem(item, now) {
					mb.changed[MisbehaveClockSkew] = true
				}
				if fields && escapeItem(item) {
					mb.changed[MisbehaveEscapeFields] = true
				}
			})
		}
		return doc
	})
}

// page applies the paging modes to one list answer.
func (mb *misbehaviour) page(doc any, r *http.Request) any {
	if arr, ok := doc.([]any); ok {
		// CSP: one unpaged array; overlap names every item twice.
		if mb.on[MisbehaveOverlapPages] && len(arr) > 0 {
			mb.changed[MisbehaveOverlapPages] = true
			return append(arr, arr...)
		}
		return doc
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	data, ok := obj["data"].([]any)
	meta, ok2 := obj["metadata"].(map[string]any)
	if !ok || !ok2 {
		return doc
	}
	realNext, _ := meta["next"].(string)
	realTok := ""
	if realNext != "" {
		if u, err := url.Parse(realNext); err == nil {
			realTok = u.Query().Get("page_token")
		}
	}
	if mb.prepend != nil {
		var item any
		if json.Unmarshal(mb.prepend, &item) == nil {
			data = append([]any{item}, data...)
			obj["data"] = data
			mb.changed[MisbehaveOverlapPages] = true
		}
	}
	m := mb.m
	switch {
	case mb.on[MisbehaveCyclePages]:
		next := "A"
		if mb.cycleWas == "A" {
			next = "B"
		}
		meta["next"] = withToken(realNext, meta, r, tokenMark+"c"+next)
		mb.changed[MisbehaveCyclePages] = true
	case mb.on[MisbehaveEndlessPages]:
		m.mu.Lock()
		m.seq++
		tok := fmt.Sprintf("%se%d.%s", tokenMark, m.seq, realTok)
		m.mu.Unlock()
		meta["next"] = withToken(realNext, meta, r, tok)
		mb.changed[MisbehaveEndlessPages] = true
	case mb.on[MisbehaveOverlapPages] && realNext != "" && len(data) > 0:
		last, err := json.Marshal(data[len(data)-1])
		if err != nil {
			return doc
		}
		m.mu.Lock()
		if len(m.overlap) >= maxOverlapMemory {
			m.overlap = map[string]overlapPage{}
		}
		m.seq++
		tok := fmt.Sprintf("%so%d", tokenMark, m.seq)
		m.overlap[tok] = overlapPage{real: realTok, item: last}
		m.mu.Unlock()
		meta["next"] = withToken(realNext, meta, r, tok)
	}
	return obj
}

// withToken is a next link carrying tok: the real next link, else the list's
// first link, else the request's own URL, with page_token replaced.
func withToken(next string, meta map[string]any, r *http.Request, tok string) string {
	base := next
	if base == "" {
		base, _ = meta["first"].(string)
	}
	u, err := url.Parse(base)
	if base == "" || err != nil {
		u = &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
	}
	q := u.Query()
	if next == "" && r.Method == http.MethodGet {
		// Keep the request's filters and page size, as a real next link does.
		for k, v := range r.URL.Query() {
			q[k] = v
		}
	}
	q.Set("page_token", tok)
	u.RawQuery = q.Encode()
	return u.String()
}

// forItems calls fn on each invitation or user object of an answer: the
// items of data (Confluent, Azure lists), of a bare array (CSP list), or the
// answer itself (one invitation).
func forItems(doc any, fn func(map[string]any)) {
	switch d := doc.(type) {
	case []any:
		for _, it := range d {
			if m, ok := it.(map[string]any); ok {
				fn(m)
			}
		}
	case map[string]any:
		if data, ok := d["data"].([]any); ok {
			forItems(data, fn)
			return
		}
		fn(d)
	}
}

func isPendingStatus(s string) bool {
	return s == statusSent || s == statusStaged || s == cspAvailable
}

// skewItem moves a pending item's expiry ClockSkewAge into the past, and its
// creation by as much, keeping the status as it is.
func skewItem(item map[string]any, now time.Time) bool {
	st, _ := item["status"].(string)
	if !isPendingStatus(st) {
		return false
	}
	target := now.Add(-ClockSkewAge)
	if s, ok := item["expires_at"].(string); ok && s != "" {
		exp, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return false
		}
		delta := exp.Sub(target)
		item["expires_at"] = rfc3339(target)
		if meta, ok := item["metadata"].(map[string]any); ok {
			if c, ok := meta["created_at"].(string); ok {
				if ct, err := time.Parse(time.RFC3339Nano, c); err == nil {
					meta["created_at"] = rfc3339(ct.Add(-delta))
				}
			}
		}
		return true
	}
	if n, ok := item["expirationTime"].(json.Number); ok {
		ms, err := n.Int64()
		if err != nil {
			return false
		}
		delta := ms - target.UnixMilli()
		item["expirationTime"] = json.Number(strconv.FormatInt(target.UnixMilli(), 10))
		if g, ok := item["generatedAt"].(json.Number); ok {
			if gm, err := g.Int64(); err == nil {
				item["generatedAt"] = json.Number(strconv.FormatInt(gm-delta, 10))
			}
		}
		return true
	}
	return false
}

// escapeItem puts EscapePayload in an item's email display part and after
// its status, auth type and inviter.
func escapeItem(item map[string]any) bool {
	changed := false
	for _, k := range []string{"email", "username"} {
		if v, ok := item[k].(string); ok && v != "" {
			item[k] = `"` + EscapePayload + `Name" <` + v + `>`
			changed = true
		}
	}
	for _, k := range []string{"status", "auth_type", "invitedByUsername"} {
		if v, ok := item[k].(string); ok && v != "" {
			item[k] = v + EscapePayload
			changed = true
		}
	}
	return changed
}

// appendToMessages appends extra to every message, detail and title string
// of an error body, at any depth.
func appendToMessages(v any, extra string) any {
	switch d := v.(type) {
	case map[string]any:
		for k, x := range d {
			if s, ok := x.(string); ok && (k == "message" || k == "detail" || k == "title") {
				d[k] = s + extra
				continue
			}
			d[k] = appendToMessages(x, extra)
		}
	case []any:
		for i := range d {
			d[i] = appendToMessages(d[i], extra)
		}
	}
	return v
}

// rewriteJSON decodes body (numbers kept as written), applies fn and encodes
// it again; a body that is not JSON is returned unchanged.
func rewriteJSON(body []byte, fn func(any) any) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return body
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fn(doc)); err != nil {
		return body
	}
	return out.Bytes()
}

// detach is the request with a context the client's departure does not
// cancel: a held create lands even when nobody waits for its answer.
func detach(r *http.Request) *http.Request {
	return r.WithContext(context.WithoutCancel(r.Context()))
}
