package sources

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

const csvReadSize = 64 << 10

// readCSV streams a CSV roster into v: one row in memory at a time.
func readCSV(r io.Reader, size int64, v *validator) error {
	if size > MaxCSVBytes {
		v.fileProblem("%s", tooBig(size, MaxCSVBytes, "a CSV roster"))
		return nil
	}
	g := &guard{r: r, max: MaxCSVBytes, maxLine: MaxLineBytes, line: 1}
	br := bufio.NewReaderSize(g, csvReadSize)
	head, err := br.Peek(maxSniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		var le *limitError
		if errors.As(err, &le) {
			v.add(le.line, -1, "", "", "%s", le.msg)
			return nil
		}
		return err
	}
	if msg := textProblem(head, "CSV"); msg != "" {
		v.fileProblem("%s", msg)
		return nil
	}
	if bytes.HasPrefix(head, []byte(utf8BOM)) {
		head = head[len(utf8BOM):]
		if _, err := br.Discard(len(utf8BOM)); err != nil {
			return err
		}
	}
	delim := v.opts.Delimiter
	if delim == 0 {
		delim = detectDelimiter(head)
	}

	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1 // ragged rows are checked here, with a clearer message
	cr.ReuseRecord = true
	t := &table{v: v}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var le *limitError
			if errors.As(err, &le) {
				v.add(le.line, -1, "", "", "%s", le.msg)
				return nil
			}
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			// The reader resumes on the next line, so later rows are still checked.
			v.add(pe.StartLine, -1, "", "", "broken CSV quoting: %v (line %d, column %d); a field with %q, %q or a line break must be wholly in double quotes, and a quote inside it doubled",
				pe.Err, pe.Line, pe.Column, string(delim), `"`)
			if !t.haveHeader() {
				return nil // without a header the rest cannot be read
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		t.add(line, rec, nil)
	}
	return nil
}

// detectDelimiter picks ',' or ';' by which occurs more often, outside
// quotes, in the header line (a European Excel writes ';').
func detectDelimiter(head []byte) rune {
	commas, semis, quoted := 0, 0, false
	for _, b := range head {
		switch b {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				commas++
			}
		case ';':
			if !quoted {
				semis++
			}
		case '\n':
			if !quoted {
				if semis > commas {
					return ';'
				}
				return defaultDelimiter
			}
		}
	}
	if semis > commas {
		return ';'
	}
	return defaultDelimiter
}

// guard caps the bytes read and the length of one line, so a huge file or a
// 10 MB line ends in a clear problem instead of exhausting memory.
type guard struct {
	r       io.Reader
	max     int64 // total bytes
	maxLine int64
	n       int64 // bytes read
	cur     int64 // bytes in the current line
	line    int   // current line number (1-based)
}

type limitError struct {
	line int
	msg  string
}

func (e *limitError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func (g *guard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			g.line++
			g.cur = 0
			continue
		}
		g.cur++
		if g.cur > g.maxLine {
			return i, &limitError{line: g.line, msg: fmt.Sprintf("line is longer than %s; a roster line is a few hundred bytes: is this the right file?", humanBytes(g.maxLine))}
		}
	}
	g.n += int64(n)
	if g.n > g.max {
		return n, &limitError{line: 0, msg: tooBig(g.n, g.max, "a CSV roster")} // the file, not a line
	}
	return n, err
}
