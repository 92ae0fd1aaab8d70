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
	colRoles
	numColumns
)

// rawCell is one cell as the reader found it.
type rawCell struct {
	set   bool     // the column (key) is present for this row
	text  string   // scalar text (CSV/XLSX cell, YAML scalar)
	items []string // YAML sequence items; nil for a scalar
	seq   bool     // the value was a YAML sequence
	pos   int      // position in the row (column number or key order), to sort problems
	bad   string   // XLSX: why the reader could not interpret the cell ("" = fine)
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
	cols     columnMap
	found    []finding
	dropped  int
	hasEmail bool // the header has an email column (YAML: always)
	roles    bool // the roles column (YAML: key) is present
	misread  bool // the header says the delimiter is wrong
	sheet    string
	kept     *store
	rows     int // non-blank rows seen
}

func newValidator(file string, opts ReadOptions, cols columnMap) *validator {
	return &validator{file: file, opts: opts, cols: cols, kept: newStore(), hasEmail: true}
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

// columnIndex maps a column name to its index in Columns, -1 if unknown.
// Matching ignores case and surrounding spaces. Headers and YAML keys go
// through validator.column, which knows ReadOptions.Columns too.
func columnIndex(name string) int {
	name = strings.TrimSpace(name)
	for i, c := range Columns {
		if strings.EqualFold(name, c) {
			return i
		}
	}
	return -1
}

// column maps a header cell or YAML key to its column, -1 if unknown.
func (v *validator) column(name string) int { return v.cols.index(name) }

// Header positions that map to no column: a refused or extra column
// (unknown, duplicate), or a column with no name at all.
const (
	posIgnored = -1
	posUnnamed = -2
)

// header checks the header row of CSV/XLSX. It returns, per position, the
// column index or posIgnored/posUnnamed. cellRef gives the XLSX cell of a
// position ("" for CSV). bad (XLSX, may be nil) says which header cells the
// reader could not interpret.
func (v *validator) header(row int, names, bad []string, cellRef func(pos int) string) []int {
	index := make([]int, len(names))
	first := make(map[int]int, numColumns) // column -> position
	for pos, raw := range names {
		if (pos < len(bad) && bad[pos] != "") || controlProblem(raw) != "" {
			continue // refused below: the column is not there
		}
		if c := v.column(raw); c >= 0 {
			if _, dup := first[c]; !dup {
				first[c] = pos
			}
		}
	}
	var hint string // a header that looks like the missing email column
	for pos, raw := range names {
		index[pos] = posIgnored
		if pos < len(bad) && bad[pos] != "" {
			v.add(row, pos, "", cellRef(pos), "%s", bad[pos])
			continue
		}
		name := clip(strings.TrimSpace(raw))
		if name == "" {
			index[pos] = posUnnamed // fine as long as it stays empty (see unnamed)
			continue
		}
		c := v.column(raw)
		if c < 0 && strings.ContainsAny(name, ",;\t") {
			// Checked before control characters: a tab here is a TSV file.
			v.misread = true
			v.add(row, pos, name, cellRef(pos), "unknown column %q: is the delimiter wrong? the columns are %s, separated by ',' or ';'",
				name, strings.Join(Columns, ", "))
			continue
		}
		if msg := controlProblem(raw); msg != "" {
			v.add(row, pos, name, cellRef(pos), "header %s", msg)
			continue
		}
		if c < 0 {
			suggest := suggestColumn(raw)
			if _, taken := first[suggest]; taken {
				suggest = -1
			}
			switch {
			case suggest >= 0 && !v.opts.AllowExtraColumns:
				v.add(row, pos, name, cellRef(pos), "unknown column %q: did you mean %s? (map it with %s)", name, Columns[suggest], mapHint(suggest, raw))
			case !v.opts.AllowExtraColumns:
				v.add(row, pos, name, cellRef(pos), "unknown column %q; the columns are %s (or pass --allow-extra-columns)",
					name, strings.Join(Columns, ", "))
			}
			if suggest == colEmail && hint == "" {
				hint = raw
			}
			continue
		}
		if prev := first[c]; prev != pos {
			v.add(row, pos, name, cellRef(pos), "duplicate column %q (also column %d)", Columns[c], prev+1)
			continue
		}
		index[pos] = c
	}
	if _, ok := first[colEmail]; !ok {
		v.hasEmail = false
		if hint != "" {
			v.add(row, -1, "", "", "missing required column %q; the header %q looks like it: map it with %s", Columns[colEmail], clip(strings.TrimSpace(hint)), mapHint(colEmail, hint))
		} else {
			v.add(row, -1, "", "", "missing required column %q", Columns[colEmail])
		}
	}
	for c, h := range v.cols.headers {
		if _, ok := first[c]; !ok && h != "" {
			v.add(row, -1, "", "", "column %s is mapped to the header %q (--columns), which this file does not have", Columns[c], clip(h))
		}
	}
	_, v.roles = first[colRoles]
	return index
}

// table turns the rows of a CSV file or a sheet into rawRows for the
// validator: the first row that is not blank is the header.
type table struct {
	v      *validator
	sheet  string                    // XLSX only
	ref    func(row, pos int) string // XLSX only: the cell reference of a position
	index  []int                     // header position -> column, posIgnored or posUnnamed
	names  []string                  // header position -> header text (clipped)
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
// bad (XLSX, may be nil) says per position why a cell could not be
// interpreted: such a cell is a problem, never an empty cell, so a row is
// never skipped because its reader did not understand it.
func (t *table) add(num int, cols, bad []string) {
	if t.index == nil {
		if blankCells(cols, bad) {
			return // blank rows above the header
		}
		t.index = t.v.header(num, cols, bad, func(pos int) string { return t.cell(num, pos) })
		t.colPos = positions(t.index)
		t.names = make([]string, len(cols))
		for i, c := range cols {
			t.names[i] = clip(strings.TrimSpace(c))
		}
		return
	}
	row := headerRow(num, &t.colPos)
	row.sheet, row.ref = t.sheet, t.ref
	for pos, val := range cols {
		c := posUnnamed
		if pos < len(t.index) {
			c = t.index[pos]
		}
		why := ""
		if pos < len(bad) {
			why = bad[pos]
		}
		switch {
		case c >= 0:
			row.cells[c].text = val
			row.cells[c].bad = why
		case why != "" && c == posIgnored:
			row.other = true // a column invitesync does not read: its cells are not read either
		case why != "":
			row.other = true
			t.v.add(num, pos, "", t.cell(num, pos), "%s", why)
		case strings.TrimSpace(val) == "":
		case c == posIgnored:
			row.other = true
			// Not read, but checked: a control character is never harmless
			// (unless the whole file is misread: a TSV is one column of tabs).
			if msg := controlProblem(val); msg != "" && pos < len(t.index) && !t.v.misread {
				t.v.add(num, pos, t.name(pos), t.cell(num, pos), "%s", msg)
			}
		case c == posUnnamed:
			row.other = true
			t.v.unnamed(num, pos, t.cell(num, pos))
		}
	}
	if !row.blank() {
		t.v.row(&row)
	}
}

// name is the header text at pos, for a message about a column invitesync
// does not read.
func (t *table) name(pos int) string {
	if pos < len(t.names) {
		return t.names[pos]
	}
	return ""
}

func blankCells(cols, bad []string) bool {
	for _, b := range bad {
		if b != "" {
			return false
		}
	}
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
		if c.set && (strings.TrimSpace(c.text) != "" || len(c.items) > 0 || c.bad != "") {
			return false
		}
	}
	return true
}

// row validates one row and keeps its member (needed to find duplicates;
// the members are only returned when the whole roster is valid).
func (v *validator) row(r *rawRow) {
	v.rows++
	if r.sheet != "" {
		v.sheet = r.sheet
	}
	at := func(c int, format string, args ...any) {
		cell := &r.cells[c]
		ref := ""
		if r.ref != nil && cell.pos >= 0 {
			ref = r.ref(r.row, cell.pos)
		}
		v.add(r.row, cell.pos, Columns[c], ref, format, args...)
	}
	usable := func(c int) bool {
		cell := &r.cells[c]
		if cell.bad != "" {
			at(c, "%s", cell.bad)
			return false
		}
		if !utf8.ValidString(cell.text) || !allValid(cell.items) {
			at(c, "%s is not valid UTF-8 text; save the file as UTF-8", Columns[c])
			return false
		}
		// An email's non-ASCII characters get the look-alike message of
		// checkEmail instead, which names the address.
		if msg := controlProblemIn(cell.text, c != colEmail); msg != "" {
			at(c, "%s", msg)
			return false
		}
		for _, it := range cell.items {
			if msg := controlProblem(it); msg != "" {
				at(c, "%s", msg)
				return false
			}
		}
		return true
	}

	var (
		email   string
		auth    string
		expires int
		lists   rowLists
	)
	if e := &r.cells[colEmail]; v.hasEmail && usable(colEmail) {
		text := strings.TrimSpace(e.text)
		switch {
		case e.seq:
			at(colEmail, "email must be a single address, not a list")
		case text == "":
			at(colEmail, "email is required")
		default:
			if msg := checkEmail(text); msg != "" {
				at(colEmail, "%s", msg)
			} else if prev := v.kept.firstRow(text); prev != 0 {
				at(colEmail, "duplicate email %q: duplicate of row %d", text, prev)
			} else {
				email = text
			}
		}
	}

	if a := &r.cells[colAuthType]; !usable(colAuthType) {
	} else if a.seq {
		at(colAuthType, "auth_type must be a single value, not a list")
	} else if t := strings.ToUpper(strings.TrimSpace(a.text)); t != "" {
		if t != AuthLocal && t != AuthSSO {
			at(colAuthType, "auth_type %q is not allowed; use %s, %s or leave it empty for the upstream default",
				clip(strings.TrimSpace(a.text)), AuthLocal, AuthSSO)
		} else {
			auth = t
		}
	}

	// A list item a spreadsheet would run as a formula is no group or role
	// name: refused, as WriteFile refuses to write one.
	formulas := func(c int, items []string) []string {
		for _, it := range items {
			if msg := formulaStart(it); msg != "" {
				at(c, "%s item %q: %s", Columns[c], clip(it), msg)
			}
		}
		return items
	}
	if usable(colOrgRoles) {
		lists.orgRoles = formulas(colOrgRoles, listOf(&r.cells[colOrgRoles]))
	}

	if usable(colServiceRoles) {
		var seenRoles set[ServiceRole]
		for _, item := range listOf(&r.cells[colServiceRoles]) {
			link, role, ok := strings.Cut(item, "=")
			link, role = strings.TrimSpace(link), strings.TrimSpace(role)
			if !ok || link == "" || role == "" {
				at(colServiceRoles, "service role %q must be SERVICE_DEFINITION_LINK=ROLE", clip(item))
				continue
			}
			if msg := formulaStart(link) + formulaStart(role); msg != "" {
				at(colServiceRoles, "service role %q: %s", clip(item), msg)
				continue
			}
			sr := ServiceRole{Link: link, Role: role}
			if seenRoles.add(sr, lists.serviceRoles) {
				lists.serviceRoles = append(lists.serviceRoles, sr)
			}
		}
	}

	if usable(colGroups) {
		lists.groups = formulas(colGroups, listOf(&r.cells[colGroups]))
		if n := len(lists.groups); n > MaxGroups {
			at(colGroups, "%d groups; at most %d allowed", n, MaxGroups)
		}
	}

	if x := &r.cells[colExpires]; !usable(colExpires) {
	} else if x.seq {
		at(colExpires, "expires_in_days must be a single number, not a list")
	} else if s := strings.TrimSpace(x.text); s != "" {
		d, err := strconv.Atoi(s)
		switch {
		case err != nil:
			at(colExpires, "expires_in_days %q is not a whole number of days (%d..%d)", clip(s), MinExpiryDays, MaxExpiryDays)
		case d < MinExpiryDays || d > MaxExpiryDays:
			at(colExpires, "expires_in_days %d is out of range; it must be %d..%d", d, MinExpiryDays, MaxExpiryDays)
		default:
			expires = d
		}
	}

	if c := &r.cells[colRoles]; c.set {
		v.roles = true
		if usable(colRoles) {
			roles, msgs := parseRoles(splitItems(c))
			for _, msg := range msgs {
				at(colRoles, "%s", msg)
			}
			if len(roles) > 0 {
				lists.roles = roles
			}
		}
	}

	if email != "" {
		v.kept.add(email, r.row, auth, expires, lists)
	}
}

// controlProblem says why text holding a control character (C0, DEL, C1),
// a bidirectional override or an invisible character (zero-width space,
// soft hyphen, BOM) is refused, or "". Such characters are
// invisible to a reviewer, break CSV and terminals, and are never part of a
// name, a role or an address.
func controlProblem(s string) string { return controlProblemIn(s, true) }

// controlProblemIn is controlProblem, looking only at ASCII control
// characters unless nonASCII.
func controlProblemIn(s string, nonASCII bool) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' || c == '\r' {
			return fmt.Sprintf("holds a line break (%U) at byte %d: a roster cell is one line (separate list items with ';')", rune(c), i+1)
		}
		if c < 0x20 || c == 0x7f {
			return fmt.Sprintf("holds the control character %U at byte %d: remove it (a tab or NUL inside a cell is never part of a roster value)", rune(c), i+1)
		}
		if c < utf8.RuneSelf || !nonASCII {
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r >= 0x80 && r <= 0x9f) || r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
			r == 0x00ad || r == 0x180e || r == 0x200b || r == 0x2060 || r == 0xfeff { // invisible: a group "g\u200b" is another group
			return fmt.Sprintf("holds the invisible control character %U at byte %d: remove it", r, i+1)
		}
		i += size - 1
	}
	return ""
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
	var (
		out  []string
		seen set[string]
	)
	for _, p := range splitItems(c) {
		if seen.add(p, out) {
			out = append(out, p)
		}
	}
	return out
}

