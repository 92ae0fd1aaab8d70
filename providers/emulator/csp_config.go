package emulator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CSPConfig holds the CSP behaviours the vendor's reference leaves open.
// Each zero value is the documented or most likely behaviour; each field has
// an emulator flag (--csp-...) so a test or a user can play the others.
type CSPConfig struct {
	// Orgs exist from the start, besides seeded ones. Once any org is
	// declared (here or by a seed), an unknown orgId answers 404
	// "Organization with this identifier is not found." as the real API
	// does; with none declared every orgId exists, so ad-hoc runs need no setup.
	Orgs []string
	// AnyOrg makes every orgId exist on first use, declared or not.
	AnyOrg bool
	// Duplicate409: a re-invite of a pending user or of a member answers 409
	// and applies nothing of the call. Default: 202, nothing changes for
	// those usernames and the others are invited (what VMware's own tooling
	// observed: re-inviting "always return[s] 202 accepted").
	Duplicate409 bool
	// HideRedeemed: the invitation list leaves REDEEMED invitations out.
	HideRedeemed bool
	// ExpirySeconds: expirationTime is in epoch seconds. Default
	// milliseconds, the unit of every other documented timestamp.
	ExpirySeconds bool
	// FillInvitedBy: invitedByUsername is the token's user whatever the
	// request's invitedBy says. Default: it echoes invitedBy (empty when none
	// was sent), as the field's description suggests.
	FillInvitedBy bool
	// IgnoreExpiryDays: invitationExpirationInDays (documented only in the
	// tcsp variant) is ignored; every invitation lasts the default 7 days.
	IgnoreExpiryDays bool
	// MaxUsernames > 0 refuses invites naming more usernames ("batch too
	// large"); no cap is documented. 400 unless BatchTooLarge413.
	MaxUsernames     int
	BatchTooLarge413 bool
	// RefusedDomains: usernames in these domains are refused with 400
	// naming them, and nothing of that call is applied (one bad apple).
	RefusedDomains []string
	// UsersPageStartIsPage: the org users list's pageStart counts pages, not
	// items (documented as "the index that the set of results will begin
	// with"; nextLink is right either way).
	UsersPageStartIsPage bool
	// UsersNoNextLink: org users pages carry totalResults but no nextLink.
	UsersNoNextLink bool
	// UsersPageMax is the most users per page; 0 = 200, the documented maximum.
	UsersPageMax int
}

// DefaultCSPUsersPageMax is the documented maximum (and default) pageLimit
// of GET /csp/gateway/am/api/v2/orgs/{orgId}/users.
const DefaultCSPUsersPageMax = 200

// CSPBatchTooLargeMessage is the emulator's wording of a "batch too large"
// refusal (the vendor documents none); %d are the sent and allowed counts.
const CSPBatchTooLargeMessage = "Invalid request body | too many usernames: %d, at most %d per request"

func (c *CSPConfig) check() error {
	var errs []error
	if c.MaxUsernames < 0 {
		errs = append(errs, fmt.Errorf("csp max usernames %d: want >= 0", c.MaxUsernames))
	}
	if c.UsersPageMax < 0 {
		errs = append(errs, fmt.Errorf("csp users page max %d: want >= 0", c.UsersPageMax))
	}
	for _, o := range c.Orgs {
		if strings.TrimSpace(o) == "" || strings.Contains(o, "/") {
			errs = append(errs, fmt.Errorf("csp org %q: not an org id", o))
		}
	}
	for _, d := range c.RefusedDomains {
		if strings.TrimSpace(d) == "" || strings.Contains(d, "@") {
			errs = append(errs, fmt.Errorf("csp refused domain %q: want a domain such as example.org", d))
		}
	}
	return errors.Join(errs...)
}

func (c *CSPConfig) usersPageMax() int {
	if c.UsersPageMax > 0 {
		return c.UsersPageMax
	}
	return DefaultCSPUsersPageMax
}

// refused reports whether username's domain is in RefusedDomains.
func (c *CSPConfig) refused(username string) bool {
	at := strings.LastIndexByte(username, '@')
	if at < 0 {
		return false
	}
	d := strings.ToLower(username[at+1:])
	return slices.ContainsFunc(c.RefusedDomains, func(r string) bool { return strings.EqualFold(strings.TrimSpace(r), d) })
}

// cspOrg returns org id and whether it exists (store lock held). A missing
// org that exists by rule is created when create is set; otherwise nil is
// returned with exists true (an org with nothing in it yet).
func (s *Server) cspOrg(id string, create bool) (o *cspOrg, exists bool) {
	if o := s.st.CSP[id]; o != nil {
		return o, true
	}
	c := &s.cfg.CSP
	declared := len(c.Orgs) > 0 || s.st.CSPDeclared
	if !c.AnyOrg && declared && !slices.Contains(c.Orgs, id) {
		return nil, false
	}
	if create {
		return s.st.cspOrgFor(id, true), true
	}
	return nil, true
}

// cspOrgNotFound is the real API's answer for an unknown orgId.
const cspOrgNotFound = "Organization with this identifier is not found."
