// Package iam is Confluent Cloud's IAM v2 vocabulary, shared by the
// Confluent client and the Azure client (Confluent on Azure passes
// Confluent's records through): invitation statuses, page tokens, resource
// names, role names and the roster's role syntax mapped to CRN patterns.
// It makes no request.
package iam

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/invitesync/invitesync/providers"
)

// Status maps an INVITE_STATUS_* value to the normalised status. The set
// is an extensible enum: anything else is unknown, never acted on. The API
// has its own EXPIRED value, so a SENT invitation is pending whatever
// expires_at says by our clock: a skewed clock must not re-create it on
// every run.
func Status(raw string) providers.Status {
	switch raw {
	case "INVITE_STATUS_SENT", "INVITE_STATUS_STAGED":
		return providers.StatusPending
	case "INVITE_STATUS_ACCEPTED":
		return providers.StatusAccepted
	case "INVITE_STATUS_EXPIRED":
		return providers.StatusExpired
	case "INVITE_STATUS_DEACTIVATED":
		return providers.StatusRevoked
	}
	return providers.StatusUnknown
}

// PageToken reads page_token out of a metadata.next link (as Confluent's own
// Terraform provider does). A next link without one is an error, not the end.
func PageToken(next string) (string, error) {
	u, err := url.Parse(next)
	if err != nil {
		return "", errors.New("metadata.next is not a URL")
	}
	t := u.Query().Get("page_token")
	if t == "" {
		return "", errors.New("metadata.next has no page_token")
	}
	return t, nil
}

// CRNSegment returns the value of kind=VALUE in a Confluent resource name, or "".
func CRNSegment(crn, kind string) string {
	rest, ok := strings.CutPrefix(crn, "crn://")
	if !ok {
		return ""
	}
	for _, seg := range strings.Split(rest, "/")[1:] {
		if v, ok := strings.CutPrefix(seg, kind+"="); ok {
			return v
		}
	}
	return ""
}

// SameEmail compares emails folding ASCII case only: Unicode folding would
// make look-alikes (the Kelvin sign and 'k') one person.
func SameEmail(a, b string) bool {
	return ASCIILower(strings.TrimSpace(a)) == ASCIILower(strings.TrimSpace(b))
}

// ASCIILower lower-cases A-Z only.
func ASCIILower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Roles are the role names a roster may name: Confluent Cloud's predefined
// roles that bind at the organization, an environment or a cluster (the
// Microsoft.Confluent listRoleBindingNameList example lists MetricsViewer,
// OrganizationAdmin, Operator, NetworkAdmin, ResourceKeyAdmin,
// AccountAdmin). Resource-level roles (DeveloperRead on a topic,
// ResourceOwner...) need scopes the roster syntax does not write.
var Roles = []string{
	"AccountAdmin", "BillingAdmin", "CloudClusterAdmin", "DataDiscovery", "DataSteward",
	"EnvironmentAdmin", "FlinkAdmin", "FlinkDeveloper", "MetricsViewer", "NetworkAdmin",
	"Operator", "OrganizationAdmin", "ResourceKeyAdmin",
}

// roleScopes says where a role binds (number of scope segments): the
// Confluent CLI requires an environment for EnvironmentAdmin and a cloud
// cluster for CloudClusterAdmin (confluentinc/cli
// internal/iam/command_rbac_role_binding.go); the organization-wide admin
// roles bind at the organization. Other roles take any of the three scopes
// and the upstream has the last word.
var roleScopes = map[string]int{
	"OrganizationAdmin": 0, "AccountAdmin": 0, "BillingAdmin": 0, "ResourceKeyAdmin": 0,
	"EnvironmentAdmin": 1, "CloudClusterAdmin": 2,
}

// Role is a parsed roster role: NAME, NAME@env-x or NAME@env-x/lkc-y.
type Role struct {
	Name, Env, Cluster string
}

// ParseRole checks a roster role's syntax, name and scope.
func ParseRole(role string) (Role, error) {
	name, sc, hasScope := strings.Cut(role, "@")
	r := Role{Name: name}
	if hasScope {
		env, cluster, hasCluster := strings.Cut(sc, "/")
		if !strings.HasPrefix(env, "env-") || len(env) == len("env-") {
			return r, fmt.Errorf("role %q: the scope must start with an environment id env-...: write NAME@env-x or NAME@env-x/lkc-y", role)
		}
		r.Env = env
		if hasCluster {
			if !strings.HasPrefix(cluster, "lkc-") || len(cluster) == len("lkc-") || strings.Contains(cluster, "/") {
				return r, fmt.Errorf("role %q: after the environment comes one Kafka cluster id lkc-...: write NAME@env-x/lkc-y", role)
			}
			r.Cluster = cluster
		}
	}
	if !slices.Contains(Roles, name) {
		return r, fmt.Errorf("role %q: unknown role %q; known roles: %s", role, name, strings.Join(Roles, ", "))
	}
	segs := 0
	if r.Env != "" {
		segs++
	}
	if r.Cluster != "" {
		segs++
	}
	if want, ok := roleScopes[name]; ok && want != segs {
		return r, fmt.Errorf("role %q: %s binds %s", role, name, [...]string{
			"at the organization only (write it without @)",
			"on an environment: " + name + "@env-x",
			"on a cluster: " + name + "@env-x/lkc-y"}[want])
	}
	return r, nil
}

// OrgCRN is the organization's resource name.
func OrgCRN(org string) string { return "crn://confluent.cloud/organization=" + org }

// OrgWide is the CRN pattern of the organization and every scope in it (the
// Confluent CLI's --inclusive listing appends "/*").
func OrgWide(org string) string { return OrgCRN(org) + "/*" }

// CRN is the binding's crn_pattern for r in org.
func (r Role) CRN(org string) string {
	p := OrgCRN(org)
	if r.Env != "" {
		p += "/environment=" + r.Env
		if r.Cluster != "" {
			p += "/cloud-cluster=" + r.Cluster
		}
	}
	return p
}

// RoleOf maps a binding back to the roster syntax: "" when the pattern is
// not of org, or names a scope the syntax does not write (a topic...).
func RoleOf(org, roleName, crn string) string {
	rest, ok := strings.CutPrefix(crn, OrgCRN(org))
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		return ""
	}
	var env, cluster string
	for _, seg := range strings.Split(rest, "/")[1:] {
		k, v, _ := strings.Cut(seg, "=")
		switch {
		case k == "environment" && env == "" && v != "":
			env = v
		case k == "cloud-cluster" && env != "" && cluster == "" && v != "":
			cluster = v
		default:
			return ""
		}
	}
	switch {
	case cluster != "":
		return roleName + "@" + env + "/" + cluster
	case env != "":
		return roleName + "@" + env
	}
	return roleName
}

// Principals maps User:<id> to each person, looking the ids it lacks up by
// email (ASCII case folded) in one listing of the org's users, asked only
// when some id is missing. People not found are left out.
func Principals(people []providers.Person, listUsers func() ([]providers.User, error)) (map[string]providers.Person, error) {
	out := map[string]providers.Person{}
	var missing []providers.Person
	for _, p := range people {
		if p.UserID == "" {
			missing = append(missing, p)
			continue
		}
		out["User:"+p.UserID] = p
	}
	if len(missing) == 0 {
		return out, nil
	}
	users, err := listUsers()
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for _, u := range users {
		ids[ASCIILower(strings.TrimSpace(u.Email))] = u.ID
	}
	for _, p := range missing {
		if id := ids[ASCIILower(strings.TrimSpace(p.Email))]; id != "" {
			p.UserID = id
			out["User:"+id] = p
		}
	}
	return out, nil
}
