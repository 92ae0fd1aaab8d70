package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Confluent Cloud access: users (iam/v2 openapi.yaml), role bindings
// (mds/v2 openapi.yaml, /iam/v2/role-bindings) and API keys listed by owner
// (apikeys/v2 openapi.yaml), all in confluentinc/ccloud-sdk-go-v2. Azure's
// access actions (azure_access.go) share the store: Confluent underneath.

const (
	confluentUsers       = "GET /iam/v2/users"
	confluentUser        = "GET /iam/v2/users/{id}"
	confluentUserDelete  = "DELETE /iam/v2/users/{id}"
	confluentBindings    = "GET /iam/v2/role-bindings"
	confluentBindingPost = "POST /iam/v2/role-bindings"
	confluentBinding     = "GET /iam/v2/role-bindings/{id}"
	confluentBindingDel  = "DELETE /iam/v2/role-bindings/{id}"
	confluentAPIKeys     = "GET /iam/v2/api-keys"
)

// ConfluentConfig holds the switches for Confluent behaviours the vendor
// leaves open. Each zero value is the documented (or most likely) one;
// doc.go lists them.
type ConfluentConfig struct {
	// EmailFilter: "exact" (default; openapi.yaml: "Filter the results by
	// exact match for email") or "fold" (ASCII case-insensitive).
	EmailFilter string
	// Duplicate is what a create for an email with a pending invitation
	// answers: "409" (default: 409 resource_already_exists with Location
	// naming the existing one) or "201" (a second invitation is made).
	Duplicate string
	// EmailCase is how a created invitation's email is stored: "as-sent"
	// (default) or "lower" (normalised); the openapi.yaml does not say.
	EmailCase string
	// SecondKey/SecondSecret/SecondPrincipal: a second Cloud API key that
	// reaches a second, separate organization behind the same host.
	SecondKey, SecondSecret, SecondPrincipal string
}

// Switch values.
const (
	ConfluentEmailExact   = "exact"
	ConfluentEmailFold    = "fold"
	ConfluentDuplicate409 = "409"
	ConfluentDuplicate201 = "201"
	ConfluentEmailAsSent  = "as-sent"
	ConfluentEmailLower   = "lower"
	// DefaultConfluentSecondPrincipal owns the second key when none is named.
	DefaultConfluentSecondPrincipal = "u-invitesync2"
	// ConfluentPrincipalEmail is the email of the key owners' users.
	ConfluentPrincipalEmail = "invitesync-admin@example.com"
)

// ConfluentRoles are the role names the emulator accepts in a binding (the
// organization, environment and cluster roles of Confluent Cloud RBAC;
// Access_RoleBindingNameList's example lists MetricsViewer,
// OrganizationAdmin, Operator, NetworkAdmin, ResourceKeyAdmin, AccountAdmin).
var ConfluentRoles = []string{
	"AccountAdmin", "BillingAdmin", "CloudClusterAdmin", "DataDiscovery", "DataSteward",
	"DeveloperManage", "DeveloperRead", "DeveloperWrite", "EnvironmentAdmin", "FlinkAdmin",
	"FlinkDeveloper", "MetricsViewer", "NetworkAdmin", "Operator", "OrganizationAdmin",
	"ResourceKeyAdmin", "ResourceOwner",
}

func validRole(name string) bool { return slices.Contains(ConfluentRoles, name) }

func (s *Server) confluentAccessRoutes() []*route {
	return []*route{
		{api: APIConfluent, pattern: confluentUsers, h: s.confluentListUsers},
		{api: APIConfluent, pattern: confluentUser, h: s.confluentGetUser},
		{api: APIConfluent, pattern: confluentUserDelete, write: true, h: s.confluentDeleteUser},
		{api: APIConfluent, pattern: confluentBindings, h: s.confluentListBindings},
		{api: APIConfluent, pattern: confluentBindingPost, write: true, h: s.confluentCreateBinding, dupes: s.confluentBindingDupes},
		{api: APIConfluent, pattern: confluentBinding, h: s.confluentGetBinding},
		{api: APIConfluent, pattern: confluentBindingDel, write: true, h: s.confluentDeleteBinding},
		{api: APIConfluent, pattern: confluentAPIKeys, h: s.confluentListKeys},
	}
}

// ---- store ----

