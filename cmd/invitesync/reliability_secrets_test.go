//go:build reliability

package main_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cspTokenPrefix starts every CSP access token the emulator issues: the
// base64url of its JWT header {"alg":"none","typ":"JWT"}. Tokens are issued
// per exchange, so the test looks for this prefix instead of one token.
const cspTokenPrefix = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"

// unusual returns a value that occurs nowhere by chance.
func unusual(t *testing.T, label string) string {
	t.Helper()
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return label + "Zq" + hex.EncodeToString(b[:])
}

// TestReliabilitySecrets: for each provider, with distinct unusual
// credentials (given to the emulator by its flags, to invitesync by its
// environment), plan --out, apply under 20% faults at --log-level debug
// --log-format json (with a GitHub step summary), dump, and plan, apply and
// dump with wrong credentials (401, or 400 for CSP's token exchange): no
// credential, no Basic authorization value and no CSP access token appears
// in stdout, stderr, any report (XLSX unzipped), audit.jsonl, the ledger, the
// saved plan, the dump or the step summary.
func TestReliabilitySecrets(t *testing.T) {
	for _, p := range providerNames {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			good := creds{unusual(t, "ckey"), unusual(t, "csecret"), unusual(t, "cspRefresh"), unusual(t, "azToken")}
			bad := creds{unusual(t, "wrongKey"), unusual(t, "wrongSecret"), unusual(t, "wrongRefresh"), unusual(t, "wrongAz")}
			emu := startEmulator(t, "--confluent-key", good.confluentKey, "--confluent-secret", good.confluentSecret,
				"--csp-refresh-token", good.cspToken, "--azure-token", good.azureToken)
			dir := t.TempDir()
			summary := filepath.Join(dir, "step-summary.md")
			env := func(c creds) []string { return c.env("GITHUB_STEP_SUMMARY=" + summary) }
			rows := [][]string{{"email", "auth_type", "groups", "expires_in_days"}}
			for i := range 30 {
				rows = append(rows, []string{fmt.Sprintf("s%02d@example.com", i), "AUTH_TYPE_SSO", "g-1", "14"})
			}
			roster := filepath.Join(dir, "roster.csv")
			writeRoster(t, roster, rows)
			logging := []string{"--log-format", "json", "--log-level", "debug"}
			common := append(append(providerArgs(p, emu.url), logging...), "--no-progress", "--rate", "1000")
			dump := append(providerArgs(p, emu.url), logging...)
			var outputs []string
			run := func(want int, c creds, args ...string) {
				t.Helper()
				r := invitesync(t, runOpts{env: env(c)}, args...)
				outputs = append(outputs, r.stdout, r.stderr)
				if r.code != want {
					t.Errorf("%s: exit %d, want %d\n%v", args[0], r.code, want, r)
				}
			}

			run(2, good, append([]string{"plan", "--roster", roster, "--out", filepath.Join(dir, "plan.json"), "--report", filepath.Join(dir, "plan")}, common...)...)
			emu.setFaults(0.2, allFaults...)
			apply := append([]string{"apply", "--yes", "--plan", filepath.Join(dir, "plan.json"), "--ledger", filepath.Join(dir, "ledger.jsonl"),
				"--report", filepath.Join(dir, "apply")}, common...)
			if p == "csp" {
				apply = append(apply, "--csp-batch", "1") // enough requests to draw faults
			}
			run(0, good, apply...)
			if st := emu.stats(); st.FaultsInjected == 0 {
				t.Errorf("no fault was injected during the apply: its error paths were not exercised")
			}
			emu.setFaults(0)
			run(0, good, append([]string{"dump", "--out", filepath.Join(dir, "dump.yaml")}, dump...)...)
			// Wrong credentials: the upstream refuses them, the run says so and exits 1.
			run(1, bad, append([]string{"plan", "--roster", roster, "--report", filepath.Join(dir, "bad-plan")}, common...)...)
			run(1, bad, append([]string{"apply", "--yes", "--roster", roster, "--report", filepath.Join(dir, "bad-apply")}, common...)...)
			run(1, bad, append([]string{"dump", "--out", filepath.Join(dir, "bad-dump.csv")}, dump...)...)
			if st := emu.stats(); st.ByStatus["401"]+st.ByStatus["400"] == 0 {
				t.Errorf("the wrong credentials were never refused by the emulator (%v): the 401 path was not exercised", st.ByStatus)
			}

			files := readTree(t, dir)
			if _, ok := files["apply/audit.jsonl"]; !ok {
				t.Errorf("no audit.jsonl among %v", sortedKeys(files))
			}
			if _, ok := files["step-summary.md"]; !ok {
				t.Errorf("no step summary among %v", sortedKeys(files))
			}
			texts := map[string]string{}
			for i, o := range outputs {
				texts[fmt.Sprintf("output %d", i)] = o
			}
			for name, data := range files {
				texts[name] = data
			}
			needles := map[string]string{
				"the CSP access token prefix": cspTokenPrefix,
			}
			for _, c := range []struct {
				name string
				c    creds
			}{{"good", good}, {"wrong", bad}} {
				needles[c.name+" CONFLUENT_CLOUD_API_KEY"] = c.c.confluentKey
				needles[c.name+" CONFLUENT_CLOUD_API_SECRET"] = c.c.confluentSecret
				needles[c.name+" Basic authorization"] = base64.StdEncoding.EncodeToString([]byte(c.c.confluentKey + ":" + c.c.confluentSecret))
				needles[c.name+" CSP_REFRESH_TOKEN"] = c.c.cspToken
				needles[c.name+" AZURE_ACCESS_TOKEN"] = c.c.azureToken
			}
			checked := 0
			for _, what := range sortedKeys(needles) {
				for _, where := range sortedKeys(texts) {
					checked += len(texts[where])
					if i := strings.Index(texts[where], needles[what]); i >= 0 {
						lo, hi := max(i-120, 0), min(i+len(needles[what])+40, len(texts[where]))
						t.Errorf("%s found in %s: ...%s...", what, where, texts[where][lo:hi])
					}
				}
			}
			t.Logf("searched %d texts (%d KiB) for %d secrets", len(texts), checked/len(needles)>>10, len(needles))
		})
	}
}

// readTree reads every file under dir (relative path -> content); an XLSX
// is read as its unzipped parts, where cell text lives.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if !strings.HasSuffix(path, ".xlsx") {
			out[rel] = string(data)
			return nil
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				return err
			}
			part, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			out[rel+"!"+f.Name] = string(part)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
