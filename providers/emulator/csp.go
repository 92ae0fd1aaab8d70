package emulator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// VMware CSP: the CSP IAM reference ("Invite Users Using POST", the
// invitations list, get and delete pages, the API-token exchange).

const (
	cspAuthorize       = "POST /csp/gateway/am/api/auth/api-tokens/authorize"
	cspLoggedIn        = "GET /csp/gateway/am/api/loggedin/user"
	cspInvitationsPOST = "POST /csp/gateway/am/api/orgs/{orgId}/invitations"
	cspInvitationsGET  = "GET /csp/gateway/am/api/orgs/{orgId}/invitations"
	cspInvitationGET   = "GET /csp/gateway/am/api/orgs/{orgId}/invitations/{invitationId}"
	cspInvitationDEL   = "DELETE /csp/gateway/am/api/orgs/{orgId}/invitations/{invitationId}"

	// Limits from the "Invite Users Using POST" reference.
	maxCustomGroups   = 15
	minExpiryDays     = 1
	maxExpiryDays     = 90
	defaultExpiryDays = 7
)

func (s *Server) cspRoutes() []*route {
	return append(s.cspUserRoutes(), []*route{
		{api: APICSP, pattern: cspAuthorize, h: s.cspAuthorize},
		{api: APICSP, pattern: cspLoggedIn, h: s.cspLoggedIn},
		{api: APICSP, pattern: cspInvitationsPOST, write: true, h: s.cspInvitationsPost, dupes: s.cspDupes},
		{api: APICSP, pattern: cspInvitationsGET, h: s.cspList},
		{api: APICSP, pattern: cspInvitationGET, h: s.cspGet},
		{api: APICSP, pattern: cspInvitationDEL, write: true, h: s.cspDelete},
		{api: APICSP, pattern: "/csp/", h: func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
			writeCSPError(w, rc, http.StatusNotFound, "Not found")
		}},
	}...)
}

// ---- errors ----

type cspError struct {
	CSPErrorCode string `json:"cspErrorCode"`
	Message      string `json:"message"`
	ErrorCode    string `json:"errorCode"`
	RequestID    string `json:"requestId"`
	ModuleCode   int    `json:"moduleCode"`
	StatusCode   int    `json:"statusCode"`
}

// writeCSPError answers a CspErrorResponse. The code values are not
// published: emulator guess, derived from the status.
func writeCSPError(w http.ResponseWriter, rc *reqCtx, status int, msg string) {
	name := strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	writeJSON(w, status, cspError{
		CSPErrorCode: fmt.Sprintf("%d.%s", status, strings.ToLower(name)),
		Message:      msg,
		ErrorCode:    name,
		RequestID:    rc.id,
		StatusCode:   status,
	})
}

// ---- tokens ----

// cspTokens are the access tokens handed out, with their expiry. They live
// in memory only: after a restart a client gets 401 and exchanges again.
type cspTokens struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (t *cspTokens) issue(ttl time.Duration, principal string, now time.Time) string {
	// JWT-shaped like the real one (unsigned: nothing verifies it but us).
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	claims, _ := json.Marshal(map[string]any{
		"sub": principal, "iat": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": hex.EncodeToString(rnd[:]),
		"iss": "invitesync-emulator", "acct": principal,
	})
	tok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(claims) + "." + hex.EncodeToString(rnd[:8])
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) > 1024 {
		for k, exp := range t.m {
			if now.After(exp) {
				delete(t.m, k)
			}
		}
	}
	t.m[tok] = now.Add(ttl)
	return tok
}

