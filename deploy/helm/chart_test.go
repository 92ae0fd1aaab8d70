// Package helm_test renders the fleet chart with Helm's own engine (no helm
// binary needed) and decodes every rendered object strictly.
package helm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/invitesync/invitesync/deploy/k8scheck"
)

const chartDir = "invitesync"

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return ch
}

// render does what `helm template fleet deploy/helm/invitesync -f values`
// does: coalesce the values, validate them against values.schema.json, render.
func render(t *testing.T, ch *chart.Chart, vals map[string]any) (string, error) {
	t.Helper()
	rv, err := util.ToRenderValuesWithSchemaValidation(ch, vals,
		common.ReleaseOptions{Name: "fleet", Namespace: "invitesync", IsInstall: true},
		common.DefaultCapabilities, false)
	if err != nil {
		return "", err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return "", err
	}
	var names []string
	for name := range files {
		if strings.HasSuffix(name, ".yaml") && !strings.HasPrefix(filepath.Base(name), "_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var out strings.Builder
	for _, name := range names {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, files[name])
	}
	return out.String(), nil
}

func readValues(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// decodeFleet decodes the rendered stream and checks every CronJob with the
// same rules as the single-org sample.
func decodeFleet(t *testing.T, stream string) ([]*batchv1.CronJob, map[string]*corev1.PersistentVolumeClaim) {
	t.Helper()
	objs, err := k8scheck.Decode([]byte(stream))
	if err != nil {
		t.Fatalf("rendered objects do not decode strictly: %v\n%s", err, stream)
	}
	pvcs := map[string]*corev1.PersistentVolumeClaim{}
	claimNames := map[string]bool{}
	for _, p := range k8scheck.Of[corev1.PersistentVolumeClaim](objs) {
		if err := k8scheck.CheckPVC(p); err != nil {
			t.Error(err)
		}
		if p.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("%s: helm uninstall would delete the ledger (no resource-policy: keep)", p.Name)
		}
		pvcs[p.Name] = p
		claimNames[p.Name] = true
	}
	cjs := k8scheck.Of[batchv1.CronJob](objs)
	for _, cj := range cjs {
		for _, err := range k8scheck.CheckCronJob(cj, claimNames) {
			t.Error(err)
		}
	}
	if n := len(cjs) + len(pvcs); n != len(objs) {
		t.Errorf("rendered %d objects, of which %d CronJobs and claims", len(objs), n)
	}
	return cjs, pvcs
}

func args(cj *batchv1.CronJob) []string {
	return cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
}

func TestChartRendersOneCronJobPerOrg(t *testing.T) {
	ch := loadChart(t)
	out, err := render(t, ch, readValues(t, filepath.Join("testdata", "fleet-values.yaml")))
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	cjs, pvcs := decodeFleet(t, out)
	if len(cjs) != 3 || len(pvcs) != 3 {
		t.Fatalf("rendered %d CronJobs and %d claims for 3 orgs", len(cjs), len(pvcs))
	}
	want := map[string]struct {
		secret, schedule, image string
		args                    []string
		memLimit, goMemLimit    string
		initContainer           bool
	}{
		"invitesync-acme-confluent": {
			secret: "acme-confluent-key", schedule: "7 * * * *", image: "ghcr.io/invitesync/invitesync:v1.0.0",
			args:     []string{"apply", "--yes", "--provider=confluent", "--roster=/roster/roster.csv", "--policy=sync", "--max-revoke=10%", "--ledger=/data/ledger.jsonl"},
			memLimit: "512Mi", goMemLimit: "460MiB",
		},
		"invitesync-acme-csp": {
			secret: "invitesync-acme-csp", schedule: "17 * * * *", image: "ghcr.io/invitesync/invitesync:v1.0.0",
			args:     []string{"--provider=csp", "--roster=/roster/repo/rosters/csp.yaml", "--org-id=0a1b2c3d-0000-4000-8000-000000000001", "--max-revoke=5"},
			memLimit: "512Mi", goMemLimit: "460MiB", initContainer: true,
		},
		"invitesync-acme-azure": {
			secret: "invitesync-acme-azure", schedule: "17 * * * *", image: "ghcr.io/invitesync/invitesync:v1.0.0",
			args: []string{"--provider=azure", "--roster=/roster/roster.xlsx", "--organization=acme",
				"--resource-group=rg-kafka", "--subscription-id=00000000-0000-0000-0000-000000000000", "--log-level=debug"},
			memLimit: "1Gi", goMemLimit: "921MiB",
		},
	}
	for _, cj := range cjs {
		w, ok := want[cj.Name]
		if !ok {
			t.Errorf("unexpected CronJob %s", cj.Name)
			continue
		}
		pod := cj.Spec.JobTemplate.Spec.Template.Spec
		c := pod.Containers[0]
		if got := c.EnvFrom[0].SecretRef.Name; got != w.secret {
			t.Errorf("%s: secret %s, want %s", cj.Name, got, w.secret)
		}
		if cj.Spec.Schedule != w.schedule {
			t.Errorf("%s: schedule %q, want %q", cj.Name, cj.Spec.Schedule, w.schedule)
		}
		if c.Image != w.image {
			t.Errorf("%s: image %s, want %s", cj.Name, c.Image, w.image)
		}
		have := strings.Join(c.Args, " ")
		for _, a := range w.args {
			if !strings.Contains(" "+have+" ", " "+a+" ") {
				t.Errorf("%s: args %q lack %s", cj.Name, have, a)
			}
		}
		if got := c.Resources.Limits.Memory().String(); got != w.memLimit {
			t.Errorf("%s: memory limit %s, want %s", cj.Name, got, w.memLimit)
		}
		for _, e := range c.Env {
			if e.Name == "GOMEMLIMIT" && e.Value != w.goMemLimit {
				t.Errorf("%s: GOMEMLIMIT %s, want %s (90%% of the limit)", cj.Name, e.Value, w.goMemLimit)
			}
		}
		if got := len(pod.InitContainers) == 1; got != w.initContainer {
			t.Errorf("%s: git-sync init container present = %v, want %v", cj.Name, got, w.initContainer)
		}
		// Each org's ledger is on its own claim.
		var claim string
		for _, v := range pod.Volumes {
			if v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
		}
		if claim != cj.Name+"-data" {
			t.Errorf("%s: ledger claim %q, want its own %s-data", cj.Name, claim, cj.Name)
		}
	}
	// The git roster: git-sync fetches once into the roster volume, with its credentials from the org's git Secret.
	for _, cj := range cjs {
		if cj.Name != "invitesync-acme-csp" {
			continue
		}
		gs := cj.Spec.JobTemplate.Spec.Template.Spec.InitContainers[0]
		joined := strings.Join(gs.Args, " ")
		for _, a := range []string{"--repo=https://github.com/acme/people.git", "--ref=main", "--root=/roster", "--link=repo", "--one-time"} {
			if !strings.Contains(joined, a) {
				t.Errorf("git-sync args %q lack %s", joined, a)
			}
		}
		if len(gs.EnvFrom) != 1 || gs.EnvFrom[0].SecretRef.Name != "acme-git" {
			t.Errorf("git-sync credentials: %+v", gs.EnvFrom)
		}
		if gs.SecurityContext == nil || gs.SecurityContext.ReadOnlyRootFilesystem == nil || !*gs.SecurityContext.ReadOnlyRootFilesystem {
			t.Error("git-sync runs with a writable root filesystem")
		}
	}
}

// A fleet scales by values, not by a home-made scheduler: N orgs, N CronJobs,
// N claims, all names distinct.
func TestChartScalesToManyOrgs(t *testing.T) {
	ch := loadChart(t)
	for _, n := range []int{0, 1, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			orgs := make([]any, n)
			for i := range orgs {
				orgs[i] = map[string]any{
					"name": fmt.Sprintf("org-%03d", i), "provider": []string{"confluent", "csp", "azure"}[i%3],
					"roster": map[string]any{"configMap": map[string]any{"name": fmt.Sprintf("roster-%03d", i), "key": "roster.csv"}},
				}
			}
			out, err := render(t, ch, map[string]any{"orgs": orgs})
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			cjs, pvcs := decodeFleet(t, out)
			if len(cjs) != n || len(pvcs) != n {
				t.Fatalf("rendered %d CronJobs and %d claims for %d orgs", len(cjs), len(pvcs), n)
			}
			names, secrets := map[string]bool{}, map[string]bool{}
			for _, cj := range cjs {
				names[cj.Name] = true
				secrets[cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name] = true
			}
			if len(names) != n || len(secrets) != n {
				t.Errorf("%d distinct CronJob names and %d distinct secrets for %d orgs", len(names), len(secrets), n)
			}
		})
	}
}

