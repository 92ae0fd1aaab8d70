package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Confluent on Azure: Microsoft.Confluent access actions. Every action is
// a POST under azurePrefix; organizations exist on first use (emulator
// guess, so tests need no setup).

const (
	azurePrefix  = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Confluent/organizations/{organizationName}/access/default/"
	azureCreate  = "POST " + azurePrefix + "createInvitation"
	azureList    = "POST " + azurePrefix + "listInvitations"
	azureUsers   = "POST " + azurePrefix + "listUsers"
	azureUnknown = azurePrefix + "{action}"

	// azureNextBase: the RP passes Confluent's list metadata through, so
	// metadata.next is an api.confluent.cloud URL (as the vendor example shows).
	azureNextBase = "https://api.confluent.cloud/iam/v2/"
)

// azureAPIVersions are the api-versions that have the access actions.
var azureAPIVersions = map[string]bool{
	"2023-08-22": true, "2024-02-13": true, "2024-07-01": true,
	"2025-07-17-preview": true, "2025-08-18-preview": true, "2026-05-01-preview": true, "2026-06-02-preview": true,
}

func (s *Server) azureRoutes() []*route {
	return append(s.azureAccessRoutes(), []*route{
		{api: APIAzure, pattern: azureCreate, write: true, h: s.azureCreate, dupes: s.azureDupes},
		{api: APIAzure, pattern: azureList, h: s.azureList},
		{api: APIAzure, pattern: azureUsers, h: s.azureUsers},
		// No delete or revoke exists in any api-version: every other action,
		// or another method, is a 404.
		{api: APIAzure, pattern: azureUnknown, h: s.azureNotFound},
		{api: APIAzure, pattern: "/subscriptions/", h: s.azureNotFound},
	}...)
}

type armError struct {
	Error armErrorBody `json:"error"`
}

type armErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

func writeARMError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, armError{Error: armErrorBody{Code: code, Message: msg}})
}

func (s *Server) azureNotFound(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	writeARMError(w, http.StatusNotFound, "NotFound",
		"No HTTP resource was found that matches the request URI '"+r.URL.Path+"' and method "+r.Method+".")
}

// azureAuth checks the bearer token, then api-version; it answers the error.
func (s *Server) azureAuth(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.AzureToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"`)
		msg := "Authentication failed. The 'Authorization' header is missing."
		if h != "" {
			msg = "Authentication failed. The access token is invalid."
		}
		writeARMError(w, http.StatusUnauthorized, "AuthenticationFailed", msg)
		return false
	}
	v := r.URL.Query().Get("api-version")
	if v == "" {
		writeARMError(w, http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests.")
		return false
	}
	if !azureAPIVersions[v] {
		writeARMError(w, http.StatusBadRequest, "InvalidApiVersionParameter",
			"The api-version '"+v+"' is invalid. The supported versions are '2023-08-22,2024-02-13,2024-07-01,2025-07-17-preview,2025-08-18-preview,2026-05-01-preview,2026-06-02-preview'.")
		return false
	}
	return s.azureOrgKnown(w, r)
}

func azureOrgKey(r *http.Request) string {
	return r.PathValue("subscriptionId") + "/" + r.PathValue("resourceGroupName") + "/" + r.PathValue("organizationName")
}

// ---- wire types (snake_case, timestamps as plain strings, no creator) ----

type azureInvitation struct {
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   objectMeta `json:"metadata"`
	Email      string     `json:"email"`
	AuthType   string     `json:"auth_type,omitempty"`
	Status     string     `json:"status"`
	AcceptedAt string     `json:"accepted_at,omitempty"`
	ExpiresAt  string     `json:"expires_at,omitempty"`
}

type azureUser struct {
	Kind     string     `json:"kind"`
	ID       string     `json:"id"`
	Metadata objectMeta `json:"metadata"`
	Email    string     `json:"email"`
	FullName string     `json:"full_name"`
	AuthType string     `json:"auth_type,omitempty"`
}

