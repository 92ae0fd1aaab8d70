package sources

import (
	"fmt"
	"slices"
	"strings"
)

// Role is one entry of the roles column: a role NAME, optionally granted on
// a SCOPE, written NAME or NAME@SCOPE. The scope is one or more
// '/'-separated segments naming a resource path from the outside in, e.g.
//
//	OrganizationAdmin                          the whole organization
//	EnvironmentAdmin@env-abc123                one environment
//	CloudClusterAdmin@env-abc123/lkc-xyz789    one cluster of that environment
//	viewer@<service-definition-id>             a CSP service role
//
// The syntax is the same for every upstream; what a name and a scope mean
// (a Confluent CRN pattern, a CSP org or service role, an Azure role
// binding) is the provider's to check and map.
type Role struct {
	Name  string
	Scope []string // nil: the role applies to the whole organization
}

// String is the canonical spelling, which ParseRole reads back.
func (r Role) String() string {
	if len(r.Scope) == 0 {
		return r.Name
	}
	return r.Name + "@" + strings.Join(r.Scope, "/")
}

// ParseRole reads one role written NAME or NAME@SCOPE, where NAME is
// [A-Za-z][A-Za-z0-9_.-]* and SCOPE is one or more '/'-separated segments of
// [A-Za-z0-9_.:-]+. It does not trim: a roster cell is trimmed by the reader.
func ParseRole(s string) (Role, error) {
	name, scope, hasScope := strings.Cut(s, "@")
	if name == "" {
		return Role{}, fmt.Errorf("role %q has no name: write NAME or NAME@SCOPE", clip(s))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isASCIILetter(c) || (i > 0 && (isASCIIDigit(c) || c == '_' || c == '.' || c == '-'))) {
			return Role{}, fmt.Errorf("role name %q must start with a letter and hold only letters, digits, '_', '.' and '-' (found %q at byte %d)",
				clip(name), string(rune(c)), i+1)
		}
	}
	r := Role{Name: name}
	if !hasScope {
		return r, nil
	}
	if scope == "" {
		return Role{}, fmt.Errorf("role %q has an empty scope after '@': write NAME@SCOPE, e.g. EnvironmentAdmin@env-abc123", clip(s))
	}
	for seg := range strings.SplitSeq(scope, "/") {
		if seg == "" {
			return Role{}, fmt.Errorf("role %q has an empty scope segment: segments are separated by a single '/', e.g. env-abc123/lkc-xyz789", clip(s))
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !(isASCIILetter(c) || isASCIIDigit(c) || c == '_' || c == '.' || c == ':' || c == '-') {
				return Role{}, fmt.Errorf("role %q: scope segment %q may hold only letters, digits, '_', '.', ':' and '-'", clip(s), clip(seg))
			}
		}
		r.Scope = append(r.Scope, seg)
	}
	return r, nil
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isASCIIDigit(c byte) bool  { return c >= '0' && c <= '9' }

// parseRoles checks the items of one roles cell and returns them canonical,
// sorted and unique (never nil: the column is present), with a message per
// bad or repeated item.
func parseRoles(items []string) ([]string, []string) {
	out := make([]string, 0, len(items))
	var msgs []string
	for _, item := range items {
		r, err := ParseRole(item)
		if err != nil {
			msgs = append(msgs, err.Error())
			continue
		}
		out = append(out, r.String())
	}
	slices.Sort(out)
	for i := 1; i < len(out); i++ {
		if out[i] == out[i-1] && (i < 2 || out[i-2] != out[i]) {
			msgs = append(msgs, fmt.Sprintf("role %q is listed twice in this cell", clip(out[i])))
		}
	}
	return slices.Compact(out), msgs
}
