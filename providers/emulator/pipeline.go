package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// maxBody bounds every request body the emulator reads.
const maxBody = 1 << 20

// route is one API endpoint and what the pipeline needs to know about it.
type route struct {
	api     string // APIConfluent, APICSP, APIAzure, or "" for unknown paths
	pattern string // ServeMux pattern, also the by_route key
	write   bool   // changes state: 500/reset faults apply it first half of the time
	// dupes, for create endpoints, counts the emails of the request body that
	// already have a pending invitation (Stats.DuplicateCreates).
	dupes func(r *http.Request, body []byte) int
	h     func(w http.ResponseWriter, r *http.Request, rc *reqCtx)
}

// reqCtx is what a handler needs besides the request.
type reqCtx struct {
	id   string // request id
	base string // scheme://host of this request, for absolute links
}

// routes builds the ServeMux: every API endpoint goes through s.serve.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	add := func(rt *route) {
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) { s.serve(rt, w, r) })
	}
	for _, rt := range s.confluentRoutes() {
		add(rt)
	}
	for _, rt := range s.cspRoutes() {
		add(rt)
	}
	for _, rt := range s.azureRoutes() {
		add(rt)
	}
	// Paths no endpoint matches still get their API's error shape.
	add(&route{api: "", pattern: "/", h: func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		http.Error(w, "404 page not found", http.StatusNotFound)
	}})
	s.controlRoutes(mux)
	return mux
}

// routeKey is the by_route key: the pattern, with CSP's revoke (same path,
// ?action=revoke) told apart from invite.
func routeKey(rt *route, r *http.Request) string {
	if rt.api == APICSP && rt.pattern == cspInvitationsPOST && r.URL.Query().Get("action") != "" {
		return rt.pattern + "?action=" + r.URL.Query().Get("action")
	}
	return rt.pattern
}

