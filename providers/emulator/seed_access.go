package emulator

import (
	"fmt"
	"strings"
	"time"
)

// Seed extensions for access (Seed*.Roles, SeedConfluent.APIKeys).

// checkSeedAccess checks roles and API keys before anything is added.
func checkSeedAccess(sd Seed) []error {
	var errs []error
	probe := &cOrg{ID: "probe"}
	checkRoles := func(at string, roles []string) {
		for _, r := range roles {
			if _, _, ok := roleCRN(probe, r); !ok {
				errs = append(errs, fmt.Errorf("%s: role %q: want NAME, NAME@env-x or NAME@env-x/lkc-y with NAME one of %s",
					at, r, strings.Join(ConfluentRoles, ", ")))
			}
		}
	}
	keys := map[string]bool{}
	for i, e := range sd.Confluent {
		at := fmt.Sprintf("confluent[%d]", i)
		checkRoles(at, e.Roles)
		if len(e.APIKeys) > 0 && e.Status != statusAccepted {
			errs = append(errs, fmt.Errorf("%s: api_keys need status INVITE_STATUS_ACCEPTED (a member owns keys)", at))
		}
		for _, k := range e.APIKeys {
			if strings.TrimSpace(k) == "" || strings.ContainsAny(k, "/ ") || keys[k] {
				errs = append(errs, fmt.Errorf("%s: api key id %q: want a unique id without spaces or slashes", at, k))
			}
			keys[k] = true
		}
	}
	for _, org := range sortedKeys(sd.Azure) {
		for i, e := range sd.Azure[org] {
			checkRoles(fmt.Sprintf("azure %s[%d]", org, i), e.Roles)
		}
	}
	return errs
}

// applySeedAccess adds the bindings and keys of a checked seed, after its
// invitations (so every person has a user id).
func (s *Server) applySeedAccess(sd Seed, now time.Time) {
	grant := func(org *cOrg, email string, roles []string) {
		u := org.Users[key(email)]
		if u == nil {
			return
		}
		for _, r := range roles {
			name, crn, _ := roleCRN(org, r)
			if org.findBinding("User:"+u.ID, name, crn) == nil {
				org.addBinding(s.st, "User:"+u.ID, name, crn, now)
			}
		}
	}
	for _, e := range sd.Confluent {
		org := s.st.Confluent
		grant(org, e.Email, e.Roles)
		if u := org.Users[key(e.Email)]; u != nil {
			for _, k := range e.APIKeys {
				org.addKey(s.st, k, u.ID, now)
			}
		}
	}
	for _, k := range sortedKeys(sd.Azure) {
		org := s.st.azureOrg(k, true)
		for _, e := range sd.Azure[k] {
			grant(org, e.Email, e.Roles)
		}
	}
}