func (t *cspTokens) valid(tok string, now time.Time) bool {
	if tok == "" {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.m[tok]
	return ok && !now.After(exp)
}

// cspAuth checks the csp-auth-token header; on failure it answers 401.
// (Whether Authorization: Bearer also works upstream is UNCONFIRMED; the
// emulator accepts only csp-auth-token, the header VMware documents.)
func (s *Server) cspAuth(w http.ResponseWriter, r *http.Request, rc *reqCtx) bool {
	if s.tokens.valid(r.Header.Get("csp-auth-token"), s.now()) {
		return true
	}
	writeCSPError(w, rc, http.StatusUnauthorized, "The access token is missing, invalid or expired")
	return false
}

type accessTokenDto struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) cspAuthorize(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body")
		return
	}
	// api_token is current; refresh_token (body or query) is deprecated but documented.
	tok := r.PostForm.Get("api_token")
	if tok == "" {
		tok = r.Form.Get("refresh_token")
	}
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.CSPRefreshToken)) != 1 {
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | In case of expired refresh_token")
		return
	}
	ttl := s.cfg.CSPTokenTTL
	access := s.tokens.issue(ttl, s.cfg.CSPPrincipal, s.now())
	// expires_in is one second short of the lifetime, like the real service
	// (1799 for 30 minutes).
	writeJSON(w, http.StatusOK, accessTokenDto{
		AccessToken:  access,
		ExpiresIn:    max(int64(ttl/time.Second)-1, 1),
		TokenType:    "bearer",
		Scope:        "openid group_ids group_names",
		IDToken:      access,
		RefreshToken: tok, // the API echoes the token exchanged
	})
}

func (s *Server) cspLoggedIn(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	// UserDto of GET /csp/gateway/am/api/loggedin/user (a subset of its fields).
	p := s.cfg.CSPPrincipal
	first, last := "Invitesync", "Emulator"
	writeJSON(w, http.StatusOK, map[string]string{
		"username": p, "email": p, "userId": uuidFrom("csp-user/" + p),
		"firstName": first, "lastName": last,
	})
}

// ---- wire types ----

type cspRoleBinding struct {
	Name           string `json:"name"`
	DisplayName    string `json:"displayName,omitempty"`
	Resource       string `json:"resource,omitempty"`
	ExpiresAt      *int64 `json:"expiresAt,omitempty"`
	MembershipType string `json:"membershipType,omitempty"`
	// CreatedDate is a string upstream; the emulator writes epoch seconds
	// (VMware's tooling describes role timestamps in seconds).
	CreatedDate string `json:"createdDate,omitempty"`
}

type cspServiceRolesDto struct {
	ServiceDefinitionLink string           `json:"serviceDefinitionLink"`
	ServiceRoles          []cspRoleBinding `json:"serviceRoles,omitempty"`
	ServiceRoleNames      []string         `json:"serviceRoleNames,omitempty"` // deprecated form
}

type cspInviteRequest struct {
	Usernames                  []string             `json:"usernames"`
	OrganizationRoles          []cspRoleBinding     `json:"organizationRoles"`
	OrgRoleNames               []string             `json:"orgRoleNames"` // deprecated form
	ServiceRolesDtos           []cspServiceRolesDto `json:"serviceRolesDtos"`
	CustomRoles                []cspRoleBinding     `json:"customRoles"`
	CustomGroupsIDs            []string             `json:"customGroupsIds"`
	SkipNotify                 *bool                `json:"skipNotify"`
	SkipNotifyRegistration     *bool                `json:"skipNotifyRegistration"`
	InvitedBy                  string               `json:"invitedBy"`
	InvitationExpirationInDays *int                 `json:"invitationExpirationInDays"`
	NotifyUsersOfOrgAccess     *bool                `json:"notifyUsersOfOrgAccess"`
	NotifyUsersOfRegistration  *bool                `json:"notifyUsersOfRegistration"`
}

type cspGroup struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	GroupType   string `json:"groupType"`
	UsersCount  int    `json:"usersCount"`
}

// cspInvitation is UserOrganizationInvitationResponse. There is no id field
// upstream: the id is refLink's last segment (its format is not documented).
type cspInvitation struct {
	Username          string               `json:"username"`
	Status            string               `json:"status"`
	RefLink           string               `json:"refLink"`
	ExpirationTime    int64                `json:"expirationTime"` // epoch ms; s with CSPConfig.ExpirySeconds
	GeneratedAt       int64                `json:"generatedAt"`
	GeneratedBy       string               `json:"generatedBy,omitempty"`
	RedeemedAt        int64                `json:"redeemedAt,omitempty"`
	RedeemedBy        string               `json:"redeemedBy,omitempty"`
	RevokedAt         int64                `json:"revokedAt,omitempty"`
	RevokedBy         string               `json:"revokedBy,omitempty"`
	InvitedByUsername string               `json:"invitedByUsername,omitempty"`
	OrgRoleNames      []string             `json:"orgRoleNames,omitempty"`
	OrganizationRoles []cspRoleBinding     `json:"organizationRoles,omitempty"`
	ServiceRolesDtos  []cspServiceRolesDto `json:"serviceRolesDtos,omitempty"`
	CustomRoles       []cspRoleBinding     `json:"customRoles,omitempty"`
	CustomGroupsIDs   []string             `json:"customGroupsIds,omitempty"`
	CustomGroups      []cspGroup           `json:"customGroups,omitempty"`
}

func epochMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// renderCSP builds the wire form (store lock held). Roles only with roles
// set (the list's expand flag); group objects only with groups set.
func renderCSP(inv *cspInv, orgID string, roles, groups, expirySeconds bool) cspInvitation {
	exp := epochMS(inv.ExpiresAt)
	if expirySeconds && !inv.ExpiresAt.IsZero() {
		exp = inv.ExpiresAt.Unix() // switch: the undocumented unit read as seconds
	}
	out := cspInvitation{
		Username:          inv.Username,
		Status:            inv.Status,
		RefLink:           "/csp/gateway/am/api/orgs/" + orgID + "/invitations/" + inv.ID,
		ExpirationTime:    exp,
		GeneratedAt:       epochMS(inv.GeneratedAt),
		GeneratedBy:       inv.GeneratedBy,
		RedeemedAt:        epochMS(inv.RedeemedAt),
		RedeemedBy:        inv.RedeemedBy,
		RevokedAt:         epochMS(inv.RevokedAt),
		RevokedBy:         inv.RevokedBy,
		InvitedByUsername: inv.InvitedBy,
		CustomGroupsIDs:   inv.Groups,
	}
	if roles {
		out.OrgRoleNames = inv.OrgRoles
		for _, r := range inv.OrgRoles {
			out.OrganizationRoles = append(out.OrganizationRoles, cspRoleBinding{Name: r, DisplayName: r, MembershipType: "DIRECT"})
		}
		for _, sr := range inv.ServiceRoles {
			d := cspServiceRolesDto{ServiceDefinitionLink: sr.Link, ServiceRoleNames: sr.Roles}
			for _, n := range sr.Roles {
				d.ServiceRoles = append(d.ServiceRoles, cspRoleBinding{Name: n})
			}
			out.ServiceRolesDtos = append(out.ServiceRolesDtos, d)
		}
		for _, n := range inv.CustomRoles {
			out.CustomRoles = append(out.CustomRoles, cspRoleBinding{Name: n})
		}
	}
	if groups {
		for _, g := range inv.Groups {
			out.CustomGroups = append(out.CustomGroups, cspGroup{ID: g, DisplayName: g, GroupType: "USER_GROUP"})
		}
	}
	return out
}

// ---- invite / revoke ----

// cspDupes counts, for a bulk invite, the usernames that already have a
// pending invitation in the org.
func (s *Server) cspDupes(r *http.Request, body []byte) int {
	if r.URL.Query().Get("action") != "" {
		return 0
	}
	var req cspInviteRequest
	if json.Unmarshal(body, &req) != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, _ := s.cspOrg(r.PathValue("orgId"), false)
	if o == nil {
		return 0
	}
	s.syncMembers(o)
	now, n := s.now(), 0
	for _, u := range dedupe(req.Usernames) {
		if o.pendingFor(u, now) != nil || o.isMember(u) {
			n++
		}
	}
	return n
}

// dedupe drops blank and repeated (case-insensitively) usernames, in order.
func dedupe(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[key(n)] {
			continue
		}
		seen[key(n)] = true
		out = append(out, n)
	}
	return out
}

func (s *Server) cspInvitationsPost(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	var req cspInviteRequest
	empty, err := decodeBody(w, r, &req)
	switch {
	case err != nil:
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | "+err.Error())
		return
	case empty:
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | a body is required")
		return
	}
	switch a := r.URL.Query().Get("action"); a {
	case "":
		s.cspInvite(w, r, rc, &req)
	case "revoke":
		s.cspRevoke(w, r, rc, &req)
	default:
		writeCSPError(w, rc, http.StatusBadRequest, fmt.Sprintf("Invalid request | unsupported action %q", a))
	}
}