// serve runs one API request: request id, duplicate-create count, latency,
// rate limit, fault, handler, then counts the answer. Misbehaviour modes
// (misbehave.go) rewrite the request first and the answer last.
func (s *Server) serve(rt *route, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rc := &reqCtx{id: s.newRequestID(), base: "http://" + r.Host}
	if r.TLS != nil {
		rc.base = "https://" + r.Host
	}
	switch rt.api {
	case APIAzure:
		w.Header().Set("x-ms-request-id", rc.id)
	default:
		// Confluent sends X-Request-Id on every answer; CSP's header is not
		// documented (its error body carries requestId): emulator guess.
		w.Header().Set("X-Request-Id", rc.id)
	}
	rk := routeKey(rt, r)
	// Counters move before the answer leaves (the request now, its status in
	// WriteHeader), so a client that reads Stats right after an answer sees it.
	s.stats.arrived(rk)
	rec := &recorder{ResponseWriter: w, stats: &s.stats}
	fault := ""
	defer func() {
		s.log.Debug().Str("request_id", rc.id).Str("method", r.Method).Str("path", r.URL.Path).
			Str("route", rk).Int("status", rec.status).Str("fault", fault).
			Dur("latency", time.Since(start)).Msg("request")
	}()

	// out is where the answer is written: the recorder, or a buffer that a
	// misbehaviour rewrites before it goes out.
	var out http.ResponseWriter = rec
	mb := s.misbehave.begin(rt, r)
	hijacked := false
	if mb != nil {
		mb.pre(r)
		buf := &bufWriter{rw: rec}
		out = buf
		defer func() {
			if !hijacked {
				s.finishMisbehaviour(mb, rec, buf, r)
			}
		}()
	}

	var createBody []byte
	if rt.dupes != nil {
		// Read the body once here so a create is counted however it is
		// answered (rate limited, faulted, refused or done).
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			s.writeError(out, rt.api, rc, http.StatusBadRequest, "request body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		createBody = body
		// A create that late-land holds will land: one for the same email
		// meanwhile is a duplicate too.
		if n := max(rt.dupes(r, body), s.misbehave.heldDupes(r, body)); n > 0 {
			s.stats.addDuplicates(n)
		}
	}

	if s.cfg.Latency > 0 && !sleep(r.Context(), s.cfg.Latency) {
		return
	}

	if s.limiter != nil {
		lim := s.limiter.take(time.Now())
		s.rateHeaders(out, rt.api, lim)
		if !lim.ok {
			s.stats.rateLimited()
			s.writeTooMany(out, rt.api, rc, lim.retryAfter)
			return
		}
	}

	kind, applyFirst := s.faults.draw(rt.write)
	fault = kind
	if kind != "" {
		s.stats.faulted(kind)
	}
	switch kind {
	case Fault429:
		s.writeTooMany(out, rt.api, rc, 1)
		return
	case Fault503:
		s.writeError(out, rt.api, rc, http.StatusServiceUnavailable, "service unavailable (injected fault)")
		return
	case Fault500:
		if applyFirst {
			rt.h(&discard{h: http.Header{}}, r, rc)
		}
		s.writeError(out, rt.api, rc, http.StatusInternalServerError, "internal error (injected fault)")
		return
	case FaultReset:
		if applyFirst {
			rt.h(&discard{h: http.Header{}}, r, rc)
		}
		hijacked = true
		resetConn(w)
		return
	case FaultSlow:
		if !sleep(r.Context(), SlowFaultDelay) {
			return
		}
	}
	if mb != nil && mb.on[MisbehaveLateLand] {
		release := mb.hold(r, createBody)
		mb.changed[MisbehaveLateLand] = true
		r = detach(r)
		rt.h(out, r, rc)
		release()
		return
	}
	rt.h(out, r, rc)
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// resetConn hijacks the connection and closes it with SO_LINGER 0, so the
// client sees a reset rather than an orderly end.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Cannot hijack (HTTP/2): the nearest thing is an aborted handler.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// recorder remembers the status code written and counts it before the
// answer goes out.
type recorder struct {
	http.ResponseWriter
	stats  *counters
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.stats.answered(code)
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// discard is where a handler writes when a fault replaces its answer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// rateHeaders sets the API's rate-limit headers on every limited answer.
func (s *Server) rateHeaders(w http.ResponseWriter, api string, lim limit) {
	switch api {
	case APIConfluent:
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(lim.limit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(lim.remaining))
		w.Header().Set("X-RateLimit-Reset", strconv.Itoa(lim.reset))
	case APIAzure:
		// ARM's remaining write budget (every access action is a POST, a write).
		w.Header().Set("x-ms-ratelimit-remaining-subscription-writes", strconv.Itoa(lim.remaining))
	}
}

// writeTooMany answers 429 in the API's shape with Retry-After seconds.
func (s *Server) writeTooMany(w http.ResponseWriter, api string, rc *reqCtx, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(max(retryAfter, 1)))
	switch api {
	case APIConfluent:
		// The spec gives 429 no body: headers only.
		w.WriteHeader(http.StatusTooManyRequests)
	case APICSP:
		// Headers on CSP's 429 are UNCONFIRMED upstream; emulator guess: Retry-After only.
		writeCSPError(w, rc, http.StatusTooManyRequests, "The user has sent too many requests")
	case APIAzure:
		writeARMError(w, http.StatusTooManyRequests, "TooManyRequests", "The request was throttled. Retry after the number of seconds in the Retry-After header.")
	default:
		w.WriteHeader(http.StatusTooManyRequests)
	}
}

// writeError answers a generic error (faults, bad bodies) in the API's shape.
func (s *Server) writeError(w http.ResponseWriter, api string, rc *reqCtx, status int, msg string) {
	switch api {
	case APIConfluent:
		code := map[int]string{500: "internal_server_error", 503: "service_unavailable", 400: "bad_request"}[status]
		writeConfluentError(w, rc, status, code, http.StatusText(status), msg, "", "")
	case APICSP:
		writeCSPError(w, rc, status, msg)
	case APIAzure:
		code := map[int]string{500: "InternalServerError", 503: "ServiceUnavailable", 400: "InvalidRequestContent"}[status]
		writeARMError(w, status, code, msg)
	default:
		http.Error(w, msg, status)
	}
}

// writeJSON answers status with v as JSON (no HTML escaping: next links
// keep their '&' readable, as the real APIs write them).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeRawJSON(w, status, buf.Bytes())
}

func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeBody reads a JSON body into v. empty reports an absent body.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) (empty bool, err error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return false, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return true, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return false, errors.New("malformed JSON")
		case errors.As(err, &te):
			return false, errors.New("field " + te.Field + ": wrong type")
		}
		return false, err
	}
	return false, nil
}

// saveFailed answers a change that could not be made durable.
func (s *Server) saveFailed(w http.ResponseWriter, api string, rc *reqCtx, err error) {
	s.log.Error().Err(err).Str("request_id", rc.id).Msg("emulator: save state")
	s.writeError(w, api, rc, http.StatusInternalServerError, "the change could not be saved")
}