func TestChartRefusesBadValues(t *testing.T) {
	ch := loadChart(t)
	org := func(kv ...any) map[string]any {
		m := map[string]any{"name": "acme", "provider": "csp",
			"roster": map[string]any{"configMap": map[string]any{"name": "r", "key": "roster.csv"}}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name string
		vals map[string]any
		want string
	}{
		{"duplicate org name", map[string]any{"orgs": []any{org(), org()}}, `"acme" is used twice`},
		{"unknown provider", map[string]any{"orgs": []any{org("provider", "gitlab")}}, "provider"},
		{"no provider", map[string]any{"orgs": []any{org("provider", nil)}}, "provider"},
		{"no roster", map[string]any{"orgs": []any{org("roster", nil)}}, "roster"},
		{"two roster sources", map[string]any{"orgs": []any{org("roster", map[string]any{
			"configMap": map[string]any{"name": "r", "key": "roster.csv"},
			"git":       map[string]any{"repo": "https://x/y.git", "path": "r.csv"}})}}, "exactly one of configMap or git"},
		{"a typo in an org's keys", map[string]any{"orgs": []any{org("secretname", "x")}}, "secretname"},
		{"a name Kubernetes refuses", map[string]any{"orgs": []any{org("name", "Acme_Org")}}, "name"},
		{"a name too long for a CronJob", map[string]any{"orgs": []any{org("name", strings.Repeat("a", 42))}}, "name"},
		{"a schedule that is not cron", map[string]any{"orgs": []any{org("schedule", "hourly")}}, "schedule"},
		{"memory in bytes", map[string]any{"orgs": []any{org("resources", map[string]any{"limits": map[string]any{"memory": "536870912"}})}}, "Mi or Gi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := render(t, ch, tt.vals)
			if err == nil {
				t.Fatalf("rendered without error:\n%s", out)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// helm lint's own checks (Chart.yaml, values, templates, schema) pass with
// the example values.
func TestChartLints(t *testing.T) {
	vals := readValues(t, filepath.Join("testdata", "fleet-values.yaml"))
	res := lint.RunAll(chartDir, vals, "invitesync")
	for _, m := range res.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m)
		}
	}
}

func TestChartTelemetry(t *testing.T) {
	ch := loadChart(t)
	one := []any{map[string]any{"name": "acme", "provider": "confluent",
		"roster": map[string]any{"configMap": map[string]any{"name": "r", "key": "roster.csv"}}}}

	// Off by default: no flag, no env.
	out, err := render(t, ch, map[string]any{"orgs": one})
	if err != nil {
		t.Fatal(err)
	}
	cjs, _ := decodeFleet(t, out)
	if a := strings.Join(args(cjs[0]), " "); strings.Contains(a, "pushgateway") || strings.Contains(a, "notify") {
		t.Errorf("telemetry flags without telemetry values: %s", a)
	}

	out, err = render(t, ch, map[string]any{"orgs": one, "telemetry": map[string]any{
		"pushgateway":   "http://pushgateway.monitoring.svc:9091",
		"notifyWebhook": map[string]any{"secretName": "chat-webhook", "key": "slack"},
		"notifyEmails":  true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	cjs, _ = decodeFleet(t, out)
	a := " " + strings.Join(args(cjs[0]), " ") + " "
	for _, want := range []string{"--pushgateway=http://pushgateway.monitoring.svc:9091", "--notify-webhook=$(INVITESYNC_NOTIFY_WEBHOOK)", "--notify-emails"} {
		if !strings.Contains(a, " "+want+" ") {
			t.Errorf("args %q lack %s", a, want)
		}
	}
	var ref *corev1.SecretKeySelector
	for _, e := range cjs[0].Spec.JobTemplate.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "INVITESYNC_NOTIFY_WEBHOOK" && e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil || ref.Name != "chat-webhook" || ref.Key != "slack" {
		t.Errorf("the webhook URL does not come from the Secret's key: %+v", ref)
	}

	// Credentials in a values URL would be in every pod spec: refused.
	_, err = render(t, ch, map[string]any{"orgs": one, "telemetry": map[string]any{"pushgateway": "https://user:pw@push.example.com"}})
	if err == nil || !strings.Contains(err.Error(), "pushgateway") {
		t.Errorf("a pushgateway URL with credentials rendered (err %v)", err)
	}
}
