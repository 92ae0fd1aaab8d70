package sources

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
	"gopkg.in/yaml.v3"
)

// WriteFile writes members as a roster in the format of path's extension
// (.csv, .xlsx, .yaml/.yml), atomically (a temp file renamed into place).
// What it writes reads back through ReadFile as the same members, and is
// safe to open in a spreadsheet. A value the roster cannot hold, that
// validate would refuse, or that a spreadsheet would run as a formula is an
// error naming it, never silently changed: pass members from an upstream
// through Sanitize first, which leaves such values out and says which.
// The roles column is written when any member has non-nil Roles.
func WriteFile(path string, members []Member) error {
	format, err := formatOf(path, "")
	if err != nil {
		return fmt.Errorf("write roster: %w", err)
	}
	// Written as sanitizeMember returns them: lists without repeats, roles
	// canonical and sorted, as ReadFile reads them back.
	clean := make([]Member, len(members))
	seen := make(map[string]int, len(members))
	for i := range members {
		m := &members[i]
		fixed, issues := sanitizeMember(*m)
		if len(issues) > 0 {
			return fmt.Errorf("write roster %s: member %d (%+q) cannot be written: %s (Sanitize leaves such values out)", path, i+1, clip(m.Email), issues[0])
		}
		if prev, dup := seen[Key(fixed.Email)]; dup {
			return fmt.Errorf("write roster %s: member %d (%+q) has the same email as member %d", path, i+1, clip(m.Email), prev)
		}
		seen[Key(fixed.Email)] = i + 1
		clean[i] = fixed
	}
	members = clean
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write roster: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	switch format {
	case formatCSV:
		err = writeCSV(tmp, members)
	case formatXLSX:
		err = writeXLSX(tmp, members)
	case formatYAML:
		err = writeYAML(tmp, members)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write roster %s: %w", path, err)
	}
	return nil
}

// Sanitize returns the members as WriteFile can write them and validate
// accepts them, plus one warning per value left out. Members come from an
// upstream (dump), where anything may be stored: a member whose email the
// roster cannot hold (not a plain address, a look-alike, a formula, a
// second spelling of an earlier one) is left out; a list item, auth type or
// expiry that cannot be written is dropped from its member. Nothing is
// rewritten: a neutralised value ('=x) would be a different group or role
// on the next run. The input is not modified.
func Sanitize(members []Member) ([]Member, []string) {
	out := make([]Member, 0, len(members))
	var warnings []string
	seen := make(map[string]string, len(members))
	for _, m := range members {
		fixed, issues := sanitizeMember(m)
		if fixed.Email == "" {
			warnings = append(warnings, fmt.Sprintf("left out the upstream entry %+q: %s", clip(m.Email), issues[0]))
			continue
		}
		k := Key(fixed.Email)
		if first, dup := seen[k]; dup {
			warnings = append(warnings, fmt.Sprintf("left out %+q: the same address as %+q", clip(m.Email), clip(first)))
			continue
		}
		seen[k] = fixed.Email
		for _, is := range issues {
			warnings = append(warnings, fmt.Sprintf("%s: left out %s", fixed.Email, is))
		}
		out = append(out, fixed)
	}
	return out, warnings
}

// formulaStart reports why a spreadsheet would run s as a formula (its
// first character is = + - @, or a tab or carriage return), or "".
func formulaStart(s string) string {
	if s == "" {
		return ""
	}
	switch s[0] {
	case '=', '+', '-', '@':
		return fmt.Sprintf("it starts with %q, which a spreadsheet runs as a formula", s[:1])
	case '\t', '\r':
		return "it starts with a tab or carriage return, which a spreadsheet may run as a formula"
	}
	return ""
}

// itemProblem says why s cannot be one item of a list cell, or "".
func itemProblem(s string) string {
	switch {
	case s == "" || strings.TrimSpace(s) != s:
		return "it is empty or has surrounding spaces"
	case strings.Contains(s, ";"):
		return "it holds ';', the list separator"
	}
	if msg := controlProblem(s); msg != "" {
		return "it " + msg
	}
	return formulaStart(s)
}

