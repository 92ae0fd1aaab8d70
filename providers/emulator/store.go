package emulator

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Confluent and Azure status values (an open set upstream; the emulator only
// produces these).
const (
	statusSent        = "INVITE_STATUS_SENT"
	statusStaged      = "INVITE_STATUS_STAGED"
	statusAccepted    = "INVITE_STATUS_ACCEPTED"
	statusExpired     = "INVITE_STATUS_EXPIRED"
	statusDeactivated = "INVITE_STATUS_DEACTIVATED"
)

// CSP status values (a closed set upstream).
const (
	cspAvailable = "AVAILABLE"
	cspRedeemed  = "REDEEMED"
	cspRevoked   = "REVOKED"
)

const (
	authLocal = "AUTH_TYPE_LOCAL"
	authSSO   = "AUTH_TYPE_SSO"
	// defaultAuthType is what a create without auth_type gets. Upstream picks
	// SSO when the org has SSO enabled, LOCAL otherwise; the emulator's orgs
	// have no SSO (emulator guess).
	defaultAuthType = authLocal
)

// store is every org of every API. Exported fields are the state file; the
// indexes are rebuilt on load.
type store struct {
	Seq       int64              `json:"seq"` // last sequence number handed out (ids, ordering)
	Confluent *cOrg              `json:"confluent"`
	CSP       map[string]*cspOrg `json:"csp"`
	Azure     map[string]*cOrg   `json:"azure"` // key: subscription/resourceGroup/organization
	// ConfluentSecond is the org behind Config.Confluent.SecondKey: a second
	// organization behind the same host (nil until that key is used).
	ConfluentSecond *cOrg `json:"confluent_second,omitempty"`
	// CSPDeclared: a seed named CSP orgs, so unknown orgIds answer 404 (csp_config.go).
	CSPDeclared bool `json:"csp_declared,omitempty"`
}

func newStore() *store {
	return &store{Confluent: newCOrg("confluent"), CSP: map[string]*cspOrg{}, Azure: map[string]*cOrg{}}
}

// clear empties every org. Seq keeps counting so ids are never reused, which
// would confuse a client's ledger across a reset.
func (st *store) clear() {
	st.Confluent = newCOrg("confluent")
	st.ConfluentSecond = nil
	st.CSP = map[string]*cspOrg{}
	st.Azure = map[string]*cOrg{}
	st.CSPDeclared = false
}

func (st *store) next() int64 {
	st.Seq++
	return st.Seq
}

// azureOrg returns the Azure org named key, creating it when create is set
// (orgs exist on first use: emulator guess, so tests need no setup).
func (st *store) azureOrg(key string, create bool) *cOrg {
	o := st.Azure[key]
	if o == nil && create {
		o = newCOrg("azure/" + key)
		st.Azure[key] = o
	}
	return o
}

// cspOrgFor returns the CSP org id, creating it when create is set (any orgId
// is accepted and created empty on first use: emulator guess).
func (st *store) cspOrgFor(id string, create bool) *cspOrg {
	o := st.CSP[id]
	if o == nil && create {
		o = &cspOrg{ID: id}
		o.index()
		st.CSP[id] = o
	}
	return o
}

// key is the comparison key of an email: trimmed, lower-cased (as sources.Key).
// key folds ASCII case only, as invitesync does: a Unicode fold would make
// look-alikes (the Kelvin sign and k) one person.
func key(email string) string {
	b := []byte(strings.TrimSpace(email))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ---- Confluent (and Azure, which is Confluent underneath) ----

// cInv is one Confluent invitation.
type cInv struct {
	Seq        int64     `json:"seq"`
	ID         string    `json:"id"`
	Email      string    `json:"email"`
	AuthType   string    `json:"auth_type,omitempty"`
	Status     string    `json:"status"` // as stored; SENT/STAGED read EXPIRED after ExpiresAt
	CreatorID  string    `json:"creator_id,omitempty"`
	UserID     string    `json:"user_id"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
	DeletedAt  time.Time `json:"deleted_at,omitzero"`
}

// status is the status a client reads at now: expiry is applied lazily.
func (inv *cInv) status(now time.Time) string {
	if (inv.Status == statusSent || inv.Status == statusStaged) && !inv.ExpiresAt.IsZero() && now.After(inv.ExpiresAt) {
		return statusExpired
	}
	return inv.Status
}

func (inv *cInv) pending(now time.Time) bool {
	s := inv.status(now)
	return s == statusSent || s == statusStaged
}

// cUser is a person of a Confluent org: the invitee's user id is fixed at
// their first invitation; Member is set once they accept.
type cUser struct {
	ID         string    `json:"id"`
	Email      string    `json:"email"`
	AuthType   string    `json:"auth_type,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Member     bool      `json:"member,omitempty"`
	MemberSeq  int64     `json:"member_seq,omitempty"` // order of acceptance (listUsers)
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
}

// cOrg is one Confluent organization's invitations.
type cOrg struct {
	ID    string            `json:"id"` // Confluent org id (a UUID), for resource names
	Invs  []*cInv           `json:"invitations"`
	Users map[string]*cUser `json:"users"` // by key(email)
	// Role bindings and API keys (confluent_access.go).
	Bindings []*cBinding `json:"role_bindings,omitempty"`
	Keys     []*cKey     `json:"api_keys,omitempty"`

	byID    map[string]*cInv
	byEmail map[string][]*cInv // creation order
	members []*cUser           // acceptance order
	byUser  map[string]*cUser  // by user id
}

func newCOrg(name string) *cOrg {
	o := &cOrg{ID: uuidFrom(name), Users: map[string]*cUser{}}
	o.index()
	return o
}

// index rebuilds the lookup maps (after load).
func (o *cOrg) index() {
	if o.Users == nil {
		o.Users = map[string]*cUser{}
	}
	sort.Slice(o.Invs, func(i, j int) bool { return o.Invs[i].Seq < o.Invs[j].Seq })
	o.byID = make(map[string]*cInv, len(o.Invs))
	o.byEmail = make(map[string][]*cInv, len(o.Invs))
	for _, inv := range o.Invs {
		o.byID[inv.ID] = inv
		k := key(inv.Email)
		o.byEmail[k] = append(o.byEmail[k], inv)
	}
	o.members = o.members[:0]
	for _, u := range o.Users {
		if u.Member {
			o.members = append(o.members, u)
		}
	}
	sort.Slice(o.members, func(i, j int) bool { return o.members[i].MemberSeq < o.members[j].MemberSeq })
	o.indexAccess()
}

// pendingFor returns the newest pending invitation of email, or nil.
func (o *cOrg) pendingFor(email string, now time.Time) *cInv {
	list := o.byEmail[key(email)]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].pending(now) {
			return list[i]
		}
	}
	return nil
}

