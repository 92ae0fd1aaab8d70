package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Seed is the Go form of the seed file. Times
// not given are relative to when the seed is loaded, so a seed works on any date.
type Seed struct {
	// Confluent is the org behind the emulator's Confluent API key.
	Confluent []SeedConfluent `json:"confluent,omitempty" yaml:"confluent,omitempty"`
	// CSP maps an orgId to its invitations.
	CSP map[string][]SeedCSP `json:"csp,omitempty" yaml:"csp,omitempty"`
	// CSPMembers maps an orgId to members who joined outside invitesync
	// (an accepted CSP invitation makes its invitee a member too).
	CSPMembers map[string][]SeedCSPMember `json:"csp_members,omitempty" yaml:"csp_members,omitempty"`
	// Azure maps "subscriptionId/resourceGroup/organizationName" to its invitations.
	Azure map[string][]SeedAzure `json:"azure,omitempty" yaml:"azure,omitempty"`
}

// SeedConfluent is one Confluent invitation.
type SeedConfluent struct {
	Email    string `json:"email" yaml:"email"`
	AuthType string `json:"auth_type,omitempty" yaml:"auth_type,omitempty"`
	// Status is the API's own value; default INVITE_STATUS_SENT.
	Status string `json:"status,omitempty" yaml:"status,omitempty"`
	// Creator is the creator's user id; default the key's principal.
	Creator string `json:"creator,omitempty" yaml:"creator,omitempty"`
	// ExpiresAt defaults to load time + the invite TTL (72 h), or to an hour
	// ago for INVITE_STATUS_EXPIRED or with Expired.
	ExpiresAt time.Time `json:"expires_at,omitzero" yaml:"expires_at,omitempty"`
	// Expired (an extension) puts the expiry an hour in the past, keeping the
	// stored status, which then reads INVITE_STATUS_EXPIRED.
	Expired bool `json:"expired,omitempty" yaml:"expired,omitempty"`
	// Roles (an extension) are role bindings of the invitee's user, in the
	// roster's syntax: NAME, NAME@env-x or NAME@env-x/lkc-y (seed_access.go).
	Roles []string `json:"roles,omitempty" yaml:"roles,omitempty"`
	// APIKeys (an extension) are ids of API keys the user owns; only for
	// INVITE_STATUS_ACCEPTED (a member).
	APIKeys []string `json:"api_keys,omitempty" yaml:"api_keys,omitempty"`
}

// SeedAzure is one Azure (Confluent underneath) invitation; Azure records
// have no creator.
type SeedAzure struct {
	Email     string    `json:"email" yaml:"email"`
	AuthType  string    `json:"auth_type,omitempty" yaml:"auth_type,omitempty"`
	Status    string    `json:"status,omitempty" yaml:"status,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero" yaml:"expires_at,omitempty"`
	Expired   bool      `json:"expired,omitempty" yaml:"expired,omitempty"`
	// Roles (an extension): as SeedConfluent.Roles.
	Roles []string `json:"roles,omitempty" yaml:"roles,omitempty"`
}

// SeedCSP is one CSP invitation.
type SeedCSP struct {
	Username string `json:"username" yaml:"username"`
	// Status is AVAILABLE (default), REDEEMED or REVOKED.
	Status       string            `json:"status,omitempty" yaml:"status,omitempty"`
	OrgRoles     []string          `json:"org_roles,omitempty" yaml:"org_roles,omitempty"`
	ServiceRoles []SeedServiceRole `json:"service_roles,omitempty" yaml:"service_roles,omitempty"`
	Groups       []string          `json:"groups,omitempty" yaml:"groups,omitempty"`
	// ExpiresInDays from load time; default 7.
	ExpiresInDays int `json:"expires_in_days,omitempty" yaml:"expires_in_days,omitempty"`
	// Expired (an extension) makes it an AVAILABLE invitation whose
	// expirationTime has passed (CSP has no expired status).
	Expired bool `json:"expired,omitempty" yaml:"expired,omitempty"`
	// InvitedBy is invitedByUsername; default the CSP principal (extension).
	InvitedBy string `json:"invited_by,omitempty" yaml:"invited_by,omitempty"`
}

// SeedServiceRole is one service's roles.
type SeedServiceRole struct {
	ServiceDefinitionLink string   `json:"service_definition_link" yaml:"service_definition_link"`
	Roles                 []string `json:"roles" yaml:"roles"`
}

// maxSeedBytes bounds a seed file.
const maxSeedBytes = 64 << 20

