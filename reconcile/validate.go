package reconcile

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/invitesync/invitesync/providers"
	"github.com/invitesync/invitesync/sources"
)

// ValidateMembers checks members against the provider's limits (group count,
// expiry range) for the attributes the provider sets, and that no email
// appears twice. It returns every problem as a sources.Problems, located by
// file, row and column, or nil. Readers already apply the general limits;
// this is where a stricter provider is enforced, before any request.
func ValidateMembers(members []sources.Member, caps providers.Capabilities) error {
	var ps sources.Problems
	seen := make(map[string]int, len(members))
	for i := range members {
		m := &members[i]
		k := sources.Key(m.Email)
		if j, ok := seen[k]; ok {
			ps = append(ps, duplicateProblem(m, &members[j]))
			continue
		}
		seen[k] = i
		ps = appendLimitProblems(ps, m, caps)
	}
	if len(ps) == 0 {
		return nil
	}
	sortProblems(ps)
	return ps
}

func duplicateProblem(m, first *sources.Member) sources.Problem {
	return sources.Problem{File: m.Origin.File, Row: m.Origin.Row, Column: "email", Message: fmt.Sprintf("duplicate of row %d", first.Origin.Row)}
}

// appendLimitProblems checks one member against the provider's limits.
func appendLimitProblems(ps sources.Problems, m *sources.Member, caps providers.Capabilities) sources.Problems {
	at := func(column, msg string, args ...any) {
		ps = append(ps, sources.Problem{File: m.Origin.File, Row: m.Origin.Row, Column: column, Message: fmt.Sprintf(msg, args...)})
	}
	if caps.Groups && caps.MaxGroups > 0 && len(m.Groups) > caps.MaxGroups {
		at("groups", "%d groups; the provider allows at most %d", len(m.Groups), caps.MaxGroups)
	}
	if caps.Expiry && m.ExpiresInDays != 0 {
		lo, hi := caps.MinExpiryDays, caps.MaxExpiryDays
		if (lo > 0 && m.ExpiresInDays < lo) || (hi > 0 && m.ExpiresInDays > hi) {
			at("expires_in_days", "%d days; the provider allows %d..%d", m.ExpiresInDays, lo, hi)
		}
	}
	return ps
}

func sortProblems(ps sources.Problems) {
	slices.SortStableFunc(ps, func(a, b sources.Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Row, b.Row), cmp.Compare(a.Column, b.Column))
	})
}

// IgnoredAttributes returns one warning per roster attribute that some
// members set but the provider cannot set, with how many members set it.
// Those attributes are never compared nor sent; this is not an error.
func IgnoredAttributes(members []sources.Member, caps providers.Capabilities) []string {
	type attr struct {
		name string
		ok   bool
		set  func(*sources.Member) bool
	}
	attrs := []attr{
		{"auth_type", caps.AuthType, func(m *sources.Member) bool { return m.AuthType != "" }},
		{"org_roles", caps.OrgRoles, func(m *sources.Member) bool { return len(m.OrgRoles) > 0 }},
		{"service_roles", caps.ServiceRoles, func(m *sources.Member) bool { return len(m.ServiceRoles) > 0 }},
		{"groups", caps.Groups, func(m *sources.Member) bool { return len(m.Groups) > 0 }},
		{"expires_in_days", caps.Expiry, func(m *sources.Member) bool { return m.ExpiresInDays != 0 }},
	}
	var out []string
	for _, a := range attrs {
		if a.ok {
			continue
		}
		n := 0
		for i := range members {
			if a.set(&members[i]) {
				n++
			}
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s is set for %d %s but this provider cannot set it: ignored", a.name, n, plural(n, "member", "members")))
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