// cBinding is one role binding.
type cBinding struct {
	Seq       int64     `json:"seq"`
	ID        string    `json:"id"`
	Principal string    `json:"principal"` // User:u-... or Group:...
	Role      string    `json:"role_name"`
	CRN       string    `json:"crn_pattern"`
	CreatedAt time.Time `json:"created_at"`
}

// cKey is one API key (never a secret: the emulator keeps none).
type cKey struct {
	Seq       int64     `json:"seq"`
	ID        string    `json:"id"`
	Owner     string    `json:"owner"` // user id
	CreatedAt time.Time `json:"created_at"`
}

// indexAccess rebuilds the user-id index (after load, and from index).
func (o *cOrg) indexAccess() {
	o.byUser = make(map[string]*cUser, len(o.Users))
	for _, u := range o.Users {
		o.byUser[u.ID] = u
	}
	slices.SortFunc(o.Bindings, func(a, b *cBinding) int { return int(a.Seq - b.Seq) })
	slices.SortFunc(o.Keys, func(a, b *cKey) int { return int(a.Seq - b.Seq) })
}

// appendCOrgAccess writes the access part of an org's state (rarely large:
// encoding/json is fine here).
func appendCOrgAccess(b []byte, o *cOrg) []byte {
	if len(o.Bindings) > 0 {
		j, _ := json.Marshal(o.Bindings)
		b = append(b, `,"role_bindings":`...)
		b = append(b, j...)
	}
	if len(o.Keys) > 0 {
		j, _ := json.Marshal(o.Keys)
		b = append(b, `,"api_keys":`...)
		b = append(b, j...)
	}
	return b
}

func (o *cOrg) crn() string { return "crn://confluent.cloud/organization=" + o.ID }

func (o *cOrg) findBinding(principal, role, crn string) *cBinding {
	for _, b := range o.Bindings {
		if b.Principal == principal && b.Role == role && b.CRN == crn {
			return b
		}
	}
	return nil
}

func (o *cOrg) bindingByID(id string) (int, *cBinding) {
	for i, b := range o.Bindings {
		if b.ID == id {
			return i, b
		}
	}
	return -1, nil
}

func (o *cOrg) addBinding(st *store, principal, role, crn string, now time.Time) *cBinding {
	seq := st.next()
	b := &cBinding{Seq: seq, ID: "rb-" + base36(seq), Principal: principal, Role: role, CRN: crn, CreatedAt: now}
	o.Bindings = append(o.Bindings, b)
	return b
}

func (o *cOrg) addKey(st *store, id, owner string, now time.Time) *cKey {
	seq := st.next()
	if id == "" {
		id = "KEY" + strings.ToUpper(base36(seq))
	}
	k := &cKey{Seq: seq, ID: id, Owner: owner, CreatedAt: now}
	o.Keys = append(o.Keys, k)
	return k
}

// member returns the member with user id, or nil.
func (o *cOrg) member(id string) *cUser {
	if u := o.byUser[id]; u != nil && u.Member {
		return u
	}
	return nil
}

// removeUser deletes a member and, as the vendor describes ("recursively
// delete all of the user's associated resources, including its cloud and
// cluster API keys"), its API keys and role bindings. Its invitations stay
// listed as they were (emulator guess).
func (o *cOrg) removeUser(u *cUser) {
	delete(o.Users, key(u.Email))
	delete(o.byUser, u.ID)
	o.members = slices.DeleteFunc(o.members, func(m *cUser) bool { return m == u })
	p := "User:" + u.ID
	o.Bindings = slices.DeleteFunc(o.Bindings, func(b *cBinding) bool { return b.Principal == p })
	o.Keys = slices.DeleteFunc(o.Keys, func(k *cKey) bool { return k.Owner == u.ID })
}

// ensurePrincipal makes the key owner a member holding OrganizationAdmin,
// as the owner of a working Cloud API key is (a change: store lock held).
func (o *cOrg) ensurePrincipal(st *store, id string, now time.Time) bool {
	if o.byUser[id] != nil {
		return false
	}
	u := &cUser{ID: id, Email: ConfluentPrincipalEmail, AuthType: authLocal, CreatedAt: now, Member: true, MemberSeq: st.next(), AcceptedAt: now}
	o.Users[key(u.Email)] = u
	o.byUser[id] = u
	o.members = append(o.members, u)
	o.addBinding(st, "User:"+id, "OrganizationAdmin", o.crn(), now)
	return true
}