func (o *cOrg) isMember(email string) bool {
	u := o.Users[key(email)]
	return u != nil && u.Member
}

// add creates an invitation; the caller has checked there is no pending one.
func (o *cOrg) add(st *store, email, authType, creator string, created, expires time.Time) *cInv {
	if authType == "" {
		authType = defaultAuthType
	}
	seq := st.next()
	k := key(email)
	u := o.Users[k]
	if u == nil {
		u = &cUser{ID: "u-" + base36(st.next()), Email: strings.TrimSpace(email), AuthType: authType, CreatedAt: created}
		o.Users[k] = u
		o.byUser[u.ID] = u
	}
	inv := &cInv{
		Seq: seq, ID: "i-" + base36(seq), Email: strings.TrimSpace(email), AuthType: authType,
		Status: statusSent, CreatorID: creator, UserID: u.ID,
		CreatedAt: created, UpdatedAt: created, ExpiresAt: expires,
	}
	o.Invs = append(o.Invs, inv)
	o.byID[inv.ID] = inv
	o.byEmail[k] = append(o.byEmail[k], inv)
	return inv
}

// accept marks inv accepted and its person a member.
func (o *cOrg) accept(st *store, inv *cInv, now time.Time) {
	inv.Status = statusAccepted
	inv.AcceptedAt = now
	inv.UpdatedAt = now
	u := o.Users[key(inv.Email)]
	if u != nil && !u.Member {
		u.Member = true
		u.MemberSeq = st.next()
		u.AcceptedAt = now
		u.AuthType = inv.AuthType
		o.members = append(o.members, u)
	}
}

// startAfter is the index of the first invitation with Seq > seq.
func (o *cOrg) startAfter(seq int64) int {
	return sort.Search(len(o.Invs), func(i int) bool { return o.Invs[i].Seq > seq })
}

// counts adds o's invitations to c, normalised.
func (o *cOrg) counts(c *StatusCounts, now time.Time) {
	for _, inv := range o.Invs {
		switch inv.status(now) {
		case statusSent, statusStaged:
			c.Pending++
		case statusAccepted:
			c.Accepted++
		case statusExpired:
			c.Expired++
		case statusDeactivated:
			c.Revoked++
		}
	}
}

