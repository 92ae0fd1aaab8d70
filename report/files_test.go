//go:build unix

package report

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/invitesync/invitesync/providers"
)

// TestWriteReplacesPlantedSymlinks: a symlink planted at every report's name
// is replaced by the report; the file it pointed at is never written.
func TestWriteReplacesPlantedSymlinks(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	victims := t.TempDir()
	for _, f := range Formats {
		victim := filepath.Join(victims, f)
		if err := os.WriteFile(victim, []byte("precious "+f), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(victim, filepath.Join(dir, fileNames[f])); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	// A dangling symlink would make a follow-the-link writer create its target.
	dangling := filepath.Join(victims, "created-through-link")
	if err := os.Remove(filepath.Join(dir, "report.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dangling, filepath.Join(dir, "report.md")); err != nil {
		t.Fatal(err)
	}

	paths, err := Write(dir, Formats, sampleResult())
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(Formats) {
		t.Fatalf("wrote %v", paths)
	}
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Size() == 0 {
			t.Errorf("%s is %v, %d bytes: want a fresh regular file", p, fi.Mode(), fi.Size())
		}
	}
	for _, f := range Formats {
		if f == "md" {
			continue
		}
		got, err := os.ReadFile(filepath.Join(victims, f))
		if err != nil || string(got) != "precious "+f {
			t.Errorf("symlink target %s = %q, %v: it was written through", f, got, err)
		}
	}
	if _, err := os.Lstat(dangling); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dangling symlink's target was created: %v", err)
	}
}

// TestWriteFormatFailureKeepsOthers: one format that cannot be written is an
// error naming it; every other format is still written.
func TestWriteFormatFailureKeepsOthers(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	dir := t.TempDir()
	// A non-empty directory at report.xlsx: renaming the new file over it fails.
	if err := os.MkdirAll(filepath.Join(dir, "report.xlsx", "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	paths, err := Write(dir, Formats, sampleResult())
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Format != "xlsx" || !strings.Contains(err.Error(), "xlsx") {
		t.Fatalf("err = %v, want an xlsx FormatError", err)
	}
	want := []string{filepath.Join(dir, "report.json"), filepath.Join(dir, "report.md"), filepath.Join(dir, "report.html")}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("paths = %v, want %v", paths, want)
	}
	for _, p := range want {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", p, err)
		}
	}
	// No temp file is left behind by the failed format.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

// TestOpenAuditRefusesPlanted: audit.jsonl is never written through a
// symlink, a hard link or a FIFO planted at its name; earlier lines of a
// real audit.jsonl are kept.
func TestOpenAuditRefusesPlanted(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	plant := map[string]func(path string) error{
		"symlink":          func(p string) error { return os.Symlink(victim, p) },
		"dangling symlink": func(p string) error { return os.Symlink(victim+"-new", p) },
		"hard link":        func(p string) error { return os.Link(victim, p) },
		"fifo":             func(p string) error { return syscall.Mkfifo(p, 0o644) },
	}
	for name, do := range plant {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := do(filepath.Join(dir, AuditFile)); err != nil {
				t.Skipf("cannot plant a %s here: %v", name, err)
			}
			done := make(chan error, 1)
			go func() {
				a, err := OpenAudit(dir)
				if err == nil {
					a.Record(providers.Attempt{Time: time.Now(), Action: "create", Method: "POST", Path: "/x", Status: 201})
					a.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), AuditFile) && !strings.Contains(err.Error(), "symbolic") {
					t.Errorf("OpenAudit over a planted %s: err = %v, want a refusal", name, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("OpenAudit blocked on a planted %s", name)
			}
			if got, _ := os.ReadFile(victim); string(got) != "precious\n" {
				t.Errorf("victim = %q: written through the planted %s", got, name)
			}
			if _, err := os.Lstat(victim + "-new"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a dangling symlink's target was created")
			}
		})
	}

	// A real audit.jsonl keeps its earlier lines (append, not truncate).
	dir := t.TempDir()
	for range 2 {
		a, err := OpenAudit(dir)
		if err != nil {
			t.Fatal(err)
		}
		a.Record(providers.Attempt{Time: time.Now(), Action: "create", Method: "POST", Path: "/x", Status: 201})
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if lines := readAudit(t, dir); len(lines) != 2 {
		t.Errorf("%d lines after two runs, want 2", len(lines))
	}
}
