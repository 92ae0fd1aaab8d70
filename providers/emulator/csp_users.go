package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CSP organization and org users API (the CSP IAM reference pages "Get
// Organization By ID", "Get Organization Users By Organization ID" (v2),
// "Update User Roles By User ID And Organization ID" (v3) and "Remove Users
// From Organization By Organization ID" (v2)).

const (
	cspOrgGET         = "GET /csp/gateway/am/api/orgs/{orgId}"
	cspUsersGET       = "GET /csp/gateway/am/api/v2/orgs/{orgId}/users"
	cspUsersDELETE    = "DELETE /csp/gateway/am/api/v2/orgs/{orgId}/users"
	cspUserRolesPATCH = "PATCH /csp/gateway/am/api/v3/users/{userId}/orgs/{orgId}/roles"

	// cspMaxRemove: "Cannot remove more than 20 users at the same time".
	cspMaxRemove = 20
	// cspUserDomain is the identity domain of the emulator's users; removal
	// ids are "domain:userId" (the format VMware's tooling documents, e.g.
	// vmware.com:820e7ca5-...).
	cspUserDomain = "vmware.com"

	cspRoleOrgOwner  = "org_owner"
	cspRoleOrgMember = "org_member"
)

func (s *Server) cspUserRoutes() []*route {
	return []*route{
		{api: APICSP, pattern: cspOrgGET, h: s.cspGetOrg},
		{api: APICSP, pattern: cspUsersGET, h: s.cspListUsers},
		{api: APICSP, pattern: cspUsersDELETE, write: true, h: s.cspRemoveUsers},
		{api: APICSP, pattern: cspUserRolesPATCH, write: true, h: s.cspPatchRoles},
	}
}

// cspUserService is one service's roles held by a member, by service
// definition id (the users API names services by id, invitations by link).
type cspUserService struct {
	ID    string   `json:"id"`
	Roles []string `json:"roles"`
}

// cspUser is one member of a CSP org.
type cspUser struct {
	Seq          int64            `json:"seq"`
	ID           string           `json:"id"` // userId
	Username     string           `json:"username"`
	OrgRoles     []string         `json:"org_roles,omitempty"`
	ServiceRoles []cspUserService `json:"service_roles,omitempty"`
	JoinedAt     time.Time        `json:"joined_at"`
}

func (u *cspUser) removalID() string { return cspUserDomain + ":" + u.ID }

func (o *cspOrg) indexUsers() {
	if o.Users == nil {
		o.Users = map[string]*cspUser{}
	}
}

// syncMembers makes every newly REDEEMED invitation's user a member, with
// the invitation's roles (store lock held). An invitation counts once, so a
// removed member stays removed.
func (s *Server) syncMembers(o *cspOrg) {
	if o == nil {
		return
	}
	o.indexUsers()
	for _, inv := range o.Invs {
		if inv.Status != cspRedeemed || inv.MemberSynced {
			continue
		}
		inv.MemberSynced = true
		if o.Users[key(inv.Username)] != nil {
			continue
		}
		u := &cspUser{
			Seq: s.st.next(), ID: cspUserID(inv.Username), Username: inv.Username,
			OrgRoles: slices.Clone(inv.OrgRoles), JoinedAt: inv.RedeemedAt,
		}
		if len(u.OrgRoles) == 0 {
			u.OrgRoles = []string{cspRoleOrgMember}
		}
		for _, sr := range inv.ServiceRoles {
			u.ServiceRoles = cspAddServiceRoles(u.ServiceRoles, cspServiceDefinitionID(sr.Link), sr.Roles)
		}
		o.Users[key(inv.Username)] = u
	}
}

// cspUserID is a member's stable userId (the principal's too, see loggedin/user).
func cspUserID(username string) string { return uuidFrom("csp-user/" + key(username)) }

// cspServiceDefinitionID is the last segment of a service definition link.
func cspServiceDefinitionID(link string) string {
	return path.Base(strings.TrimRight(link, "/"))
}

func cspAddServiceRoles(list []cspUserService, id string, roles []string) []cspUserService {
	for i := range list {
		if list[i].ID == id {
			list[i].Roles = uniqueSorted(append(list[i].Roles, roles...))
			return list
		}
	}
	return append(list, cspUserService{ID: id, Roles: uniqueSorted(roles)})
}

// isMember reports whether username is a member (store lock held, synced).
func (o *cspOrg) isMember(username string) bool {
	return o != nil && o.Users[key(username)] != nil
}

// sortedUsers is the members in joining order.
func (o *cspOrg) sortedUsers() []*cspUser {
	out := make([]*cspUser, 0, len(o.Users))
	for _, u := range o.Users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// userByID finds a member by userId, "domain:userId" or username.
func (o *cspOrg) userByID(id string) *cspUser {
	if o == nil {
		return nil
	}
	if _, rest, ok := strings.Cut(id, ":"); ok && !strings.Contains(id, "@") {
		id = rest
	}
	for _, u := range o.Users {
		if u.ID == id || key(u.Username) == key(id) {
			return u
		}
	}
	return nil
}

// ---- organization ----

type cspOrganizationDto struct {
	ID          string `json:"id"`
	RefLink     string `json:"refLink"`
	DisplayName string `json:"displayName"`
	Name        string `json:"name"`
	Status      string `json:"status"`
}

func (s *Server) cspGetOrg(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	id := r.PathValue("orgId")
	s.mu.Lock()
	_, ok := s.cspOrg(id, false)
	s.mu.Unlock()
	if !ok {
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, cspOrganizationDto{
		ID: id, RefLink: "/csp/gateway/am/api/orgs/" + id, DisplayName: "Emulated org " + id, Name: id, Status: "ACTIVE",
	})
}

// ---- users: list ----

type cspUserDto struct {
	Username  string `json:"username"`
	Email     string `json:"email"`
	UserID    string `json:"userId"`
	Acct      string `json:"acct"`
	Domain    string `json:"domain"`
	IdpID     string `json:"idpId"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

type cspServiceRolesWithID struct {
	ServiceDefinitionID string           `json:"serviceDefinitionId"`
	ServiceRoleNames    []string         `json:"serviceRoleNames,omitempty"`
	ServiceRoles        []cspRoleBinding `json:"serviceRoles"`
}

type cspExpandedUser struct {
	User              cspUserDto              `json:"user"`
	OrgID             string                  `json:"orgId"`
	OrganizationRoles []cspRoleBinding        `json:"organizationRoles,omitempty"`
	ServiceRoles      []cspServiceRolesWithID `json:"serviceRoles,omitempty"`
}

type cspUsersPage struct {
	Results      []cspExpandedUser `json:"results"`
	TotalResults int               `json:"totalResults"`
	NextLink     string            `json:"nextLink,omitempty"`
	PrevLink     string            `json:"prevLink,omitempty"`
}

func renderCSPUser(u *cspUser, orgID string, roles bool) cspExpandedUser {
	out := cspExpandedUser{
		User: cspUserDto{
			Username: u.Username, Email: u.Username, UserID: u.ID, Acct: u.Username,
			Domain: cspUserDomain, IdpID: cspUserDomain,
		},
		OrgID: orgID,
	}
	if roles {
		created := ""
		if !u.JoinedAt.IsZero() {
			created = strconv.FormatInt(u.JoinedAt.Unix(), 10)
		}
		for _, n := range u.OrgRoles {
			out.OrganizationRoles = append(out.OrganizationRoles, cspRoleBinding{Name: n, DisplayName: n, MembershipType: "DIRECT", CreatedDate: created})
		}
		for _, sr := range u.ServiceRoles {
			d := cspServiceRolesWithID{ServiceDefinitionID: sr.ID, ServiceRoleNames: sr.Roles}
			for _, n := range sr.Roles {
				d.ServiceRoles = append(d.ServiceRoles, cspRoleBinding{Name: n, MembershipType: "DIRECT"})
			}
			out.ServiceRoles = append(out.ServiceRoles, d)
		}
	}
	return out
}

func (s *Server) cspListUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	q := r.URL.Query()
	start, limit := 1, s.cfg.CSP.usersPageMax()
	for name, dst := range map[string]*int{"pageStart": &start, "pageLimit": &limit} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				writeCSPError(w, rc, http.StatusBadRequest, fmt.Sprintf("Invalid request | %s: want an integer >= 1", name))
				return
			}
			*dst = n
		}
	}
	// Over the maximum is clamped (emulator guess: the page documents the
	// bound, not the answer to a request beyond it).
	limit = min(limit, s.cfg.CSP.usersPageMax())
	roles := !q.Has("excludeRoles")
	service := q.Get("serviceDefinitionId")
	orgID := r.PathValue("orgId")

	s.mu.Lock()
	o, ok := s.cspOrg(orgID, false)
	if !ok {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	var all []*cspUser
	if o != nil {
		s.syncMembers(o)
		for _, u := range o.sortedUsers() {
			if service != "" && !slices.ContainsFunc(u.ServiceRoles, func(sr cspUserService) bool { return sr.ID == service }) {
				continue
			}
			all = append(all, u)
		}
	}
	from := start - 1
	if s.cfg.CSP.UsersPageStartIsPage {
		from = (start - 1) * limit
	}
	page := cspUsersPage{Results: []cspExpandedUser{}, TotalResults: len(all)}
	if from < len(all) {
		for _, u := range all[from:min(from+limit, len(all))] {
			page.Results = append(page.Results, renderCSPUser(u, orgID, roles))
		}
	}
	s.mu.Unlock()
	if !s.cfg.CSP.UsersNoNextLink {
		link := func(itemStart int) string {
			v := url.Values{}
			for k, vs := range q {
				v[k] = vs
			}
			ps := itemStart
			if s.cfg.CSP.UsersPageStartIsPage {
				ps = (itemStart-1)/limit + 1
			}
			v.Set("pageStart", strconv.Itoa(ps))
			v.Set("pageLimit", strconv.Itoa(limit))
			return "/csp/gateway/am/api/v2/orgs/" + orgID + "/users?" + v.Encode()
		}
		if from+limit < len(all) {
			page.NextLink = link(from + limit + 1)
		}
		if from > 0 {
			page.PrevLink = link(max(from-limit, 0) + 1)
		}
	}
	writeJSON(w, http.StatusOK, page)
}

// ---- users: remove ----

type cspRemoveUsersRequest struct {
	IDs         []string `json:"ids"`
	NotifyUsers *bool    `json:"notifyUsers"`
}

type cspPartialSuccess struct {
	Failed    []string `json:"failed"`
	Succeeded []string `json:"succeeded"`
}

func (s *Server) cspRemoveUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	var req cspRemoveUsersRequest
	empty, err := decodeBody(w, r, &req)
	switch {
	case err != nil:
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | "+err.Error())
		return
	case empty || len(req.IDs) == 0:
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | ids is required")
		return
	case len(req.IDs) > cspMaxRemove:
		writeCSPError(w, rc, http.StatusBadRequest, "Cannot remove more than 20 users at the same time")
		return
	}
	s.mu.Lock()
	o, ok := s.cspOrg(r.PathValue("orgId"), false)
	if !ok {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	s.syncMembers(o)
	var users []*cspUser
	var missing []string
	for _, id := range req.IDs {
		if u := o.userByID(id); u != nil {
			users = append(users, u)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		s.mu.Unlock()
		// Nothing applied when any id is unknown: emulator guess (the page
		// documents the 404 message, not whether the others go).
		writeCSPError(w, rc, http.StatusNotFound, "Users ["+strings.Join(missing, ", ")+"] not found")
		return
	}
	owners, leaving := 0, 0
	for _, u := range o.Users {
		if slices.Contains(u.OrgRoles, cspRoleOrgOwner) {
			owners++
			if slices.Contains(users, u) {
				leaving++
			}
		}
	}
	if owners > 0 && leaving == owners {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusBadRequest, "Cannot remove the last org owner")
		return
	}
	res := cspPartialSuccess{Failed: []string{}}
	for i, u := range users {
		delete(o.Users, key(u.Username))
		res.Succeeded = append(res.Succeeded, req.IDs[i])
	}
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APICSP, rc, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// ---- users: roles ----

type cspRoleNameRef struct {
	Name     string `json:"name"`
	Resource string `json:"resource,omitempty"`
}

type cspRolesUpdate struct {
	RoleNamesToAdd    []string         `json:"roleNamesToAdd"`
	RoleNamesToRemove []string         `json:"roleNamesToRemove"`
	RolesToAdd        []cspRoleNameRef `json:"rolesToAdd"`
	RolesToRemove     []cspRoleNameRef `json:"rolesToRemove"`
	RolesToUpdate     []cspRoleNameRef `json:"rolesToUpdate"`
}

func (u cspRolesUpdate) add() []string {
	out := slices.Clone(u.RoleNamesToAdd)
	for _, r := range u.RolesToAdd {
		out = append(out, r.Name)
	}
	return out
}

func (u cspRolesUpdate) remove() []string {
	out := slices.Clone(u.RoleNamesToRemove)
	for _, r := range u.RolesToRemove {
		out = append(out, r.Name)
	}
	return out
}

type cspServiceRolesUpdate struct {
	cspRolesUpdate
	ServiceDefinitionLink string `json:"serviceDefinitionLink"`
}

// cspUpdateRolesRequest is NotifiableUpdateMemberRolesRequest.
type cspUpdateRolesRequest struct {
	OrganizationRoles *cspRolesUpdate         `json:"organizationRoles"`
	ServiceRoles      []cspServiceRolesUpdate `json:"serviceRoles"`
	CustomRoles       *cspRolesUpdate         `json:"customRoles"`
	NotifyUsers       *bool                   `json:"notifyUsers"`
}

// cspValidServiceLink: UserServiceRolesUpdateRequest documents the pattern
// ^(/csp/slc/api/definitions/internal|/csp/slc/api/definitions/external)/[^/]+$;
// the invitation API's /csp/gateway/slc/... form is accepted too (emulator guess).
func cspValidServiceLink(l string) bool {
	for _, p := range []string{"/csp/slc/api/definitions/", "/csp/gateway/slc/api/definitions/"} {
		if rest, ok := strings.CutPrefix(l, p); ok {
			kind, id, ok := strings.Cut(rest, "/")
			return ok && (kind == "internal" || kind == "external") && id != "" && !strings.Contains(id, "/")
		}
	}
	return false
}

func (s *Server) cspPatchRoles(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.cspAuth(w, r, rc) {
		return
	}
	var req cspUpdateRolesRequest
	empty, err := decodeBody(w, r, &req)
	switch {
	case err != nil:
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | "+err.Error())
		return
	case empty:
		writeCSPError(w, rc, http.StatusBadRequest, "Invalid request body | a body is required")
		return
	}
	for _, sr := range req.ServiceRoles {
		if !cspValidServiceLink(sr.ServiceDefinitionLink) {
			writeCSPError(w, rc, http.StatusBadRequest, fmt.Sprintf("Invalid request body | serviceDefinitionLink %q", sr.ServiceDefinitionLink))
			return
		}
	}
	s.mu.Lock()
	o, ok := s.cspOrg(r.PathValue("orgId"), false)
	if !ok {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, cspOrgNotFound)
		return
	}
	s.syncMembers(o)
	u := o.userByID(r.PathValue("userId"))
	if u == nil {
		s.mu.Unlock()
		writeCSPError(w, rc, http.StatusNotFound, "User not found") // wording: emulator guess
		return
	}
	roles := slices.Clone(u.OrgRoles)
	if req.OrganizationRoles != nil {
		for _, n := range req.OrganizationRoles.remove() {
			roles = slices.DeleteFunc(roles, func(x string) bool { return x == n })
		}
		roles = uniqueSorted(append(roles, req.OrganizationRoles.add()...))
	}
	if slices.Contains(u.OrgRoles, cspRoleOrgOwner) && !slices.Contains(roles, cspRoleOrgOwner) {
		owners := 0
		for _, x := range o.Users {
			if slices.Contains(x.OrgRoles, cspRoleOrgOwner) {
				owners++
			}
		}
		if owners == 1 {
			s.mu.Unlock()
			writeCSPError(w, rc, http.StatusBadRequest, "Cannot remove the last org owner")
			return
		}
	}
	u.OrgRoles = roles
	for _, sr := range req.ServiceRoles {
		id := cspServiceDefinitionID(sr.ServiceDefinitionLink)
		u.ServiceRoles = cspAddServiceRoles(u.ServiceRoles, id, sr.add())
		for i := range u.ServiceRoles {
			if u.ServiceRoles[i].ID == id {
				for _, n := range sr.remove() {
					u.ServiceRoles[i].Roles = slices.DeleteFunc(u.ServiceRoles[i].Roles, func(x string) bool { return x == n })
				}
			}
		}
		u.ServiceRoles = slices.DeleteFunc(u.ServiceRoles, func(x cspUserService) bool { return len(x.Roles) == 0 })
	}
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APICSP, rc, err)
		return
	}
	// The page documents no body for the answer: 200 with none (emulator guess).
	w.WriteHeader(http.StatusOK)
}

// ---- seeds ----

// SeedCSPMember is one member of a CSP org who joined outside invitesync.
type SeedCSPMember struct {
	Username string `json:"username" yaml:"username"`
	// OrgRoles default to org_member.
	OrgRoles []string `json:"org_roles,omitempty" yaml:"org_roles,omitempty"`
	// ServiceRoles: the service is the link's last segment (a bare service
	// definition id works too).
	ServiceRoles []SeedServiceRole `json:"service_roles,omitempty" yaml:"service_roles,omitempty"`
}

func (s *Server) checkSeedCSPMembers(m map[string][]SeedCSPMember) []error {
	var errs []error
	for org, list := range m {
		if org == "" || strings.Contains(org, "/") {
			errs = append(errs, fmt.Errorf("csp_members %q: not an org id", org))
			continue
		}
		seen := map[string]bool{}
		for i, e := range list {
			at := fmt.Sprintf("csp_members %s[%d]", org, i)
			if !validEmail(strings.TrimSpace(e.Username)) {
				errs = append(errs, fmt.Errorf("%s: username %q is not a valid email address", at, e.Username))
				continue
			}
			if seen[key(e.Username)] {
				errs = append(errs, fmt.Errorf("%s: %s is listed twice", at, e.Username))
			}
			seen[key(e.Username)] = true
			for j, sr := range e.ServiceRoles {
				if strings.TrimSpace(sr.ServiceDefinitionLink) == "" {
					errs = append(errs, fmt.Errorf("%s: service_roles[%d]: service_definition_link is required", at, j))
				}
			}
		}
	}
	return errs
}

func (s *Server) applySeedCSPMembers(m map[string][]SeedCSPMember, now time.Time) {
	for _, id := range sortedKeys(m) {
		o := s.st.cspOrgFor(id, true)
		o.indexUsers()
		for _, e := range m[id] {
			name := strings.TrimSpace(e.Username)
			u := &cspUser{Seq: s.st.next(), ID: cspUserID(name), Username: name, OrgRoles: uniqueSorted(e.OrgRoles), JoinedAt: now}
			if len(u.OrgRoles) == 0 {
				u.OrgRoles = []string{cspRoleOrgMember}
			}
			for _, sr := range e.ServiceRoles {
				u.ServiceRoles = cspAddServiceRoles(u.ServiceRoles, cspServiceDefinitionID(sr.ServiceDefinitionLink), sr.Roles)
			}
			o.Users[key(name)] = u
		}
	}
}

// appendCSPUsers writes an org's "users" field as encoding/json would (the
// state file's hand-written encoding; omitted when empty).
func appendCSPUsers(b []byte, users map[string]*cspUser) []byte {
	if len(users) == 0 {
		return b
	}
	b = append(b, `,"users":{`...)
	first := true
	for k, u := range users {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, `:{"seq":`...)
		b = strconv.AppendInt(b, u.Seq, 10)
		b = appendField(b, "id", u.ID)
		b = appendField(b, "username", u.Username)
		b = appendOptStrings(b, "org_roles", u.OrgRoles)
		if len(u.ServiceRoles) > 0 {
			b = append(b, `,"service_roles":[`...)
			for i, sr := range u.ServiceRoles {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"id":`...)
				b = appendString(b, sr.ID)
				b = append(b, `,"roles":`...)
				b = appendStrings(b, sr.Roles)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = appendTime(b, "joined_at", u.JoinedAt)
		b = append(b, '}')
	}
	return append(b, '}')
}
