package sources

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// The XLSX reader reads the workbook's XML itself rather than through a
// spreadsheet library: a library is built to show what it can, and turns a
// formula with no saved value, a shared-string index past the table or an
// error cell into an empty or made-up value without a word. For a roster
// that means a skipped row, and a skipped row is a revoked invitation.
// Here every cell of the columns invitesync reads is either understood or a
// problem naming it (Sheet1!C7). The sheet is streamed, so memory does not
// grow with it; shared strings, which any cell may name, are held.

// Limits of the parts the reader holds or streams (the zip checks come first).
const (
	maxXMLText        = 1 << 20   // text (or a tag) between two '<' in a sheet or the string table
	maxSharedStrings  = 8_000_000 // entries in the shared string table
	maxSharedText     = 256 << 20 // bytes of text in the shared string table
	maxSheetColumns   = 16384     // XFD, the last column of a sheet
	maxSheetRows      = 1048576   // the last row of a sheet
	relTypeWorksheet  = "/worksheet"
	relTypeSharedStrs = "/sharedStrings"
)

// readXLSX reads the roster sheet of a workbook into v.
func readXLSX(f *os.File, size int64, v *validator) error {
	if size > MaxXLSXBytes {
		v.fileProblem("%s", tooBig(size, MaxXLSXBytes, "an XLSX roster"))
		return nil
	}
	head := make([]byte, maxSniffBytes)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: a file smaller than head
		return err
	}
	head = head[:n]
	if !bytes.HasPrefix(head, []byte(zipMagic)) {
		v.fileProblem("%s", notXLSX(head))
		return nil
	}
	zr, msg := checkZip(f, size)
	if msg != "" {
		v.fileProblem("%s", msg)
		return nil
	}
	wb := &workbook{parts: make(map[string]*zip.File, len(zr.File))}
	for _, zf := range zr.File {
		wb.parts[partKey(zf.Name)] = zf
	}
	if msg := wb.load(); msg != "" {
		v.fileProblem("not a readable XLSX workbook: %s", msg)
		return nil
	}
	sh, msg := wb.choose(v.opts.Sheet)
	if msg != "" {
		v.fileProblem("%s", msg)
		return nil
	}
	if msg := wb.loadSharedStrings(); msg != "" {
		v.fileProblem("not a readable XLSX workbook: %s", msg)
		return nil
	}
	return wb.readSheet(sh, v)
}

// partKey is how parts are looked up: zip names may use '\' or another case.
func partKey(name string) string {
	return strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(name, "\\", "/"), "/"))
}

type sheetEntry struct {
	name   string
	state  string // "", "visible", "hidden", "veryHidden"
	target string // part name, "" when the relationship is missing
	kind   string // relationship type suffix, e.g. "/worksheet", "/chartsheet"
}

type workbook struct {
	parts   map[string]*zip.File
	sheets  []sheetEntry
	sstPart string
	sst     []string
}

func (wb *workbook) open(name string) (io.ReadCloser, error) {
	zf := wb.parts[partKey(name)]
	if zf == nil {
		return nil, fmt.Errorf("the workbook has no part %s", name)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("part %s: %w", name, err)
	}
	return rc, nil
}

// load reads the sheet list (xl/workbook.xml) and where each sheet lives
// (xl/_rels/workbook.xml.rels). Element names are matched without their
// namespace, so Strict OOXML and prefixed writers (x:sheet) read the same.
func (wb *workbook) load() string {
	const wbPart = "xl/workbook.xml"
	rels, relTypes, msg := wb.relationships("xl/_rels/workbook.xml.rels", "xl")
	if msg != "" {
		return msg
	}
	rc, err := wb.open(wbPart)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	dec := xml.NewDecoder(&textGuard{r: rc, max: maxXMLText})
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Sprintf("%s is not well-formed XML: %v", wbPart, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "sheet" {
			continue
		}
		var s sheetEntry
		var id string
		for _, a := range se.Attr {
			switch {
			case a.Name.Local == "name" && a.Name.Space == "":
				s.name = a.Value
			case a.Name.Local == "state" && a.Name.Space == "":
				s.state = a.Value
			case a.Name.Local == "id" && a.Name.Space != "":
				id = a.Value
			}
		}
		s.target, s.kind = rels[id], relTypes[id]
		wb.sheets = append(wb.sheets, s)
	}
	for id, t := range relTypes {
		if t == relTypeSharedStrs {
			wb.sstPart = rels[id]
		}
	}
	if wb.sstPart == "" {
		if _, ok := wb.parts["xl/sharedstrings.xml"]; ok {
			wb.sstPart = "xl/sharedStrings.xml"
		}
	}
	return ""
}

