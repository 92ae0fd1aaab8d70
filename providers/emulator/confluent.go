package emulator

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Confluent Cloud IAM v2.

const (
	confluentList   = "GET /iam/v2/invitations"
	confluentCreate = "POST /iam/v2/invitations"
	confluentGet    = "GET /iam/v2/invitations/{id}"
	confluentDelete = "DELETE /iam/v2/invitations/{id}"
	confluentAPIKey = "GET /iam/v2/api-keys/{key}"
)

func (s *Server) confluentRoutes() []*route {
	return append(s.confluentAccessRoutes(), []*route{
		{api: APIConfluent, pattern: confluentList, h: s.confluentList},
		{api: APIConfluent, pattern: confluentCreate, write: true, h: s.confluentCreate, dupes: s.confluentDupes},
		{api: APIConfluent, pattern: confluentGet, h: s.confluentGet},
		{api: APIConfluent, pattern: confluentDelete, write: true, h: s.confluentDelete},
		{api: APIConfluent, pattern: confluentAPIKey, h: s.confluentWhoAmI},
		{api: APIConfluent, pattern: "/iam/", h: func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
			if s.confluentAuth(w, r, rc) {
				writeConfluentError(w, rc, http.StatusNotFound, "", "Not Found", "", "", "")
			}
		}},
	}...)
}

// ---- wire types ----

type confluentFailure struct {
	Errors []confluentErr `json:"errors"`
}

type confluentErr struct {
	ID     string           `json:"id,omitempty"`
	Status string           `json:"status"` // the HTTP status as a string
	Code   string           `json:"code,omitempty"`
	Title  string           `json:"title,omitempty"`
	Detail string           `json:"detail,omitempty"`
	Source *confluentSource `json:"source,omitempty"`
}

type confluentSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

type objectMeta struct {
	Self         string `json:"self"`
	ResourceName string `json:"resource_name,omitempty"`
	CreatedAt    string `json:"created_at,omitempty"`
	UpdatedAt    string `json:"updated_at,omitempty"`
	DeletedAt    string `json:"deleted_at,omitempty"`
}

type globalRef struct {
	ID           string `json:"id"`
	Related      string `json:"related"`
	ResourceName string `json:"resource_name"`
}

