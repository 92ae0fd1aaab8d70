package sources

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestXLSX(t *testing.T) {
	type sheet struct {
		name  string
		cells map[string]any // "C7" -> value
	}
	tests := []struct {
		name     string
		sheets   []sheet
		formula  map[string]string // cell of the first sheet -> formula, no cached value
		opts     ReadOptions
		want     []string // full Problem.String() minus the file prefix
		members  []Member
		wantRows []int
	}{
		{
			name: "problems carry the cell",
			sheets: []sheet{{"Sheet1", map[string]any{
				"A1": "email", "B1": "groups", "C1": "expires_in_days",
				"A2": "ada@example.com", "C2": 30,
				"A3": "bad", "B3": groupsCell(16), "C3": 91.5,
			}}},
			want: []string{
				`3:Sheet1!A3: email "bad" is not a valid address`,
				`3:Sheet1!B3: 16 groups; at most 15 allowed`,
				`3:Sheet1!C3: expires_in_days "91.5" is not a whole number of days (1..90)`,
			},
		},
		{
			name: "a sheet name that needs quotes",
			sheets: []sheet{{"My roster", map[string]any{
				"A1": "email", "B1": "nope", "A2": "bad",
			}}},
			want: []string{
				`1:'My roster'!B1: unknown column "nope"; the columns are ` + allColumnsMsg + " (or pass --allow-extra-columns)",
				`2:'My roster'!A2: email "bad" is not a valid address`,
			},
		},
		{
			name: "first sheet by default",
			sheets: []sheet{
				{"People", map[string]any{"A1": "email", "A2": "ada@example.com"}},
				{"Other", map[string]any{"A1": "junk"}},
			},
			members:  []Member{{Email: "ada@example.com"}},
			wantRows: []int{2},
		},
		{
			name: "sheet chosen, case-insensitively",
			sheets: []sheet{
				{"Other", map[string]any{"A1": "junk"}},
				{"People", map[string]any{"A1": "email", "A2": "ada@example.com"}},
			},
			opts:    ReadOptions{Sheet: "people"},
			members: []Member{{Email: "ada@example.com"}},
		},
		{
			name:   "missing sheet",
			sheets: []sheet{{"Sheet1", map[string]any{"A1": "email"}}, {"Two", nil}},
			opts:   ReadOptions{Sheet: "People"},
			want:   []string{`no sheet "People" in the workbook; its sheets are "Sheet1", "Two"`},
		},
		{
			name: "header below blank rows, gaps between rows",
			sheets: []sheet{{"Sheet1", map[string]any{
				"B3": "email", "C3": "auth_type",
				"B4": "ada@example.com", "C4": "auth_type_local",
				"B9": "bob@example.com",
			}}},
			members:  []Member{{Email: "ada@example.com", AuthType: AuthLocal}, {Email: "bob@example.com"}},
			wantRows: []int{4, 9},
		},
		{
			name:    "a formula with no saved value is a problem naming the cell, never an empty cell",
			sheets:  []sheet{{"Sheet1", map[string]any{"A1": "email", "B1": "groups", "B2": "g"}}},
			formula: map[string]string{"A2": `LOWER("ADA@EXAMPLE.COM")`},
			want: []string{`2:Sheet1!A2: cell holds the formula "=LOWER(\"ADA@EXAMPLE.COM\")" with no saved value, so its value is unknown: ` +
				"open the workbook in a spreadsheet program and save it (or paste the values), then try again"},
		},
		{
			name: "a formula typed as text is an invalid email",
			sheets: []sheet{{"Sheet1", map[string]any{
				"A1": "email", "A2": `=HYPERLINK("http://evil","ada@example.com")`,
			}}},
			want: []string{`2:Sheet1!A2: email "=HYPERLINK(\"http://evil\",\"ada@example.com\")" is not a valid address (it starts with "=")`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roster.xlsx")
			f := excelize.NewFile()
			for i, s := range tc.sheets {
				if i == 0 {
					if err := f.SetSheetName("Sheet1", s.name); err != nil {
						t.Fatal(err)
					}
				} else if _, err := f.NewSheet(s.name); err != nil {
					t.Fatal(err)
				}
				for cell, v := range s.cells {
					if err := f.SetCellValue(s.name, cell, v); err != nil {
						t.Fatal(err)
					}
				}
			}
			for cell, fm := range tc.formula {
				if err := f.SetCellFormula(tc.sheets[0].name, cell, fm); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.SaveAs(path); err != nil {
				t.Fatal(err)
			}
			f.Close()

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
			for i, row := range tc.wantRows {
				if got[i].Origin.Row != row || got[i].Origin.Sheet == "" {
					t.Errorf("member %d origin %+v, want row %d", i, got[i].Origin, row)
				}
			}
		})
	}
}

// zipWith builds a zip whose entries declare the given uncompressed sizes
// while holding only a few real bytes: what a zip bomb's directory says.
func zipWith(t *testing.T, entries map[string]uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, size := range entries {
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
		fw.Write([]byte("<x/>"))
		fw.Close()
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE([]byte("<x/>")),
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: size,
		})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestXLSXRefused(t *testing.T) {
	valid := func(t *testing.T) []byte {
		p := writeGrid(t, t.TempDir(), formatXLSX, grid{{"email"}, {"ada@example.com"}})
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		want string
	}{
		{"CSV named .xlsx", func(*testing.T) []byte { return []byte("email\nada@example.com\n") },
			"not an XLSX workbook: it is plain text (a CSV or YAML roster?); give it the right extension or pass --format csv|yaml"},
		{"legacy xls", func(*testing.T) []byte { return []byte(oleMagic + "\x00\x00\x00") },
			"not an XLSX workbook: it is a legacy .xls or a password-protected workbook; save it as an unprotected .xlsx"},
		{"binary", func(*testing.T) []byte { return []byte{0, 1, 2, 3, 0xff} },
			"not an XLSX workbook: it is not a zip archive"},
		{"empty", func(*testing.T) []byte { return nil },
			"not an XLSX workbook: the file is empty"},
		{"truncated zip", func(t *testing.T) []byte { b := valid(t); return b[:len(b)/2] },
			"not a readable XLSX workbook: zip: not a valid zip file"},
		{"zip bomb: a sheet of 2 GiB", func(t *testing.T) []byte {
			return zipWith(t, map[string]uint64{"xl/worksheets/sheet1.xml": 2 << 30})
		}, "the workbook expands to more than 1 GiB when unzipped (a zip bomb?): refusing it"},
		{"zip bomb: many parts adding up", func(t *testing.T) []byte {
			m := map[string]uint64{}
			for _, n := range []string{"a", "b", "c", "d", "e"} {
				m["xl/worksheets/sheet"+n+".xml"] = 300 << 20
			}
			return zipWith(t, m)
		}, "the workbook expands to more than 1 GiB when unzipped (a zip bomb?): refusing it"},
		{"zip bomb: a part held in memory", func(t *testing.T) []byte {
			return zipWith(t, map[string]uint64{"xl/styles.xml": 200 << 20})
		}, "the workbook's parts other than its sheets expand to more than 128 MiB (a zip bomb?): refusing it"},
		{"a zip that is no workbook", func(t *testing.T) []byte {
			return zipWith(t, map[string]uint64{"hello.txt": 4})
		}, "not an XLSX workbook: a zip archive with no xl/workbook.xml (another kind of document?)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roster.xlsx")
			if err := os.WriteFile(path, tc.data(t), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(path, ReadOptions{})
			checkProblems(t, path, err)
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Row != 0 || !strings.HasPrefix(ps[0].Message, tc.want) {
				t.Fatalf("got %v, want one file problem starting %q", err, tc.want)
			}
		})
	}
}

