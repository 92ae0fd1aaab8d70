package sources

import (
	"fmt"
	"sort"
	"strings"
)

// ParseColumns reads a header mapping written
// "email=Email Address,auth_type=Auth Type": each invitesync column, '=',
// the header text the file uses for it. Names are matched ignoring case and
// surrounding spaces; the result is keyed by the canonical column name, as
// ReadOptions.Columns wants it. A header text holding ',' cannot be written
// in this form (the config file's columns: mapping can hold it).
func ParseColumns(spec string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(spec) == "" {
		return out, nil
	}
	for item := range strings.SplitSeq(spec, ",") {
		col, header, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("column mapping %q: want COLUMN=HEADER, e.g. 'email=Email Address'", strings.TrimSpace(item))
		}
		col, header = strings.TrimSpace(col), strings.TrimSpace(header)
		c := columnIndex(col)
		if c < 0 {
			return nil, fmt.Errorf("column mapping %q: %s", strings.TrimSpace(item), unknownColumnName(col))
		}
		if header == "" {
			return nil, fmt.Errorf("column mapping %q: the header text is empty", strings.TrimSpace(item))
		}
		if _, dup := out[Columns[c]]; dup {
			return nil, fmt.Errorf("column mapping: %s is mapped twice", Columns[c])
		}
		out[Columns[c]] = header
	}
	if _, err := newColumnMap(out); err != nil {
		return nil, err
	}
	return out, nil
}

func unknownColumnName(name string) string {
	msg := fmt.Sprintf("%q is not an invitesync column; the columns are %s", name, strings.Join(Columns, ", "))
	if c := suggestColumn(name); c >= 0 && !strings.EqualFold(strings.TrimSpace(name), Columns[c]) {
		msg += fmt.Sprintf(" (did you mean %s?)", Columns[c])
	}
	return msg
}

// columnMap resolves a header cell (or YAML key) to a column: the mapped
// header texts of ReadOptions.Columns first, then the column names
// themselves, both ignoring case and surrounding spaces.
type columnMap struct {
	mapped  map[string]int     // folded header text -> column
	headers [numColumns]string // column -> the header text mapped to it
}

func foldHeader(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func newColumnMap(m map[string]string) (columnMap, error) {
	cm := columnMap{}
	if len(m) == 0 {
		return cm, nil
	}
	cm.mapped = make(map[string]int, len(m))
	cols := make([]string, 0, len(m))
	for col := range m {
		cols = append(cols, col)
	}
	sort.Strings(cols) // the same error for the same mapping
	for _, col := range cols {
		header := m[col]
		c := columnIndex(col)
		if c < 0 {
			return columnMap{}, fmt.Errorf("column mapping: %s", unknownColumnName(col))
		}
		h := foldHeader(header)
		if h == "" {
			return columnMap{}, fmt.Errorf("column mapping: the header text for %s is empty", Columns[c])
		}
		if other := columnIndex(h); other >= 0 && other != c {
			return columnMap{}, fmt.Errorf("column mapping: %s=%s would hide the column %s itself", Columns[c], header, Columns[other])
		}
		if prev, dup := cm.mapped[h]; dup && prev != c {
			return columnMap{}, fmt.Errorf("column mapping: the header %q is mapped to both %s and %s", header, Columns[prev], Columns[c])
		}
		cm.mapped[h] = c
		cm.headers[c] = strings.TrimSpace(header)
	}
	return cm, nil
}

func (cm columnMap) index(name string) int {
	if cm.mapped != nil {
		if c, ok := cm.mapped[foldHeader(name)]; ok {
			return c
		}
	}
	return columnIndex(name)
}

// columnAliases are the headers HR exports and people use for each column,
// compared letters and digits only ("E-mail Address" -> "emailaddress").
var columnAliases = [numColumns][]string{
	colEmail:        {"email", "mail", "emailaddress", "mailaddress", "emailid", "workemail", "businessemail", "useremail", "emails", "primaryemail", "emailaddr"},
	colAuthType:     {"authtype", "auth", "authentication", "authenticationtype", "authmethod", "authenticationmethod", "logintype", "signintype", "idp"},
	colOrgRoles:     {"orgroles", "orgrole", "organizationroles", "organisationroles", "organizationrole", "organisationrole"},
	colServiceRoles: {"serviceroles", "servicerole"},
	colGroups:       {"groups", "group", "groupids", "groupid", "customgroups", "customgroupsids", "teams"},
	colExpires:      {"expiresindays", "expiry", "expires", "expiration", "expirationdays", "expirydays", "expiresin", "invitationexpirationindays", "expirationindays", "validdays"},
	colRoles:        {"roles", "role", "access", "rolebindings", "permissions"},
}

func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// suggestColumn is the column an unknown header most likely means, or -1:
// a known alias, or within a small edit distance of one (typos).
func suggestColumn(header string) int {
	h := squash(header)
	if h == "" || len(h) > 64 {
		return -1
	}
	best, bestDist := -1, 1<<30
	for c, aliases := range columnAliases {
		for _, a := range aliases {
			d := editDistance(h, a)
			allowed := 0
			switch {
			case len(a) >= 8:
				allowed = 2
			case len(a) >= 5:
				allowed = 1
			}
			if d <= allowed && d < bestDist {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// editDistance is the edit distance of two short ASCII strings, counting a
// swap of two neighbours as one edit ("emial"), as people type.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// mapHint is the --columns argument that maps header to column c, quoted
// for a POSIX shell.
func mapHint(c int, header string) string {
	return "--columns '" + strings.ReplaceAll(Columns[c]+"="+strings.TrimSpace(header), "'", `'\''`) + "'"
}
