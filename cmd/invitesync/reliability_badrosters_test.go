//go:build reliability

package main_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// corpusDir holds the committed bad rosters and want.txt, the index of every
// case: "NAME<TAB>FRAGMENT[<TAB>BUG: why]" lines, several per case allowed,
// where FRAGMENT (FILE:ROW[:COLUMN]: message, or FILE: message for a problem
// with the whole file) must appear in the output. "#" starts a comment line.
// A case with a BUG note is a known product bug: skipped while it fails,
// unless INVITESYNC_RELIABILITY_STRICT=1.
const corpusDir = "testdata/bad-rosters"

// generated are the corpus files too big or too binary to commit: the test
// writes them into its copy of the corpus (the generator is the test, so no
// file in git is a mystery).
var generated = map[string]func(t *testing.T) []byte{
	// CSV
	"csv-10mb-line.csv": func(*testing.T) []byte {
		return []byte("email,groups\nada@example.com,g-1\nbob@example.com," + strings.Repeat("g", 10<<20) + "\n")
	},
	"csv-utf16.csv": func(*testing.T) []byte {
		out := []byte{0xff, 0xfe} // UTF-16LE with its BOM, as Excel's "Unicode text"
		for _, r := range "email\r\nada@example.com\r\n" {
			out = append(out, byte(r), 0)
		}
		return out
	},
	"csv-latin1.csv":    func(*testing.T) []byte { return []byte("email\nada@example.com\nren\xe9@example.com\n") },
	"csv-nul-bytes.csv": func(*testing.T) []byte { return []byte("email\nada@example.com\x00\x00\x00\n") },
	"csv-is-xlsx.csv":   func(t *testing.T) []byte { return xlsxOf(t, [][]any{{"email"}, {"ada@example.com"}}) },
	"yaml-is-xlsx.yaml": func(t *testing.T) []byte { return xlsxOf(t, [][]any{{"email"}, {"ada@example.com"}}) },
	"xlsx-is-csv.xlsx":  func(*testing.T) []byte { return []byte("email\nada@example.com\n") },
	"xlsx-legacy-xls.xlsx": func(*testing.T) []byte {
		// The OLE compound-file signature of a legacy .xls (or an encrypted .xlsx).
		return append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), make([]byte, 504)...)
	},
	"xlsx-zip-not-workbook.xlsx": func(t *testing.T) []byte {
		return zipOf(t, map[string]string{"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})
	},
	// XLSX content: rows and cells are named as a spreadsheet shows them.
	"xlsx-dup-case.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"email", "auth_type"}, {"ada@example.com", "AUTH_TYPE_SSO"}, {"bob@example.com", ""}, {"ADA@example.com", ""}})
	},
	"xlsx-16-groups.xlsx": func(t *testing.T) []byte {
		var gs []string
		for i := range 16 {
			gs = append(gs, fmt.Sprintf("g-%d", i))
		}
		return xlsxOf(t, [][]any{{"email", "auth_type", "groups"}, {"ada@example.com", "", "g-1"}, {"bob@example.com", "", strings.Join(gs, ";")}})
	},
	"xlsx-expiry-91.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"email", "expires_in_days"}, {"ada@example.com", 7}, {"bob@example.com", 91}})
	},
	"xlsx-expiry-0.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"email", "expires_in_days"}, {"ada@example.com", 0}})
	},
	"xlsx-bad-auth-type.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"Email ", " AUTH_TYPE"}, {"ada@example.com", "password"}})
	},
	"xlsx-formula-text.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"email"}, {"ada@example.com"}, {"=cmd|' /C calc'!A0"}})
	},
	"xlsx-cyrillic-e.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"email"}, {"ada@\u0435xample.com"}})
	},
	"xlsx-display-name.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"email"}, {"Ada <ada@example.com>"}})
	},
	"xlsx-missing-email-column.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"e-mail", "auth_type"}, {"ada@example.com", "AUTH_TYPE_SSO"}})
	},
	"xlsx-unknown-column.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"email", "manager"}, {"ada@example.com", "bob"}})
	},
	"xlsx-empty-sheet.xlsx": func(t *testing.T) []byte { return xlsxOf(t, nil) },
	// Bombs. A real workbook whose sheet inflates past 1 GiB (truthful zip
	// headers, built from repeated deflate blocks in about 1 MB).
	"xlsx-zip-bomb.xlsx": func(t *testing.T) []byte {
		return withPart(t, "xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+
			`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`,
			strings.Repeat("<row/>", 1<<20/6), 1100, `</sheetData></worksheet>`, 0)
	},
	// The styles, which excelize holds in memory, inflating to 130 MiB.
	"xlsx-zip-bomb-styles.xlsx": func(t *testing.T) []byte {
		return withPart(t, "xl/styles.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+
			`<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><!--`,
			strings.Repeat(" ", 1<<20), 130, `--></styleSheet>`, 0)
	},
	// A sheet that declares 1 KiB and inflates to 64 MiB: archive/zip stops it.
	"xlsx-zip-lying-size.xlsx": func(t *testing.T) []byte {
		return withPart(t, "xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+
			`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`,
			strings.Repeat("<row/>", 1<<20/6), 64, `</sheetData></worksheet>`, 1<<10)
	},
	// 100 people, but the sheet's zip header declares a third of its size.
	"xlsx-zip-lying-size-people.xlsx": func(t *testing.T) []byte {
		var rows strings.Builder
		for i := range 100 {
			fmt.Fprintf(&rows, `<row r="%d"><c r="A%d" t="inlineStr"><is><t>person%03d@example.com</t></is></c></row>`, i+2, i+2, i)
		}
		sheet := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
			`<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>` + rows.String() + `</sheetData></worksheet>`
		return withPart(t, "xl/worksheets/sheet1.xml", sheet, "", 0, "", len(sheet)/3)
	},
	// Ways a row used to vanish or a look-alike to pass (issue 11).
	"csv-nul-past-64k.csv": func(*testing.T) []byte {
		var b strings.Builder
		b.WriteString("email,groups\n")
		for i := range 4000 {
			fmt.Fprintf(&b, "user%04d@example.com,g-eng\n", i)
		}
		b.WriteString("late@example.com,g\x00x\n") // line 4002, past the 64 KiB the binary check sniffs
		return []byte(b.String())
	},
	"csv-escape-sequence.csv": func(*testing.T) []byte {
		return []byte("email,auth_type\nada@example.com,AUTH_TYPE_SSO\x1b[2J\n")
	},
	// Workbooks from other writers, part by part: what a library reads as
	// an empty cell (and the row as skipped) must be a problem naming it.
	"xlsx-formula-no-value.xlsx": func(t *testing.T) []byte {
		return handXLSX(t, nil, handSheet{name: "Sheet1", rows: hRow(1, hIS("A1", "email")) + hRow(2, hIS("A2", "ada@example.com")) +
			hRow(3, `<c r="A3"><f>CONCAT("bob","@example.com")</f></c>`)})
	},
	"xlsx-bad-shared-string.xlsx": func(t *testing.T) []byte {
		return handXLSX(t, []string{"email", "ada@example.com"}, handSheet{name: "Sheet1", rows: hRow(1, hSS("A1", 0)) + hRow(2, hSS("A2", 1)) + hRow(3, hSS("A3", 999))})
	},
	"xlsx-error-cell.xlsx": func(t *testing.T) []byte {
		return handXLSX(t, nil, handSheet{name: "Sheet1", rows: hRow(1, hIS("A1", "email")) + hRow(2, hIS("A2", "ada@example.com")) +
			hRow(3, `<c r="A3" t="e"><f>VLOOKUP(B3,People!A:B,2,FALSE)</f><v>#N/A</v></c>`)})
	},
	"xlsx-unknown-cell-type.xlsx": func(t *testing.T) []byte {
		return handXLSX(t, nil, handSheet{name: "Sheet1", rows: hRow(1, hIS("A1", "email")) + hRow(2, `<c r="A2" t="x"><v>ada@example.com</v></c>`)})
	},
	"xlsx-hidden-first-sheet.xlsx": func(t *testing.T) []byte {
		return handXLSX(t, nil,
			handSheet{name: "Old", state: "hidden", rows: hRow(1, hIS("A1", "email")) + hRow(2, hIS("A2", "ghost@example.com"))},
			handSheet{name: "People", rows: hRow(1, hIS("A1", "email")) + hRow(2, hIS("A2", "ada@example.com"))})
	},
	"xlsx-veryhidden-first-sheet.xlsx": func(t *testing.T) []byte {
		return handXLSX(t, nil,
			handSheet{name: "Macros", state: "veryHidden", rows: hRow(1, hIS("A1", "email")) + hRow(2, hIS("A2", "ghost@example.com"))},
			handSheet{name: "People", rows: hRow(1, hIS("A1", "email")) + hRow(2, hIS("A2", "ada@example.com"))})
	},
	"xlsx-cut-sheet.xlsx": func(t *testing.T) []byte {
		return handXLSX(t, nil, handSheet{name: "Sheet1", raw: `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
			hRow(1, hIS("A1", "email")) + hRow(2, hIS("A2", "ada@example.com")) + `<row r="3">` + hIS("A3", "bob@example.com")})
	},
	"xlsx-control-escape.xlsx": func(t *testing.T) []byte {
		return handXLSX(t, nil, handSheet{name: "Sheet1", rows: hRow(1, hIS("A1", "email"), hIS("B1", "groups")) +
			hRow(2, hIS("A2", "ada@example.com"), hIS("B2", "g-eng_x0000_"))})
	},
	"xlsx-hr-headers.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"E-mail", "Auth Type"}, {"ada@example.com", "AUTH_TYPE_SSO"}})
	},
	"xlsx-roles-bad.xlsx": func(t *testing.T) []byte {
		return xlsxOf(t, [][]any{{"email", "roles"}, {"ada@example.com", "OrganizationAdmin"}, {"bob@example.com", "EnvironmentAdmin@env abc"}})
	},
	"xlsx-too-many-parts.xlsx": func(t *testing.T) []byte {
		parts := map[string]string{}
		for i := range 10_001 {
			parts[fmt.Sprintf("xl/media/image%d.png", i)] = ""
		}
		return withParts(t, parts)
	},
}

// handSheet is one sheet of a hand-written workbook: rows is the content
// of <sheetData>, raw (if set) the whole part.
type handSheet struct {
	name, state, rows, raw string
}

// handXLSX writes a workbook part by part, the way writers other than
// excelize do (inline or shared strings, formulas, sheet states), so the
// reader is tried on what it did not write itself. sst, when not nil, is the
// shared string table.
func handXLSX(t *testing.T, sst []string, sheets ...handSheet) []byte {
	t.Helper()
	const main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
	const rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	parts := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="` + rel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
	}
	var wb, rels strings.Builder
	wb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="` + main + `" xmlns:r="` + rel + `"><sheets>`)
	rels.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for i, s := range sheets {
		state := ""
		if s.state != "" {
			state = ` state="` + s.state + `"`
		}
		fmt.Fprintf(&wb, `<sheet name="%s" sheetId="%d"%s r:id="rId%d"/>`, s.name, i+1, state, i+1)
		fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="%s/worksheet" Target="worksheets/sheet%d.xml"/>`, i+1, rel, i+1)
		part := s.raw
		if part == "" {
			part = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="` + main + `"><sheetData>` + s.rows + `</sheetData></worksheet>`
		}
		parts[fmt.Sprintf("xl/worksheets/sheet%d.xml", i+1)] = part
	}
	if sst != nil {
		fmt.Fprintf(&rels, `<Relationship Id="rId99" Type="%s/sharedStrings" Target="sharedStrings.xml"/>`, rel)
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><sst xmlns="` + main + `">`)
		for _, s := range sst {
			b.WriteString("<si><t>" + s + "</t></si>")
		}
		b.WriteString("</sst>")
		parts["xl/sharedStrings.xml"] = b.String()
	}
	wb.WriteString(`</sheets></workbook>`)
	rels.WriteString(`</Relationships>`)
	parts["xl/workbook.xml"] = wb.String()
	parts["xl/_rels/workbook.xml.rels"] = rels.String()
	return zipOf(t, parts)
}