// confluentInvitation is iam.v2.Invitation.
type confluentInvitation struct {
	APIVersion string     `json:"api_version"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   objectMeta `json:"metadata"`
	Email      string     `json:"email"`
	AuthType   string     `json:"auth_type,omitempty"`
	Status     string     `json:"status"`
	AcceptedAt *string    `json:"accepted_at"` // nullable upstream: null until accepted
	ExpiresAt  string     `json:"expires_at,omitempty"`
	User       *globalRef `json:"user,omitempty"`
	Creator    *globalRef `json:"creator,omitempty"`
}

type listMeta struct {
	First     string `json:"first,omitempty"`
	Next      string `json:"next,omitempty"` // absent on the last page
	TotalSize int    `json:"total_size"`
}

type confluentInvitationList struct {
	APIVersion string                `json:"api_version"`
	Kind       string                `json:"kind"`
	Metadata   listMeta              `json:"metadata"`
	Data       []confluentInvitation `json:"data"`
}

// rfc3339 renders an upstream timestamp (UTC, seconds).
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeConfluentError(w http.ResponseWriter, rc *reqCtx, status int, code, title, detail, pointer, parameter string) {
	e := confluentErr{ID: rc.id, Status: strconv.Itoa(status), Code: code, Title: title, Detail: detail}
	if pointer != "" || parameter != "" {
		e.Source = &confluentSource{Pointer: pointer, Parameter: parameter}
	}
	writeJSON(w, status, confluentFailure{Errors: []confluentErr{e}})
}

// confluentAuth checks HTTP Basic key:secret; on failure it answers 401.
func (s *Server) confluentAuth(w http.ResponseWriter, r *http.Request, rc *reqCtx) bool {
	_, ok := s.confluentAuthAs(w, r, rc)
	return ok
}

// confluentAuthAs checks HTTP Basic key:secret against the emulator's key
// and, when configured, the second key (a second org behind the same host);
// an unknown key or a wrong secret answers 401, as upstream does.
func (s *Server) confluentAuthAs(w http.ResponseWriter, r *http.Request, rc *reqCtx) (confluentCaller, bool) {
	k, sec, ok := r.BasicAuth()
	if ok && subtle.ConstantTimeCompare([]byte(k), []byte(s.cfg.ConfluentKey)) == 1 &&
		subtle.ConstantTimeCompare([]byte(sec), []byte(s.cfg.ConfluentSecret)) == 1 {
		return confluentCaller{key: k, principal: s.cfg.ConfluentPrincipal}, true
	}
	if c := s.cfg.Confluent; ok && c.SecondKey != "" && subtle.ConstantTimeCompare([]byte(k), []byte(c.SecondKey)) == 1 &&
		subtle.ConstantTimeCompare([]byte(sec), []byte(c.SecondSecret)) == 1 {
		p := c.SecondPrincipal
		if p == "" {
			p = DefaultConfluentSecondPrincipal
		}
		return confluentCaller{second: true, key: k, principal: p}, true
	}
	// The header value is the spec's own example.
	w.Header().Set("WWW-Authenticate", `Basic error="invalid_key", error_description="The API Key is invalid"`)
	writeConfluentError(w, rc, http.StatusUnauthorized, "user_unauthenticated", "Unauthenticated", "The API Key is invalid", "", "")
	return confluentCaller{}, false
}

// renderConfluent builds the wire form of inv (store lock held).
func renderConfluent(inv *cInv, org *cOrg, base string, now time.Time) confluentInvitation {
	crn := "crn://confluent.cloud/organization=" + org.ID
	out := confluentInvitation{
		APIVersion: "iam/v2",
		Kind:       "Invitation",
		ID:         inv.ID,
		Metadata: objectMeta{
			Self:         base + "/iam/v2/invitations/" + inv.ID,
			ResourceName: crn + "/invitation=" + inv.ID,
			CreatedAt:    rfc3339(inv.CreatedAt),
			UpdatedAt:    rfc3339(inv.UpdatedAt),
			DeletedAt:    rfc3339(inv.DeletedAt),
		},
		Email:     inv.Email,
		AuthType:  inv.AuthType,
		Status:    inv.status(now),
		ExpiresAt: rfc3339(inv.ExpiresAt),
	}
	if !inv.AcceptedAt.IsZero() {
		a := rfc3339(inv.AcceptedAt)
		out.AcceptedAt = &a
	}
	if inv.UserID != "" {
		out.User = &globalRef{ID: inv.UserID, Related: base + "/iam/v2/users/" + inv.UserID, ResourceName: crn + "/user=" + inv.UserID}
	}
	if inv.CreatorID != "" {
		out.Creator = &globalRef{ID: inv.CreatorID, Related: base + "/iam/v2/users/" + inv.CreatorID, ResourceName: crn + "/user=" + inv.CreatorID}
	}
	return out
}

// ---- paging (shared with Azure) ----

// Page tokens encode the sequence number of the last item served; items list
// in creation order, so a page boundary is stable under concurrent inserts.
// Opaque to clients (upstream says so); the format is the emulator's.
func encodePageToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("p1." + strconv.FormatInt(seq, 10)))
}

func decodePageToken(tok string) (int64, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), "p1.") {
		return 0, errors.New("invalid page token")
	}
	n, err := strconv.ParseInt(string(b[3:]), 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("invalid page token")
	}
	return n, nil
}

// parsePageSize reads page_size: default DefaultPageSize, clamped to max
// (clamping is the gentler guess; the real API's answer is not published).
func parsePageSize(s string, maxSize int) (int, error) {
	if s == "" {
		return min(DefaultPageSize, maxSize), nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return 0, errors.New("page size must be a positive integer")
	}
	return min(n, maxSize), nil
}

// cFilter is a list's exact-match filters ("" = any). exactEmail makes the
// email filter byte-exact, as upstream documents; otherwise it folds case.
type cFilter struct {
	email, status, user, creator string
	exactEmail                   bool
}

func (f cFilter) match(inv *cInv, now time.Time) bool {
	return (!f.exactEmail || f.email == "" || inv.Email == f.email) &&
		(f.status == "" || inv.status(now) == f.status) &&
		(f.user == "" || inv.UserID == f.user) &&
		(f.creator == "" || inv.CreatorID == f.creator)
}

// page returns up to size invitations after seq matching f, the number of
// all matches (total_size) and whether more follow. Store lock held. Without
// filters it touches only the page; the email filter uses the index.
func (o *cOrg) page(after int64, size int, f cFilter, now time.Time) (out []*cInv, total int, more bool) {
	cands := o.Invs
	if f.email != "" {
		// The index folds case; exactEmail narrows it in match.
		cands = o.byEmail[key(f.email)]
	}
	start := sort.Search(len(cands), func(i int) bool { return cands[i].Seq > after })
	if f.status == "" && f.user == "" && f.creator == "" && (!f.exactEmail || f.email == "") {
		end := min(start+size, len(cands))
		return cands[start:end:end], len(cands), end < len(cands)
	}
	for i, inv := range cands {
		if !f.match(inv, now) {
			continue
		}
		total++
		if i < start {
			continue
		}
		if len(out) < size {
			out = append(out, inv)
		} else {
			more = true
		}
	}
	return out, total, more
}

// ---- handlers ----

func (s *Server) confluentList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	q := r.URL.Query()
	size, err := parsePageSize(q.Get("page_size"), s.cfg.PageSizeMax)
	if err != nil {
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_page_size", "Invalid Page Size", err.Error(), "", "page_size")
		return
	}
	after, err := decodePageToken(q.Get("page_token"))
	if err != nil {
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_page_token", "Invalid Page Token", err.Error(), "", "page_token")
		return
	}
	f := cFilter{email: q.Get("email"), status: q.Get("status"), user: q.Get("user"), creator: q.Get("creator"),
		exactEmail: s.cfg.Confluent.EmailFilter != ConfluentEmailFold}

	s.mu.Lock()
	now := s.now()
	org := s.confluentOrgLocked(c)
	items, total, more := org.page(after, size, f, now)
	data := make([]confluentInvitation, len(items))
	for i, inv := range items {
		data[i] = renderConfluent(inv, org, rc.base, now)
	}
	var last int64
	if len(items) > 0 {
		last = items[len(items)-1].Seq
	}
	s.mu.Unlock()

	out := confluentInvitationList{
		APIVersion: "iam/v2", Kind: "InvitationList", Data: data,
		Metadata: listMeta{First: rc.base + "/iam/v2/invitations", TotalSize: total},
	}
	if more {
		// The contract's form is ?page_size=N&page_token=T; the filters are
		// carried too, so following next keeps them.
		v := url.Values{}
		v.Set("page_size", strconv.Itoa(size))
		v.Set("page_token", encodePageToken(last))
		for k, val := range map[string]string{"email": f.email, "status": f.status, "user": f.user, "creator": f.creator} {
			if val != "" {
				v.Set(k, val)
			}
		}
		out.Metadata.Next = rc.base + "/iam/v2/invitations?" + v.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

type confluentCreateBody struct {
	Email    string `json:"email"`
	AuthType string `json:"auth_type"`
}

// confluentDupes counts a create for an email with a pending invitation.
func (s *Server) confluentDupes(r *http.Request, body []byte) int {
	var b confluentCreateBody
	if json.Unmarshal(body, &b) != nil || b.Email == "" {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org := s.st.Confluent
	if k, _, ok := r.BasicAuth(); ok && s.cfg.Confluent.SecondKey != "" && k == s.cfg.Confluent.SecondKey && s.st.ConfluentSecond != nil {
		org = s.st.ConfluentSecond
	}
	if org.pendingFor(b.Email, s.now()) != nil {
		return 1
	}
	return 0
}

func validAuthType(a string) bool { return a == "" || a == authLocal || a == authSSO }

func (s *Server) confluentCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	var body confluentCreateBody
	empty, err := decodeBody(w, r, &body)
	switch {
	case err != nil:
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_input", "Bad Request", err.Error(), "", "")
		return
	case empty:
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_input", "Bad Request", "request body is required", "", "")
		return
	}
	email := strings.TrimSpace(body.Email)
	if s.cfg.Confluent.EmailCase == ConfluentEmailLower {
		email = strings.ToLower(email)
	}
	// Validation answers 422 invalid_configuration, the spec's "Validation
	// Failed" example (which code each check gets upstream: emulator guess).
	if email == "" {
		writeConfluentError(w, rc, http.StatusUnprocessableEntity, "invalid_configuration", "Validation Failed", "email is required", "/email", "")
		return
	}
	if !validEmail(email) {
		writeConfluentError(w, rc, http.StatusUnprocessableEntity, "invalid_configuration", "Validation Failed", "email is not a valid email address", "/email", "")
		return
	}
	if !validAuthType(body.AuthType) {
		writeConfluentError(w, rc, http.StatusUnprocessableEntity, "invalid_configuration", "Validation Failed",
			"auth_type must be AUTH_TYPE_LOCAL or AUTH_TYPE_SSO", "/auth_type", "")
		return
	}

	s.mu.Lock()
	now := s.now()
	org := s.confluentOrgLocked(c)
	if p := org.pendingFor(email, now); p != nil && s.cfg.Confluent.Duplicate != ConfluentDuplicate201 {
		s.mu.Unlock()
		// 409 + Location of the existing one: UNCONFIRMED upstream.
		w.Header().Set("Location", rc.base+"/iam/v2/invitations/"+p.ID)
		writeConfluentError(w, rc, http.StatusConflict, "resource_already_exists", "Resource Already Exists",
			"An invitation for this email already exists", "/email", "")
		return
	}
	if org.isMember(email) {
		s.mu.Unlock()
		// No Location: the person is in (emulator guess).
		writeConfluentError(w, rc, http.StatusConflict, "resource_already_exists", "Resource Already Exists",
			"User is already a member of the organization", "/email", "")
		return
	}
	inv := org.add(s.st, email, body.AuthType, c.principal, now, now.Add(s.cfg.ConfluentInviteTTL))
	out := renderConfluent(inv, org, rc.base, now)
	gen := s.changedLocked()
	s.mu.Unlock()

	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APIConfluent, rc, err)
		return
	}
	w.Header().Set("Location", out.Metadata.Self)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) confluentGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now()
	org := s.confluentOrgLocked(c)
	inv := org.byID[r.PathValue("id")]
	var out confluentInvitation
	if inv != nil {
		out = renderConfluent(inv, org, rc.base, now)
	}
	s.mu.Unlock()
	if inv == nil {
		writeConfluentError(w, rc, http.StatusNotFound, "", "Not Found", "", "", "")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) confluentDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now()
	inv := s.confluentOrgLocked(c).byID[r.PathValue("id")]
	switch {
	case inv == nil:
		s.mu.Unlock()
		writeConfluentError(w, rc, http.StatusNotFound, "", "Not Found", "", "", "")
		return
	case inv.status(now) == statusAccepted:
		s.mu.Unlock()
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_input", "Bad Request",
			"Bad Request. The invitation was already accepted", "", "")
		return
	case !inv.pending(now):
		// Already deactivated or expired: 204 again (idempotent, emulator guess).
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// The invitation stays listed as DEACTIVATED (UNCONFIRMED upstream).
	inv.Status = statusDeactivated
	inv.DeletedAt = now
	inv.UpdatedAt = now
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APIConfluent, rc, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiKeyObject is the api-key object of who-am-I; its shape is
// UNCONFIRMED upstream.
type apiKeyObject struct {
	APIVersion string     `json:"api_version"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		DisplayName string `json:"display_name"`
		Description string `json:"description"`
		Owner       struct {
			ID           string `json:"id"`
			Related      string `json:"related"`
			ResourceName string `json:"resource_name"`
			Kind         string `json:"kind"`
		} `json:"owner"`
	} `json:"spec"`
}

