// Package deploy holds deployment examples; this test keeps them parseable and
// keeps the settings that make scheduled runs safe.
package deploy

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func load(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// dig walks a path of map keys and list indexes ("0") through decoded YAML.
func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				t.Fatalf("missing %q in path %v", p, path)
			}
		case []any:
			if p != "0" || len(x) == 0 {
				t.Fatalf("bad index %q in path %v", p, path)
			}
			v = x[0]
		default:
			t.Fatalf("cannot descend into %T at %q (path %v)", v, p, path)
		}
	}
	return v
}

func TestCronJob(t *testing.T) {
	m := load(t, "cronjob.yaml")
	if got := dig(t, m, "kind"); got != "CronJob" {
		t.Fatalf("kind = %v", got)
	}
	if got := dig(t, m, "spec", "concurrencyPolicy"); got != "Forbid" {
		t.Errorf("concurrencyPolicy = %v, want Forbid", got)
	}
	c := dig(t, m, "spec", "jobTemplate", "spec", "template", "spec", "containers", "0")
	for _, lim := range []string{"cpu", "memory"} {
		if dig(t, c, "resources", "limits", lim) == nil {
			t.Errorf("no %s limit", lim)
		}
	}
	if dig(t, c, "envFrom", "0", "secretRef", "name") == "" {
		t.Error("credentials must come from a Secret")
	}
	args := strings.Join(toStrings(dig(t, c, "args")), " ")
	for _, want := range []string{"apply", "--yes", "--ledger=/data/", "--report=/data/", "--log-format=json"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if dig(t, c, "volumeMounts", "0", "mountPath") == nil {
		t.Error("no volume for the report")
	}
}

func TestWorkflow(t *testing.T) {
	m := load(t, "github-workflow.yaml")
	on := dig(t, m, "on").(map[string]any)
	if _, ok := on["pull_request"]; !ok {
		t.Error("no pull_request trigger")
	}
	if got := dig(t, on, "push", "branches", "0"); got != "main" {
		t.Errorf("push branch = %v", got)
	}
	plan := steps(t, dig(t, m, "jobs", "plan", "steps"))
	if !strings.Contains(plan, "invitesync plan") || !strings.Contains(plan, "report.md") {
		t.Errorf("plan job must run plan and post report.md:\n%s", plan)
	}
	apply := steps(t, dig(t, m, "jobs", "apply", "steps"))
	if !strings.Contains(apply, "invitesync apply --yes") {
		t.Errorf("apply job must run apply --yes:\n%s", apply)
	}
	for _, job := range []string{"plan", "apply"} {
		for _, s := range dig(t, m, "jobs", job, "steps").([]any) {
			if run, _ := s.(map[string]any)["run"].(string); strings.Contains(run, "SECRET=") {
				t.Errorf("%s: a secret written inline in a run step", job)
			}
		}
	}
}

func TestCrontab(t *testing.T) {
	b, err := os.ReadFile("crontab")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want one crontab line, got %d", len(lines))
	}
	f := strings.Fields(lines[0])
	if len(f) < 6 {
		t.Fatalf("crontab line has %d fields", len(f))
	}
	rest := strings.Join(f[5:], " ")
	for _, want := range []string{"flock -n", "invitesync apply --yes"} {
		if !strings.Contains(rest, want) {
			t.Errorf("crontab command lacks %q", want)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func steps(t *testing.T, v any) string {
	var b strings.Builder
	for _, s := range v.([]any) {
		if run, ok := s.(map[string]any)["run"].(string); ok {
			b.WriteString(run + "\n")
		}
	}
	return b.String()
}
