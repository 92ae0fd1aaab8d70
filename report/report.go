// Package report writes what a plan or apply run decided and did: report.json,
// report.md, report.xlsx and report.html from a reconcile.Result, plus the
// audit.jsonl log of every upstream request and a terminal progress bar.
// It only reads a result; it knows no provider and no roster file.
package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/invitesync/invitesync/reconcile"
)

// Formats are the report formats Write knows, in the order it writes them.
var Formats = []string{"json", "md", "xlsx", "html"}

// fileNames maps a format to the file it writes inside the report directory.
var fileNames = map[string]string{
	"json": "report.json",
	"md":   "report.md",
	"xlsx": "report.xlsx",
	"html": "report.html",
}

// ParseFormats parses a --format value such as "json,md,xlsx,html".
// Names are trimmed and lower-cased; duplicates are dropped; an empty value
// means every format. An unknown name is an error naming it.
func ParseFormats(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return slices.Clone(Formats), nil
	}
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if _, ok := fileNames[f]; !ok {
			return nil, fmt.Errorf("unknown report format %q: want one or more of %s", f, strings.Join(Formats, ","))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no report format in %q: want one or more of %s", s, strings.Join(Formats, ","))
	}
	return out, nil
}

// FormatError is one report format that could not be written. Write still
// writes the other formats: a report format never fails a run.
type FormatError struct {
	Format string
	Path   string
	Err    error
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("write %s report %s: %v", e.Format, e.Path, e.Err)
}
func (e *FormatError) Unwrap() error { return e.Err }

// Write writes the chosen formats of res into dir (created if missing), each
// file fresh and atomically (a temp file in dir renamed over the target), so
// a reader never sees half a report and a symlink planted at a report's name
// is replaced, never written through. It returns the paths written, in the
// order of formats. A format that fails does not stop the others: the error
// joins one *FormatError per failed format, and callers should log it as a
// warning rather than fail the run. Only a nil result or a report folder that
// cannot be created fails every format.
func Write(dir string, formats []string, res *reconcile.Result) ([]string, error) {
	if res == nil {
		return nil, errors.New("write report: no result")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	doc := newDocument(res)
	// The formats are written concurrently: each only reads the document and
	// writes its own file, so the run waits for the slowest (the workbook)
	// rather than for their sum.
	errs := make([]error, len(formats))
	written := make([]string, len(formats))
	var wg sync.WaitGroup
	for i, f := range formats {
		name, ok := fileNames[f]
		if !ok {
			errs[i] = &FormatError{Format: f, Err: errors.New("unknown format")}
			continue
		}
		path := filepath.Join(dir, name)
		wg.Go(func() {
			if err := writeAtomic(path, func(w io.Writer) error { return render(f, w, doc) }); err != nil {
				errs[i] = &FormatError{Format: f, Path: path, Err: err}
				return
			}
			written[i] = path
		})
	}
	wg.Wait()
	var paths []string
	for i, f := range formats {
		if written[i] == "" {
			continue
		}
		paths = append(paths, written[i])
		if f == "md" {
			if err := appendStepSummary(doc); err != nil {
				errs = append(errs, &FormatError{Format: f, Path: os.Getenv("GITHUB_STEP_SUMMARY"), Err: err})
			}
		}
	}
	return paths, errors.Join(errs...)
}

// render writes one format of d to w.
func render(format string, w io.Writer, d *Document) (err error) {
	// A writer's bug must cost its own file, not the run and the other formats.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s writer failed: %v", format, r)
		}
	}()
	switch format {
	case "json":
		return writeJSON(w, d)
	case "md":
		return writeMarkdown(w, d)
	case "xlsx":
		return writeXLSX(w, d)
	case "html":
		return writeHTML(w, d)
	}
	return fmt.Errorf("unknown format %q", format)
}

// writeAtomic writes path through a temp file in the same directory, synced
// before the rename so a crash leaves either the old file or the new one.
func writeAtomic(path string, render func(w io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = render(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
