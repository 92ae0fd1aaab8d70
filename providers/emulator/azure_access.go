package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Confluent on Azure: the access actions for role bindings (armconfluent
// AccessClient: ListRoleBindings, CreateRoleBinding, DeleteRoleBinding,
// ListRoleBindingNameList; Microsoft.Confluent 2024-07-01 examples), the
// organization resource (Organization_Get), and the switches for what the
// vendor leaves open.

const (
	azureOrgGet        = "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Confluent/organizations/{organizationName}"
	azureBindings      = "POST " + azurePrefix + "listRoleBindings"
	azureBindingCreate = "POST " + azurePrefix + "createRoleBinding"
	azureBindingDelete = "DELETE " + azurePrefix + "deleteRoleBinding/{roleBindingId}"
	azureRoleNames     = "POST " + azurePrefix + "listRoleBindingNameList"
)

// AzureConfig holds the switches for Azure behaviours the vendor leaves
// open. Each zero value is the one the examples suggest; doc.go lists them.
type AzureConfig struct {
	// NextToken is how metadata.next maps to searchFilters.pageToken:
	// "page_token" (default: next is a Confluent URL whose page_token goes
	// back as pageToken), "link" (the whole next link must go back; a bare
	// token is ignored and the first page is served again) or "token" (next
	// is the bare token, not a URL).
	NextToken string
	// Duplicate is how a create for someone pending or a member is answered:
	// "conflict" (default: 409 with the ARM default error, code "Conflict"),
	// "badrequest" (400, code "BadRequest") or "legacy" (409 with the codes
	// InvitationAlreadyExists / UserAlreadyExists, an old guess of ours).
	Duplicate string
	// Timestamps: "rfc3339" (default, as in the examples) or "mixed": records
	// rotate through other forms (.NET round-trip without zone, space
	// separated, US date) and every seventh record's created_at is not a
	// date at all.
	Timestamps string
	// Orgs, when set, are the only organizations that exist
	// ("subscriptionId/resourceGroup/organizationName", compared without
	// case as ARM does); any other answers 404 ResourceNotFound. Empty: every
	// organization exists on first use.
	Orgs []string
}

// Switch values.
const (
	AzureNextPageToken  = "page_token"
	AzureNextLink       = "link"
	AzureNextBareToken  = "token"
	AzureDupConflict    = "conflict"
	AzureDupBadRequest  = "badrequest"
	AzureDupLegacy      = "legacy"
	AzureTimesRFC3339   = "rfc3339"
	AzureTimesMixed     = "mixed"
	azureNotADate       = "unknown"
	azureDotNetNoZone   = "2006-01-02T15:04:05.0000000"
	azureSpaceSeparated = "2006-01-02 15:04:05Z07:00"
	azureUSDate         = "1/2/2006 3:04:05 PM"
)

func (c AzureConfig) check() error {
	switch c.NextToken {
	case "", AzureNextPageToken, AzureNextLink, AzureNextBareToken:
	default:
		return fmt.Errorf("azure next token %q: want page_token, link or token", c.NextToken)
	}
	switch c.Duplicate {
	case "", AzureDupConflict, AzureDupBadRequest, AzureDupLegacy:
	default:
		return fmt.Errorf("azure duplicate %q: want conflict, badrequest or legacy", c.Duplicate)
	}
	switch c.Timestamps {
	case "", AzureTimesRFC3339, AzureTimesMixed:
	default:
		return fmt.Errorf("azure timestamps %q: want rfc3339 or mixed", c.Timestamps)
	}
	for _, o := range c.Orgs {
		if len(strings.Split(o, "/")) != 3 {
			return fmt.Errorf("azure org %q: want subscriptionId/resourceGroup/organizationName", o)
		}
	}
	return nil
}

func (s *Server) azureAccessRoutes() []*route {
	return []*route{
		{api: APIAzure, pattern: azureOrgGet, h: s.azureGetOrg},
		{api: APIAzure, pattern: azureBindings, h: s.azureListBindings},
		{api: APIAzure, pattern: azureBindingCreate, write: true, h: s.azureCreateBinding, dupes: s.azureBindingDupes},
		{api: APIAzure, pattern: azureBindingDelete, write: true, h: s.azureDeleteBinding},
		{api: APIAzure, pattern: azureRoleNames, h: s.azureRoleNames},
	}
}

// azureOrgKnown answers 404 ResourceNotFound, as ARM does for a resource
// that does not exist, when AzureConfig.Orgs is set and names no such org.
func (s *Server) azureOrgKnown(w http.ResponseWriter, r *http.Request) bool {
	if len(s.cfg.Azure.Orgs) == 0 || r.PathValue("organizationName") == "" {
		return true
	}
	k := azureOrgKey(r)
	if slices.ContainsFunc(s.cfg.Azure.Orgs, func(o string) bool { return strings.EqualFold(o, k) }) {
		return true
	}
	writeARMError(w, http.StatusNotFound, "ResourceNotFound",
		"The Resource 'Microsoft.Confluent/organizations/"+r.PathValue("organizationName")+"' under resource group '"+
			r.PathValue("resourceGroupName")+"' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
	return false
}

// azureDuplicate answers a create for someone pending or a member.
func (s *Server) azureDuplicate(w http.ResponseWriter, legacyCode, msg string) {
	switch s.cfg.Azure.Duplicate {
	case AzureDupLegacy:
		writeARMError(w, http.StatusConflict, legacyCode, msg)
	case AzureDupBadRequest:
		writeARMError(w, http.StatusBadRequest, "BadRequest", msg)
	default:
		writeARMError(w, http.StatusConflict, "Conflict", msg)
	}
}

// azurePageToken reads searchFilters.pageToken under AzureConfig.NextToken.
func (s *Server) azurePageToken(raw string) (int64, error) {
	if s.cfg.Azure.NextToken == AzureNextLink {
		u, err := url.Parse(raw)
		if raw == "" || err != nil || u.Scheme == "" {
			return 0, nil // a bare token is not understood: the first page again
		}
		raw = u.Query().Get("page_token")
	}
	return decodePageToken(raw)
}

// azureTime renders a timestamp; with "mixed" the form rotates by seq.
func (s *Server) azureTime(t time.Time, seq int64) string {
	if t.IsZero() {
		return ""
	}
	if s.cfg.Azure.Timestamps != AzureTimesMixed {
		return rfc3339(t)
	}
	// Gray code: ids often step by 2 (an invitation and its user), and
	// every form should still come up.
	switch (seq ^ seq>>1) % 4 {
	case 1:
		return t.UTC().Format(azureDotNetNoZone)
	case 2:
		return t.UTC().Format(azureSpaceSeparated)
	case 3:
		return t.UTC().Format(azureUSDate)
	}
	return rfc3339(t)
}

// azureCreatedAt is metadata.created_at: with "mixed", every seventh record
// says something that is no date.
func (s *Server) azureCreatedAt(t time.Time, seq int64) string {
	if s.cfg.Azure.Timestamps == AzureTimesMixed && seq%7 == 0 {
		return azureNotADate
	}
	return s.azureTime(t, seq)
}

// ---- organization resource ----

type azureOrgResource struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Location   string `json:"location"`
	Properties struct {
		CreatedTime       string `json:"createdTime"`
		ProvisioningState string `json:"provisioningState"`
		OrganizationID    string `json:"organizationId"`
	} `json:"properties"`
}

// azureGetOrg is Organization_Get: properties.organizationId is the
// Confluent organization id (used in role bindings' crn_pattern).
func (s *Server) azureGetOrg(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	k := azureOrgKey(r)
	s.mu.Lock()
	id := uuidFrom("azure/" + k) // the id the org gets on first use
	if o := s.st.azureOrg(k, false); o != nil {
		id = o.ID
	}
	s.mu.Unlock()
	var out azureOrgResource
	out.ID = "/subscriptions/" + r.PathValue("subscriptionId") + "/resourceGroups/" + r.PathValue("resourceGroupName") +
		"/providers/Microsoft.Confluent/organizations/" + r.PathValue("organizationName")
	out.Name, out.Type, out.Location = r.PathValue("organizationName"), "Microsoft.Confluent/organizations", "West US"
	out.Properties.CreatedTime = rfc3339(s.started)
	out.Properties.ProvisioningState = "Succeeded"
	out.Properties.OrganizationID = id
	writeJSON(w, http.StatusOK, out)
}

// ---- role bindings ----

type azureBinding struct {
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   objectMeta `json:"metadata"`
	Principal  string     `json:"principal"`
	RoleName   string     `json:"role_name"`
	CRNPattern string     `json:"crn_pattern"`
}

func (s *Server) renderAzureBinding(b *cBinding, org *cOrg) azureBinding {
	return azureBinding{
		Kind: "RoleBinding", ID: b.ID,
		Metadata: objectMeta{
			Self: azureNextBase + "role-bindings/" + b.ID, ResourceName: org.crn() + "/role-binding=" + b.ID,
			CreatedAt: s.azureTime(b.CreatedAt, b.Seq), UpdatedAt: s.azureTime(b.CreatedAt, b.Seq),
		},
		Principal: b.Principal, RoleName: b.Role, CRNPattern: b.CRN,
	}
}

// azureListBindings pages the org's bindings. The searchFilters keys for
// this action are not documented: crn_pattern (as in the
// listRoleBindingNameList example; "/*" takes nested scopes), principal and
// role_name are honoured; without crn_pattern every binding is listed
// (emulator guesses).
func (s *Server) azureListBindings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	size, after, f, ok := s.azureListArgs(w, r, false)
	if !ok {
		return
	}
	out := azureListResponse[azureBinding]{Kind: "RoleBindingList", Data: []azureBinding{}}
	out.Metadata.First = azureNextBase + "role-bindings"
	s.mu.Lock()
	if org := s.st.azureOrg(azureOrgKey(r), false); org != nil {
		matches := org.bindingsMatching(f["crn_pattern"], f["principal"], f["role_name"])
		items, more := pageOf(matches, func(b *cBinding) int64 { return b.Seq }, after, size)
		for _, b := range items {
			out.Data = append(out.Data, s.renderAzureBinding(b, org))
		}
		out.Metadata.TotalSize = len(matches)
		if more {
			out.Metadata.Next = s.azureNext("role-bindings", items[len(items)-1].Seq)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) azureBindingDupes(r *http.Request, body []byte) int {
	var b bindingBody
	if json.Unmarshal(body, &b) != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.st.azureOrg(azureOrgKey(r), false); o != nil && o.findBinding(b.Principal, b.RoleName, b.CRNPattern) != nil {
		s.stats.addDuplicateGrants(1)
	}
	return 0
}

// azureCreateBinding answers 200 with the RoleBindingRecord; a binding that
// exists already gets the duplicate answer of AzureConfig.Duplicate.
func (s *Server) azureCreateBinding(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	var body bindingBody
	empty, err := decodeBody(w, r, &body)
	if err != nil || empty {
		writeARMError(w, http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized.")
		return
	}
	if msg, _ := checkBinding(body); msg != "" {
		writeARMError(w, http.StatusBadRequest, "BadRequest", msg)
		return
	}
	s.mu.Lock()
	org := s.st.azureOrg(azureOrgKey(r), true)
	if !crnInOrg(body.CRNPattern, org) {
		s.mu.Unlock()
		writeARMError(w, http.StatusForbidden, "Forbidden", "crn_pattern names another organization.")
		return
	}
	if org.findBinding(body.Principal, body.RoleName, body.CRNPattern) != nil {
		s.mu.Unlock()
		s.azureDuplicate(w, "RoleBindingAlreadyExists", "The role binding already exists.")
		return
	}
	b := org.addBinding(s.st, body.Principal, body.RoleName, body.CRNPattern, s.now())
	out := s.renderAzureBinding(b, org)
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APIAzure, rc, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// azureDeleteBinding answers 200 when it deleted, 204 when there was no such
// binding (the two successes of the spec, read as ARM's delete convention).
func (s *Server) azureDeleteBinding(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	s.mu.Lock()
	org := s.st.azureOrg(azureOrgKey(r), false)
	i := -1
	if org != nil {
		i, _ = org.bindingByID(r.PathValue("roleBindingId"))
	}
	if i < 0 {
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	org.Bindings = slices.Delete(org.Bindings, i, i+1)
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APIAzure, rc, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// azureRoleNames is listRoleBindingNameList: the role names (kind
// RoleDisplayNameList, data a list of strings).
func (s *Server) azureRoleNames(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.azureAuth(w, r) {
		return
	}
	if _, _, _, ok := s.azureListArgs(w, r, false); !ok {
		return
	}
	out := azureListResponse[string]{Kind: "RoleDisplayNameList", Data: slices.Clone(ConfluentRoles)}
	out.Metadata.First = azureNextBase + "role-bindings"
	out.Metadata.TotalSize = len(out.Data)
	writeJSON(w, http.StatusOK, out)
}