// LoadSeedFile reads a YAML (.yaml, .yml) or JSON (.json) seed file and adds
// its invitations to the store (see Seed).
func (s *Server) LoadSeedFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if fi.Size() > maxSeedBytes {
		return fmt.Errorf("seed %s: %d bytes is over the %d byte limit", path, fi.Size(), maxSeedBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	var sd Seed
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sd); err != nil {
			return fmt.Errorf("seed %s: %w", path, err)
		}
	case ".yaml", ".yml":
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		// An empty file is an empty seed.
		if err := dec.Decode(&sd); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("seed %s: %w", path, err)
		}
	default:
		return fmt.Errorf("seed %s: want a .yaml, .yml or .json file", path)
	}
	if err := s.Seed(sd); err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	return nil
}

// Seed adds sd's invitations to the store, all or nothing: every entry is
// checked (emails, statuses, limits, no two pending invitations for one
// email in an org) before any is added.
func (s *Server) Seed(sd Seed) error {
	s.mu.Lock()
	now := s.now()
	if err := s.checkSeedLocked(sd, now); err != nil {
		s.mu.Unlock()
		return err
	}
	s.applySeedLocked(sd, now)
	gen := s.changedLocked()
	s.mu.Unlock()
	if err := s.durable(context.Background(), gen); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

func confluentStatusOK(st string) bool {
	switch st {
	case "", statusSent, statusStaged, statusAccepted, statusExpired, statusDeactivated:
		return true
	}
	return false
}

func (s *Server) checkSeedLocked(sd Seed, now time.Time) error {
	var errs []error
	// pendingSeen tracks emails that will be pending, per org, to refuse two.
	checkC := func(where string, org *cOrg, i int, email, auth, status string, expired bool, expires time.Time, seen map[string]bool) {
		at := fmt.Sprintf("%s[%d]", where, i)
		if !validEmail(strings.TrimSpace(email)) {
			errs = append(errs, fmt.Errorf("%s: email %q is not a valid email address", at, email))
			return
		}
		if !validAuthType(auth) {
			errs = append(errs, fmt.Errorf("%s: auth_type %q: want AUTH_TYPE_LOCAL or AUTH_TYPE_SSO", at, auth))
		}
		if !confluentStatusOK(status) {
			errs = append(errs, fmt.Errorf("%s: status %q: want one of INVITE_STATUS_SENT, _STAGED, _ACCEPTED, _EXPIRED, _DEACTIVATED", at, status))
			return
		}
		if (status == "" || status == statusSent || status == statusStaged) && !expired && (expires.IsZero() || expires.After(now)) {
			k := key(email)
			if seen[k] || (org != nil && org.pendingFor(email, now) != nil) {
				errs = append(errs, fmt.Errorf("%s: %s already has a pending invitation in this org", at, email))
			}
			seen[k] = true
		}
	}
	seen := map[string]bool{}
	for i, e := range sd.Confluent {
		checkC("confluent", s.st.Confluent, i, e.Email, e.AuthType, e.Status, e.Expired, e.ExpiresAt, seen)
	}
	for k, list := range sd.Azure {
		if len(strings.Split(k, "/")) != 3 || strings.Contains(k, "//") || strings.HasPrefix(k, "/") || strings.HasSuffix(k, "/") {
			errs = append(errs, fmt.Errorf("azure %q: want subscriptionId/resourceGroup/organizationName", k))
			continue
		}
		seen := map[string]bool{}
		for i, e := range list {
			checkC("azure "+k, s.st.azureOrg(k, false), i, e.Email, e.AuthType, e.Status, e.Expired, e.ExpiresAt, seen)
		}
	}
	for org, list := range sd.CSP {
		if org == "" || strings.Contains(org, "/") {
			errs = append(errs, fmt.Errorf("csp %q: not an org id", org))
			continue
		}
		seen := map[string]bool{}
		o := s.st.cspOrgFor(org, false)
		for i, e := range list {
			at := fmt.Sprintf("csp %s[%d]", org, i)
			if !validEmail(strings.TrimSpace(e.Username)) {
				errs = append(errs, fmt.Errorf("%s: username %q is not a valid email address", at, e.Username))
				continue
			}
			switch e.Status {
			case "", cspAvailable, cspRedeemed, cspRevoked:
			default:
				errs = append(errs, fmt.Errorf("%s: status %q: want AVAILABLE, REDEEMED or REVOKED", at, e.Status))
			}
			if len(e.Groups) > maxCustomGroups {
				errs = append(errs, fmt.Errorf("%s: %d groups: at most %d", at, len(e.Groups), maxCustomGroups))
			}
			if e.ExpiresInDays != 0 && (e.ExpiresInDays < minExpiryDays || e.ExpiresInDays > maxExpiryDays) {
				errs = append(errs, fmt.Errorf("%s: expires_in_days %d: want %d..%d", at, e.ExpiresInDays, minExpiryDays, maxExpiryDays))
			}
			for j, sr := range e.ServiceRoles {
				if sr.ServiceDefinitionLink == "" {
					errs = append(errs, fmt.Errorf("%s: service_roles[%d]: service_definition_link is required", at, j))
				}
			}
			if (e.Status == "" || e.Status == cspAvailable) && !e.Expired {
				k := key(e.Username)
				if seen[k] || (o != nil && o.pendingFor(e.Username, now) != nil) {
					errs = append(errs, fmt.Errorf("%s: %s already has a pending invitation in this org", at, e.Username))
				}
				seen[k] = true
			}
		}
	}
	errs = append(errs, s.checkSeedCSPMembers(sd.CSPMembers)...)
	errs = append(errs, checkSeedAccess(sd)...)
	return errors.Join(errs...)
}

// applySeedLocked adds a checked seed.
func (s *Server) applySeedLocked(sd Seed, now time.Time) {
	addC := func(org *cOrg, email, auth, status, creator string, expires time.Time, expired bool) {
		created := now
		switch {
		case !expires.IsZero():
		case expired || status == statusExpired:
			expires = now.Add(-time.Hour)
		default:
			expires = now.Add(s.cfg.ConfluentInviteTTL)
		}
		if !expires.After(created) {
			// Keep created before expires, one TTL earlier.
			created = expires.Add(-s.cfg.ConfluentInviteTTL)
		}
		inv := org.add(s.st, email, auth, creator, created, expires)
		switch status {
		case statusStaged, statusExpired:
			inv.Status = status
		case statusAccepted:
			at := now
			if expires.Before(now) {
				at = expires.Add(-time.Hour)
			}
			org.accept(s.st, inv, at)
		case statusDeactivated:
			inv.Status = statusDeactivated
			inv.DeletedAt = now
		}
	}
	for _, e := range sd.Confluent {
		creator := e.Creator
		if creator == "" {
			creator = s.cfg.ConfluentPrincipal
		}
		addC(s.st.Confluent, e.Email, e.AuthType, e.Status, creator, e.ExpiresAt, e.Expired)
	}
	for _, k := range sortedKeys(sd.Azure) {
		org := s.st.azureOrg(k, true)
		for _, e := range sd.Azure[k] {
			// Azure records carry no creator; the emulator stores none.
			addC(org, e.Email, e.AuthType, e.Status, "", e.ExpiresAt, e.Expired)
		}
	}
	for _, id := range sortedKeys(sd.CSP) {
		o := s.st.cspOrgFor(id, true)
		for _, e := range sd.CSP[id] {
			days := e.ExpiresInDays
			if days == 0 {
				days = defaultExpiryDays
			}
			inv := &cspInv{
				Seq: s.st.next(), ID: newUUID(), Username: strings.TrimSpace(e.Username), Status: cspAvailable,
				OrgRoles: e.OrgRoles, Groups: e.Groups,
				InvitedBy: e.InvitedBy, GeneratedBy: e.InvitedBy,
				GeneratedAt: now, ExpiresAt: now.Add(time.Duration(days) * 24 * time.Hour),
			}
			if inv.InvitedBy == "" {
				inv.InvitedBy, inv.GeneratedBy = s.cfg.CSPPrincipal, s.cfg.CSPPrincipal
			}
			for _, sr := range e.ServiceRoles {
				inv.ServiceRoles = append(inv.ServiceRoles, cspServiceRole{Link: sr.ServiceDefinitionLink, Roles: sr.Roles})
			}
			if e.Expired {
				inv.GeneratedAt = now.Add(-time.Duration(days)*24*time.Hour - time.Hour)
				inv.ExpiresAt = now.Add(-time.Hour)
			}
			switch e.Status {
			case cspRedeemed:
				inv.Status, inv.RedeemedAt, inv.RedeemedBy = cspRedeemed, now, inv.Username
			case cspRevoked:
				inv.Status, inv.RevokedAt, inv.RevokedBy = cspRevoked, now, inv.InvitedBy
			}
			o.add(inv)
		}
	}
	s.applySeedCSPMembers(sd.CSPMembers, now)
	s.applySeedAccess(sd, now)
	if len(sd.CSP) > 0 || len(sd.CSPMembers) > 0 {
		// Orgs are declared: from now on unknown orgIds answer 404.
		s.st.CSPDeclared = true
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
