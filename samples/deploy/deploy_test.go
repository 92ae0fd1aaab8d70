// Package deploy holds deployment examples; these tests decode them as the
// tools that consume them would (Kubernetes objects strictly into k8s.io/api
// types, the workflow as YAML, the crontab line field by field) and keep the
// settings that make scheduled runs safe.
package deploy

import (
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/invitesync/invitesync/deploy/k8scheck"
)

func decodeFile(t *testing.T, name string) []k8scheck.Object {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := k8scheck.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return objs
}

func TestKubernetesSamples(t *testing.T) {
	objs := decodeFile(t, "cronjob.yaml")
	secrets := k8scheck.Of[corev1.Secret](decodeFile(t, "secret.example.yaml"))

	cjs := k8scheck.Of[batchv1.CronJob](objs)
	pvcs := k8scheck.Of[corev1.PersistentVolumeClaim](objs)
	if len(cjs) != 1 || len(pvcs) != 1 || len(objs) != 2 {
		t.Fatalf("cronjob.yaml holds %d objects (%d CronJobs, %d claims); want one CronJob and its claim", len(objs), len(cjs), len(pvcs))
	}
	// A Secret in the same file would overwrite the real one made with kubectl create secret.
	if len(k8scheck.Of[corev1.Secret](objs)) != 0 {
		t.Error("cronjob.yaml must not hold a Secret")
	}
	if err := k8scheck.CheckPVC(pvcs[0]); err != nil {
		t.Error(err)
	}
	cj := cjs[0]
	for _, err := range k8scheck.CheckCronJob(cj, map[string]bool{pvcs[0].Name: true}) {
		t.Error(err)
	}
	// The sample's own choices: hourly, UTC, the confluent provider with the Secret below.
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if len(secrets) != 1 {
		t.Fatalf("secret.example.yaml holds %d Secrets, want 1", len(secrets))
	}
	s := secrets[0]
	if c.EnvFrom[0].SecretRef.Name != s.Name {
		t.Errorf("the CronJob reads Secret %q, the example is %q", c.EnvFrom[0].SecretRef.Name, s.Name)
	}
	if len(s.Data) != 0 {
		t.Error("secret.example.yaml has data: only placeholder stringData belongs in a sample")
	}
	for _, k := range []string{"CONFLUENT_CLOUD_API_KEY", "CONFLUENT_CLOUD_API_SECRET"} {
		v, ok := s.StringData[k]
		if !ok {
			t.Errorf("the example Secret lacks %s, which --provider=confluent reads", k)
		} else if !strings.HasPrefix(v, "REPLACE-") {
			t.Errorf("the example Secret's %s is not a placeholder", k)
		}
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--provider=confluent") {
		t.Errorf("args %v: the example Secret holds confluent credentials", c.Args)
	}
}

