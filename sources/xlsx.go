package sources

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/xuri/excelize/v2"
)

// readXLSX streams the roster sheet of a workbook into v with excelize's
// Rows iterator: a sheet over XLSXSheetInMem is unzipped to a temp file and
// decoded from there, so memory does not grow with the sheet.
func readXLSX(f *os.File, size int64, v *validator) (err error) {
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
	if msg := checkZip(f, size); msg != "" {
		v.fileProblem("%s", msg)
		return nil
	}
	wb, err := excelize.OpenFile(f.Name(), excelize.Options{
		UnzipSizeLimit:    MaxXLSXUnzipped,
		UnzipXMLSizeLimit: XLSXSheetInMem,
		RawCellValue:      true, // numbers as stored, not as displayed ("30", not "30.00")
	})
	if err != nil {
		v.fileProblem("not a readable XLSX workbook: %v", err)
		return nil
	}
	defer func() {
		if cerr := wb.Close(); cerr != nil && err == nil { // removes excelize's temp files
			err = fmt.Errorf("close workbook: %w", cerr)
		}
	}()

	sheets := wb.GetSheetList()
	sheet := v.opts.Sheet
	switch {
	case len(sheets) == 0:
		v.fileProblem("the workbook has no sheets")
		return nil
	case sheet == "":
		sheet = sheets[0]
	default:
		found := false
		for _, s := range sheets {
			if strings.EqualFold(s, sheet) {
				sheet, found = s, true
				break
			}
		}
		if !found {
			v.fileProblem("no sheet %q in the workbook; its sheets are %s", v.opts.Sheet, strings.Join(quoteAll(sheets), ", "))
			return nil
		}
	}
	rows, err := wb.Rows(sheet)
	if err != nil {
		v.fileProblem("cannot read sheet %q: %v", sheet, err)
		return nil
	}
	defer rows.Close()

	// excelize decodes the sheet XML while the previous rows are validated:
	// decoding is most of the time, and a roster's rows are independent.
	type sheetRow struct {
		num  int
		cols []string
		err  error
	}
	const batchRows = 512
	batches := make(chan []sheetRow, 4)
	var (
		lastRow int
		iterErr error
	)
	go func() {
		defer close(batches) // after lastRow and iterErr are set
		batch := make([]sheetRow, 0, batchRows)
		num := 0
		for rows.Next() {
			num++ // Next visits every row number, also the rows the file leaves out
			cols, err := rows.Columns()
			batch = append(batch, sheetRow{num, cols, err})
			if len(batch) == batchRows {
				batches <- batch
				batch = make([]sheetRow, 0, batchRows)
			}
		}
		batches <- batch
		lastRow, iterErr = num, rows.Error()
	}()
	t := &table{v: v, sheet: sheet, ref: cellRefs(sheet)}
	for batch := range batches {
		for _, r := range batch {
			if r.err != nil {
				v.add(r.num, -1, "", "", "cannot read row: %v", r.err)
				continue
			}
			t.add(r.num, r.cols)
		}
	}
	if iterErr != nil {
		v.add(lastRow+1, -1, "", "", "cannot read the sheet past row %d: %v", lastRow, iterErr)
	}
	return nil
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
		name, err := excelize.CoordinatesToCellName(pos+1, row)
		if err != nil {
			return ""
		}
		return prefix + "!" + name
	}
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
// bomb) before excelize unzips anything. The sizes checked are the ones the
// zip declares; archive/zip fails a part that inflates past its declared size,
// so they are real bounds. Parts other than big sheets are held in memory by
// excelize, hence the separate, lower cap on those.
func checkZip(f *os.File, size int64) string {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return fmt.Sprintf("not a readable XLSX workbook: %v", err)
	}
	if len(zr.File) > MaxXLSXParts {
		return fmt.Sprintf("the workbook has %d parts, over the limit of %d: refusing it", len(zr.File), MaxXLSXParts)
	}
	var total, inMem uint64
	workbook := false
	for _, zf := range zr.File {
		n := zf.UncompressedSize64
		total += n
		if n > MaxXLSXUnzipped || total > MaxXLSXUnzipped {
			return fmt.Sprintf("the workbook expands to more than %s when unzipped (a zip bomb?): refusing it", humanBytes(MaxXLSXUnzipped))
		}
		name := strings.ToLower(strings.ReplaceAll(zf.Name, "\\", "/"))
		workbook = workbook || name == "xl/workbook.xml"
		streamed := (strings.HasPrefix(name, "xl/worksheets/sheet") || name == "xl/sharedstrings.xml") && n > XLSXSheetInMem
		if !streamed {
			inMem += n
			if inMem > MaxXLSXInMemory {
				return fmt.Sprintf("the workbook's parts other than its sheets expand to more than %s (a zip bomb?): refusing it", humanBytes(MaxXLSXInMemory))
			}
		}
	}
	if !workbook {
		return "not an XLSX workbook: a zip archive with no xl/workbook.xml (another kind of document?)"
	}
	// excelize reads a part only up to its declared size and drops a read
	// error, so a part holding more than its header says would be cut short
	// in silence (a roster missing people). Inflate each part once, within
	// the caps above: archive/zip fails one longer or shorter than declared,
	// or whose checksum is wrong.
	for _, zf := range zr.File {
		if err := inflatesAsDeclared(zf); err != nil {
			return fmt.Sprintf("the workbook is damaged: part %s does not match its zip header (%v); save it again from the spreadsheet program", zf.Name, err)
		}
	}
	return ""
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