// matchCRN: a pattern ending in "/*" matches its scope and every nested one
// (the Confluent CLI's --inclusive); any other matches its scope only.
func matchCRN(pattern, crn string) bool {
	if base, ok := strings.CutSuffix(pattern, "/*"); ok {
		return crn == base || strings.HasPrefix(crn, base+"/")
	}
	return crn == pattern
}

// roleCRN maps the roster syntax NAME[@env-x[/lkc-y]] to a role name and a
// CRN pattern under org (seeds use it).
func roleCRN(org *cOrg, role string) (string, string, bool) {
	name, scope, _ := strings.Cut(role, "@")
	crn := org.crn()
	if scope != "" {
		env, cluster, hasCluster := strings.Cut(scope, "/")
		if !strings.HasPrefix(env, "env-") || (hasCluster && !strings.HasPrefix(cluster, "lkc-")) {
			return "", "", false
		}
		crn += "/environment=" + env
		if hasCluster {
			crn += "/cloud-cluster=" + cluster
		}
	}
	return name, crn, validRole(name)
}

// ---- caller ----

// confluentCaller is who a request authenticated as.
type confluentCaller struct {
	second    bool // the second key: the second org
	key       string
	principal string
}

// confluentOrgLocked returns the caller's org, creating the second org and
// the key owner's user on first use (store lock held). The owner's user is
// derived from the configuration, so making it needs no durable write.
func (s *Server) confluentOrgLocked(c confluentCaller) *cOrg {
	o := s.st.Confluent
	if c.second {
		if s.st.ConfluentSecond == nil {
			s.st.ConfluentSecond = newCOrg("confluent-second")
		}
		o = s.st.ConfluentSecond
	}
	if o.ensurePrincipal(s.st, c.principal, s.now()) {
		s.changedLocked()
	}
	return o
}

// confluentOrgFor is the Confluent org a control call names: "" or the
// first org's id is the first org; the second org's id is the second.
func (s *Server) confluentOrgFor(org string) *cOrg {
	if org != "" && s.st.ConfluentSecond != nil && org == s.st.ConfluentSecond.ID {
		return s.st.ConfluentSecond
	}
	return s.st.Confluent
}

// ---- wire ----

type confluentUserWire struct {
	APIVersion string     `json:"api_version"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   objectMeta `json:"metadata"`
	Email      string     `json:"email"`
	FullName   string     `json:"full_name"`
	AuthType   string     `json:"auth_type,omitempty"`
}

func renderUser(u *cUser, base string) confluentUserWire {
	return confluentUserWire{
		APIVersion: "iam/v2", Kind: "User", ID: u.ID,
		Metadata: objectMeta{
			Self: base + "/iam/v2/users/" + u.ID, ResourceName: "crn://confluent.cloud/user=" + u.ID,
			CreatedAt: rfc3339(u.CreatedAt), UpdatedAt: rfc3339(u.AcceptedAt),
		},
		Email: u.Email, FullName: fullName(u.Email), AuthType: u.AuthType,
	}
}

type bindingWire struct {
	APIVersion string     `json:"api_version,omitempty"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   objectMeta `json:"metadata"`
	Principal  string     `json:"principal"`
	RoleName   string     `json:"role_name"`
	CRNPattern string     `json:"crn_pattern"`
}

func renderBinding(b *cBinding, org *cOrg, base string) bindingWire {
	return bindingWire{
		APIVersion: "iam/v2", Kind: "RoleBinding", ID: b.ID,
		Metadata: objectMeta{
			Self: base + "/iam/v2/role-bindings/" + b.ID, ResourceName: org.crn() + "/role-binding=" + b.ID,
			CreatedAt: rfc3339(b.CreatedAt), UpdatedAt: rfc3339(b.CreatedAt),
		},
		Principal: b.Principal, RoleName: b.Role, CRNPattern: b.CRN,
	}
}

type keyRef struct {
	ID           string `json:"id"`
	Related      string `json:"related"`
	ResourceName string `json:"resource_name"`
	Kind         string `json:"kind,omitempty"`
}

type apiKeyWire struct {
	APIVersion string     `json:"api_version"`
	Kind       string     `json:"kind"`
	ID         string     `json:"id"`
	Metadata   objectMeta `json:"metadata"`
	Spec       struct {
		DisplayName string  `json:"display_name"`
		Description string  `json:"description"`
		Owner       keyRef  `json:"owner"`
		Resource    *keyRef `json:"resource"`
	} `json:"spec"`
}