// The workflow: plan on pull requests with one updated comment and the plan
// as an artifact; on merge, apply --plan of that artifact; the ledger kept;
// every action pinned by commit SHA.
func TestWorkflow(t *testing.T) {
	b, err := os.ReadFile("github-workflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Name        string            `yaml:"name"`
		Permissions map[string]string `yaml:"permissions"`
		On          map[string]any    `yaml:"on"`
		Env         map[string]string `yaml:"env"`
		Jobs        map[string]struct {
			If          string            `yaml:"if"`
			RunsOn      string            `yaml:"runs-on"`
			Environment string            `yaml:"environment"`
			Permissions map[string]string `yaml:"permissions"`
			Concurrency struct {
				Group            string `yaml:"group"`
				CancelInProgress bool   `yaml:"cancel-in-progress"`
			} `yaml:"concurrency"`
			Steps []struct {
				Name string            `yaml:"name"`
				ID   string            `yaml:"id"`
				Uses string            `yaml:"uses"`
				If   string            `yaml:"if"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
				Env  map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("github-workflow.yaml: %v", err)
	}
	if _, ok := wf.On["pull_request"]; !ok {
		t.Error("no pull_request trigger")
	}
	if _, ok := wf.On["push"]; !ok {
		t.Error("no push trigger")
	}

	// Every action pinned by a full commit SHA, with the release in a comment.
	pinned := regexp.MustCompile(`(?m)uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s*v\d+(\.\d+)*\s*$`)
	uses := regexp.MustCompile(`(?m)uses:\s*(\S+)`)
	all, good := uses.FindAllStringSubmatch(string(b), -1), pinned.FindAllStringSubmatch(string(b), -1)
	if len(all) == 0 || len(all) != len(good) {
		var bad []string
		for _, u := range all {
			if !regexp.MustCompile(`@[0-9a-f]{40}$`).MatchString(u[1]) {
				bad = append(bad, u[1])
			}
		}
		t.Errorf("%d of %d actions are pinned by SHA with a version comment; not pinned: %v", len(good), len(all), bad)
	}
	if v := wf.Env["INVITESYNC_VERSION"]; !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("INVITESYNC_VERSION %q is not an exact release", v)
	}
	if strings.Contains(string(b), "@latest") {
		t.Error("something is installed @latest")
	}

	marker := wf.Env["COMMENT_MARKER"]
	if !strings.HasPrefix(marker, "<!--") {
		t.Fatalf("COMMENT_MARKER %q is not an HTML comment (it would show in the comment)", marker)
	}
	plan, apply := wf.Jobs["plan"], wf.Jobs["apply"]
	if !strings.Contains(plan.If, "pull_request") || !strings.Contains(apply.If, "push") {
		t.Errorf("plan runs if %q, apply if %q", plan.If, apply.If)
	}
	var planRun, planUploads, applyRun, applyDownload string
	for _, s := range plan.Steps {
		planRun += s.Run + "\n"
		if strings.HasPrefix(s.Uses, "actions/upload-artifact@") {
			planUploads += s.With["name"] + ":" + s.With["path"]
		}
	}
	alwaysSteps := map[string]bool{}
	for _, s := range apply.Steps {
		applyRun += s.Run + "\n"
		if strings.HasPrefix(s.Uses, "actions/download-artifact@") {
			applyDownload = s.With["name"] + ":" + s.With["path"] + ":" + s.With["run-id"]
		}
		if s.If == "always()" {
			alwaysSteps[s.Name] = true
		}
	}
	for _, want := range []string{"invitesync plan", "--out plan.json", "--ledger ledger.jsonl", "report/report.md", "$COMMENT_MARKER"} {
		if !strings.Contains(planRun, want) {
			t.Errorf("the plan job lacks %q", want)
		}
	}
	// One comment, updated: look it up by the marker and PATCH it; POST only when there is none.
	if !strings.Contains(planRun, "--method PATCH") || !strings.Contains(planRun, "startswith(\\\"$COMMENT_MARKER\\\")") {
		t.Error("the plan job does not find its comment by the marker and update it")
	}
	if !strings.Contains(planUploads, "invitesync-plan:") || !strings.Contains(planUploads, "plan.json") {
		t.Errorf("the plan job does not upload plan.json as invitesync-plan (uploads %q)", planUploads)
	}
	if !strings.HasPrefix(applyDownload, "invitesync-plan:reviewed:${{ steps.reviewed.outputs.run-id }}") {
		t.Errorf("the apply job does not download the reviewed plan from the pull request's run (%q)", applyDownload)
	}
	if !regexp.MustCompile(`invitesync apply --plan reviewed/plan\.json --roster "\$ROSTER" --ledger ledger\.jsonl\s*\\?\s*--yes`).MatchString(applyRun) {
		t.Errorf("the apply job does not run apply --plan of the reviewed plan with the roster and ledger:\n%s", applyRun)
	}
	if regexp.MustCompile(`invitesync apply --roster`).MatchString(applyRun) {
		t.Error("the apply job computes a fresh plan instead of applying the reviewed one")
	}
	if !strings.Contains(applyRun, `git push origin "HEAD:refs/heads/$LEDGER_BRANCH"`) || !alwaysSteps["keep the ledger"] {
		t.Error("the apply job does not keep the ledger on its branch after every run, failed ones included")
	}
	if apply.Permissions["contents"] != "write" || apply.Permissions["actions"] != "read" || plan.Permissions["pull-requests"] != "write" {
		t.Errorf("permissions: plan %v, apply %v", plan.Permissions, apply.Permissions)
	}
	if apply.Concurrency.Group == "" || apply.Concurrency.CancelInProgress {
		t.Error("applies must queue, one at a time, never cancelled")
	}
	// Credentials only from secrets, in env.
	if regexp.MustCompile(`(?i)(API_KEY|SECRET|TOKEN)=[^$\s"]`).MatchString(planRun + applyRun) {
		t.Error("a credential written inline in a run step")
	}
	for name, j := range wf.Jobs {
		for _, s := range j.Steps {
			for k, v := range s.Env {
				if strings.Contains(k, "SECRET") && !strings.HasPrefix(v, "${{ secrets.") {
					t.Errorf("%s: %s is not taken from secrets", name, k)
				}
			}
		}
	}
}

// crontabJob is the one job line of the crontab sample.
type crontabJob struct {
	env      map[string]string
	schedule []string
	command  string
}

func readCrontab(t *testing.T) crontabJob {
	t.Helper()
	b, err := os.ReadFile("crontab")
	if err != nil {
		t.Fatal(err)
	}
	job := crontabJob{env: map[string]string{}}
	jobs := 0
	envLine := regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)=(.*)$`)
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if m := envLine.FindStringSubmatch(l); m != nil {
			job.env[m[1]] = m[2]
			continue
		}
		jobs++
		f := strings.Fields(l)
		if len(f) < 6 {
			t.Fatalf("crontab line has %d fields", len(f))
		}
		job.schedule = f[:5]
		job.command = strings.TrimSpace(l[strings.Index(l, f[5]):])
	}
	if jobs != 1 {
		t.Fatalf("want one crontab job line, got %d", jobs)
	}
	return job
}

func TestCrontab(t *testing.T) {
	job := readCrontab(t)
	if strings.Contains(job.command, "%") {
		t.Error("an unescaped % in a crontab command ends it (cron turns it into a newline)")
	}
	for i, f := range job.schedule {
		if !regexp.MustCompile(`^(\*|[0-9]+)([-,/][0-9]+)*$|^\*/[0-9]+$`).MatchString(f) {
			t.Errorf("schedule field %d %q is not a cron field", i+1, f)
		}
	}
	if job.env["SHELL"] != "/bin/sh" || job.env["PATH"] == "" {
		t.Errorf("crontab environment %v: set SHELL and a minimal PATH", job.env)
	}
	// flock -n LOCK: a second run gives up at once instead of queueing.
	m := regexp.MustCompile(`^(/\S*/flock) -n (/\S+) `).FindStringSubmatch(job.command)
	if m == nil {
		t.Fatalf("the command does not start with an absolute flock -n /LOCK: %s", job.command)
	}
	stateDir := path.Dir(m[2])
	for _, bad := range []string{"/var/log", "/root", "/tmp", "/var/run", "/run"} {
		if stateDir == bad || strings.HasPrefix(stateDir, bad+"/") {
			t.Errorf("state directory %s is not one an unprivileged user owns for good", stateDir)
		}
	}
	// invitesync by its absolute path, every path flag absolute and in the state directory.
	inv := regexp.MustCompile(`exec (/\S+/invitesync) apply --yes `).FindStringSubmatch(job.command)
	if inv == nil {
		t.Fatalf("the command does not exec invitesync by its absolute path with apply --yes: %s", job.command)
	}
	for _, flag := range []string{"--roster", "--ledger", "--report"} {
		fm := regexp.MustCompile(regexp.QuoteMeta(flag) + ` (\S+)`).FindStringSubmatch(job.command)
		if fm == nil {
			t.Errorf("the command has no %s", flag)
		} else if !strings.HasPrefix(fm[1], stateDir+"/") {
			t.Errorf("%s %s is not in the state directory %s", flag, fm[1], stateDir)
		}
	}
	for _, want := range []string{"--log-format json", "--no-progress"} {
		if !strings.Contains(job.command, want) {
			t.Errorf("the command lacks %s", want)
		}
	}
	// Credentials from an env file in the state directory, never on the line.
	if !strings.Contains(job.command, "set -a; . "+stateDir+"/") {
		t.Error("credentials are not read from an env file in the state directory")
	}
	if regexp.MustCompile(`(?i)(KEY|SECRET|TOKEN)=`).MatchString(job.command) {
		t.Error("a credential is written on the crontab line")
	}
	lm := regexp.MustCompile(`>>\s*(/\S+)\s+2>&1\s*$`).FindStringSubmatch(job.command)
	if lm == nil {
		t.Fatal("the command does not append stdout and stderr to an absolute log path")
	}
	if !strings.HasPrefix(lm[1], stateDir+"/") {
		t.Errorf("the log %s is not in the state directory %s the invitesync user can write", lm[1], stateDir)
	}
}