type azureListMeta struct {
	First     string `json:"first,omitempty"`
	Next      string `json:"next,omitempty"` // absent on the last page
	TotalSize int    `json:"total_size"`
}

type azureListResponse[T any] struct {
	Kind     string        `json:"kind"`
	Metadata azureListMeta `json:"metadata"`
	Data     []T           `json:"data"`
}

func (s *Server) renderAzure(inv *cInv, org *cOrg, now time.Time) azureInvitation {
	ts := func(t time.Time) string { return s.azureTime(t, inv.Seq) }
	return azureInvitation{
		Kind: "Invitation",
		ID:   inv.ID,
		Metadata: objectMeta{
			Self:         azureNextBase + "invitations/" + inv.ID,
			ResourceName: "crn://confluent.cloud/organization=" + org.ID + "/invitation=" + inv.ID,
			CreatedAt:    s.azureCreatedAt(inv.CreatedAt, inv.Seq),
			UpdatedAt:    ts(inv.UpdatedAt),
			DeletedAt:    ts(inv.DeletedAt),
		},
		Email:      inv.Email,
		AuthType:   inv.AuthType,
		Status:     inv.status(now),
		AcceptedAt: ts(inv.AcceptedAt),
		ExpiresAt:  ts(inv.ExpiresAt),
	}
}

// ---- createInvitation ----

type azureInviteBody struct {
	OrganizationID     string `json:"organizationId"`
	Email              string `json:"email"`
	UPN                string `json:"upn"`
	InvitedUserDetails *struct {
		InvitedEmail string `json:"invitedEmail"`
		AuthType     string `json:"auth_type"`
	} `json:"invitedUserDetails"`
}

func (s *Server) azureDupes(r *http.Request, body []byte) int {
	var b azureInviteBody
	if json.Unmarshal(body, &b) != nil || b.InvitedUserDetails == nil || b.InvitedUserDetails.InvitedEmail == "" {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.st.azureOrg(azureOrgKey(r), false); o != nil && o.pendingFor(b.InvitedUserDetails.InvitedEmail, s.now()) != nil {
		return 1
	}
	return 0
}

func (s *Server) azureCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	var body azureInviteBody
	empty, err := decodeBody(w, r, &body)
	switch {
	case err != nil:
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
		return
	case empty:
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content is required.")
		return
	}
	if body.InvitedUserDetails == nil || strings.TrimSpace(body.InvitedUserDetails.InvitedEmail) == "" {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "invitedUserDetails.invitedEmail is required.")
		return
	}
	email := strings.TrimSpace(body.InvitedUserDetails.InvitedEmail)
	auth := body.InvitedUserDetails.AuthType
	if !validEmail(email) {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "invitedUserDetails.invitedEmail is not a valid email address.")
		return
	}
	if !validAuthType(auth) {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "invitedUserDetails.auth_type must be AUTH_TYPE_LOCAL or AUTH_TYPE_SSO.")
		return
	}

	s.mu.Lock()
	now := s.now()
	org := s.st.azureOrg(azureOrgKey(r), true)
	if org.pendingFor(email, now) != nil {
		s.mu.Unlock()
		// How the RP relays Confluent's conflict is UNCONFIRMED: the
		// documented answer is only "the ARM default error" (switch).
		s.azureDuplicate(w, "InvitationAlreadyExists", "An invitation for "+email+" already exists.")
		return
	}
	if org.isMember(email) {
		s.mu.Unlock()
		s.azureDuplicate(w, "UserAlreadyExists", email+" is already a member of the organization.")
		return
	}
	// Azure records have no creator; the emulator stores none.
	inv := org.add(s.st, email, auth, "", now, now.Add(s.cfg.ConfluentInviteTTL))
	out := s.renderAzure(inv, org, now)
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APIAzure, rc, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- listInvitations / listUsers ----

type azureListBody struct {
	SearchFilters map[string]string `json:"searchFilters"` // Record<string>: numbers arrive as strings
}

