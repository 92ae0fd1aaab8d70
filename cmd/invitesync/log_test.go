package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewLoggerJSONWhenNotTerminal: off a terminal (a pipe, a file, a
// buffer), the default format is one JSON object per line.
func TestNewLoggerJSONWhenNotTerminal(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	for _, format := range []string{"", "auto", "json", "JSON"} {
		for _, w := range []*os.File{pw, file} {
			log, err := newLogger(w, format, "")
			if err != nil {
				t.Fatal(err)
			}
			log.Info().Str("provider", "confluent").Int("pending", 3).Msg("listed invitations")
			log.Debug().Msg("hidden at info")
			log.Warn().Msg("attribute ignored")
		}
	}
	pw.Close()
	var piped bytes.Buffer
	if _, err := piped.ReadFrom(pr); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(file.Name())
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"pipe": piped.String(), "file": string(written)} {
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 8 { // 4 formats x 2 lines (debug filtered)
			t.Fatalf("%s: %d lines, want 8:\n%s", name, len(lines), out)
		}
		for i, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("%s line %d is not JSON: %v: %q", name, i+1, err, l)
			}
			if _, ok := m["time"]; !ok {
				t.Errorf("%s line %d has no time: %q", name, i+1, l)
			}
			if i%2 == 0 && (m["level"] != "info" || m["message"] != "listed invitations" || m["provider"] != "confluent" || m["pending"] != float64(3)) {
				t.Errorf("%s line %d = %v", name, i+1, m)
			}
			if i%2 == 1 && (m["level"] != "warn" || m["message"] != "attribute ignored") {
				t.Errorf("%s line %d = %v", name, i+1, m)
			}
		}
	}
}

func TestNewLoggerConsoleForced(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	var buf bytes.Buffer
	log, err := newLogger(&buf, "console", "debug")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Str("email", "ada@example.com").Msg("planned create")
	out := buf.String()
	if strings.HasPrefix(out, "{") || !strings.Contains(out, "DBG") || !strings.Contains(out, "planned create") || !strings.Contains(out, "email=ada@example.com") {
		t.Errorf("console line = %q", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colours off a terminal: %q", out)
	}
}

func TestNewLoggerLevels(t *testing.T) {
	tests := []struct {
		level   string
		want    []string // levels that come out of debug, info, warn, error
		wantErr bool
	}{
		{"", []string{"info", "warn", "error"}, false},
		{"debug", []string{"debug", "info", "warn", "error"}, false},
		{"INFO", []string{"info", "warn", "error"}, false},
		{"warn", []string{"warn", "error"}, false},
		{"warning", []string{"warn", "error"}, false},
		{" error ", []string{"error"}, false},
		{"trace", nil, true},
		{"verbose", nil, true},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log, err := newLogger(&buf, "json", tt.level)
		if tt.wantErr {
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != exitInvalid || !strings.Contains(err.Error(), "--log-level") {
				t.Errorf("level %q: err = %v, want a usage error (exit 3)", tt.level, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("level %q: %v", tt.level, err)
		}
		log.Debug().Msg("m")
		log.Info().Msg("m")
		log.Warn().Msg("m")
		log.Error().Msg("m")
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("level %q: %q: %v", tt.level, l, err)
			}
			got = append(got, m["level"].(string))
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("level %q: got %v, want %v", tt.level, got, tt.want)
		}
	}
}

func TestNewLoggerBadFormat(t *testing.T) {
	_, err := newLogger(&bytes.Buffer{}, "xml", "")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitInvalid || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("err = %v, want a usage error naming the format", err)
	}
}
