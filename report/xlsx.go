package report

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/invitesync/invitesync/reconcile"
)

// xlsxKinds are the action sheets, in tab order after Summary. "failed" holds
// the failed actions of every kind (they also stay in their own kind's sheet).
var xlsxKinds = []string{"create", "reinvite", "revoke", "leave", "unmanaged", "failed"}

var xlsxHeader = []string{"email", "op", "reason", "status", "invitation_id", "attempts", "error", "request_id"}

const (
	xlsxMaxCell  = 32767 // Excel's limit on a cell's characters
	xlsxMaxWidth = 80    // widest column, in characters
)

// writeXLSX writes report.xlsx with excelize's StreamWriter (memory stays flat
// however many actions): a Summary sheet and one sheet per action kind, each
// with a frozen, filterable header row.
func writeXLSX(w io.Writer, d *Document) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()

	byKind := map[string][]Action{}
	for _, a := range d.Actions {
		byKind[a.Kind()] = append(byKind[a.Kind()], a)
		if a.Status == reconcile.StatusFailed {
			byKind["failed"] = append(byKind["failed"], a)
		}
	}

	if err := f.SetSheetName("Sheet1", "Summary"); err != nil {
		return fmt.Errorf("summary sheet: %w", err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fmt.Errorf("summary sheet: %w", err)
	}
	if err := writeSummarySheet(f, d, byKind, bold); err != nil {
		return fmt.Errorf("summary sheet: %w", err)
	}
	for _, kind := range xlsxKinds {
		if _, err := f.NewSheet(kind); err != nil {
			return fmt.Errorf("%s sheet: %w", kind, err)
		}
		if err := writeActionSheet(f, kind, byKind[kind]); err != nil {
			return fmt.Errorf("%s sheet: %w", kind, err)
		}
	}
	// No SetActiveSheet: Summary is already the first, active sheet, and that
	// call would parse every streamed sheet back into memory.
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

func writeSummarySheet(f *excelize.File, d *Document, byKind map[string][]Action, bold int) error {
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
		{"leave", s.Leave},
		{"unmanaged", s.Unmanaged},
		{"failed", s.Failed},
		{"unsupported", s.Unsupported},
		{"total actions", len(d.Actions)},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, r); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func writeActionSheet(f *excelize.File, kind string, rows []Action) error {
	sw, err := f.NewStreamWriter(kind)
	if err != nil {
		return err
	}
	// Widths must be set before the first row: measure every row first.
	widths := make([]float64, len(xlsxHeader))
	for i, h := range xlsxHeader {
		widths[i] = colWidth(h) + 2 // room for the filter button
	}
	values := make([][]any, len(rows))
	for r, a := range rows {
		v := []any{
			cellText(a.Email), cellText(a.Kind()), cellText(a.Reason), cellText(string(a.Status)),
			cellText(a.InvitationID), a.Attempts, cellText(a.Error), cellText(a.RequestID),
		}
		for i, c := range v {
			if s, ok := c.(string); ok {
				widths[i] = max(widths[i], colWidth(s))
			}
		}
		values[r] = v
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
	for r, v := range values {
		cell, _ := excelize.CoordinatesToCellName(1, r+2)
		if err := sw.SetRow(cell, v); err != nil {
			return err
		}
	}
	// A table gives the header its filter buttons (and banded rows).
	last, _ := excelize.CoordinatesToCellName(len(xlsxHeader), max(len(rows)+1, 2))
	if err := sw.AddTable(&excelize.Table{
		Range:     "A1:" + last,
		Name:      "actions_" + kind,
		StyleName: "TableStyleMedium2",
	}); err != nil {
		return err
	}
	return sw.Flush()
}

// cellText neutralises text a spreadsheet could take for a formula (OWASP CSV
// injection: = + - @ tab CR lead a formula in Excel, LibreOffice and Sheets),
// by prefixing a quote; it also cuts text to Excel's cell limit.
func cellText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	if len(s) > xlsxMaxCell && utf8.RuneCountInString(s) > xlsxMaxCell {
		s = string([]rune(s)[:xlsxMaxCell-1]) + "…"
	}
	return s
}

func colWidth(s string) float64 {
	return float64(min(utf8.RuneCountInString(s)+1, xlsxMaxWidth))
}
