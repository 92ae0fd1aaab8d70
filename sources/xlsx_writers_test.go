package sources

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Workbooks as other writers save them, written part by part: Excel (shared
// strings, rich text, phonetic hints, _xHHHH_ escapes), LibreOffice and
// Google Sheets (t="str" formula results, inline strings, rows and cells
// without r), .NET tooling (prefixed elements), Strict OOXML, and the cells
// a library would quietly turn into "" (a formula with no saved value, a
// string index past the table, an error cell).

const (
	nsMain   = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	nsRel    = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsStrict = "http://purl.oclc.org/ooxml/spreadsheetml/main"
)

type handSheet struct {
	name  string
	state string // "", "hidden", "veryHidden"
	rows  string // the <sheetData> content
	kind  string // relationship type suffix; "" = worksheet
	raw   string // the whole part, instead of rows
}

type handBook struct {
	sheets []handSheet
	sst    []string // <si> contents; nil = no shared string part
	noRels bool     // leave out xl/_rels/workbook.xml.rels
}

func (hb handBook) bytes(t testing.TB) []byte {
	t.Helper()
	parts := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="` + nsRel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
	}
	var wb, rels strings.Builder
	wb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="` + nsMain + `" xmlns:r="` + nsRel + `"><sheets>`)
	rels.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for i, s := range hb.sheets {
		state := ""
		if s.state != "" {
			state = fmt.Sprintf(` state="%s"`, s.state)
		}
		fmt.Fprintf(&wb, `<sheet name="%s" sheetId="%d"%s r:id="rId%d"/>`, s.name, i+1, state, i+1)
		kind := s.kind
		if kind == "" {
			kind = "worksheet"
		}
		// Targets relative to xl/, as Excel writes them; the first one
		// absolute, as some writers do.
		target := fmt.Sprintf("worksheets/sheet%d.xml", i+1)
		if i == 0 {
			target = "/xl/" + target
		}
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="%s/%s" Target="%s"/>`, i+1, nsRel, kind, target)
		part := s.raw
		if part == "" {
			part = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="` + nsMain + `"><sheetData>` + s.rows + `</sheetData></worksheet>`
		}
		parts[fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1)] = part
	}
	wb.WriteString(`</sheets></workbook>`)
	if hb.sst != nil {
		fmt.Fprintf(&rels, `<Relationship Id="rId99" Type="%s/sharedStrings" Target="sharedStrings.xml"/>`, nsRel)
		var b strings.Builder
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="%s" count="%d" uniqueCount="%d">`, nsMain, len(hb.sst), len(hb.sst))
		for _, si := range hb.sst {
			b.WriteString("<si>" + si + "</si>")
		}
		b.WriteString("</sst>")
		parts["xl/sharedStrings.xml"] = b.String()
	}
	rels.WriteString(`</Relationships>`)
	parts["xl/workbook.xml"] = wb.String()
	if !hb.noRels {
		parts["xl/_rels/workbook.xml.rels"] = rels.String()
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(parts[n]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// is is an inline-string cell; s a shared-string cell.
func is(ref, text string) string {
	return fmt.Sprintf(`<c r="%s" t="inlineStr"><is><t>%s</t></is></c>`, ref, text)
}
func sc(ref string, i int) string { return fmt.Sprintf(`<c r="%s" t="s"><v>%d</v></c>`, ref, i) }
func row(n int, cells ...string) string {
	return fmt.Sprintf(`<row r="%d">%s</row>`, n, strings.Join(cells, ""))
}

func TestXLSXOtherWriters(t *testing.T) {
	header := row(1, is("A1", "email"), is("B1", "groups"))
	tests := []struct {
		name    string
		book    handBook
		opts    ReadOptions
		want    []string // Problem.String() without "FILE:"
		members []Member
		rows    []int
	}{
		{
			name: "Excel: shared strings, rich text runs, phonetic hints, escapes",
			book: handBook{
				sst: []string{
					`<t>email</t>`, `<t xml:space="preserve">groups</t>`,
					`<r><rPr><b/></rPr><t>ada@</t></r><r><t>example.com</t></r><rPh sb="0" eb="1"><t>IGNORED</t></rPh>`,
					`<t>g_x005F_x0041_b</t>`,
				},
				sheets: []handSheet{{name: "Sheet1", rows: row(1, sc("A1", 0), sc("B1", 1)) + row(2, sc("A2", 2), sc("B2", 3))}},
			},
			members: []Member{{Email: "ada@example.com", Groups: []string{"g_x0041_b"}}},
			rows:    []int{2},
		},
		{
			name: "Google Sheets / LibreOffice: formula results as t=str, numbers, booleans, rows and cells without r",
			book: handBook{sheets: []handSheet{{name: "Roster", rows: `<row>` + is("", "email") + is("", "expires_in_days") + is("", "groups") + `</row>` +
				`<row><c t="str"><f>LOWER("ADA@EXAMPLE.COM")</f><v>ada@example.com</v></c><c><f>7*2</f><v>14</v></c><c t="b"><v>1</v></c></row>` +
				`<row r="5"><c r="A5" t="inlineStr"><is><r><t>bob@</t></r><r><t>example.com</t></r></is></c><c r="C5" t="str"><v>g-ops</v></c></row>`}}},
			members: []Member{
				{Email: "ada@example.com", ExpiresInDays: 14, Groups: []string{"TRUE"}},
				{Email: "bob@example.com", Groups: []string{"g-ops"}},
			},
			rows: []int{2, 5},
		},
		{
			name: ".NET writers: prefixed elements; Strict OOXML namespace",
			book: handBook{sheets: []handSheet{
				{name: "Sheet1", raw: `<x:worksheet xmlns:x="` + nsStrict + `"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>email</x:t></x:is></x:c></x:row>` +
					`<x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>ada@example.com</x:t></x:is></x:c></x:row></x:sheetData></x:worksheet>`},
			}},
			members: []Member{{Email: "ada@example.com"}},
		},
		{
			name:    "no workbook relationships: sheets by their usual part names",
			book:    handBook{noRels: true, sheets: []handSheet{{name: "Sheet1", rows: header + row(2, is("A2", "ada@example.com"))}}},
			members: []Member{{Email: "ada@example.com"}},
		},
		{
			name: "a formula with no saved value is a problem naming the cell, never a skipped row",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: header +
				row(2, is("A2", "ada@example.com")) +
				row(3, `<c r="A3"><f>CONCAT("bob","@example.com")</f></c>`) +
				row(4, `<c r="A4" t="str"><f t="shared" si="0"/></c>`) +
				row(5, is("A5", "cy@example.com"), `<c r="B5" t="b"><f>TRUE()</f></c>`)}}},
			want: []string{
				`3:Sheet1!A3: cell holds the formula "=CONCAT(\"bob\",\"@example.com\")" with no saved value, so its value is unknown: open the workbook in a spreadsheet program and save it (or paste the values), then try again`,
				`4:Sheet1!A4: cell holds a formula with no saved value, so its value is unknown: open the workbook in a spreadsheet program and save it (or paste the values), then try again`,
				`5:Sheet1!B5: cell holds the formula "=TRUE()" with no saved value, so its value is unknown: open the workbook in a spreadsheet program and save it (or paste the values), then try again`,
			},
		},
		{
			name: "a shared-string index past the table, or not a number",
			book: handBook{sst: []string{`<t>email</t>`, `<t>ada@example.com</t>`}, sheets: []handSheet{{name: "Sheet1", rows: row(1, sc("A1", 0)) +
				row(2, sc("A2", 1)) + row(3, sc("A3", 999)) + row(4, `<c r="A4" t="s"><v>x</v></c>`) + row(5, `<c r="A5" t="s"/>`) + row(6, sc("A6", -1))}}},
			want: []string{
				`3:Sheet1!A3: cell refers to shared string "999", but the workbook's string table has 2 entries: the workbook is damaged; save it again from the spreadsheet program`,
				`4:Sheet1!A4: cell refers to shared string "x", but the workbook's string table has 2 entries: the workbook is damaged; save it again from the spreadsheet program`,
				`5:Sheet1!A5: cell is a shared-string cell with no index: the workbook is damaged; save it again from the spreadsheet program`,
				`6:Sheet1!A6: cell refers to shared string "-1", but the workbook's string table has 2 entries: the workbook is damaged; save it again from the spreadsheet program`,
			},
		},
		{
			name: "shared-string cells with no string table",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: header + row(2, sc("A2", 0))}}},
			want: []string{`2:Sheet1!A2: cell refers to shared string "0", but the workbook's string table has 0 entries: the workbook is damaged; save it again from the spreadsheet program`},
		},
		{
			name: "error cells, unknown types, a number that is none",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: header +
				row(2, `<c r="A2" t="e"><f>VLOOKUP(1,X,2)</f><v>#N/A</v></c>`) +
				row(3, is("A3", "bob@example.com"), `<c r="B3" t="e"><v>#REF!</v></c>`) +
				row(4, `<c r="A4" t="x"><v>ada@example.com</v></c>`) +
				row(5, is("A5", "cy@example.com"), `<c r="B5"><v>twelve</v></c>`) +
				row(6, is("A6", "dee@example.com"), `<c r="B6" t="b"><v>2</v></c>`)}}},
			want: []string{
				`2:Sheet1!A2: cell holds the spreadsheet error #N/A: fix the cell (or its formula) so it shows the value you mean`,
				`3:Sheet1!B3: cell holds the spreadsheet error #REF!: fix the cell (or its formula) so it shows the value you mean`,
				`4:Sheet1!A4: cell has the type t="x", which is not a spreadsheet cell type invitesync can read: save the workbook again from a spreadsheet program`,
				`5:Sheet1!B5: cell is stored as a number but holds "twelve": the workbook is damaged; save it again from the spreadsheet program`,
				`6:Sheet1!B6: cell is stored as TRUE/FALSE but holds "2": the workbook is damaged; save it again from the spreadsheet program`,
			},
		},
		{
			name: "an unreadable cell in a column invitesync does not read is not read",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: row(1, is("A1", "email"), is("B1", "manager")) +
				row(2, is("A2", "ada@example.com"), `<c r="B2" t="e"><v>#N/A</v></c>`) +
				row(3, `<c r="B3" t="e"><v>#N/A</v></c>`)}}},
			opts: ReadOptions{AllowExtraColumns: true},
			want: []string{`3:Sheet1!A3: email is required`}, // the row is not blank: never skipped
		},
		{
			name: "an unreadable header cell",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: row(1, `<c r="A1" t="e"><v>#NAME?</v></c>`) + row(2, is("A2", "ada@example.com"))}}},
			want: []string{
				`1: missing required column "email"`,
				`1:Sheet1!A1: cell holds the spreadsheet error #NAME?: fix the cell (or its formula) so it shows the value you mean`,
			},
		},
		{
			name: "control characters escaped as _xHHHH_ are seen",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: header +
				row(2, is("A2", "ada@example.com_x0000_"), is("B2", "g")) +
				row(3, is("A3", "bob@example.com"), is("B3", "g-1;g_x000D__x000A_-2"))}}},
			want: []string{
				`2:Sheet1!A2: holds the control character U+0000 at byte 16: remove it (a tab or NUL inside a cell is never part of a roster value)`,
				`3:Sheet1!B3: holds a line break (U+000D) at byte 6: a roster cell is one line (separate list items with ';')`,
			},
		},
		{
			name: "a hidden first sheet is not the roster by default",
			book: handBook{sheets: []handSheet{
				{name: "Old", state: "hidden", rows: header + row(2, is("A2", "ghost@example.com"))},
				{name: "People", rows: header + row(2, is("A2", "ada@example.com"))},
			}},
			want: []string{`the first sheet "Old" is hidden (state="hidden"), so a reviewer of the workbook does not see it: pass --sheet "Old" to read it anyway, or --sheet with the sheet that holds the roster (visible sheets: "People")`},
		},
		{
			name: "nor a veryHidden one",
			book: handBook{sheets: []handSheet{
				{name: "x", state: "veryHidden", rows: header + row(2, is("A2", "ghost@example.com"))},
				{name: "People", rows: header + row(2, is("A2", "ada@example.com"))},
			}},
			want: []string{`the first sheet "x" is hidden (state="veryHidden"), so a reviewer of the workbook does not see it: pass --sheet "x" to read it anyway, or --sheet with the sheet that holds the roster (visible sheets: "People")`},
		},
		{
			name: "a state outside the standard set counts as hidden",
			book: handBook{sheets: []handSheet{
				{name: "x", state: "Hidden", rows: header + row(2, is("A2", "ghost@example.com"))},
			}},
			want: []string{`the first sheet "x" is hidden (state="Hidden"), so a reviewer of the workbook does not see it: pass --sheet "x" to read it anyway, or --sheet with the sheet that holds the roster (the workbook has no visible sheet)`},
		},
		{
			name: "--sheet names the hidden sheet: it is read",
			book: handBook{sheets: []handSheet{
				{name: "Old", state: "hidden", rows: header + row(2, is("A2", "ghost@example.com"))},
				{name: "People", rows: header + row(2, is("A2", "ada@example.com"))},
			}},
			opts:    ReadOptions{Sheet: "old"},
			members: []Member{{Email: "ghost@example.com"}},
		},
		{
			name: "a hidden second sheet changes nothing",
			book: handBook{sheets: []handSheet{
				{name: "People", state: "visible", rows: header + row(2, is("A2", "ada@example.com"))},
				{name: "Old", state: "hidden", rows: header + row(2, is("A2", "ghost@example.com"))},
			}},
			members: []Member{{Email: "ada@example.com"}},
		},
		{
			name: "a chart sheet is not a table",
			book: handBook{sheets: []handSheet{{name: "Chart1", kind: "chartsheet", raw: `<chartsheet xmlns="` + nsMain + `"/>`}}},
			want: []string{`sheet "Chart1" is a chartsheet, not a table of rows: pass --sheet with the sheet that holds the roster`},
		},
		{
			name: "rows out of order",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: header + row(3, is("A3", "ada@example.com")) + row(2, is("A2", "bob@example.com"))}}},
			want: []string{`2: sheet "Sheet1" lists row 2 after row 3: the workbook is damaged (or not written by a spreadsheet program); save it again`},
		},
		{
			name: "a cell reference outside its row, a cell twice",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: header + row(2, is("A3", "ada@example.com"))}}},
			want: []string{`2: sheet "Sheet1" row 2 holds a cell with the reference "A3", which is not in that row: the workbook is damaged; save it again`},
		},
		{
			name: "a cell twice",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: header + row(2, is("A2", "ada@example.com"), is("A2", "bob@example.com"))}}},
			want: []string{`2: sheet "Sheet1" row 2 lists cell Sheet1!A2 twice or out of order: the workbook is damaged; save it again`},
		},
		{
			name: "broken XML names the row it stopped at",
			book: handBook{sheets: []handSheet{{name: "Sheet1", raw: `<worksheet xmlns="` + nsMain + `"><sheetData>` + header + row(2, is("A2", "ada@example.com")) + `<row r="3"><c r="A3" t="inlineStr"><is><t>bob@example.com</is>`}}},
			want: []string{`3: cannot read sheet "Sheet1" past row 2: it is not well-formed XML (element <t> closed by </is>); save the workbook again from the spreadsheet program`},
		},
		{
			name: "a sheet cut in the middle of a row",
			book: handBook{sheets: []handSheet{{name: "Sheet1", raw: `<worksheet xmlns="` + nsMain + `"><sheetData>` + header + row(2, is("A2", "ada@example.com")) + `<row r="3"><c r="A3" t="inlineStr"><is><t>bob@example.com</t></is></c>`}}},
			want: []string{`3: cannot read sheet "Sheet1" past row 2: it ends inside <row> (a cut or damaged file); save the workbook again from the spreadsheet program`},
		},
		{
			name: "a date cell is text as stored",
			book: handBook{sheets: []handSheet{{name: "Sheet1", rows: row(1, is("A1", "email"), is("B1", "expires_in_days")) +
				row(2, is("A2", "ada@example.com"), `<c r="B2" t="d"><v>2026-01-01</v></c>`)}}},
			want: []string{`2:Sheet1!B2: expires_in_days "2026-01-01" is not a whole number of days (1..90)`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roster.xlsx")
			if err := os.WriteFile(path, tc.book.bytes(t), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(path, tc.opts)
			checkProblems(t, path, err)
			var gotP []string
			var ps Problems
			if errors.As(err, &ps) {
				for _, p := range ps {
					gotP = append(gotP, strings.TrimPrefix(strings.TrimPrefix(p.String(), path+":"), " "))
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotP, tc.want) {
				t.Fatalf("problems:\n got %q\nwant %q", gotP, tc.want)
			}
			if tc.want != nil {
				return
			}
			if !reflect.DeepEqual(stripOrigin(got), tc.members) {
				t.Errorf("members:\n got %+v\nwant %+v", stripOrigin(got), tc.members)
			}
			for i, r := range tc.rows {
				if got[i].Origin.Row != r {
					t.Errorf("member %d row %d, want %d", i, got[i].Origin.Row, r)
				}
			}
		})
	}
}

func TestSplitCellRef(t *testing.T) {
	tests := []struct {
		ref      string
		col, row int
		ok       bool
	}{
		{"A1", 0, 1, true}, {"C7", 2, 7, true}, {"AA10", 26, 10, true}, {"XFD1048576", 16383, 1048576, true},
		{"a1", 0, 1, true}, {"1", 0, 0, false}, {"A", 0, 0, false}, {"A0", 0, 0, false}, {"A-1", 0, 0, false}, {"A+1", 0, 0, false},
	}
	for _, tc := range tests {
		col, row, ok := splitCellRef(tc.ref)
		if ok != tc.ok || (ok && (col != tc.col || row != tc.row)) {
			t.Errorf("splitCellRef(%q) = %d, %d, %v", tc.ref, col, row, ok)
		}
		if ok && columnName(col)+fmt.Sprint(row) != strings.ToUpper(tc.ref) {
			t.Errorf("columnName(%d) = %s", col, columnName(col))
		}
	}
}
