package report

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/invitesync/invitesync/reconcile"
)

// xlsxKinds are the action sheets, in tab order after Summary. "failed" holds
// the failed actions of every kind (they also stay in their own kind's sheet).
var xlsxKinds = []string{"create", "reinvite", "revoke", "grant", "ungrant", "remove-member", "leave", "unmanaged", "failed"}

var xlsxHeader = []string{"email", "op", "reason", "status", "invitation_id", "attempts", "error", "request_id", "detail"}

const (
	xlsxMaxCell  = excelize.TotalCellChars // Excel's limit on a cell's characters
	xlsxMaxWidth = 80                      // widest column, in characters
)

// xlsxMaxRows is the most rows a sheet holds (Excel's 1,048,576, header
// included); a kind with more actions continues on "KIND (2)", "KIND (3)"...
// A variable so a test can split sheets without writing a million rows.
var xlsxMaxRows = excelize.TotalRows

// xlsxFoldAbove is the most leave (or unmanaged) rows listed: past it they
// are counted with a note row. A 1M x 1M plan is mostly leave, and writing a
// million unchanged rows would make the workbook the slowest part of the run
// for rows nobody reviews (report.json lists every one). Changes are never
// folded. A variable so a test can fold without writing 100k rows.
var xlsxFoldAbove = 100_000

// writeXLSX writes report.xlsx with excelize's StreamWriter (rows go to a
// temp file as they are written, so memory stays flat however many actions):
// a Summary sheet and one sheet per action kind, each with a frozen,
// filterable header row.
func writeXLSX(w io.Writer, d *Document) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()

	// Widths must be set before a sheet's first row: measure every kind's
	// columns in one pass first.
	widths := map[string][]float64{}
	for _, kind := range xlsxKinds {
		ws := make([]float64, len(xlsxHeader))
		for i, h := range xlsxHeader {
			ws[i] = colWidth(h) + 2 // room for the filter button
		}
		widths[kind] = ws
	}
	for i := range d.actions {
		ra := &d.actions[i]
		kinds := [2]string{kindOf(ra.Op, ra.Unmanaged)}
		if ra.Status == reconcile.StatusFailed {
			kinds[1] = "failed"
		}
		for _, k := range kinds {
			ws := widths[k]
			if ws == nil {
				continue
			}
			detail := ""
			switch {
			case ra.Grant != nil:
				detail = ra.Grant.Role
			case ra.Op == reconcile.OpRemoveMember:
				detail = "user u-0000000; 2 API keys: XXXXXXXXXXXX, YYYYYYYYYYYY; 3 role bindings"
			}
			for c, v := range [...]string{ra.Email, string(ra.Op), ra.Reason, string(ra.Status), ra.InvitationID, "", ra.Error, ra.RequestID, detail} {
				if v != "" {
					ws[c] = max(ws[c], colWidth(v))
				}
			}
		}
	}

	if err := f.SetSheetName("Sheet1", "Summary"); err != nil {
		return fmt.Errorf("summary sheet: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("summary sheet: %w", err)
	}
	if err := writeSummarySheet(f, d, bold); err != nil {
		return fmt.Errorf("summary sheet: %w", err)
	}
	for _, kind := range xlsxKinds {
		if err := writeKindSheets(f, d, kind, widths[kind], bold); err != nil {
			return fmt.Errorf("%s sheet: %w", kind, err)
		}
	}
	// No SetActiveSheet: Summary is already the first, active sheet, and that
	// call would parse every streamed sheet back into memory.
	// Deflate at its fastest level: it halves the time of a big workbook for
	// a few percent more bytes.
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.BestSpeed)
		})
		return zw
	})
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

func writeSummarySheet(f *excelize.File, d *Document, bold int) error {
	sw, err := f.NewStreamWriter("Summary")
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 1, 16); err != nil {
		return err
	}
	width := 12.0
	for _, v := range []string{d.Provider, d.Organization, d.Roster.File} {
		width = max(width, colWidth(v))
	}
	if err := sw.SetColWidth(2, 2, width); err != nil {
		return err
	}
	s := d.Summary
	rows := [][]any{
		{excelize.Cell{StyleID: bold, Value: "invitesync report"}},
		{"mode", cellText(d.Mode)},
		{"provider", cellText(d.Provider)},
		{"organization", cellText(d.Organization)},
		{"started_at", d.StartedAt.Format(time.RFC3339)},
		{"finished_at", d.FinishedAt.Format(time.RFC3339)},
		{"roster", cellText(d.Roster.File)},
		{"roster rows", d.Roster.Rows},
		{"cancelled", d.Cancelled},
		{},
		{excelize.Cell{StyleID: bold, Value: "kind"}, excelize.Cell{StyleID: bold, Value: "count"}},
		{"create", s.Create},
		{"reinvite", s.Reinvite},
		{"revoke", s.Revoke},
		{"grant", s.Grant},
		{"ungrant", s.Ungrant},
		{"remove-member", s.RemoveMember},
		{"leave", s.Leave},
		{"unmanaged", s.Unmanaged},
		{"failed", s.Failed},
		{"unknown", s.Unknown},
		{"unsupported", s.Unsupported},
		{"total actions", d.Len()},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, r); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// writeKindSheets writes kind's actions on as many sheets as Excel's row