// relationships reads a .rels part: id -> target part (resolved against
// dir) and id -> the last path segment of its type ("/worksheet").
func (wb *workbook) relationships(part, dir string) (map[string]string, map[string]string, string) {
	targets, types := map[string]string{}, map[string]string{}
	rc, err := wb.open(part)
	if err != nil {
		return targets, types, "" // no relationships: sheets are then looked up by their usual names
	}
	defer rc.Close()
	dec := xml.NewDecoder(&textGuard{r: rc, max: maxXMLText})
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			return targets, types, ""
		}
		if err != nil {
			return nil, nil, fmt.Sprintf("%s is not well-formed XML: %v", part, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		var id, target, typ, mode string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "Id":
				id = a.Value
			case "Target":
				target = a.Value
			case "Type":
				typ = a.Value
			case "TargetMode":
				mode = a.Value
			}
		}
		if mode == "External" || id == "" {
			continue
		}
		if strings.HasPrefix(target, "/") {
			target = path.Clean(target[1:])
		} else {
			target = path.Clean(path.Join(dir, target))
		}
		targets[id] = target
		if i := strings.LastIndexByte(typ, '/'); i >= 0 {
			types[id] = typ[i:]
		}
	}
}

// choose picks the roster sheet. By default it is the first sheet, but
// never a hidden one: a hidden sheet is what a reviewer of the spreadsheet
// does not see, so reading it would invite (or keep) people nobody reviewed.
// The user names it with --sheet to read it anyway; we do not silently fall
// back to the first visible sheet either, since then the roster depends on
// a property of the file nobody looks at.
func (wb *workbook) choose(want string) (*sheetEntry, string) {
	if len(wb.sheets) == 0 {
		return nil, "the workbook has no sheets"
	}
	var sh *sheetEntry
	if want == "" {
		sh = &wb.sheets[0]
		if !visibleState(sh.state) {
			var visible []string
			for _, s := range wb.sheets {
				if visibleState(s.state) {
					visible = append(visible, s.name)
				}
			}
			others := "visible sheets: " + strings.Join(quoteAll(visible), ", ")
			if len(visible) == 0 {
				others = "the workbook has no visible sheet"
			}
			return nil, fmt.Sprintf("the first sheet %q is hidden (state=%q), so a reviewer of the workbook does not see it: pass --sheet %q to read it anyway, or --sheet with the sheet that holds the roster (%s)",
				sh.name, sh.state, sh.name, others)
		}
	} else {
		for i := range wb.sheets {
			if strings.EqualFold(wb.sheets[i].name, want) {
				sh = &wb.sheets[i]
				break
			}
		}
		if sh == nil {
			names := make([]string, len(wb.sheets))
			for i, s := range wb.sheets {
				names[i] = s.name
			}
			return nil, fmt.Sprintf("no sheet %q in the workbook; its sheets are %s", want, strings.Join(quoteAll(names), ", "))
		}
	}
	if sh.kind != "" && sh.kind != relTypeWorksheet {
		return nil, fmt.Sprintf("sheet %q is a %s, not a table of rows: pass --sheet with the sheet that holds the roster", sh.name, strings.TrimPrefix(sh.kind, "/"))
	}
	if sh.target == "" {
		// No relationship: the name Excel and every writer use for sheet N.
		for i := range wb.sheets {
			if &wb.sheets[i] == sh {
				sh.target = fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1)
			}
		}
	}
	if _, ok := wb.parts[partKey(sh.target)]; !ok {
		return nil, fmt.Sprintf("the workbook is damaged: sheet %q should be in part %s, which is missing", sh.name, sh.target)
	}
	return sh, ""
}

