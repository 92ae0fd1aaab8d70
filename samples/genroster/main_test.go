package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSamplesUpToDate fails when the committed sample rosters are not what
// the list in main.go generates (someone edited one file by hand, or the
// list without running go run ./samples/genroster).
func TestSamplesUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		want, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("samples/%s is stale: run go run ./samples/genroster", name)
		}
	}
}