// limit needs: "KIND", then "KIND (2)", ... Each sheet ends with a note
// row naming the next one, so a reader of the first sheet knows it goes on.
func writeKindSheets(f *excelize.File, d *Document, kind string, widths []float64, bold int) error {
	keep := func(a *reconcile.Action) bool {
		if kind == "failed" {
			return a.Status == reconcile.StatusFailed
		}
		return kindOf(a.Op, a.Unmanaged) == kind
	}
	total := summaryCount(d.Summary, kind)
	listed := total
	if (kind == "leave" || kind == "unmanaged") && total > xlsxFoldAbove {
		listed = xlsxFoldAbove
	}
	// One row is the header; one more is kept for a note, unless the kind
	// fits one sheet whole.
	perSheet, sheets := xlsxMaxRows-1, 1
	if listed > perSheet || listed < total {
		perSheet = xlsxMaxRows - 2
		sheets = max(1, (listed+perSheet-1)/perSheet)
	}
	name := func(n int) string {
		if n == 1 {
			return kind
		}
		return fmt.Sprintf("%s (%d)", kind, n)
	}
	next := 0    // index in d.actions to resume from
	written := 0 // rows of kind written so far
	for n := 1; n <= sheets; n++ {
		if _, err := f.NewSheet(name(n)); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(name(n))
		if err != nil {
			return err
		}
		for i, wd := range widths {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return err
			}
		}
		if err := sw.SetPanes(&excelize.Panes{
			Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
			Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
		}); err != nil {
			return err
		}
		header := make([]any, len(xlsxHeader))
		for i, h := range xlsxHeader {
			header[i] = h
		}
		if err := sw.SetRow("A1", header); err != nil {
			return err
		}
		row := 1
		values := make([]any, len(xlsxHeader))
		for ; next < len(d.actions) && row-1 < perSheet && written < listed; next++ {
			ra := &d.actions[next]
			if !keep(ra) {
				continue
			}
			a := toAction(ra)
			values[0], values[1], values[2], values[3] = cellValue(a.Email), cellValue(a.Kind()), cellValue(a.Reason), cellValue(string(a.Status))
			values[4], values[5], values[6], values[7] = cellValue(a.InvitationID), a.Attempts, cellValue(a.Error), cellValue(a.RequestID)
			values[8] = cellValue(detailText(a, 50))
			row++
			written++
			cell, _ := excelize.CoordinatesToCellName(1, row)
			if err := sw.SetRow(cell, values); err != nil {
				return err
			}
		}
		// A table gives the header its filter buttons (and banded rows).
		last, _ := excelize.CoordinatesToCellName(len(xlsxHeader), max(row, 2))
		if err := sw.AddTable(&excelize.Table{
			Range:     "A1:" + last,
			Name:      tableName(kind, n),
			StyleName: "TableStyleMedium2",
		}); err != nil {
			return err
		}
		note := ""
		switch {
		case n < sheets:
			note = fmt.Sprintf("continued on sheet %q: Excel holds at most %d rows a sheet", name(n+1), xlsxMaxRows)
		case listed < total:
			note = fmt.Sprintf("…and %d more %s rows (nothing to change) not listed: %d of %d are; report.json lists every row",
				total-listed, kind, listed, total)
		}
		if note != "" {
			cell, _ := excelize.CoordinatesToCellName(1, row+1)
			if err := sw.SetRow(cell, []any{excelize.Cell{StyleID: bold, Value: note}}); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// tableName is a valid, unique Excel table name for a kind's nth sheet
// (letters, digits and underscores only).
func tableName(kind string, n int) string {
	name := "actions_" + strings.ReplaceAll(kind, "-", "_")
	if n > 1 {
		name += "_" + strconv.Itoa(n)
	}
	return name
}

// cellText neutralises text a spreadsheet could take for a formula (OWASP CSV
// injection: = + - @ tab CR lead a formula in Excel, LibreOffice and Sheets),
// by prefixing a quote; control characters and escape sequences are made
// visible (Sanitize; tab, CR and LF stay cell content); it also cuts text to
// Excel's cell limit.
func cellText(s string) string {
	s = sanitizeCell(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	if len(s) > xlsxMaxCell && utf8.RuneCountInString(s) > xlsxMaxCell {
		s = string([]rune(s)[:xlsxMaxCell-1]) + "…"
	}
	return s
}

// cellValue is cellText for a row cell; an empty value is no cell at all
// (nil), which a streamed sheet skips: most rows leave several columns empty.
func cellValue(s string) any {
	if s == "" {
		return nil
	}
	return cellText(s)
}

func colWidth(s string) float64 {
	return float64(min(utf8.RuneCountInString(s)+1, xlsxMaxWidth))
}