// visibleState: the sheet states are visible (the default), hidden and
// veryHidden; a state outside that set may be hidden by whatever reads it,
// so it counts as hidden.
func visibleState(state string) bool { return state == "" || state == "visible" }

// loadSharedStrings reads the string table: each <si> is the text of its
// <t>, or of the <t> of its rich-text runs <r>; phonetic hints (<rPh>) are
// not text.
func (wb *workbook) loadSharedStrings() string {
	if wb.sstPart == "" {
		return ""
	}
	rc, err := wb.open(wb.sstPart)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	dec := xml.NewDecoder(&textGuard{r: rc, max: maxXMLText})
	var (
		text      []byte
		inSI, inT bool
		skip      int // depth inside <rPh>, whose text is not the string's
		total     int
		depthInSI int
		tAt       int // depthInSI of the open <t>
	)
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			return fmt.Sprintf("the shared string table (%s) is not well-formed XML: %v", wb.sstPart, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case !inSI && t.Name.Local == "si":
				inSI, depthInSI, text = true, 0, text[:0]
				continue
			case !inSI:
				continue
			}
			depthInSI++
			switch {
			case skip > 0:
				skip++
			case t.Name.Local == "rPh" || t.Name.Local == "phoneticPr":
				skip = 1
			case t.Name.Local == "t":
				inT, tAt = true, depthInSI
			}
		case xml.EndElement:
			if !inSI {
				continue
			}
			if depthInSI == 0 && t.Name.Local == "si" {
				if len(wb.sst) >= maxSharedStrings {
					return fmt.Sprintf("the shared string table holds more than %d strings: refusing it", maxSharedStrings)
				}
				s := decodeXString(string(text))
				total += len(s)
				if total > maxSharedText {
					return fmt.Sprintf("the shared string table holds more than %s of text: refusing it", humanBytes(maxSharedText))
				}
				wb.sst = append(wb.sst, s)
				inSI = false
				continue
			}
			if skip > 0 {
				skip--
			}
			if inT && depthInSI == tAt {
				inT = false
			}
			depthInSI--
		case xml.CharData:
			if inSI && inT && skip == 0 {
				text = append(text, t...)
			}
		}
	}
}

// decodeXString undoes OOXML's _xHHHH_ escapes (ST_Xstring): a writer puts
// characters XML cannot hold, such as control characters, as _x000D_, and
// "_x005F_" escapes a literal underscore. Decoded, a control character is
// seen (and refused) as what it is.
func decodeXString(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(n))
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// sheetCell is the cell being read.
type sheetCell struct {
	col      int    // 0-based
	typ      string // the t attribute
	formula  bool
	fText    []byte
	v        []byte
	hasV     bool
	inline   []byte
	hasIS    bool
	ref      string
	inV, inF bool
	inT      int // depth of an open <t> inside <is>, 0 = none
	skip     int // depth inside <rPh>
	depth    int // depth inside <c>
}

