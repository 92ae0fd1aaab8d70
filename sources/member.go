// Package sources reads desired rosters (CSV, XLSX, YAML) into validated Members.
//
// A reader never stops at the first problem: it returns every Problem it finds,
// each located by file, row and column the way a person sees them in an editor
// or a spreadsheet, so one run shows everything that must be fixed.
package sources

import "fmt"

// Auth types a roster may name. Empty means the upstream's default.
const (
	AuthLocal = "AUTH_TYPE_LOCAL"
	AuthSSO   = "AUTH_TYPE_SSO"
)

// Limits of a roster row. Providers may be stricter (see reconcile), never looser.
const (
	MaxGroups     = 15 // CSP customGroupsIds maxItems
	MinExpiryDays = 1  // CSP invitationExpirationInDays minimum
	MaxExpiryDays = 90 // CSP invitationExpirationInDays maximum
)

// Columns are the roster's column names (CSV/XLSX header cells, YAML keys).
var Columns = []string{"email", "auth_type", "org_roles", "service_roles", "groups", "expires_in_days", "roles"}

// ServiceRole is one role on one service, written in a roster cell as
// "SERVICE_DEFINITION_LINK=ROLE" (links never hold '=', role names may hold ':').
type ServiceRole struct {
	Link string `json:"service_definition_link" yaml:"service_definition_link"`
	Role string `json:"role" yaml:"role"`
}

func (s ServiceRole) String() string { return s.Link + "=" + s.Role }

// Origin says where a member came from, for messages a person can act on.
type Origin struct {
	File  string `json:"file"`
	Sheet string `json:"sheet,omitempty"` // XLSX only
	Row   int    `json:"row"`             // CSV/XLSX: spreadsheet row (header is 1); YAML: line of the item
}

func (o Origin) String() string { return fmt.Sprintf("%s:%d", o.File, o.Row) }

// Member is one desired person. Email keeps the roster's spelling (trimmed);
// Key(Email) is the comparison key (ASCII letters lower-cased only).
type Member struct {
	Email         string        `json:"email" yaml:"email"`
	AuthType      string        `json:"auth_type,omitempty" yaml:"auth_type,omitempty"`
	OrgRoles      []string      `json:"org_roles,omitempty" yaml:"org_roles,omitempty"`
	ServiceRoles  []ServiceRole `json:"service_roles,omitempty" yaml:"service_roles,omitempty"`
	Groups        []string      `json:"groups,omitempty" yaml:"groups,omitempty"`
	ExpiresInDays int           `json:"expires_in_days,omitempty" yaml:"expires_in_days,omitempty"` // 0 = upstream default
	// Roles is the access the person should hold, each NAME or NAME@SCOPE
	// (the roles column; see ParseRole), canonical, sorted and unique;
	// nil = the column is absent: access is not managed. Present but empty
	// is a non-nil empty list: the person should hold no managed access.
	Roles  []string `json:"roles,omitempty" yaml:"roles,omitempty"`
	Origin Origin   `json:"origin" yaml:"-"`
}

// Problem is one validation finding. Column is empty when the whole row (or
// file) is at fault; Cell is the spreadsheet reference (Sheet1!C7) for XLSX.
type Problem struct {
	File    string `json:"file"`
	Row     int    `json:"row,omitempty"`
	Column  string `json:"column,omitempty"`
	Cell    string `json:"cell,omitempty"`
	Message string `json:"message"`
}

// String renders FILE:ROW[:COLUMN]: message (the XLSX cell replaces COLUMN).
func (p Problem) String() string {
	loc := p.File
	if p.Row > 0 {
		loc = fmt.Sprintf("%s:%d", loc, p.Row)
	}
	switch {
	case p.Cell != "":
		loc += ":" + p.Cell
	case p.Column != "":
		loc += ":" + p.Column
	}
	return loc + ": " + p.Message
}

// Problems is the error a reader returns when the roster is invalid.
type Problems []Problem

func (ps Problems) Error() string {
	if len(ps) == 1 {
		return ps[0].String()
	}
	return fmt.Sprintf("%s (and %d more problems)", ps[0].String(), len(ps)-1)
}