// TestXLSXLyingZip: a part that inflates far past the size its zip entry
// declares must not be read past that size (archive/zip stops it).
func TestXLSXLyingZip(t *testing.T) {
	good := writeGrid(t, t.TempDir(), formatXLSX, grid{{"email"}, {"ada@example.com"}})
	zr, err := zip.OpenReader(good)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if f.Name != "xl/worksheets/sheet1.xml" {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// 64 MiB of rows, declared as 1 KiB.
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
		fw.Write([]byte(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`))
		row := []byte(`<row><c t="inlineStr"><is><t>x@example.com</t></is></c></row>`)
		for n := 0; n < 64<<20; n += len(row) {
			fw.Write(row)
		}
		fw.Close()
		w, err := zw.CreateRaw(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, CompressedSize64: uint64(comp.Len()), UncompressedSize64: 1024})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	}
	zw.Close()
	path := filepath.Join(t.TempDir(), "lying.xlsx")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadFile(path, ReadOptions{})
	checkProblems(t, path, err)
	// The part is cut at its declared size, so what is left is broken XML:
	// problems, not a million members read from 1 KiB.
	var ps Problems
	if !errors.As(err, &ps) || len(ms) != 0 {
		t.Fatalf("got %d members, error %v; want problems", len(ms), err)
	}
}