// checkInvite validates an invite body: the documented limits, plus emails.
func checkInvite(req *cspInviteRequest, ignoreDays bool) (days int, msg string) {
	if len(dedupe(req.Usernames)) == 0 {
		return 0, "Invalid request body | usernames is required"
	}
	var bad []string
	for _, u := range req.Usernames {
		if u = strings.TrimSpace(u); u != "" && !validEmail(u) {
			bad = append(bad, u)
		}
	}
	if len(bad) > 0 {
		return 0, "Invalid request body | invalid usernames (not email addresses): " + strings.Join(bad, ", ")
	}
	if len(req.CustomGroupsIDs) > maxCustomGroups {
		return 0, fmt.Sprintf("Invalid request body | customGroupsIds: %d items, at most %d allowed", len(req.CustomGroupsIDs), maxCustomGroups)
	}
	days = defaultExpiryDays
	if req.InvitationExpirationInDays != nil && !ignoreDays {
		days = *req.InvitationExpirationInDays
		if days < minExpiryDays || days > maxExpiryDays {
			return 0, fmt.Sprintf("Invalid request body | invitationExpirationInDays: %d is outside %d..%d", days, minExpiryDays, maxExpiryDays)
		}
	}
	for _, r := range req.OrganizationRoles {
		if strings.TrimSpace(r.Name) == "" {
			return 0, "Invalid request body | organizationRoles: name is required"
		}
	}
	for _, sr := range req.ServiceRolesDtos {
		if strings.TrimSpace(sr.ServiceDefinitionLink) == "" {
			return 0, "Invalid request body | serviceRolesDtos: serviceDefinitionLink is required"
		}
	}
	for _, g := range req.CustomGroupsIDs {
		if strings.TrimSpace(g) == "" {
			return 0, "Invalid request body | customGroupsIds: empty id"
		}
	}
	return days, ""
}

