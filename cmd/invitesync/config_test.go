package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// testFlags is a small flag set shaped like plan's.
func testFlags() (*pflag.FlagSet, map[string]*string, *bool) {
	fs := pflag.NewFlagSet("plan", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vals := map[string]*string{}
	for _, n := range []string{"provider", "endpoint", "max-revoke", "format", "report", "org-id", "columns"} {
		vals[n] = fs.String(n, "", "")
	}
	yes := fs.Bool("revoke-unmanaged", false, "")
	fs.String("config", "", "")
	fs.Bool("print-config", false, "")
	return fs, vals, yes
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyConfig(t *testing.T) {
	t.Setenv("INVITESYNC_TEST_ENDPOINT", "http://127.0.0.1:8787")
	t.Setenv("CONFLUENT_CLOUD_API_SECRET", "s3cret")
	for _, tc := range []struct {
		name    string
		body    string
		args    []string
		want    map[string]string
		wantErr string
	}{
		{name: "values, lists and env references",
			body: "provider: confluent\nendpoint: ${INVITESYNC_TEST_ENDPOINT}\nmax-revoke: 5%\nformat: [json, md]\nrevoke-unmanaged: true\n",
			want: map[string]string{"provider": "confluent", "endpoint": "http://127.0.0.1:8787", "max-revoke": "5%", "format": "json,md", "revoke-unmanaged": "true"}},
		{name: "columns as a mapping of column to header",
			body: "columns:\n  email: Email Address\n  auth_type: Auth Type\n", want: map[string]string{"columns": "email=Email Address,auth_type=Auth Type"}},
		{name: "columns as the flag's own spelling", body: "columns: email=E-mail\n", want: map[string]string{"columns": "email=E-mail"}},
		{name: "a header a mapping cannot carry", body: "columns: {email: \"Mail, work\"}\n", wantErr: "cannot carry"},
		{name: "a comma list stays as written",
			body: "format: \"json,md\"\n", want: map[string]string{"format": "json,md"}},
		{name: "the command line wins",
			body: "provider: csp\nreport: from-config\n", args: []string{"--provider", "confluent"},
			want: map[string]string{"provider": "confluent", "report": "from-config"}},
		{name: "$NAME without braces is not expanded",
			body: "report: $HOME/x\n", want: map[string]string{"report": "$HOME/x"}},
		{name: "empty file sets nothing", body: "", want: map[string]string{"provider": ""}},
		{name: "a secret-looking key holding a reference is accepted and left to the environment",
			body: "api-secret: ${CONFLUENT_CLOUD_API_SECRET}\nprovider: confluent\n", want: map[string]string{"provider": "confluent"}},
		{name: "unknown key", body: "provder: confluent\n", wantErr: "config.yaml:1: provder: unknown key"},
		{name: "underscore slip suggests the flag", body: "max_revoke: 5\n", wantErr: `did you mean "max-revoke"?`},
		{name: "typo suggests the flag", body: "provder: confluent\n", wantErr: `did you mean "provider"?`},
		{name: "nothing close, no suggestion", body: "colour: blue\n", wantErr: "colour: unknown key (not a flag of invitesync plan)"},
		{name: "a credential variable is never copied into another key", body: "endpoint: https://${CONFLUENT_CLOUD_API_SECRET}@x\n", wantErr: "${CONFLUENT_CLOUD_API_SECRET} is a credential variable"},
		{name: "any *_TOKEN variable counts as a credential", body: "report: ${GITHUB_TOKEN}\n", wantErr: "${GITHUB_TOKEN} is a credential variable"},
		{name: "a provider's credential variable by name", body: "org-id: ${CSP_REFRESH_TOKEN}\n", wantErr: "CSP_REFRESH_TOKEN"},
		{name: "literal secret refused", body: "api-secret: hunter2\n", wantErr: "api-secret: this looks like a secret"},
		{name: "literal token refused even inside a reference", body: "csp-token: x${HOME}\n", wantErr: "looks like a secret"},
		{name: "password refused", body: "password: ${A}${B}\n", wantErr: "looks like a secret"},
		{name: "unset variable named", body: "endpoint: ${INVITESYNC_TEST_UNSET}\n", wantErr: "environment variable INVITESYNC_TEST_UNSET is not set"},
		{name: "not a mapping", body: "- provider\n", wantErr: "want a mapping"},
		{name: "nested mapping", body: "provider: {name: x}\n", wantErr: "want a value or a list"},
		{name: "null value", body: "provider:\n", wantErr: "no value"},
		{name: "bad bool", body: "revoke-unmanaged: maybe\n", wantErr: "revoke-unmanaged"},
		{name: "duplicate key", body: "provider: a\nprovider: b\n", wantErr: "provider"},
		{name: "config in config", body: "config: other.yaml\n", wantErr: "cannot name another"},
		{name: "broken yaml", body: "provider: [a\n", wantErr: "config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, vals, ru := testFlags()
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := applyConfig(fs, writeConfig(t, tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want it to contain %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error repeats the secret: %v", err)
				}
				var ee *exitError
				if !errors.As(err, &ee) || ee.code != exitInvalid {
					t.Errorf("err %v is not an exit-3 error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				got := ""
				if k == "revoke-unmanaged" {
					if *ru {
						got = "true"
					}
				} else {
					got = *vals[k]
				}
				if got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestPrintConfigRedacts(t *testing.T) {
	fs, _, _ := testFlags()
	fs.String("api-token", "", "")
	if err := fs.Parse([]string{"--provider", "csp", "--org-id", "o-1", "--api-token", "hunter2"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := printConfig(&buf, fs); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "api-token: REDACTED") {
		t.Errorf("secret not redacted:\n%s", out)
	}
	if strings.Contains(out, "config:") || strings.Contains(out, "print-config") {
		t.Errorf("printed its own flags:\n%s", out)
	}
	// What it prints is a config the same command accepts (bar the redacted secret).
	var m map[string]string
	if err := yaml.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, out)
	}
	if m["provider"] != "csp" || m["org-id"] != "o-1" || m["endpoint"] != "" {
		t.Errorf("printed %v", m)
	}
	delete(m, "api-token")
	var back bytes.Buffer
	yaml.NewEncoder(&back).Encode(m)
	fs2, vals, _ := testFlags()
	if err := applyConfig(fs2, writeConfig(t, back.String())); err != nil {
		t.Fatalf("printed config does not load back: %v", err)
	}
	if *vals["provider"] != "csp" {
		t.Errorf("provider after reload = %q", *vals["provider"])
	}
}

func TestParseDays(t *testing.T) {
	for in, want := range map[string]string{"": "0s", "0": "0s", "7d": "168h0m0s", "36h": "36h0m0s", "90m": "1h30m0s"} {
		got, err := parseDays(in)
		if err != nil || got.String() != want {
			t.Errorf("parseDays(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"7 days", "-1d", "-5h", "d", "1.5d"} {
		if _, err := parseDays(bad); err == nil {
			t.Errorf("parseDays(%q) accepted", bad)
		}
	}
}

// The shipped sample config loads into both commands' flags.
func TestSampleConfig(t *testing.T) {
	for _, mode := range []string{"plan", "apply"} {
		rf := newRunFlags(mode, io.Discard)
		if err := rf.fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		if err := applyConfig(rf.fs, filepath.Join("..", "..", "samples", "config.yaml")); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if rf.pf.name != "confluent" || rf.roster != "samples/roster.csv" || rf.maxRevoke != "50%" || rf.formats != "json,md,xlsx,html" {
			t.Errorf("%s: provider %q roster %q max-revoke %q format %q", mode, rf.pf.name, rf.roster, rf.maxRevoke, rf.formats)
		}
	}
}

// --print-config never shows URL userinfo nor a value a credential variable
// holds, whatever key it was put under.
func TestPrintConfigRedactsUserinfoAndCredentialValues(t *testing.T) {
	t.Setenv("INVITESYNC_TEST_API_KEY", "k3y-value-77")
	fs, _, _ := testFlags()
	if err := fs.Parse([]string{"--endpoint", "https://ada:pa55w0rd@api.example.com/x", "--report", "out/k3y-value-77/r"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := printConfig(&buf, fs); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"pa55w0rd", "ada:", "k3y-value-77"} {
		if strings.Contains(out, secret) {
			t.Errorf("printed %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "endpoint: https://REDACTED@api.example.com/x") || !strings.Contains(out, "report: out/REDACTED/r") {
		t.Errorf("redaction lost the rest of the value:\n%s", out)
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"roster", "roster-format", "provider", "max-revoke", "report"}
	for _, tc := range []struct{ word, want string }{
		{"rostr", "roster"}, {"max_revoke", "max-revoke"}, {"PROVIDER", "provider"}, {"provder", "provider"},
		{"colour", ""}, {"x", ""}, {"roster-formats", "roster-format"},
	} {
		if got := closest(tc.word, cands); got != tc.want {
			t.Errorf("closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

// Go-style single-dash long flags keep working; values and what follows --
// are left alone.
func TestNormalizeArgs(t *testing.T) {
	root := newRoot(&cli{stdout: io.Discard, stderr: io.Discard, code: -1})
	got := normalizeArgs(root, []string{"plan", "-roster", "r.csv", "-max-revoke=5", "-h", "-x", "--report", "-roster", "--", "-ledger"})
	want := []string{"plan", "--roster", "r.csv", "--max-revoke=5", "-h", "-x", "--report", "--roster", "--", "-ledger"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