// ---- CSP ----

// cspServiceRole is one serviceRolesDtos entry.
type cspServiceRole struct {
	Link  string   `json:"link"`
	Roles []string `json:"roles"`
}

// cspInv is one CSP invitation.
type cspInv struct {
	Seq          int64            `json:"seq"`
	ID           string           `json:"id"` // the last segment of refLink
	Username     string           `json:"username"`
	Status       string           `json:"status"` // AVAILABLE | REDEEMED | REVOKED; expiry is never a status
	OrgRoles     []string         `json:"org_roles,omitempty"`
	ServiceRoles []cspServiceRole `json:"service_roles,omitempty"`
	CustomRoles  []string         `json:"custom_roles,omitempty"`
	Groups       []string         `json:"groups,omitempty"`
	InvitedBy    string           `json:"invited_by"`
	GeneratedBy  string           `json:"generated_by"`
	GeneratedAt  time.Time        `json:"generated_at"`
	ExpiresAt    time.Time        `json:"expires_at"`
	RedeemedAt   time.Time        `json:"redeemed_at,omitzero"`
	RedeemedBy   string           `json:"redeemed_by,omitempty"`
	RevokedAt    time.Time        `json:"revoked_at,omitzero"`
	RevokedBy    string           `json:"revoked_by,omitempty"`
	// MemberSynced: its acceptance made the invitee a member (csp_users.go),
	// so a later removal is not undone.
	MemberSynced bool `json:"member_synced,omitempty"`
}

// pending: AVAILABLE and not yet expired.
func (inv *cspInv) pending(now time.Time) bool {
	return inv.Status == cspAvailable && !now.After(inv.ExpiresAt)
}

// cspOrg is one CSP organization's invitations.
type cspOrg struct {
	ID    string              `json:"id"`
	Invs  []*cspInv           `json:"invitations"`
	Users map[string]*cspUser `json:"users,omitempty"` // members, by key(username)

	byID    map[string]*cspInv
	byEmail map[string][]*cspInv
}

func (o *cspOrg) index() {
	sort.Slice(o.Invs, func(i, j int) bool { return o.Invs[i].Seq < o.Invs[j].Seq })
	o.byID = make(map[string]*cspInv, len(o.Invs))
	o.byEmail = make(map[string][]*cspInv, len(o.Invs))
	for _, inv := range o.Invs {
		o.byID[inv.ID] = inv
		k := key(inv.Username)
		o.byEmail[k] = append(o.byEmail[k], inv)
	}
	o.indexUsers()
}

func (o *cspOrg) add(inv *cspInv) {
	o.Invs = append(o.Invs, inv)
	o.byID[inv.ID] = inv
	k := key(inv.Username)
	o.byEmail[k] = append(o.byEmail[k], inv)
}

// pendingFor returns the newest pending invitation of username, or nil.
func (o *cspOrg) pendingFor(username string, now time.Time) *cspInv {
	list := o.byEmail[key(username)]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].pending(now) {
			return list[i]
		}
	}
	return nil
}

func (o *cspOrg) counts(c *StatusCounts, now time.Time) {
	for _, inv := range o.Invs {
		switch {
		case inv.Status == cspAvailable && inv.pending(now):
			c.Pending++
		case inv.Status == cspAvailable:
			c.Expired++
		case inv.Status == cspRedeemed:
			c.Accepted++
		case inv.Status == cspRevoked:
			c.Revoked++
		}
	}
}

// ---- helpers ----

// base36 renders a sequence number as a short, fixed-width id part.
func base36(n int64) string {
	s := strconv.FormatInt(n, 36)
	if len(s) < 6 {
		s = strings.Repeat("0", 6-len(s)) + s
	}
	return s
}

// uuidFrom derives a stable UUID-shaped id from a name (org ids).
func uuidFrom(name string) string {
	h := sha256.Sum256([]byte("invitesync-emulator/" + name))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// validEmail is a plain sanity check (one @, a dotted domain, no spaces);
// upstream rules are not published, this catches what a roster typo makes.
func validEmail(s string) bool {
	if s == "" || len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>,;\"") {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') {
		return false
	}
	domain := s[at+1:]
	dot := strings.IndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1 && !strings.Contains(domain, "..")
}
