package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/invitesync/invitesync/providers/emulator"
)

// The provider flags that reach the sample seed's org on each API.
var checkOrgs = map[string][]string{
	"confluent": {"--provider", "confluent"},
	"csp":       {"--provider", "csp", "--org-id", "demo-org"},
	"azure": {"--provider", "azure", "--subscription-id", "00000000-0000-0000-0000-000000000000",
		"--resource-group", "rg-demo", "--organization", "org-demo"},
}

// checkLine finds the line of a named check and returns its status.
func checkLine(out, name string) string {
	m := regexp.MustCompile(`(?m)^(ok|FAIL|warn|skip)\s+` + regexp.QuoteMeta(name) + `\s`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// check against the emulator passes for every provider, judges the sample
// roster's columns, sees the rate-limit headers, and its recording replays:
// an emulator seeded with it lists the same invitations (recorded again, the
// same file).
func TestCheckAgainstEmulatorRecordsAReplayableSeed(t *testing.T) {
	for _, name := range []string{"confluent", "csp", "azure"} {
		t.Run(name, func(t *testing.T) {
			srv, url := cliEmulator(t, emulator.Config{Rate: 1000, Burst: 1000})
			dir := t.TempDir()
			rec := filepath.Join(dir, "sample.yaml")
			args := append([]string{"check", "--endpoint", url, "--roster", sampleRoster, "--record", rec}, checkOrgs[name]...)
			before := changingRequests(srv.Stats())
			r := runCLI(t, args...)
			if r.code != exitOK {
				t.Fatalf("check: %v", r)
			}
			if n := changingRequests(srv.Stats()) - before; n != 0 {
				t.Errorf("check made %d changing requests; it is read-only", n)
			}
			for _, c := range []string{"credentials", "listing", "organization", "statuses", "timestamps", "roster", "rate-limit", "record"} {
				if st := checkLine(r.stdout, c); st == "" || st == "FAIL" {
					t.Errorf("check %q: status %q\n%s", c, st, r.stdout)
				}
			}
			if name == "confluent" && !strings.Contains(r.stdout, "X-Ratelimit-Remaining") {
				t.Errorf("rate-limit headers not reported:\n%s", r.stdout)
			}
			if name == "csp" && !strings.Contains(r.stdout, "groups (") {
				t.Errorf("the roster's groups column is not judged for csp:\n%s", r.stdout)
			}
			if name == "azure" && checkLine(r.stdout, "revoke") != "warn" {
				t.Errorf("azure has no revoke: check should warn\n%s", r.stdout)
			}
			first, err := os.ReadFile(rec)
			if err != nil {
				t.Fatal(err)
			}
			body := seedBody(first)
			for _, email := range []string{"ada@example.com", "partner@example.org"} {
				if strings.Contains(string(first), email) {
					t.Errorf("the recording holds the email %s; emails are hashed by default", email)
				}
			}
			for _, secret := range []string{emulator.DefaultConfluentSecret, emulator.DefaultCSPRefreshToken, emulator.DefaultAzureToken, emulator.DefaultConfluentKey} {
				if strings.Contains(string(first)+r.stdout+r.stderr, secret) {
					t.Errorf("a credential reached the output or the recording")
				}
			}
			if !strings.Contains(body, "user-") {
				t.Fatalf("recording has no invitations:\n%s", first)
			}

			// Replay: `invitesync emulator --seed` the recording.
			replay := startEmulatorCmd(t, "--listen", "127.0.0.1:0", "--seed", rec, "--log-level", "warn")
			rurl := replay.url
			rec2 := filepath.Join(dir, "again.yaml")
			args = append([]string{"check", "--endpoint", rurl, "--record", rec2}, checkOrgs[name]...)
			if r := runCLI(t, args...); r.code != exitOK {
				t.Fatalf("check of the replay: %v", r)
			}
			second, err := os.ReadFile(rec2)
			if err != nil {
				t.Fatal(err)
			}
			if got := seedBody(second); got != body {
				t.Errorf("the replay lists other invitations than recorded:\nfirst:\n%s\nreplayed:\n%s", body, got)
			}
		})
	}
}

// seedBody drops the recording's comment lines (times, check details).
func seedBody(b []byte) string {
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestCheckKeepEmails(t *testing.T) {
	_, url := cliEmulator(t, emulator.Config{})
	rec := filepath.Join(t.TempDir(), "s.yaml")
	r := runCLI(t, append([]string{"check", "--endpoint", url, "--record", rec, "--keep-emails"}, checkOrgs["confluent"]...)...)
	if r.code != exitOK {
		t.Fatal(r)
	}
	if b, _ := os.ReadFile(rec); !strings.Contains(string(b), "ada@example.com") {
		t.Errorf("--keep-emails lost the addresses:\n%s", b)
	}
	if r := runCLI(t, append([]string{"check", "--endpoint", url, "--keep-emails"}, checkOrgs["confluent"]...)...); r.code != exitInvalid {
		t.Errorf("--keep-emails without --record: %v", r)
	}
}

// Wrong or missing credentials fail the check (exit 1) naming the variable
// to set; CSP's bad token blames the token exchange, not the listing.
func TestCheckWrongCredentials(t *testing.T) {
	for _, tc := range []struct {
		provider, env, value string
		want                 []string
	}{
		{"confluent", envConfluentSecret, "wrong-secret-0001", []string{"FAIL credentials", "CONFLUENT_CLOUD_API_KEY", "401"}},
		{"csp", envCSPToken, "wrong-token-0001", []string{"FAIL credentials", "CSP_REFRESH_TOKEN", "credential exchange"}},
		{"azure", envAzureToken, "wrong-token-0001", []string{"FAIL credentials", "AZURE_ACCESS_TOKEN", "401"}},
		{"confluent", envConfluentKey, "", []string{"FAIL credentials", "set CONFLUENT_CLOUD_API_KEY and CONFLUENT_CLOUD_API_SECRET"}},
		{"csp", envCSPToken, "", []string{"FAIL credentials", "set CSP_REFRESH_TOKEN"}},
		// azidentity's default chain finds nothing here (or a token the emulator refuses).
		{"azure", envAzureToken, "", []string{"FAIL credentials", "AZURE_ACCESS_TOKEN"}},
	} {
		t.Run(tc.provider+" "+tc.env+"="+tc.value, func(t *testing.T) {
			_, url := cliEmulator(t, emulator.Config{})
			t.Setenv(tc.env, tc.value)
			r := runCLI(t, append([]string{"check", "--endpoint", url}, checkOrgs[tc.provider]...)...)
			if r.code != exitFailed {
				t.Fatalf("want exit 1: %v", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			if tc.provider == "csp" && tc.value != "" && strings.Contains(checkLine(r.stdout, "credentials"), "ok") {
				t.Errorf("a bad CSP token passed the credentials check:\n%s", r.stdout)
			}
			if tc.value != "" && strings.Contains(r.stdout+r.stderr, tc.value) {
				t.Errorf("the wrong credential is printed")
			}
		})
	}
}

// A wrong org id: the credentials work, the org does not answer (the
// emulator plays CSP's 404 for an unknown orgId and ARM's 404
// ResourceNotFound for an organization that does not exist).
func TestCheckWrongOrg(t *testing.T) {
	_, url := cliEmulator(t, emulator.Config{Azure: emulator.AzureConfig{Orgs: []string{"00000000-0000-0000-0000-000000000000/rg-demo/org-demo"}}})
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"csp", []string{"--provider", "csp", "--org-id", "no-such-org"}},
		{"azure", []string{"--provider", "azure", "--subscription-id", "00000000-0000-0000-0000-000000000000",
			"--resource-group", "rg-demo", "--organization", "no-such-org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"check", "--endpoint", url}, tc.args...)...)
			if r.code != exitFailed {
				t.Fatalf("a wrong org passed: %v", r)
			}
			if st := checkLine(r.stdout, "organization"); st != "FAIL" {
				t.Errorf("organization check %q, want FAIL:\n%s", st, r.stdout)
			}
			if st := checkLine(r.stdout, "credentials"); st == "FAIL" {
				t.Errorf("the credentials are blamed for a wrong org:\n%s", r.stdout)
			}
		})
	}
}

// An upstream answering nonsense (200 with an HTML page, whatever is asked)
// fails the check clearly, for every provider.
func TestCheckNonsenseUpstream(t *testing.T) {
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>\x1b[31mNot the API\x1b[0m {\"half\": </body></html>"))
	}))
	t.Cleanup(garbage.Close)
	_, _ = cliEmulator(t, emulator.Config{}) // the emulator's credentials in the environment
	for _, name := range []string{"confluent", "csp", "azure"} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append([]string{"check", "--endpoint", garbage.URL, "--max-attempts", "1"}, checkOrgs[name]...)...)
			if r.code != exitFailed {
				t.Fatalf("nonsense passed: %v", r)
			}
			if !strings.Contains(r.stdout, "FAIL") {
				t.Errorf("no failed check:\n%s", r.stdout)
			}
			if strings.Contains(r.stdout, "\x1b") {
				t.Errorf("the upstream's escape sequences reached the terminal:\n%q", r.stdout)
			}
		})
	}
}

func TestCheckFlags(t *testing.T) {
	_, url := cliEmulator(t, emulator.Config{})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "--provider is required"},
		{[]string{"check", "--provider", "cps"}, `did you mean "csp"?`},
		{[]string{"check", "--provider", "confluent", "--endpoint", url, "--record", "x.json"}, "want a .yaml file"},
		{[]string{"check", "--provider", "confluent", "--org-id", "x"}, "--org-id is for --provider csp"},
	} {
		r := runCLI(t, tc.args...)
		if r.code == exitOK || !strings.Contains(r.stdout+r.stderr, tc.want) {
			t.Errorf("%v: %v; want %q", tc.args, r, tc.want)
		}
	}
}
