package sources

import (
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The one validation pass every format goes through, so the rules cannot
// drift between CSV, XLSX and YAML. A format reader turns its input into
// header names and rawRows; the validator does the rest.

// Column indexes into Columns.
const (
	colEmail = iota
	colAuthType
	colOrgRoles
	colServiceRoles
	colGroups
	colExpires
	numColumns
)

// rawCell is one cell as the reader found it.
type rawCell struct {
	set   bool     // the column (key) is present for this row
	text  string   // scalar text (CSV/XLSX cell, YAML scalar)
	items []string // YAML sequence items; nil for a scalar
	seq   bool     // the value was a YAML sequence
	pos   int      // position in the row (column number or key order), to sort problems
}

// rawRow is one roster row (one YAML item).
type rawRow struct {
	row   int
	sheet string
	ref   func(row, pos int) string // XLSX: the cell reference of a position
	cells [numColumns]rawCell
	other bool // a value in a column (key) that is ignored: the row is not blank
}

// headerRow starts a CSV/XLSX row: every column the header names is present
// (empty until filled), at its header position.
func headerRow(row int, colPos *[numColumns]int) rawRow {
	r := rawRow{row: row}
	for c, pos := range colPos {
		r.cells[c] = rawCell{set: pos >= 0, pos: pos}
	}
	return r
}

// positions inverts a header index: column -> position, -1 when absent.
func positions(index []int) [numColumns]int {
	var colPos [numColumns]int
	for c := range colPos {
		colPos[c] = -1
	}
	for pos, c := range index {
		if c >= 0 {
			colPos[c] = pos
		}
	}
	return colPos
}

// finding is a Problem plus its position within the row, for sorting.
type finding struct {
	p   Problem
	pos int
}

type validator struct {
	file     string
	opts     ReadOptions
	found    []finding
	dropped  int
	hasEmail bool           // the header has an email column (YAML: always)
	seen     map[string]int // Key(email) -> row
	members  []Member
	rows     int // non-blank rows seen
}

func newValidator(file string, opts ReadOptions) *validator {
	return &validator{file: file, opts: opts, seen: make(map[string]int), hasEmail: true}
}

// add records a problem; past MaxProblems it is only counted. Readers report
// rows in order, so the problems kept are the first ones.
func (v *validator) add(row, pos int, column, cell, format string, args ...any) {
	if len(v.found) >= MaxProblems {
		v.dropped++
		return
	}
	v.found = append(v.found, finding{
		p:   Problem{File: v.file, Row: row, Column: column, Cell: cell, Message: fmt.Sprintf(format, args...)},
		pos: pos,
	})
}

// fileProblem is a problem with the file as a whole (no row).
func (v *validator) fileProblem(format string, args ...any) {
	v.add(0, -1, "", "", format, args...)
}

func (v *validator) problemCount() int { return len(v.found) + v.dropped }

// columnIndex maps a header name (or YAML key) to its index in Columns, -1 if
// unknown. Matching ignores case and surrounding spaces.
func columnIndex(name string) int {
	name = strings.TrimSpace(name)
	for i, c := range Columns {
		if strings.EqualFold(name, c) {
			return i
		}
	}
	return -1
}

// Header positions that map to no column: a refused or extra column
// (unknown, duplicate), or a column with no name at all.
const (
	posIgnored = -1
	posUnnamed = -2
)

// header checks the header row of CSV/XLSX. It returns, per position, the
// column index or posIgnored/posUnnamed. cellRef gives the XLSX cell of a
// position ("" for CSV).
func (v *validator) header(row int, names []string, cellRef func(pos int) string) []int {
	index := make([]int, len(names))
	first := make(map[int]int, numColumns) // column -> position
	for pos, raw := range names {
		index[pos] = posIgnored
		name := clip(strings.TrimSpace(raw))
		if name == "" {
			index[pos] = posUnnamed // fine as long as it stays empty (see unnamed)
			continue
		}
		c := columnIndex(raw)
		if c < 0 {
			if strings.ContainsAny(name, ",;\t") {
				v.add(row, pos, name, cellRef(pos), "unknown column %q: is the delimiter wrong? the columns are %s, separated by ',' or ';'",
					name, strings.Join(Columns, ", "))
			} else if !v.opts.AllowExtraColumns {
				v.add(row, pos, name, cellRef(pos), "unknown column %q; the columns are %s (or pass --allow-extra-columns)",
					name, strings.Join(Columns, ", "))
			}
			continue
		}
		if prev, dup := first[c]; dup {
			v.add(row, pos, name, cellRef(pos), "duplicate column %q (also column %d)", Columns[c], prev+1)
			continue
		}
		first[c] = pos
		index[pos] = c
	}
	if _, ok := first[colEmail]; !ok {
		v.hasEmail = false
		v.add(row, -1, "", "", "missing required column %q", Columns[colEmail])
	}
	return index
}

// table turns the rows of a CSV file or a sheet into rawRows for the
// validator: the first row that is not blank is the header.
type table struct {
	v      *validator
	sheet  string                    // XLSX only
	ref    func(row, pos int) string // XLSX only: the cell reference of a position
	index  []int                     // header position -> column, posIgnored or posUnnamed
	colPos [numColumns]int           // column -> header position, -1 when absent
}

func (t *table) haveHeader() bool { return t.index != nil }

func (t *table) cell(row, pos int) string {
	if t.ref == nil {
		return ""
	}
	return t.ref(row, pos)
}

// add takes one row: the header first, then members. Blank rows are skipped.
func (t *table) add(num int, cols []string) {
	if t.index == nil {
		if blankCells(cols) {
			return // blank rows above the header
		}
		t.index = t.v.header(num, cols, func(pos int) string { return t.cell(num, pos) })
		t.colPos = positions(t.index)
		return
	}
	row := headerRow(num, &t.colPos)
	row.sheet, row.ref = t.sheet, t.ref
	for pos, val := range cols {
		c := posUnnamed
		if pos < len(t.index) {
			c = t.index[pos]
		}
		switch {
		case c >= 0:
			row.cells[c].text = val
		case strings.TrimSpace(val) == "":
		case c == posIgnored:
			row.other = true
		case c == posUnnamed:
			row.other = true
			t.v.unnamed(num, pos, t.cell(num, pos))
		}
	}
	if !row.blank() {
		t.v.row(&row)
	}
}

func blankCells(cols []string) bool {
	for _, c := range cols {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// unnamed reports a value in a column the header does not name.
func (v *validator) unnamed(row, pos int, cell string) {
	if v.opts.AllowExtraColumns {
		return
	}
	v.add(row, pos, "", cell, "value in column %d, which has no header", pos+1)
}

// blank reports whether a row holds nothing at all (such rows are skipped).
func (r *rawRow) blank() bool {
	if r.other {
		return false
	}
	for _, c := range r.cells {
		if c.set && (strings.TrimSpace(c.text) != "" || len(c.items) > 0) {
			return false
		}
	}
	return true
}

// row validates one row and, if it is valid so far, keeps its member.
func (v *validator) row(r *rawRow) {
	m := Member{Origin: Origin{File: v.file, Sheet: r.sheet, Row: r.row}}
	at := func(c int, format string, args ...any) {
		cell := &r.cells[c]
		ref := ""
		if r.ref != nil && cell.pos >= 0 {
			ref = r.ref(r.row, cell.pos)
		}
		v.add(r.row, cell.pos, Columns[c], ref, format, args...)
	}
	for c := range r.cells {
		cell := &r.cells[c]
		if !utf8.ValidString(cell.text) || !allValid(cell.items) {
			at(c, "%s is not valid UTF-8 text; save the file as UTF-8", Columns[c])
			cell.text = strings.ToValidUTF8(cell.text, "\uFFFD")
			for i, it := range cell.items {
				cell.items[i] = strings.ToValidUTF8(it, "\uFFFD")
			}
		}
	}

	if e := &r.cells[colEmail]; v.hasEmail {
		email := strings.TrimSpace(e.text)
		switch {
		case e.seq:
			at(colEmail, "email must be a single address, not a list")
		case email == "":
			at(colEmail, "email is required")
		default:
			if msg := checkEmail(email); msg != "" {
				at(colEmail, "%s", msg)
			} else {
				k := Key(email)
				if prev, dup := v.seen[k]; dup {
					at(colEmail, "duplicate email %q: duplicate of row %d", email, prev)
				} else {
					v.seen[k] = r.row
				}
				m.Email = email
			}
		}
	}

	if a := &r.cells[colAuthType]; a.seq {
		at(colAuthType, "auth_type must be a single value, not a list")
	} else if t := strings.ToUpper(strings.TrimSpace(a.text)); t != "" {
		if t != AuthLocal && t != AuthSSO {
			at(colAuthType, "auth_type %q is not allowed; use %s, %s or leave it empty for the upstream default",
				clip(strings.TrimSpace(a.text)), AuthLocal, AuthSSO)
		} else {
			m.AuthType = t
		}
	}

	m.OrgRoles = listOf(&r.cells[colOrgRoles])

	var seenRoles set[ServiceRole]
	for _, item := range listOf(&r.cells[colServiceRoles]) {
		link, role, ok := strings.Cut(item, "=")
		link, role = strings.TrimSpace(link), strings.TrimSpace(role)
		if !ok || link == "" || role == "" {
			at(colServiceRoles, "service role %q must be SERVICE_DEFINITION_LINK=ROLE", clip(item))
			continue
		}
		sr := ServiceRole{Link: link, Role: role}
		if seenRoles.add(sr, m.ServiceRoles) {
			m.ServiceRoles = append(m.ServiceRoles, sr)
		}
	}

	m.Groups = listOf(&r.cells[colGroups])
	if n := len(m.Groups); n > MaxGroups {
		at(colGroups, "%d groups; at most %d allowed", n, MaxGroups)
	}

	if x := &r.cells[colExpires]; x.seq {
		at(colExpires, "expires_in_days must be a single number, not a list")
	} else if s := strings.TrimSpace(x.text); s != "" {
		d, err := strconv.Atoi(s)
		switch {
		case err != nil:
			at(colExpires, "expires_in_days %q is not a whole number of days (%d..%d)", clip(s), MinExpiryDays, MaxExpiryDays)
		case d < MinExpiryDays || d > MaxExpiryDays:
			at(colExpires, "expires_in_days %d is out of range; it must be %d..%d", d, MinExpiryDays, MaxExpiryDays)
		default:
			m.ExpiresInDays = d
		}
	}

	// Members are only kept while the roster is clean: an invalid roster
	// returns no members, so there is no point holding them.
	if v.problemCount() == 0 {
		v.members = append(v.members, m)
	}
	v.rows++
}

// clip shortens text from the roster for a message: a problem names the
// value, it does not echo a megabyte of it.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func allValid(items []string) bool {
	for _, s := range items {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// listOf splits a list cell on ';' (each item of a YAML sequence too, so a
// list means the same in every format and survives a round trip through
// CSV). Items are trimmed, empty items dropped, duplicates removed (the
// first one kept).
func listOf(c *rawCell) []string {
	parts := c.items
	if !c.seq {
		parts = []string{c.text}
	}
	var (
		out  []string
		seen set[string]
	)
	for _, part := range parts {
		for p := range strings.SplitSeq(part, ";") {
			if p = strings.TrimSpace(p); p != "" && seen.add(p, out) {
				out = append(out, p)
			}
		}
	}
	return out
}

// set dedupes a list as it grows: a linear scan while the list is short (the
// common case), a map once it is not, so a hostile 1 MiB cell stays linear.
type set[T comparable] map[T]bool

// add reports whether x is new to list (which holds what was added so far).
func (s *set[T]) add(x T, list []T) bool {
	if *s == nil {
		if len(list) < 16 {
			return !slices.Contains(list, x)
		}
		*s = make(set[T], 2*len(list))
		for _, y := range list {
			(*s)[y] = true
		}
	}
	if (*s)[x] {
		return false
	}
	(*s)[x] = true
	return true
}

// checkEmail returns why s is not one bare email address, or "".
func checkEmail(s string) string {
	if len(s) > MaxEmailBytes {
		return fmt.Sprintf("email is %d bytes long; at most %d allowed", len(s), MaxEmailBytes)
	}
	// Spreadsheets run cells starting with these as formulas: never an address we invite.
	if strings.ContainsAny(s[:1], "=+-@") {
		return fmt.Sprintf("email %q is not a valid address (it starts with %q)", s, s[:1])
	}
	// Look-alikes (Cyrillic "а", zero-width spaces) make a different address
	// that reads the same to a reviewer; the upstreams want ASCII anyway.
	for i, r := range s {
		if r > unicode.MaxASCII {
			return fmt.Sprintf("email %+q holds the non-ASCII character %+q (%U) at byte %d: type the address in plain ASCII (an international domain in its xn-- form)", s, r, r, i+1)
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return fmt.Sprintf("email %q is not a valid address", s)
	}
	if a.Name != "" || a.Address != s {
		return fmt.Sprintf("email %q must be a bare address like name@example.com (no display name, brackets or comments)", s)
	}
	at := strings.LastIndexByte(s, '@')
	if domain := s[at+1:]; !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") {
		return fmt.Sprintf("email %q is not a valid address (the domain %q is not a public domain name)", s, domain)
	}
	return ""
}

// finish sorts the problems and returns the members or the Problems.
func (v *validator) finish() ([]Member, error) {
	if v.problemCount() == 0 && v.rows == 0 && !v.opts.AllowEmpty {
		v.fileProblem("the roster has no members; an empty roster under --policy sync would revoke every invitation: %s", hintAllowEmpty)
	}
	if v.problemCount() == 0 {
		return v.members, nil
	}
	sort.SliceStable(v.found, func(i, j int) bool {
		a, b := v.found[i], v.found[j]
		if a.p.Row != b.p.Row {
			return a.p.Row < b.p.Row
		}
		return a.pos < b.pos
	})
	ps := make(Problems, 0, len(v.found)+1)
	for _, f := range v.found {
		ps = append(ps, f.p)
	}
	if v.dropped > 0 {
		ps = append(ps, Problem{File: v.file, Message: fmt.Sprintf(moreFormat, v.dropped)})
	}
	return nil, ps
}
