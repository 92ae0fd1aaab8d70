package sources

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// grid is a roster as a person would type it in a spreadsheet: row 0 is the
// header, list cells hold "a;b". The helpers below render one grid as CSV,
// XLSX and YAML so every rule is tested in every format with the same rows:
// grid row i is CSV line i+1, XLSX row i+1 and, in YAML, the item on line
// i+1 ("members:" takes line 1 where the header is).
type grid [][]string

var formats = []string{formatCSV, formatXLSX, formatYAML}

func writeGrid(t testing.TB, dir, format string, g grid) string {
	t.Helper()
	path := filepath.Join(dir, "roster."+format)
	var err error
	switch format {
	case formatCSV:
		err = writeCSVGrid(path, g, ',')
	case formatXLSX:
		err = writeXLSXGrid(path, "Sheet1", g)
	case formatYAML:
		err = os.WriteFile(path, []byte(yamlGrid(g)), 0o644)
	}
	if err != nil {
		t.Fatalf("write %s grid: %v", format, err)
	}
	return path
}

func writeCSVGrid(path string, g grid, delim rune) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Comma = delim
	if err := w.WriteAll(g); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeXLSXGrid writes cells as strings, except whole numbers in the
// expires_in_days column, which are numbers as Excel would store them.
func writeXLSXGrid(path, sheet string, g grid) error {
	f := excelize.NewFile()
	defer f.Close()
	if sheet != "Sheet1" {
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return err
		}
	}
	expiresCol := -1
	for i, row := range g {
		vals := make([]any, len(row))
		for j, s := range row {
			vals[j] = s
			if i == 0 && columnIndex(s) == colExpires {
				expiresCol = j
			}
			if i > 0 && j == expiresCol {
				if n, err := strconv.Atoi(s); err == nil {
					vals[j] = n
				}
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &vals); err != nil {
			return err
		}
	}
	return f.SaveAs(path)
}

// yamlGrid renders each data row as one flow mapping on its own line; blank
// cells are left out, list columns become YAML lists.
func yamlGrid(g grid) string {
	var b strings.Builder
	b.WriteString("members:\n")
	for _, row := range g[1:] {
		b.WriteString("  - {")
		first := true
		for j, s := range row {
			if j >= len(g[0]) || s == "" {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			key := g[0][j]
			kb, _ := json.Marshal(key)
			b.Write(kb)
			b.WriteString(": ")
			switch c := columnIndex(key); {
			case c == colOrgRoles || c == colServiceRoles || c == colGroups || c == colRoles:
				vb, _ := json.Marshal(strings.Split(s, ";"))
				b.Write(vb)
			case c == colExpires && isInt(s):
				b.WriteString(s)
			default:
				vb, _ := json.Marshal(s)
				b.Write(vb)
			}
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func isInt(s string) bool { _, err := strconv.Atoi(s); return err == nil }

// brief renders problems as "ROW:COLUMN: message" (no file, no cell) so one
// expectation fits every format.
func brief(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is not Problems: %v", err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprintf("%d:%s: %s", p.Row, p.Column, p.Message)
	}
	return out
}

var cellRE = regexp.MustCompile(`^('[^']+'|[A-Za-z0-9_.]+)![A-Z]+[0-9]+$`)

// checkProblems asserts what every problem must have: a file, a message, a
// row that is not negative; XLSX cell references that point at their row.
func checkProblems(t testing.TB, path string, err error) {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		return
	}
	for _, p := range ps {
		if p.File != path || p.Message == "" || p.Row < 0 {
			t.Errorf("malformed problem %+v", p)
		}
		if p.Cell != "" && (!cellRE.MatchString(p.Cell) || !strings.HasSuffix(p.Cell, strconv.Itoa(p.Row))) {
			t.Errorf("bad cell reference in %+v", p)
		}
	}
}

// stripOrigin drops where members came from, to compare formats.
func stripOrigin(ms []Member) []Member {
	out := make([]Member, len(ms))
	for i, m := range ms {
		m.Origin = Origin{}
		out[i] = m
	}
	return out
}