func hIS(ref, text string) string {
	return `<c r="` + ref + `" t="inlineStr"><is><t>` + text + `</t></is></c>`
}
func hSS(ref string, i int) string { return fmt.Sprintf(`<c r="%s" t="s"><v>%d</v></c>`, ref, i) }
func hRow(n int, cells ...string) string {
	return fmt.Sprintf(`<row r="%d">%s</row>`, n, strings.Join(cells, ""))
}

// xlsxOf is a workbook whose first sheet holds rows.
func xlsxOf(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zipOf(t *testing.T, parts map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range sortedKeys(parts) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, parts[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withParts is a valid one-person workbook plus extra parts.
func withParts(t *testing.T, extra map[string]string) []byte {
	t.Helper()
	base := xlsxOf(t, [][]any{{"email"}, {"ada@example.com"}})
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range sortedKeys(extra) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, extra[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withPart is a valid one-person workbook whose part name is replaced by
// prefix + n x chunk + suffix, deflated cheaply: each piece is compressed
// on its own and flushed (a non-final block needing no earlier data), so the
// n copies of the chunk's blocks concatenate into one valid deflate stream.
// declared, when not 0, is the size the zip header claims instead of the truth.
func withPart(t *testing.T, name, prefix, chunk string, n int, suffix string, declared int) []byte {
	t.Helper()
	piece := func(s string, final bool) []byte {
		var b bytes.Buffer
		w, err := flate.NewWriter(&b, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, s)
		if final {
			w.Close()
		} else {
			w.Flush()
		}
		return b.Bytes()
	}
	var data bytes.Buffer
	data.Write(piece(prefix, false))
	block := piece(chunk, false)
	crc := crc32.Update(0, crc32.IEEETable, []byte(prefix))
	for range n {
		data.Write(block)
		crc = crc32.Update(crc, crc32.IEEETable, []byte(chunk))
	}
	data.Write(piece(suffix, true))
	crc = crc32.Update(crc, crc32.IEEETable, []byte(suffix))
	size := uint64(len(prefix) + n*len(chunk) + len(suffix))
	if declared != 0 {
		size = uint64(declared)
	}

	base := xlsxOf(t, [][]any{{"email"}, {"ada@example.com"}})
	zr, err := zip.NewReader(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range zr.File {
		if f.Name == name {
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(data.Len()), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data.Bytes())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// wantCase is one corpus file and the fragments its problems must show.
type wantCase struct {
	name      string
	fragments []string
	bug       string // known product bug, not fixed yet
}

func readWant(t *testing.T) []wantCase {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "want.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []wantCase
	index := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, frag, ok := strings.Cut(line, "\t")
		// A fragment may hold a tab itself (a header cell naming two columns).
		frag, bug, _ := strings.Cut(frag, "\tBUG: ")
		if !ok || name == "" || frag == "" {
			t.Fatalf("want.txt:%d: want NAME<TAB>FRAGMENT, got %q", n, line)
		}
		if !strings.HasPrefix(frag, name+":") {
			t.Fatalf("want.txt:%d: the fragment must start with %s: (FILE:ROW[:COLUMN]: message)", n, name)
		}
		i, seen := index[name]
		if !seen {
			i = len(cases)
			index[name] = i
			cases = append(cases, wantCase{name: name})
		}
		cases[i].fragments = append(cases[i].fragments, frag)
		if bug != "" {
			cases[i].bug = bug
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestReliabilityBadRosters: every roster of the corpus (committed files and
// the generated big or binary ones) is refused with exit 3 and its
// row-precise message, by `validate` and by `apply --yes` against a running
// emulator; afterwards the emulator has not seen a single request.
func TestReliabilityBadRosters(t *testing.T) {
	cases := readWant(t)
	if len(cases) < 40 {
		t.Fatalf("the corpus has %d cases, want at least 40", len(cases))
	}
	// A working copy: the committed files plus the generated ones.
	dir := t.TempDir()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, e := range entries {
		if e.Name() == "want.txt" || strings.HasPrefix(e.Name(), ".") { // .gitattributes
			continue
		}
		data, err := os.ReadFile(filepath.Join(corpusDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = true
	}
	for name, gen := range generated {
		if files[name] {
			t.Fatalf("%s is both committed and generated", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), gen(t), 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = true
	}
	// The index and the corpus name the same files.
	for _, c := range cases {
		if !files[c.name] {
			t.Errorf("want.txt names %s, which is neither in %s nor generated", c.name, corpusDir)
		}
		delete(files, c.name)
	}
	for _, name := range sortedKeys(files) {
		t.Errorf("%s has no expected message in want.txt", name)
	}
	if t.Failed() {
		t.FailNow()
	}

	emu := startEmulator(t)
	reports := t.TempDir()
	strict := strictMode()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var wrong []string
			for _, cmd := range [][]string{
				{"validate", "--roster", c.name},
				// CSP takes groups and expiry, so every attribute is checked.
				append([]string{"apply", "--yes", "--roster", c.name, "--report", filepath.Join(reports, c.name), "--no-progress"},
					providerArgs("csp", emu.url)...),
			} {
				r := invitesync(t, runOpts{dir: dir}, cmd...)
				out := r.stdout + r.stderr
				if r.code != 3 {
					wrong = append(wrong, fmt.Sprintf("%s: exit %d, want 3\n%v", cmd[0], r.code, r))
					break // a roster validate accepts would be applied: keep the emulator untouched
				}
				for _, frag := range c.fragments {
					if !strings.Contains(out, frag) {
						wrong = append(wrong, fmt.Sprintf("%s: output lacks %q\n%v", cmd[0], frag, r))
					}
				}
			}
			switch {
			case len(wrong) == 0:
				if c.bug != "" {
					t.Logf("known bug fixed: remove the BUG note of %s from want.txt", c.name)
				}
			case c.bug != "" && !strict:
				t.Skipf("KNOWN BUG, not fixed yet: %s\n%s", c.bug, strings.Join(wrong, "\n"))
			default:
				t.Error(strings.Join(wrong, "\n"))
			}
		})
	}
	if st := emu.stats(); st.Requests != 0 {
		t.Errorf("the emulator got %d requests from invalid rosters, want 0: %v", st.Requests, st.ByRoute)
	}
}

// The corpus names stay sorted and unique in want.txt, so a reviewer finds a case.
func TestReliabilityBadRostersIndex(t *testing.T) {
	var names []string
	for _, c := range readWant(t) {
		names = append(names, c.name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("want.txt is not sorted by name")
	}
}