func renderKey(k *cKey, org *cOrg, base string) apiKeyWire {
	var w apiKeyWire
	w.APIVersion, w.Kind, w.ID = "iam/v2", "ApiKey", k.ID
	w.Metadata = objectMeta{
		Self: base + "/iam/v2/api-keys/" + k.ID, ResourceName: org.crn() + "/api-key=" + k.ID,
		CreatedAt: rfc3339(k.CreatedAt), UpdatedAt: rfc3339(k.CreatedAt),
	}
	w.Spec.DisplayName = "key " + k.ID
	w.Spec.Owner = keyRef{ID: k.Owner, Related: base + "/iam/v2/users/" + k.Owner, ResourceName: org.crn() + "/user=" + k.Owner, Kind: "User"}
	return w
}

type listWire[T any] struct {
	APIVersion string   `json:"api_version"`
	Kind       string   `json:"kind"`
	Metadata   listMeta `json:"metadata"`
	Data       []T      `json:"data"`
}

// pageArgs reads page_size and page_token; it answers the error itself.
func (s *Server) pageArgs(w http.ResponseWriter, rc *reqCtx, q url.Values) (size int, after int64, ok bool) {
	size, err := parsePageSize(q.Get("page_size"), s.cfg.PageSizeMax)
	if err != nil {
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_page_size", "Invalid Page Size", err.Error(), "", "page_size")
		return 0, 0, false
	}
	after, err = decodePageToken(q.Get("page_token"))
	if err != nil {
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_page_token", "Invalid Page Token", err.Error(), "", "page_token")
		return 0, 0, false
	}
	return size, after, true
}

// nextLink is metadata.next for path with the filters of q kept.
func nextLink(base, path string, q url.Values, size int, last int64) string {
	v := url.Values{}
	for k, vals := range q {
		if k != "page_token" && k != "page_size" && len(vals) > 0 && vals[0] != "" {
			v.Set(k, vals[0])
		}
	}
	v.Set("page_size", strconv.Itoa(size))
	v.Set("page_token", encodePageToken(last))
	return base + path + "?" + v.Encode()
}

// pageOf serves items (in Seq order) after seq, size at most.
func pageOf[T any](items []T, seq func(T) int64, after int64, size int) (out []T, more bool) {
	for _, it := range items {
		if seq(it) <= after {
			continue
		}
		if len(out) == size {
			return out, true
		}
		out = append(out, it)
	}
	return out, false
}

// ---- users ----