// readSheet streams the sheet's rows into a table. Rows and cells without a
// reference (some writers leave r out) follow the previous one.
func (wb *workbook) readSheet(sh *sheetEntry, v *validator) error {
	rc, err := wb.open(sh.target)
	if err != nil {
		v.fileProblem("not a readable XLSX workbook: %v", err)
		return nil
	}
	defer rc.Close()
	ref := cellRefs(sh.name)
	t := &table{v: v, sheet: sh.name, ref: ref}
	dec := xml.NewDecoder(&textGuard{r: rc, max: maxXMLText})
	var (
		inData   bool
		inRow    bool
		rowNum   int
		prevCol  int
		cols     []string
		bad      []string
		c        *sheetCell
		cellBuf  sheetCell
		problemf = func(row int, format string, args ...any) {
			v.add(row, -1, "", "", format, args...)
		}
		// RawToken (much faster than Token) does not check that elements
		// nest; this stack does, so a cut or garbled sheet is an error, not
		// a last row quietly dropped.
		open []xml.Name
		done int // the last row read whole
		// stuck is the row a broken sheet stops at.
		stuck = func() int {
			if inRow {
				return rowNum
			}
			return rowNum + 1
		}
	)
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			if len(open) > 0 {
				problemf(stuck(), "cannot read sheet %q past row %d: it ends inside <%s> (a cut or damaged file); save the workbook again from the spreadsheet program", sh.name, done, open[len(open)-1].Local)
			}
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			open = append(open, tk.Name)
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != tk.Name {
				err = fmt.Errorf("element </%s> closes nothing open", tk.Name.Local)
				if len(open) > 0 {
					err = fmt.Errorf("element <%s> closed by </%s>", open[len(open)-1].Local, tk.Name.Local)
				}
			} else {
				open = open[:len(open)-1]
			}
		}
		if err != nil {
			var tg *textTooLong
			if errors.As(err, &tg) {
				problemf(stuck(), "sheet %q holds a cell or tag longer than %s past row %d: a roster cell is a few hundred bytes; is this the right file?", sh.name, humanBytes(maxXMLText), done)
				return nil
			}
			problemf(stuck(), "cannot read sheet %q past row %d: it is not well-formed XML (%v); save the workbook again from the spreadsheet program", sh.name, done, err)
			return nil
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			name := tk.Name.Local
			if c != nil {
				c.depth++
				switch {
				case c.skip > 0:
					c.skip++
				case name == "v" && c.depth == 1:
					c.inV, c.hasV = true, true
				case name == "f" && c.depth == 1:
					c.inF, c.formula = true, true
				case name == "is" && c.depth == 1:
					c.hasIS = true
				case name == "rPh" || name == "phoneticPr":
					c.skip = 1
				case name == "t" && c.hasIS && c.depth >= 2:
					c.inT = c.depth
				}
				continue
			}
			switch {
			case name == "sheetData":
				inData = true
			case !inData:
			case name == "row":
				next := rowNum + 1
				if r, ok := attr(tk, "r"); ok {
					n, err := strconv.Atoi(r)
					if err != nil || n < 1 || n > maxSheetRows {
						problemf(rowNum+1, "sheet %q has a row numbered %q after row %d: the workbook is damaged; save it again from the spreadsheet program", sh.name, clip(r), rowNum)
						return nil
					}
					next = n
				}
				if next <= rowNum {
					problemf(next, "sheet %q lists row %d after row %d: the workbook is damaged (or not written by a spreadsheet program); save it again", sh.name, next, rowNum)
					return nil
				}
				rowNum, inRow, prevCol = next, true, -1
				cols, bad = cols[:0], bad[:0]
			case name == "c" && inRow:
				cellBuf = sheetCell{col: prevCol + 1, fText: cellBuf.fText[:0], v: cellBuf.v[:0], inline: cellBuf.inline[:0]}
				c = &cellBuf
				for _, a := range tk.Attr {
					switch a.Name.Local {
					case "r":
						c.ref = a.Value
					case "t":
						c.typ = a.Value
					}
				}
				if c.ref != "" {
					col, row, ok := splitCellRef(c.ref)
					if !ok || row != rowNum || col >= maxSheetColumns {
						problemf(rowNum, "sheet %q row %d holds a cell with the reference %q, which is not in that row: the workbook is damaged; save it again", sh.name, rowNum, clip(c.ref))
						return nil
					}
					c.col = col
				}
				if c.col <= prevCol {
					problemf(rowNum, "sheet %q row %d lists cell %s twice or out of order: the workbook is damaged; save it again", sh.name, rowNum, ref(rowNum, c.col))
					return nil
				}
				if c.col >= maxSheetColumns {
					problemf(rowNum, "sheet %q row %d has more than %d cells", sh.name, rowNum, maxSheetColumns)
					return nil
				}
			}
		case xml.EndElement:
			if c != nil {
				if c.depth > 0 {
					if c.skip > 0 {
						c.skip--
					}
					if c.inT == c.depth {
						c.inT = 0
					}
					if c.depth == 1 {
						c.inV, c.inF = false, false
					}
					c.depth--
					continue
				}
				// </c>
				text, why := wb.cellValue(c)
				prevCol = c.col
				c = nil
				if text == "" && why == "" {
					continue // an empty (styled) cell says nothing; no need to pad up to it
				}
				for len(cols) < prevCol {
					cols, bad = append(cols, ""), append(bad, "")
				}
				cols, bad = append(cols, text), append(bad, why)
				continue
			}
			switch tk.Name.Local {
			case "row":
				if inRow {
					t.add(rowNum, cols, bad)
					done = rowNum
				}
				inRow = false
			case "sheetData":
				inData = false
			}
		case xml.CharData:
			if c == nil || c.skip > 0 {
				continue
			}
			switch {
			case c.inV:
				c.v = append(c.v, tk...)
			case c.inF:
				c.fText = append(c.fText, tk...)
			case c.inT > 0:
				c.inline = append(c.inline, tk...)
			}
		}
	}
	return nil
}

