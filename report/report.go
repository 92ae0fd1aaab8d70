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

// Write writes the chosen formats of res into dir (created if missing), each
// file atomically (temp file + rename) so a reader never sees half a report.
// It returns the paths written, in the order of formats.
func Write(dir string, formats []string, res *reconcile.Result) ([]string, error) {
	if res == nil {
		return nil, errors.New("write report: no result")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	doc := newDocument(res)
	var paths []string
	for _, f := range formats {
		name, ok := fileNames[f]
		if !ok {
			return paths, fmt.Errorf("write report: unknown format %q", f)
		}
		var render func(w io.Writer) error
		switch f {
		case "json":
			render = func(w io.Writer) error { return writeJSON(w, doc) }
		case "md":
			render = func(w io.Writer) error { return writeMarkdown(w, doc) }
		case "xlsx":
			render = func(w io.Writer) error { return writeXLSX(w, doc) }
		case "html":
			render = func(w io.Writer) error { return writeHTML(w, doc) }
		}
		path := filepath.Join(dir, name)
		if err := writeAtomic(path, render); err != nil {
			return paths, fmt.Errorf("write %s report: %w", f, err)
		}
		paths = append(paths, path)
		if f == "md" {
			if err := appendStepSummary(doc); err != nil {
				return paths, fmt.Errorf("write report: %w", err)
			}
		}
	}
	return paths, nil
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