func (s *Server) confluentWhoAmI(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	s.mu.Lock()
	org := s.confluentOrgLocked(c)
	orgID := org.ID
	var seeded *apiKeyWire
	if r.PathValue("key") != c.key {
		for _, k := range org.Keys {
			if k.ID == r.PathValue("key") {
				kw := renderKey(k, org, rc.base)
				seeded = &kw
			}
		}
	}
	s.mu.Unlock()
	switch {
	case seeded != nil:
		writeJSON(w, http.StatusOK, seeded)
		return
	case r.PathValue("key") != c.key:
		// Another org's key, or none at all: not found from here.
		writeConfluentError(w, rc, http.StatusNotFound, "", "Not Found", "", "", "")
		return
	}
	crn := "crn://confluent.cloud/organization=" + orgID
	var k apiKeyObject
	k.APIVersion, k.Kind, k.ID = "iam/v2", "ApiKey", c.key
	k.Metadata = objectMeta{
		Self:         rc.base + "/iam/v2/api-keys/" + c.key,
		ResourceName: crn + "/api-key=" + c.key,
		CreatedAt:    rfc3339(s.started),
		UpdatedAt:    rfc3339(s.started),
	}
	k.Spec.DisplayName = "invitesync emulator key"
	k.Spec.Description = "the key the emulator accepts"
	p := c.principal
	k.Spec.Owner.ID, k.Spec.Owner.Kind = p, "User"
	k.Spec.Owner.Related = rc.base + "/iam/v2/users/" + p
	k.Spec.Owner.ResourceName = crn + "/user=" + p
	writeJSON(w, http.StatusOK, k)
}
