package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/sources"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	groups16 := "g1;g2;g3;g4;g5;g6;g7;g8;g9;g10;g11;g12;g13;g14;g15;g16"
	// The acceptance case of issue 2: 16 groups on row 4, 91 days on row 6.
	bad := write("bad.csv", "email,groups,expires_in_days\n"+
		"a@example.com,,\n"+
		"b@example.com,,\n"+
		"c@example.com,"+groups16+",\n"+
		"d@example.com,,\n"+
		"e@example.com,,91\n")
	badYAML := write("bad.yaml", "members:\n"+
		"  - {email: a@example.com}\n"+
		"  - {email: b@example.com}\n"+
		"  - {email: c@example.com, groups: \""+groups16+"\"}\n"+
		"  - {email: d@example.com}\n"+
		"  - {email: e@example.com, expires_in_days: 91}\n")
	semi := write("semi.csv", "email;groups\nada@example.com;\"a;b\"\n")
	txt := write("roster.txt", "email\nada@example.com\n")
	empty := write("empty.csv", "email\n")
	hr := write("hr.csv", "Email Address,Auth Type\nada@example.com,AUTH_TYPE_SSO\nbob@example.com,AUTH_TYPE_LOCAL\n")

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string // exact lines
		wantStderr string   // substring
	}{
		{name: "sample csv", args: []string{"--roster", "../../samples/roster.csv"}, wantCode: exitOK,
			wantStdout: []string{"../../samples/roster.csv: OK, 12 members"}},
		{name: "sample xlsx", args: []string{"--roster", "../../samples/roster.xlsx"}, wantCode: exitOK,
			wantStdout: []string{"../../samples/roster.xlsx: OK, 12 members"}},
		{name: "sample yaml", args: []string{"--roster", "../../samples/roster.yaml"}, wantCode: exitOK,
			wantStdout: []string{"../../samples/roster.yaml: OK, 12 members"}},
		{name: "16 groups on row 4 and 91 days on row 6", args: []string{"--roster", bad}, wantCode: exitInvalid,
			wantStdout: []string{
				bad + ":4:groups: 16 groups; at most 15 allowed",
				bad + ":6:expires_in_days: expires_in_days 91 is out of range; it must be 1..90",
			},
			wantStderr: "invitesync validate: 2 problems in roster " + bad},
		{name: "the same in YAML: rows are lines", args: []string{"--roster", badYAML}, wantCode: exitInvalid,
			wantStdout: []string{
				badYAML + ":4:groups: 16 groups; at most 15 allowed",
				badYAML + ":6:expires_in_days: expires_in_days 91 is out of range; it must be 1..90",
			},
			wantStderr: "2 problems in roster"},
		{name: "delimiter given", args: []string{"--roster", semi, "--delimiter", ";"}, wantCode: exitOK,
			wantStdout: []string{semi + ": OK, 1 members"}},
		{name: "deprecated --format still works, and says so", args: []string{"--roster", txt, "--format", "csv"}, wantCode: exitOK,
			wantStdout: []string{txt + ": OK, 1 members"}, wantStderr: "use --roster-format"},
		{name: "roster-format alias", args: []string{"--roster-format", "csv", "--roster", txt}, wantCode: exitOK,
			wantStdout: []string{txt + ": OK, 1 members"}},
		{name: "unknown extension", args: []string{"--roster", txt}, wantCode: exitInvalid,
			wantStdout: []string{txt + `: cannot tell the roster format from the extension ".txt": name it .csv, .xlsx or .yaml, or pass --format`},
			wantStderr: "1 problem in roster"},
		{name: "empty refused", args: []string{"--roster", empty}, wantCode: exitInvalid, wantStderr: "1 problem in roster"},
		{name: "empty allowed", args: []string{"--roster", empty, "--allow-empty"}, wantCode: exitOK,
			wantStdout: []string{empty + ": OK, 0 members"}},
		{name: "json on success", args: []string{"--roster", semi, "--output", "json"}, wantCode: exitOK,
			wantStdout: []string{"[]"}, wantStderr: semi + ": OK, 1 members"},
		{name: "HR headers mapped with --columns", args: []string{"--roster", hr, "--columns", "email=Email Address,auth_type=Auth Type"}, wantCode: exitOK,
			wantStdout: []string{hr + ": OK, 2 members"}},
		{name: "HR headers without a mapping", args: []string{"--roster", hr}, wantCode: exitInvalid, wantStderr: "problem"},
		{name: "bad --columns", args: []string{"--roster", hr, "--columns", "emial=Email Address"}, wantCode: exitInvalid,
			wantStderr: "not an invitesync column"},
		{name: "missing --roster", args: nil, wantCode: exitInvalid, wantStderr: "--roster is required"},
		{name: "unknown flag", args: []string{"--roster", semi, "--bogus"}, wantCode: exitInvalid,
			wantStderr: "unknown flag: --bogus"},
		{name: "typo names the flag", args: []string{"--rostr", semi}, wantCode: exitInvalid,
			wantStderr: "unknown flag: --rostr (did you mean --roster?)\nRun 'invitesync validate -h' for its flags."},
		{name: "Go-style single dash", args: []string{"-roster", semi, "-delimiter", ";"}, wantCode: exitOK,
			wantStdout: []string{semi + ": OK, 1 members"}},
		{name: "stray argument", args: []string{"--roster", semi, "extra"}, wantCode: exitInvalid, wantStderr: `unexpected argument "extra"`},
		{name: "bad delimiter", args: []string{"--roster", semi, "--delimiter", "|"}, wantCode: exitInvalid,
			wantStderr: "--delimiter must be ',' or ';'"},
		{name: "bad output", args: []string{"--roster", semi, "--output", "xml"}, wantCode: exitInvalid,
			wantStderr: "--output must be text or json"},
		{name: "missing file", args: []string{"--roster", filepath.Join(dir, "none.csv")}, wantCode: exitInvalid,
			wantStderr: "no such file"},
		{name: "help", args: []string{"-h"}, wantCode: exitOK, wantStdout: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"validate"}, tc.args...), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			if tc.wantStdout != nil {
				got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
				if strings.Join(got, "\n") != strings.Join(tc.wantStdout, "\n") {
					t.Errorf("stdout:\n got %q\nwant %q", got, tc.wantStdout)
				}
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

func TestValidateJSONProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	if err := os.WriteFile(path, []byte("email,auth_type\nbad,\nb@example.com,SAML\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"validate", "--roster", path, "--output", "json"}, &stdout, &stderr)
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInvalid, stderr.String())
	}
	var ps []sources.Problem
	if err := json.Unmarshal(stdout.Bytes(), &ps); err != nil {
		t.Fatalf("stdout is not a JSON array of problems: %v\n%s", err, stdout.String())
	}
	if len(ps) != 2 || ps[0].Row != 2 || ps[0].Column != "email" || ps[1].Row != 3 || ps[1].Column != "auth_type" || ps[0].File != path {
		t.Fatalf("problems %+v", ps)
	}
}