// cellValue is a cell's text as the spreadsheet shows it, or why it cannot
// be known from the file.
func (wb *workbook) cellValue(c *sheetCell) (string, string) {
	noValue := func() (string, string) {
		what := "a formula"
		if f := strings.TrimSpace(string(c.fText)); f != "" {
			what = fmt.Sprintf("the formula %q", "="+clip(f))
		}
		return "", "cell holds " + what + " with no saved value, so its value is unknown: open the workbook in a spreadsheet program and save it (or paste the values), then try again"
	}
	switch c.typ {
	case "", "n":
		if !c.hasV {
			if c.formula {
				return noValue()
			}
			return "", ""
		}
		s := strings.TrimSpace(string(c.v))
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "", fmt.Sprintf("cell is stored as a number but holds %q: the workbook is damaged; save it again from the spreadsheet program", clip(s))
		}
		return s, ""
	case "s":
		if !c.hasV {
			return "", "cell is a shared-string cell with no index: the workbook is damaged; save it again from the spreadsheet program"
		}
		i, err := strconv.Atoi(strings.TrimSpace(string(c.v)))
		if err != nil || i < 0 || i >= len(wb.sst) {
			return "", fmt.Sprintf("cell refers to shared string %q, but the workbook's string table has %d entries: the workbook is damaged; save it again from the spreadsheet program",
				clip(string(c.v)), len(wb.sst))
		}
		return wb.sst[i], ""
	case "inlineStr":
		return decodeXString(string(c.inline)), ""
	case "str":
		if !c.hasV {
			if c.formula {
				return noValue()
			}
			return "", ""
		}
		return decodeXString(string(c.v)), ""
	case "b":
		if c.formula && !c.hasV {
			return noValue()
		}
		switch strings.TrimSpace(string(c.v)) {
		case "1":
			return "TRUE", ""
		case "0":
			return "FALSE", ""
		}
		return "", fmt.Sprintf("cell is stored as TRUE/FALSE but holds %q: the workbook is damaged; save it again from the spreadsheet program", clip(string(c.v)))
	case "e":
		return "", fmt.Sprintf("cell holds the spreadsheet error %s: fix the cell (or its formula) so it shows the value you mean", clip(string(c.v)))
	case "d":
		if !c.hasV {
			if c.formula {
				return noValue()
			}
			return "", ""
		}
		return strings.TrimSpace(string(c.v)), ""
	default:
		return "", fmt.Sprintf("cell has the type t=%q, which is not a spreadsheet cell type invitesync can read: save the workbook again from a spreadsheet program", clip(c.typ))
	}
}

func attr(se xml.StartElement, local string) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

// splitCellRef reads "C7" into column 2 (0-based) and row 7.
func splitCellRef(ref string) (col, row int, ok bool) {
	i := 0
	for i < len(ref) && i < 4 && isASCIILetter(ref[i]) {
		col = col*26 + int(unicode.ToUpper(rune(ref[i]))-'A'+1)
		i++
	}
	if i == 0 || i == len(ref) {
		return 0, 0, false
	}
	row, err := strconv.Atoi(ref[i:])
	if err != nil || row < 1 || ref[i] == '+' || ref[i] == '-' {
		return 0, 0, false
	}
	return col - 1, row, true
}

// textGuard fails a read when more than max bytes pass without a '<': a
// tag or a text node that long is no spreadsheet a person wrote, and the
// XML decoder would hold all of it in memory.
type textGuard struct {
	r   io.Reader
	max int
	run int
}

