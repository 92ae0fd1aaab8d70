package sources

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// ReadOptions tunes ReadFile. The zero value reads by extension with the
// strict defaults.
type ReadOptions struct {
	Format            string // "", "csv", "xlsx", "yaml": overrides the extension
	Delimiter         rune   // CSV only; 0 = detect ',' or ';' from the header line
	Sheet             string // XLSX only; "" = the first sheet
	AllowExtraColumns bool   // ignore columns (YAML keys) invitesync does not know
	AllowEmpty        bool   // accept a roster with no members
	// Columns maps an invitesync column to the header text a file uses for
	// it ("email" -> "Email Address"), so an HR export is read as it is;
	// matched ignoring case and surrounding spaces, also for YAML keys. The
	// column's own name stays accepted. See ParseColumns.
	Columns map[string]string
}

// Limits that keep a hostile or broken roster from exhausting memory or disk.
// They are far above any real roster (100,000 people is about 10 MB of CSV).
const (
	MaxCSVBytes      = 256 << 20 // CSV file size
	MaxLineBytes     = 1 << 20   // one CSV line
	MaxXLSXBytes     = 128 << 20 // XLSX file size (compressed)
	MaxXLSXUnzipped  = 1 << 30   // all parts of an XLSX, uncompressed
	MaxXLSXInMemory  = 128 << 20 // all parts but the big sheets and string table, uncompressed (a cap on what any part may make us hold)
	XLSXSheetInMem   = 16 << 20  // a sheet or string table above this counts as big: sheets are streamed, the string table's text is capped on its own
	MaxXLSXParts     = 10000     // zip entries
	MaxYAMLBytes     = 16 << 20  // YAML is parsed whole: keep it modest
	MaxYAMLNodes     = 2_000_000 // YAML nodes after alias expansion
	MaxProblems      = 1000      // problems listed; the rest are counted
	MaxEmailBytes    = 254       // RFC 5321 path limit
	maxSniffBytes    = 64 << 10  // bytes inspected to tell text from binary
	formatCSV        = "csv"
	formatXLSX       = "xlsx"
	formatYAML       = "yaml"
	hintAllowEmpty   = "pass --allow-empty if an empty roster is intended"
	utf8BOM          = "\xef\xbb\xbf"
	zipMagic         = "PK\x03\x04"
	emptyZipMagic    = "PK\x05\x06"
	oleMagic         = "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" // legacy .xls, or an encrypted .xlsx
	utf16LEBOM       = "\xff\xfe"
	utf16BEBOM       = "\xfe\xff"
	defaultDelimiter = ','
)

// Key is the comparison key of an email: ASCII spaces trimmed and ASCII
// letters lower-cased, nothing else. Unicode case folding would make
// look-alikes equal (the Kelvin sign U+212A lower-cases to "k"), so an
// upstream address that merely looks like a roster address would be taken
// for it: the real person not invited, a stranger's invitation revoked.
func Key(email string) string {
	s := strings.Trim(email, " \t\r\n\v\f")
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// ReadFile reads and validates a roster. On an invalid roster the error is a
// Problems listing every problem sorted by row; I/O errors are wrapped plainly.
func ReadFile(path string, opts ReadOptions) ([]Member, error) {
	format, err := formatOf(path, opts.Format)
	if err != nil {
		return nil, Problems{{File: path, Message: err.Error()}}
	}
	if opts.Delimiter != 0 && !validDelimiter(opts.Delimiter) {
		return nil, fmt.Errorf("read roster %s: delimiter %q is not usable (use ',' or ';')", path, opts.Delimiter)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("read roster %s: is a directory", path)
	}
	cols, err := newColumnMap(opts.Columns)
	if err != nil {
		return nil, fmt.Errorf("read roster %s: %w", path, err)
	}
	v := newValidator(path, opts, cols)
	switch format {
	case formatCSV:
		err = readCSV(f, st.Size(), v)
	case formatXLSX:
		err = readXLSX(f, st.Size(), v)
	case formatYAML:
		err = readYAML(f, st.Size(), v)
	}
	if err != nil {
		return nil, fmt.Errorf("read roster %s: %w", path, err)
	}
	return v.finish()
}

// formatOf picks the reader: the explicit format, else the extension.
func formatOf(path, format string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(format)) {
	case formatCSV:
		return formatCSV, nil
	case formatXLSX:
		return formatXLSX, nil
	case formatYAML, "yml":
		return formatYAML, nil
	case "":
	default:
		return "", fmt.Errorf("unknown roster format %q: use csv, xlsx or yaml", format)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		return formatCSV, nil
	case ".xlsx":
		return formatXLSX, nil
	case ".yaml", ".yml":
		return formatYAML, nil
	default:
		return "", fmt.Errorf("cannot tell the roster format from the extension %q: name it .csv, .xlsx or .yaml, or pass --format", ext)
	}
}

func validDelimiter(r rune) bool {
	return r != '"' && r != '\r' && r != '\n' && r != utf8.RuneError && utf8.ValidRune(r) && r != 0xFEFF
}

// sniff reads up to maxSniffBytes from the start of r (which it rewinds) so
// readers can refuse a file that is not what its extension says.
func sniff(r io.ReadSeeker) ([]byte, error) {
	buf := make([]byte, maxSniffBytes)
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// textProblem says why head (the first bytes of a file) is not UTF-8 text,
// or "" when it looks like text. want names the expected format.
func textProblem(head []byte, want string) string {
	switch {
	case bytes.HasPrefix(head, []byte(zipMagic)), bytes.HasPrefix(head, []byte(emptyZipMagic)):
		return fmt.Sprintf("not a %s file: it is a zip archive (an XLSX workbook?); name it .xlsx or pass --format xlsx", want)
	case bytes.HasPrefix(head, []byte(oleMagic)):
		return fmt.Sprintf("not a %s file: it is a legacy .xls or password-protected workbook; save it as an unprotected .xlsx", want)
	case bytes.HasPrefix(head, []byte(utf16LEBOM)), bytes.HasPrefix(head, []byte(utf16BEBOM)):
		return fmt.Sprintf("not a %s file in UTF-8: it is UTF-16 text; save it as UTF-8", want)
	case bytes.IndexByte(head, 0) >= 0:
		return fmt.Sprintf("not a %s file: it holds binary data (NUL bytes)", want)
	}
	// The sniffed window may cut a multi-byte rune at its end: ignore a short tail.
	check := head
	if len(check) == maxSniffBytes {
		for i := 0; i < utf8.UTFMax && len(check) > 0 && !utf8.Valid(check); i++ {
			check = check[:len(check)-1]
		}
	}
	if !utf8.Valid(check) {
		return fmt.Sprintf("not a %s file in UTF-8: it holds bytes that are not UTF-8 text; save it as UTF-8", want)
	}
	return ""
}

// tooBig is the message for a file over its size limit.
func tooBig(size, limit int64, what string) string {
	return fmt.Sprintf("file is %s, over the %s limit for %s", humanBytes(size), humanBytes(limit), what)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