// azureListArgs reads the body; required says an absent body is refused.
func (s *Server) azureListArgs(w http.ResponseWriter, r *http.Request, required bool) (size int, after int64, f map[string]string, ok bool) {
	var body azureListBody
	empty, err := decodeBody(w, r, &body)
	switch {
	case err != nil:
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "+err.Error())
		return 0, 0, nil, false
	case empty && required:
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content is required.")
		return 0, 0, nil, false
	}
	f = body.SearchFilters
	// Page size default and maximum are UNCONFIRMED; the same as Confluent's (clamped).
	size, err = parsePageSize(f["pageSize"], s.cfg.PageSizeMax)
	if err != nil {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "searchFilters.pageSize: "+err.Error())
		return 0, 0, nil, false
	}
	after, err = s.azurePageToken(f["pageToken"])
	if err != nil {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "searchFilters.pageToken: "+err.Error())
		return 0, 0, nil, false
	}
	return size, after, f, true
}

// azureNext is metadata.next: Confluent's URL with a page_token, or with
// AzureConfig.NextToken "token" the bare token (the mapping to
// searchFilters.pageToken is UNCONFIRMED upstream: see azurePageToken).
func (s *Server) azureNext(what string, last int64) string {
	if s.cfg.Azure.NextToken == AzureNextBareToken {
		return encodePageToken(last)
	}
	return azureNextBase + what + "?page_token=" + url.QueryEscape(encodePageToken(last))
}

func (s *Server) azureList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	size, after, f, ok := s.azureListArgs(w, r, true)
	if !ok {
		return
	}
	out := azureListResponse[azureInvitation]{Kind: "InvitationList", Data: []azureInvitation{}}
	out.Metadata.First = azureNextBase + "invitations"
	s.mu.Lock()
	if org := s.st.azureOrg(azureOrgKey(r), false); org != nil {
		now := s.now()
		// "email" as a filter key is UNCONFIRMED upstream; honoured here.
		items, total, more := org.page(after, size, cFilter{email: f["email"], status: f["status"]}, now)
		out.Data = make([]azureInvitation, len(items))
		for i, inv := range items {
			out.Data[i] = s.renderAzure(inv, org, now)
		}
		out.Metadata.TotalSize = total
		if more {
			out.Metadata.Next = s.azureNext("invitations", items[len(items)-1].Seq)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) azureUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	size, after, f, ok := s.azureListArgs(w, r, false)
	if !ok {
		return
	}
	out := azureListResponse[azureUser]{Kind: "UserList", Data: []azureUser{}}
	out.Metadata.First = azureNextBase + "users"
	s.mu.Lock()
	if org := s.st.azureOrg(azureOrgKey(r), false); org != nil {
		crn := "crn://confluent.cloud/organization=" + org.ID
		var (
			total int
			last  int64
		)
		for _, u := range org.members {
			if f["email"] != "" && key(f["email"]) != key(u.Email) {
				continue
			}
			total++
			if u.MemberSeq <= after {
				continue
			}
			if len(out.Data) == size {
				out.Metadata.Next = s.azureNext("users", last)
				continue
			}
			last = u.MemberSeq
			out.Data = append(out.Data, azureUser{
				Kind: "User", ID: u.ID,
				Metadata: objectMeta{
					Self:         azureNextBase + "users/" + u.ID,
					ResourceName: crn + "/user=" + u.ID,
					CreatedAt:    s.azureCreatedAt(u.CreatedAt, u.MemberSeq),
					UpdatedAt:    s.azureTime(u.AcceptedAt, u.MemberSeq),
				},
				Email: u.Email, FullName: fullName(u.Email), AuthType: u.AuthType,
			})
		}
		out.Metadata.TotalSize = total
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// fullName makes a display name from an email's local part: "ada.lovelace" -> "Ada Lovelace".
func fullName(email string) string {
	local, _, _ := strings.Cut(email, "@")
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, " ")
}