func (s *Server) cspInvite(w http.ResponseWriter, r *http.Request, rc *reqCtx, req *cspInviteRequest) {
	days, msg := checkInvite(req, s.cfg.CSP.IgnoreExpiryDays)
	if msg != "" {
		writeCSPError(w, rc, http.StatusBadRequest, msg)
		return
	}
	users := dedupe(req.Usernames)
	if max := s.cfg.CSP.MaxUsernames; max > 0 && len(req.Usernames) > max {
		status := http.StatusBadRequest
		if s.cfg.CSP.BatchTooLarge413 {
			status = http.StatusRequestEntityTooLarge
		}
		writeCSPError(w, rc, status, fmt.Sprintf(CSPBatchTooLargeMessage, len(req.Usernames), max))
		return
	}
	var refused []string
	for _, u := range users {
		if s.cfg.CSP.refused(u) {
			refused = append(refused, u)
		}
	}
	if len(refused) > 0 {
		// One refused username fails the whole call: the bad apple a client
		// must isolate (emulator switch; the vendor documents 400 for an
		// invalid body without saying which usernames it names).
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | usernames cannot be invited: "+strings.Join(refused, ", "))
		return
	}
	var orgRoles []string
	for _, r := range req.OrganizationRoles {
		orgRoles = append(orgRoles, strings.TrimSpace(r.Name))
	}
	orgRoles = append(orgRoles, req.OrgRoleNames...)
	orgRoles = uniqueSorted(orgRoles)
	var svc []cspServiceRole
	for _, d := range req.ServiceRolesDtos {
		var names []string
		for _, sr := range d.ServiceRoles {
			names = append(names, sr.Name)
		}
		names = uniqueSorted(append(names, d.ServiceRoleNames...))
		svc = append(svc, cspServiceRole{Link: d.ServiceDefinitionLink, Roles: names})
	}
	var custom []string
	for _, c := range req.CustomRoles {
		custom = append(custom, c.Name)
	}
	groups := slices.Clone(req.CustomGroupsIDs)

	orgID := r.PathValue("orgId")
	s.mu.Lock()
	now := s.now()
	o, ok := s.cspOrg(orgID, true)
	if !ok {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	s.syncMembers(o)
	var dup []string
	fresh := users[:0:0]
	for _, u := range users {
		if o.pendingFor(u, now) != nil || o.isMember(u) {
			dup = append(dup, u)
		} else {
			fresh = append(fresh, u)
		}
	}
	if len(dup) > 0 && s.cfg.CSP.Duplicate409 {
		s.mu.Unlock()
		// Switch: 409 naming them, nothing of the request applied.
		writeCSPError(w, rc, http.StatusConflict, "Invitation already exists for usernames: "+strings.Join(dup, ", "))
		return
	}
	// Default: 202 whatever; a pending user or a member gets nothing new
	// (VMware's tooling saw 202 for both, and no second invitation).
	invitedBy := strings.TrimSpace(req.InvitedBy)
	if s.cfg.CSP.FillInvitedBy {
		invitedBy = s.cfg.CSPPrincipal
	}
	for _, u := range fresh {
		o.add(&cspInv{
			Seq: s.st.next(), ID: newUUID(), Username: u, Status: cspAvailable,
			OrgRoles: orgRoles, ServiceRoles: svc, CustomRoles: custom, Groups: groups,
			InvitedBy: invitedBy, GeneratedBy: s.cfg.CSPPrincipal,
			GeneratedAt: now, ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour),
		})
	}
	if len(fresh) == 0 {
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APICSP, rc, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) cspRevoke(w http.ResponseWriter, r *http.Request, rc *reqCtx, req *cspInviteRequest) {
	users := dedupe(req.Usernames)
	if len(users) == 0 {
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | usernames is required")
		return
	}
	s.mu.Lock()
	now := s.now()
	changed := false
	o, ok := s.cspOrg(r.PathValue("orgId"), false)
	if !ok {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	if o != nil {
		for _, u := range users {
			// Every AVAILABLE invitation, expired or not; usernames with none are ignored.
			for _, inv := range o.byEmail[key(u)] {
				if inv.Status == cspAvailable {
					inv.Status, inv.RevokedAt, inv.RevokedBy = cspRevoked, now, s.cfg.CSPPrincipal
					changed = true
				}
			}
		}
	}
	var gen uint64
	if changed {
		gen = s.changedLocked()
	}
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); changed && err != nil {
		s.saveFailed(w, APICSP, rc, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// ---- list / get / delete ----

func (s *Server) cspList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	q := r.URL.Query()
	roles := q.Has("expand") // a presence-only flag
	groups := q.Get("expandCustomGroups") == "true"
	group := q.Get("customGroupId")
	orgID := r.PathValue("orgId")

	out := []cspInvitation{} // a bare array, never null
	s.mu.Lock()
	o, ok := s.cspOrg(orgID, false)
	if !ok {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	if o != nil {
		out = make([]cspInvitation, 0, len(o.Invs))
		for _, inv := range o.Invs {
			if group != "" && !slices.Contains(inv.Groups, group) {
				continue
			}
			if inv.Status == cspRedeemed && s.cfg.CSP.HideRedeemed {
				continue
			}
			out = append(out, renderCSP(inv, orgID, roles, groups, s.cfg.CSP.ExpirySeconds))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) cspGet(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	orgID := r.PathValue("orgId")
	var (
		out   cspInvitation
		found bool
	)
	s.mu.Lock()
	o, ok := s.cspOrg(orgID, false)
	if !ok {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	if o != nil {
		if inv := o.byID[r.PathValue("invitationId")]; inv != nil {
			out, found = renderCSP(inv, orgID, true, false, s.cfg.CSP.ExpirySeconds), true
		}
	}
	s.mu.Unlock()
	if !found {
		writeCSPError(w, rc, http.StatusNotFound, "Invitation not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) cspDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	s.mu.Lock()
	now := s.now()
	var inv *cspInv
	o, ok := s.cspOrg(r.PathValue("orgId"), false)
	if !ok {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	if o != nil {
		inv = o.byID[r.PathValue("invitationId")]
	}
	switch {
	case inv == nil:
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, "Invitation not found")
		return
	case inv.Status == cspRedeemed:
		s.mu.Unlock()
		// Not documented upstream: emulator guess.
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request | the invitation was already redeemed")
		return
	case inv.Status == cspRevoked:
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK) // idempotent
		return
	}
	inv.Status, inv.RevokedAt, inv.RevokedBy = cspRevoked, now, s.cfg.CSPPrincipal
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APICSP, rc, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// ---- helpers ----

func uniqueSorted(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// newUUID is a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
