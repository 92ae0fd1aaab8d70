package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Control endpoints (never rate limited, faulted or counted):
//
//	GET  /_emulator/stats    Stats as JSON
//	POST /_emulator/reset    empty the store and the counters
//	POST /_emulator/accept   {"api":"confluent"|"csp"|"azure","email":"...","org":"..."}: the
//	                         newest pending invitation of email is accepted (REDEEMED on CSP);
//	                         org is the CSP orgId, Azure "sub/rg/org", or for confluent "" or the second org's id
//	POST /_emulator/expire   same body: the newest pending invitation's expiry moves into the past
//	POST /_emulator/faults   {"rate":0.2,"kinds":["reset"]}: change fault injection at run time
//	GET  /_emulator/faults   the current fault rate and kinds
//	POST /_emulator/misbehave {"modes":["overlap-pages",...],"delay":"3s","huge_bytes":N}: switch
//	                         the misbehaviour modes (misbehave.go; [] = all off); delay and
//	                         huge_bytes are optional and keep their value when absent
//	GET  /_emulator/misbehave {"modes":[...],"delay":"3s","huge_bytes":N,"held":n} (held: creates
//	                         late-land holds right now)
//
// They answer 204 on success, or {"error": "..."} with 400/404.

func (s *Server) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_emulator/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /_emulator/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_emulator/accept", func(w http.ResponseWriter, r *http.Request) {
		s.controlInvitation(w, r, s.Accept)
	})
	mux.HandleFunc("POST /_emulator/expire", func(w http.ResponseWriter, r *http.Request) {
		s.controlInvitation(w, r, s.Expire)
	})
	mux.HandleFunc("POST /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Rate  *float64 `json:"rate"`
			Kinds []string `json:"kinds"`
		}
		if err := decodeControl(w, r, &body); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		if body.Rate == nil || *body.Rate < 0 || *body.Rate > 1 {
			controlError(w, http.StatusBadRequest, errors.New("rate: want a number in 0..1"))
			return
		}
		if err := checkFaultKinds(body.Kinds); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		s.SetFaults(*body.Rate, body.Kinds)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/faults", func(w http.ResponseWriter, r *http.Request) {
		rate, kinds := s.faults.current()
		writeJSON(w, http.StatusOK, map[string]any{"rate": rate, "kinds": kinds})
	})
	mux.HandleFunc("POST /_emulator/misbehave", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Modes     *[]string `json:"modes"`
			Delay     string    `json:"delay"`
			HugeBytes int64     `json:"huge_bytes"`
		}
		if err := decodeControl(w, r, &body); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		if body.Modes == nil {
			controlError(w, http.StatusBadRequest, errors.New("modes: want a list of modes ([] turns them all off)"))
			return
		}
		var delay time.Duration
		if body.Delay != "" {
			d, err := time.ParseDuration(body.Delay)
			if err != nil || d <= 0 {
				controlError(w, http.StatusBadRequest, fmt.Errorf("delay %q: want a positive Go duration such as 3s", body.Delay))
				return
			}
			delay = d
		}
		if body.HugeBytes < 0 {
			controlError(w, http.StatusBadRequest, errors.New("huge_bytes: want a positive byte count"))
			return
		}
		if err := s.SetMisbehave(*body.Modes, delay, body.HugeBytes); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_emulator/misbehave", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Misbehave())
	})
	mux.HandleFunc("/_emulator/", func(w http.ResponseWriter, r *http.Request) {
		controlError(w, http.StatusNotFound, fmt.Errorf("no control endpoint %s %s", r.Method, r.URL.Path))
	})
}

// ErrNoPending is returned by Accept and Expire when the email has no
// pending invitation there.
var ErrNoPending = errors.New("no pending invitation")

func (s *Server) controlInvitation(w http.ResponseWriter, r *http.Request, fn func(api, org, email string) error) {
	var body struct {
		API   string `json:"api"`
		Org   string `json:"org"`
		Email string `json:"email"`
	}
	if err := decodeControl(w, r, &body); err != nil {
		controlError(w, http.StatusBadRequest, err)
		return
	}
	if err := fn(body.API, body.Org, body.Email); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrNoPending) {
			code = http.StatusNotFound
		}
		controlError(w, code, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("request body is required")
		}
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

func controlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// Accept accepts email's newest pending invitation, as the invitee would:
// INVITE_STATUS_ACCEPTED with accepted_at (Confluent, Azure) or REDEEMED
// with redeemedAt/redeemedBy (CSP). org is the CSP orgId or the Azure
// "subscriptionId/resourceGroup/organizationName"; for Confluent "" (the
// first org) or the second org's id.
func (s *Server) Accept(api, org, email string) error {
	return s.changeInvitation(api, org, email, "accept", func(ci *cOrg, inv *cInv, csp *cspInv, now time.Time) {
		switch {
		case inv != nil:
			ci.accept(s.st, inv, now)
		case csp != nil:
			csp.Status, csp.RedeemedAt, csp.RedeemedBy = cspRedeemed, now, csp.Username
		}
	})
}

// Expire moves the expiry of email's newest pending invitation into the
// past (a second ago), so it reads as expired from now on.
func (s *Server) Expire(api, org, email string) error {
	return s.changeInvitation(api, org, email, "expire", func(ci *cOrg, inv *cInv, csp *cspInv, now time.Time) {
		past := now.Add(-time.Second)
		switch {
		case inv != nil:
			inv.ExpiresAt = past
			if !inv.CreatedAt.Before(past) {
				inv.CreatedAt = past.Add(-time.Second)
			}
		case csp != nil:
			csp.ExpiresAt = past
			if !csp.GeneratedAt.Before(past) {
				csp.GeneratedAt = past.Add(-time.Second)
			}
		}
	})
}

func (s *Server) changeInvitation(api, org, email, what string, fn func(*cOrg, *cInv, *cspInv, time.Time)) error {
	if strings.TrimSpace(email) == "" {
		return fmt.Errorf("%s: email is required", what)
	}
	s.mu.Lock()
	now := s.now()
	var (
		co  *cOrg
		inv *cInv
		ci  *cspInv
	)
	switch api {
	case APIConfluent:
		co = s.confluentOrgFor(org)
		inv = co.pendingFor(email, now)
	case APIAzure:
		if org == "" {
			s.mu.Unlock()
			return fmt.Errorf("%s: azure needs org (subscriptionId/resourceGroup/organizationName)", what)
		}
		if co = s.st.azureOrg(org, false); co != nil {
			inv = co.pendingFor(email, now)
		}
	case APICSP:
		if org == "" {
			s.mu.Unlock()
			return fmt.Errorf("%s: csp needs org (the orgId)", what)
		}
		if o := s.st.cspOrgFor(org, false); o != nil {
			ci = o.pendingFor(email, now)
		}
	default:
		s.mu.Unlock()
		return fmt.Errorf("%s: api %q: want confluent, csp or azure", what, api)
	}
	if inv == nil && ci == nil {
		s.mu.Unlock()
		return fmt.Errorf("%s %s %s: %w", what, api, email, ErrNoPending)
	}
	fn(co, inv, ci, now)
	if inv != nil {
		inv.UpdatedAt = now
	}
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(context.Background(), gen); err != nil {
		return fmt.Errorf("%s: save state: %w", what, err)
	}
	return nil
}