// sanitizeMember is m with every value WriteFile refuses dropped, and what
// was dropped; Email is "" when the member itself cannot be written.
func sanitizeMember(m Member) (Member, []string) {
	var issues []string
	email := strings.TrimSpace(m.Email)
	if msg := controlProblemIn(m.Email, false); msg != "" {
		return Member{}, []string{"email " + msg}
	}
	if msg := checkEmail(email); email == "" || msg != "" {
		if email == "" {
			msg = "no email"
		}
		return Member{}, []string{msg}
	}
	out := Member{Email: email, Origin: m.Origin}
	switch m.AuthType {
	case "", AuthLocal, AuthSSO:
		out.AuthType = m.AuthType
	default:
		issues = append(issues, fmt.Sprintf("the auth type %+q: a roster holds %s, %s or nothing", clip(m.AuthType), AuthLocal, AuthSSO))
	}
	list := func(what string, items []string) []string {
		if items == nil {
			return nil
		}
		kept := make([]string, 0, len(items))
		for _, it := range items {
			if msg := itemProblem(it); msg != "" {
				issues = append(issues, fmt.Sprintf("the %s %+q: %s", what, clip(it), msg))
			} else if !slices.Contains(kept, it) {
				kept = append(kept, it)
			}
		}
		return kept
	}
	out.OrgRoles = list("org role", m.OrgRoles)
	out.Groups = list("group", m.Groups)
	if len(out.Groups) > MaxGroups {
		issues = append(issues, fmt.Sprintf("the groups past the first %d (%s): a roster holds at most %d", MaxGroups, strings.Join(out.Groups[MaxGroups:], ";"), MaxGroups))
		out.Groups = out.Groups[:MaxGroups]
	}
	for _, sr := range m.ServiceRoles {
		msg := itemProblem(sr.Link)
		if msg == "" {
			msg = itemProblem(sr.Role)
		}
		if msg == "" && strings.Contains(sr.Link, "=") {
			msg = "the link holds '='"
		}
		if msg != "" {
			issues = append(issues, fmt.Sprintf("the service role %+q: %s", clip(sr.String()), msg))
		} else if !slices.Contains(out.ServiceRoles, sr) {
			out.ServiceRoles = append(out.ServiceRoles, sr)
		}
	}
	if m.Roles != nil {
		out.Roles = make([]string, 0, len(m.Roles))
		for _, s := range m.Roles {
			r, err := ParseRole(s)
			if err != nil {
				issues = append(issues, fmt.Sprintf("the role %+q: %v", clip(s), err))
				continue
			}
			out.Roles = append(out.Roles, r.String())
		}
		slices.Sort(out.Roles)
		out.Roles = slices.Compact(out.Roles)
	}
	if d := m.ExpiresInDays; d != 0 && (d < MinExpiryDays || d > MaxExpiryDays) {
		issues = append(issues, fmt.Sprintf("the expiry of %d days: a roster holds %d..%d", d, MinExpiryDays, MaxExpiryDays))
	} else {
		out.ExpiresInDays = d
	}
	return out, issues
}

// cells renders a member as the text of each column, in Columns order.
func cells(m *Member) [numColumns]string {
	var c [numColumns]string
	c[colEmail] = m.Email
	c[colAuthType] = m.AuthType
	c[colOrgRoles] = strings.Join(m.OrgRoles, ";")
	c[colServiceRoles] = strings.Join(serviceRoleStrings(m.ServiceRoles), ";")
	c[colGroups] = strings.Join(m.Groups, ";")
	if m.ExpiresInDays != 0 {
		c[colExpires] = strconv.Itoa(m.ExpiresInDays)
	}
	c[colRoles] = strings.Join(m.Roles, ";")
	return c
}

// writtenColumns is how many of Columns a roster of members needs: the
// roles column only when access is managed for someone.
func writtenColumns(members []Member) int {
	for i := range members {
		if members[i].Roles != nil {
			return numColumns
		}
	}
	return colRoles
}

func serviceRoleStrings(srs []ServiceRole) []string {
	out := make([]string, len(srs))
	for i, sr := range srs {
		out[i] = sr.String()
	}
	return out
}

func writeCSV(w io.Writer, members []Member) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	n := writtenColumns(members)
	if err := cw.Write(Columns[:n]); err != nil {
		return err
	}
	for i := range members {
		c := cells(&members[i])
		if err := cw.Write(c[:n]); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeXLSX streams rows with excelize's StreamWriter, so writing a large
// roster does not hold a worksheet model in memory.
func writeXLSX(w io.Writer, members []Member) (err error) {
	f := excelize.NewFile()
	defer func() { err = errors.Join(err, f.Close()) }()
	const sheet = "Sheet1" // NewFile's sheet: cells read back as Sheet1!C7
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	n := writtenColumns(members)
	header := make([]any, n)
	for i, c := range Columns[:n] {
		header[i] = c
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	row := make([]any, n)
	for i := range members {
		c := cells(&members[i])
		for j, s := range c[:n] {
			row[j] = s
			if s == "" {
				row[j] = nil // no cell at all, as a spreadsheet application writes it
			}
		}
		if d := members[i].ExpiresInDays; d != 0 {
			row[colExpires] = d // a number, as a person would type it
		}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

// yamlMember is a member as the YAML roster writes it: keys in Columns
// order, lists as flow sequences, service roles as LINK=ROLE text.
type yamlMember struct {
	Email         string   `yaml:"email"`
	AuthType      string   `yaml:"auth_type,omitempty"`
	OrgRoles      []string `yaml:"org_roles,omitempty,flow"`
	ServiceRoles  []string `yaml:"service_roles,omitempty"`
	Groups        []string `yaml:"groups,omitempty,flow"`
	ExpiresInDays int      `yaml:"expires_in_days,omitempty"`
	// Roles is written for every member once one has it ("roles: []"
	// included), so the column reads back as present.
	Roles *[]string `yaml:"roles,omitempty,flow"`
}

func writeYAML(w io.Writer, members []Member) error {
	out := struct {
		Members []yamlMember `yaml:"members"`
	}{Members: make([]yamlMember, len(members))}
	withRoles := writtenColumns(members) == numColumns
	for i, m := range members {
		out.Members[i] = yamlMember{
			Email: m.Email, AuthType: m.AuthType, OrgRoles: m.OrgRoles,
			ServiceRoles: serviceRoleStrings(m.ServiceRoles), Groups: m.Groups, ExpiresInDays: m.ExpiresInDays,
		}
		if len(m.ServiceRoles) == 0 {
			out.Members[i].ServiceRoles = nil
		}
		if withRoles {
			roles := m.Roles
			if roles == nil {
				roles = []string{}
			}
			out.Members[i].Roles = &roles
		}
	}
	bw := bufio.NewWriter(w)
	enc := yaml.NewEncoder(bw)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