func (s *Server) confluentListUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	q := r.URL.Query()
	size, after, ok := s.pageArgs(w, rc, q)
	if !ok {
		return
	}
	s.mu.Lock()
	org := s.confluentOrgLocked(c)
	items, more := pageOf(org.members, func(u *cUser) int64 { return u.MemberSeq }, after, size)
	out := listWire[confluentUserWire]{APIVersion: "iam/v2", Kind: "UserList", Data: []confluentUserWire{}}
	out.Metadata = listMeta{First: rc.base + "/iam/v2/users", TotalSize: len(org.members)}
	for _, u := range items {
		out.Data = append(out.Data, renderUser(u, rc.base))
	}
	if more {
		out.Metadata.Next = nextLink(rc.base, "/iam/v2/users", q, size, items[len(items)-1].MemberSeq)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) confluentGetUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	s.mu.Lock()
	u := s.confluentOrgLocked(c).member(r.PathValue("id"))
	var out confluentUserWire
	if u != nil {
		out = renderUser(u, rc.base)
	}
	s.mu.Unlock()
	if u == nil {
		writeConfluentError(w, rc, http.StatusNotFound, "", "Not Found", "", "", "")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// confluentDeleteUser answers 204 and removes the user with its API keys
// and role bindings at once (upstream says "is being deleted": it may take
// a while there; clients confirm with a read-back either way).
func (s *Server) confluentDeleteUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	s.mu.Lock()
	org := s.confluentOrgLocked(c)
	u := org.member(r.PathValue("id"))
	if u == nil {
		s.mu.Unlock()
		writeConfluentError(w, rc, http.StatusNotFound, "", "Not Found", "", "", "")
		return
	}
	org.removeUser(u)
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APIConfluent, rc, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- role bindings ----

var principalRE = regexp.MustCompile(`(^User:.+$)|(^Group:.+$)`)

// orgOfCRN checks a crn_pattern names org: another organization answers 403
// (emulator guess: the key's owner holds no role there).
func crnInOrg(crn string, org *cOrg) bool {
	return crn == org.crn() || strings.HasPrefix(crn, org.crn()+"/")
}

func (s *Server) confluentListBindings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	q := r.URL.Query()
	size, after, ok := s.pageArgs(w, rc, q)
	if !ok {
		return
	}
	pattern, principal, role := q.Get("crn_pattern"), q.Get("principal"), q.Get("role_name")
	if pattern == "" {
		// The parameter is required in mds/v2 openapi.yaml.
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_filter", "Invalid Filter", "crn_pattern is required", "", "crn_pattern")
		return
	}
	s.mu.Lock()
	org := s.confluentOrgLocked(c)
	if !crnInOrg(pattern, org) {
		s.mu.Unlock()
		writeConfluentError(w, rc, http.StatusForbidden, "user_unauthorized", "User Access Unauthorized",
			"The API key is not allowed to read role bindings of another organization", "", "crn_pattern")
		return
	}
	matches := org.bindingsMatching(pattern, principal, role)
	items, more := pageOf(matches, func(b *cBinding) int64 { return b.Seq }, after, size)
	out := listWire[bindingWire]{APIVersion: "iam/v2", Kind: "RoleBindingList", Data: []bindingWire{}}
	out.Metadata = listMeta{First: rc.base + "/iam/v2/role-bindings", TotalSize: len(matches)}
	for _, b := range items {
		out.Data = append(out.Data, renderBinding(b, org, rc.base))
	}
	if more {
		out.Metadata.Next = nextLink(rc.base, "/iam/v2/role-bindings", q, size, items[len(items)-1].Seq)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// bindingsMatching filters by pattern (see matchCRN) and exact principal and role.
func (o *cOrg) bindingsMatching(pattern, principal, role string) []*cBinding {
	var out []*cBinding
	for _, b := range o.Bindings {
		if (pattern == "" || matchCRN(pattern, b.CRN)) && (principal == "" || b.Principal == principal) && (role == "" || b.Role == role) {
			out = append(out, b)
		}
	}
	return out
}

type bindingBody struct {
	Principal  string `json:"principal"`
	RoleName   string `json:"role_name"`
	CRNPattern string `json:"crn_pattern"`
}

// confluentBindingDupes counts a create for a binding that exists already.
func (s *Server) confluentBindingDupes(r *http.Request, body []byte) int {
	var b bindingBody
	if json.Unmarshal(body, &b) != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	org := s.st.Confluent
	if k, _, ok := r.BasicAuth(); ok && s.cfg.Confluent.SecondKey != "" && k == s.cfg.Confluent.SecondKey && s.st.ConfluentSecond != nil {
		org = s.st.ConfluentSecond
	}
	if org.findBinding(b.Principal, b.RoleName, b.CRNPattern) != nil {
		s.stats.addDuplicateGrants(1)
	}
	return 0
}

// checkBinding validates a create body; "" when it is fine.
func checkBinding(b bindingBody) (msg, pointer string) {
	switch {
	case !principalRE.MatchString(b.Principal):
		return "principal must be User:<id> or Group:<id>", "/principal"
	case !strings.HasPrefix(b.CRNPattern, "crn://") || len(b.CRNPattern) == len("crn://"):
		return "crn_pattern must be a crn:// resource name", "/crn_pattern"
	case !validRole(b.RoleName):
		return "unknown role_name " + strconv.Quote(b.RoleName), "/role_name"
	}
	return "", ""
}

func (s *Server) confluentCreateBinding(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	var body bindingBody
	empty, err := decodeBody(w, r, &body)
	if err != nil || empty {
		msg := "request body is required"
		if err != nil {
			msg = err.Error()
		}
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_input", "Bad Request", msg, "", "")
		return
	}
	if msg, ptr := checkBinding(body); msg != "" {
		writeConfluentError(w, rc, http.StatusBadRequest, "invalid_input", "Bad Request", msg, ptr, "")
		return
	}
	s.mu.Lock()
	org := s.confluentOrgLocked(c)
	if !crnInOrg(body.CRNPattern, org) {
		s.mu.Unlock()
		writeConfluentError(w, rc, http.StatusForbidden, "user_unauthorized", "User Access Unauthorized",
			"The API key is not allowed to bind roles in another organization", "/crn_pattern", "")
		return
	}
	if b := org.findBinding(body.Principal, body.RoleName, body.CRNPattern); b != nil {
		s.mu.Unlock()
		// 409 resource_already_exists is documented for this create; the
		// Location header is the emulator's addition (as for invitations).
		w.Header().Set("Location", rc.base+"/iam/v2/role-bindings/"+b.ID)
		writeConfluentError(w, rc, http.StatusConflict, "resource_already_exists", "Resource Already exists",
			"The role binding already exists", "", "")
		return
	}
	b := org.addBinding(s.st, body.Principal, body.RoleName, body.CRNPattern, s.now())
	out := renderBinding(b, org, rc.base)
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APIConfluent, rc, err)
		return
	}
	w.Header().Set("Location", out.Metadata.Self)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) confluentGetBinding(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	s.mu.Lock()
	org := s.confluentOrgLocked(c)
	_, b := org.bindingByID(r.PathValue("id"))
	var out bindingWire
	if b != nil {
		out = renderBinding(b, org, rc.base)
	}
	s.mu.Unlock()
	if b == nil {
		writeConfluentError(w, rc, http.StatusNotFound, "", "Not Found", "", "", "")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// confluentDeleteBinding answers 200 with the binding ("A Role Binding is
// being deleted"), 404 when there is none.
func (s *Server) confluentDeleteBinding(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	s.mu.Lock()
	org := s.confluentOrgLocked(c)
	i, b := org.bindingByID(r.PathValue("id"))
	if b == nil {
		s.mu.Unlock()
		writeConfluentError(w, rc, http.StatusNotFound, "", "Not Found", "", "", "")
		return
	}
	out := renderBinding(b, org, rc.base)
	org.Bindings = slices.Delete(org.Bindings, i, i+1)
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(r.Context(), gen); err != nil {
		s.saveFailed(w, APIConfluent, rc, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ---- API keys ----

// confluentListKeys lists the org's API keys, filtered by spec.owner
// (exact match). Secrets are only in create answers upstream; the emulator
// has none. The emulator's own Cloud API key is not listed (emulator guess).
func (s *Server) confluentListKeys(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c, ok := s.confluentAuthAs(w, r, rc)
	if !ok {
		return
	}
	q := r.URL.Query()
	size, after, ok := s.pageArgs(w, rc, q)
	if !ok {
		return
	}
	owner := q.Get("spec.owner")
	s.mu.Lock()
	org := s.confluentOrgLocked(c)
	var matches []*cKey
	for _, k := range org.Keys {
		if owner == "" || k.Owner == owner {
			matches = append(matches, k)
		}
	}
	items, more := pageOf(matches, func(k *cKey) int64 { return k.Seq }, after, size)
	out := listWire[apiKeyWire]{APIVersion: "iam/v2", Kind: "ApiKeyList", Data: []apiKeyWire{}}
	out.Metadata = listMeta{First: rc.base + "/iam/v2/api-keys", TotalSize: len(matches)}
	for _, k := range items {
		out.Data = append(out.Data, renderKey(k, org, rc.base))
	}
	if more {
		out.Metadata.Next = nextLink(rc.base, "/iam/v2/api-keys", q, size, items[len(items)-1].Seq)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (c ConfluentConfig) check() error {
	switch c.EmailFilter {
	case "", ConfluentEmailExact, ConfluentEmailFold:
	default:
		return fmt.Errorf("confluent email filter %q: want exact or fold", c.EmailFilter)
	}
	switch c.Duplicate {
	case "", ConfluentDuplicate409, ConfluentDuplicate201:
	default:
		return fmt.Errorf("confluent duplicate %q: want 409 or 201", c.Duplicate)
	}
	switch c.EmailCase {
	case "", ConfluentEmailAsSent, ConfluentEmailLower:
	default:
		return fmt.Errorf("confluent email case %q: want as-sent or lower", c.EmailCase)
	}
	if (c.SecondKey == "") != (c.SecondSecret == "") {
		return errors.New("confluent second key: want both the key and its secret")
	}
	return nil
}

// accessCountsLocked counts members, bindings and keys (store lock held).
func (s *Server) accessCountsLocked() map[string]AccessCounts {
	add := func(c *AccessCounts, o *cOrg) {
		if o == nil {
			return
		}
		c.Users += len(o.members)
		c.Bindings += len(o.Bindings)
		c.APIKeys += len(o.Keys)
	}
	var cf, az AccessCounts
	add(&cf, s.st.Confluent)
	add(&cf, s.st.ConfluentSecond)
	for _, o := range s.st.Azure {
		add(&az, o)
	}
	return map[string]AccessCounts{APIConfluent: cf, APIAzure: az}
}