type textTooLong struct{}

func (textTooLong) Error() string { return "text between two tags is too long" }

func (g *textGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for i, b := range p[:n] {
		if b == '<' {
			g.run = 0
			continue
		}
		g.run++
		if g.run > g.max {
			return i, &textTooLong{}
		}
	}
	return n, err
}

// cellRefs returns a function naming a cell the way Excel does: Sheet1!C7,
// or 'My roster'!C7 when the sheet name needs quotes.
func cellRefs(sheet string) func(row, pos int) string {
	prefix := sheet
	if strings.IndexFunc(sheet, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '.' }) >= 0 ||
		(sheet != "" && unicode.IsDigit(rune(sheet[0]))) {
		prefix = "'" + strings.ReplaceAll(sheet, "'", "''") + "'"
	}
	return func(row, pos int) string {
		return prefix + "!" + columnName(pos) + strconv.Itoa(row)
	}
}

// columnName is the letters of a 0-based column: 0 -> A, 26 -> AA.
func columnName(pos int) string {
	var b [4]byte
	i := len(b)
	for n := pos + 1; n > 0 && i > 0; n = (n - 1) / 26 {
		i--
		b[i] = byte('A' + (n-1)%26)
	}
	return string(b[i:])
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// notXLSX says what a file named .xlsx is instead.
func notXLSX(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte(oleMagic)):
		return "not an XLSX workbook: it is a legacy .xls or a password-protected workbook; save it as an unprotected .xlsx"
	case len(head) == 0:
		return "not an XLSX workbook: the file is empty"
	case textProblem(head, "text") == "":
		return "not an XLSX workbook: it is plain text (a CSV or YAML roster?); give it the right extension or pass --format csv|yaml"
	default:
		return "not an XLSX workbook: it is not a zip archive"
	}
}

// checkZip refuses a workbook that would expand beyond sane limits (a zip
// bomb) before anything is decoded. The sizes checked are the ones the zip
// declares; archive/zip fails a part that inflates past its declared size,
// so they are real bounds. Parts other than the sheets and the string table
// are read whole, hence the separate, lower cap on those.
func checkZip(f *os.File, size int64) (*zip.Reader, string) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, fmt.Sprintf("not a readable XLSX workbook: %v", err)
	}
	if len(zr.File) > MaxXLSXParts {
		return nil, fmt.Sprintf("the workbook has %d parts, over the limit of %d: refusing it", len(zr.File), MaxXLSXParts)
	}
	var total, inMem uint64
	workbook := false
	for _, zf := range zr.File {
		n := zf.UncompressedSize64
		total += n
		if n > MaxXLSXUnzipped || total > MaxXLSXUnzipped {
			return nil, fmt.Sprintf("the workbook expands to more than %s when unzipped (a zip bomb?): refusing it", humanBytes(MaxXLSXUnzipped))
		}
		name := partKey(zf.Name)
		workbook = workbook || name == "xl/workbook.xml"
		streamed := (strings.HasPrefix(name, "xl/worksheets/sheet") || name == "xl/sharedstrings.xml") && n > XLSXSheetInMem
		if !streamed {
			inMem += n
			if inMem > MaxXLSXInMemory {
				return nil, fmt.Sprintf("the workbook's parts other than its sheets expand to more than %s (a zip bomb?): refusing it", humanBytes(MaxXLSXInMemory))
			}
		}
	}
	if !workbook {
		return nil, "not an XLSX workbook: a zip archive with no xl/workbook.xml (another kind of document?)"
	}
	// A part holding more than its header says would be cut short by a
	// reader that trusts the header (a roster missing people). Inflate each
	// part once, within the caps above: archive/zip fails one longer or
	// shorter than declared, or whose checksum is wrong.
	for _, zf := range zr.File {
		if err := inflatesAsDeclared(zf); err != nil {
			return nil, fmt.Sprintf("the workbook is damaged: part %s does not match its zip header (%v); save it again from the spreadsheet program", zf.Name, err)
		}
	}
	return zr, ""
}

func inflatesAsDeclared(zf *zip.File) error {
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}
