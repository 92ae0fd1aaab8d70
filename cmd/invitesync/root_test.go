package main

import (
	"strings"
	"testing"

	"github.com/invitesync/invitesync/providers/emulator"
)

func TestRootHelpAndCommands(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings
		stderr []string
	}{
		{name: "-h lists grouped commands, credentials and exit codes", args: []string{"-h"}, code: exitOK,
			stdout: []string{"Reconcile:", "Inspect:", "Tools:", "  check ", "  run ", "CONFLUENT_CLOUD_API_SECRET", "CSP_REFRESH_TOKEN", "AZURE_ACCESS_TOKEN", "Exit codes:", "4  a safety guard refused", "Examples:"}},
		{name: "no command: help on stderr, exit 3", args: nil, code: exitInvalid, stderr: []string{"Reconcile:"}},
		{name: "help CMD", args: []string{"help", "plan"}, code: exitOK,
			stdout: []string{"Usage:\n  invitesync plan", "Roster flags:", "Provider flags:", "--org-id", "Output flags:", "--format string", "Exit codes:"}},
		{name: "CMD -h", args: []string{"validate", "-h"}, code: exitOK, stdout: []string{"--roster-format", "Examples:"}},
		{name: "Go-style -help", args: []string{"check", "-help"}, code: exitOK, stdout: []string{"--record", "--keep-emails"}},
		{name: "--version", args: []string{"--version"}, code: exitOK, stdout: []string{"invitesync "}},
		{name: "version", args: []string{"version"}, code: exitOK, stdout: []string{"invitesync "}},
		{name: "command typo", args: []string{"pln"}, code: exitInvalid, stderr: []string{`unknown command "pln"`, "plan"}},
		{name: "flag typo: the error first, a hint, no usage", args: []string{"plan", "--rostr", "x.csv"}, code: exitInvalid,
			stderr: []string{"invitesync plan: unknown flag: --rostr (did you mean --roster?)\nRun 'invitesync plan -h' for its flags.\n"}},
		{name: "bad flag value", args: []string{"plan", "--concurrency", "many"}, code: exitInvalid, stderr: []string{"--concurrency"}},
		{name: "unknown provider suggests", args: []string{"plan", "--roster", sampleRoster, "--provider", "azur"}, code: exitInvalid,
			stderr: []string{`did you mean "azure"?`}},
		{name: "stray argument", args: []string{"check", "extra"}, code: exitInvalid, stderr: []string{`unexpected argument "extra"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%v", r.code, tc.code, r)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if tc.code == exitInvalid && strings.Count(r.stderr, "\n") > 6 && tc.args != nil {
				t.Errorf("a usage error printed %d lines; want the error and a short hint:\n%s", strings.Count(r.stderr, "\n"), r.stderr)
			}
		})
	}
}

// Every shell gets a completion script, and flag values complete: provider
// names from the registry, report formats.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_invitesync", "zsh": "#compdef invitesync", "fish": "complete -c invitesync", "powershell": "Register-ArgumentCompleter"} {
		r := runCLI(t, "completion", shell)
		if r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s: exit %d, lacks %q", shell, r.code, want)
		}
	}
	r := runCLI(t, "__complete", "plan", "--provider", "")
	for _, p := range []string{"azure", "confluent", "csp"} {
		if !strings.Contains(r.stdout, p+"\n") {
			t.Errorf("--provider completion lacks %s:\n%s", p, r.stdout)
		}
	}
	r = runCLI(t, "__complete", "plan", "--format", "json,")
	if !strings.Contains(r.stdout, "json,html") {
		t.Errorf("--format completion:\n%s", r.stdout)
	}
	r = runCLI(t, "__complete", "check", "--rec")
	if !strings.Contains(r.stdout, "--record") {
		t.Errorf("flag name completion:\n%s", r.stdout)
	}
}

// plan names the credential variable when the upstream refuses it, and for
// CSP blames the token exchange, not the call it was made for.
func TestPlanCredentialRefusalsNameTheVariable(t *testing.T) {
	notTerminal(t)
	_, url := cliEmulator(t, emulator.Config{})
	dir := t.TempDir()
	for _, tc := range []struct {
		env  string
		args []string
		want []string
	}{
		{envCSPToken, []string{"--provider", "csp", "--org-id", "demo-org"}, []string{"csp: the credential exchange refused CSP_REFRESH_TOKEN", "was not sent"}},
		{envConfluentSecret, []string{"--provider", "confluent"}, []string{"refused the credentials in CONFLUENT_CLOUD_API_KEY, CONFLUENT_CLOUD_API_SECRET", "HTTP 401"}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, "wrong-value-0004")
			r := runCLI(t, append([]string{"plan", "--roster", sampleRoster, "--endpoint", url, "--report", dir, "--no-progress"}, tc.args...)...)
			if r.code != exitFailed {
				t.Errorf("exit %d, want 1: %v", r.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "wrong-value-0004") {
				t.Error("the credential was printed")
			}
		})
	}
}