// splitItems is listOf keeping duplicates.
func splitItems(c *rawCell) []string {
	parts := c.items
	if !c.seq {
		parts = []string{c.text}
	}
	var out []string
	for _, part := range parts {
		for p := range strings.SplitSeq(part, ";") {
			if p = strings.TrimSpace(p); p != "" {
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
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") {
		return fmt.Sprintf("email %q is not a valid address (the domain %q is not a public domain name)", s, domain)
	}
	// A top-level domain is never all digits: 1.2.3.4 (or 10.1) is an IP
	// address, which no invitation should go to.
	if tld := domain[strings.LastIndexByte(domain, '.')+1:]; tld == "" {
		return fmt.Sprintf("email %q is not a valid address (the domain %q is not a public domain name)", s, domain)
	} else if strings.Trim(tld, "0123456789") == "" {
		return fmt.Sprintf("email %q is not a valid address (the domain %q is an IP address, not a domain name)", s, domain)
	}
	return ""
}

// finish sorts the problems and returns the members or the Problems.
func (v *validator) finish() ([]Member, error) {
	if v.problemCount() == 0 && v.rows == 0 && !v.opts.AllowEmpty {
		v.fileProblem("the roster has no members; an empty roster under --policy sync would revoke every invitation: %s", hintAllowEmpty)
	}
	if v.problemCount() == 0 {
		return v.kept.members(v.file, v.sheet, v.roles), nil
	}
	v.kept = nil
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
