// Package k8scheck decodes Kubernetes manifests strictly into the k8s.io/api
// types and checks the settings every invitesync workload must keep. The
// deployment samples' and the Helm chart's tests share it, so a field name
// typo or a misplaced key fails a test instead of being dropped by kubectl.
package k8scheck

import (
	"fmt"
	"regexp"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest.
type Object struct {
	Kind, Name string
	Value      any // *batchv1.CronJob, *corev1.Secret, ...
}

// docSep is a YAML document separator line.
var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// Decode splits a multi-document YAML stream and decodes each non-empty
// document strictly (unknown or duplicate fields are errors) into its
// k8s.io/api type, chosen by apiVersion and kind.
func Decode(stream []byte) ([]Object, error) {
	var out []Object
	for i, doc := range docSep.Split(string(stream), -1) {
		if isBlank(doc) {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		v, err := newObject(head.APIVersion, head.Kind)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i+1, head.Kind, err)
		}
		name := objectName(v)
		if name == "" {
			return nil, fmt.Errorf("document %d (%s): no metadata.name", i+1, head.Kind)
		}
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return nil, fmt.Errorf("%s %q: %s", head.Kind, name, strings.Join(errs, "; "))
		}
		out = append(out, Object{Kind: head.Kind, Name: name, Value: v})
	}
	return out, nil
}

func isBlank(doc string) bool {
	for _, l := range strings.Split(doc, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "batch/v1/CronJob":
		return &batchv1.CronJob{}, nil
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	}
	return nil, fmt.Errorf("unexpected object %s %s", apiVersion, kind)
}

func objectName(v any) string {
	switch o := v.(type) {
	case *batchv1.CronJob:
		return o.Name
	case *corev1.PersistentVolumeClaim:
		return o.Name
	case *corev1.Secret:
		return o.Name
	case *corev1.ConfigMap:
		return o.Name
	case *corev1.ServiceAccount:
		return o.Name
	}
	return ""
}

// Of returns the objects of type T.
func Of[T any](objs []Object) []*T {
	var out []*T
	for _, o := range objs {
		if v, ok := o.Value.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

// imageRef is a pullable reference pinned to a release tag (optionally with a
// digest): lower-case registry/path, vMAJOR.MINOR.PATCH, never latest.
var imageRef = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+:v[0-9]+\.[0-9]+\.[0-9]+(@sha256:[a-f0-9]{64})?$`)

// fiveFields is a standard cron schedule (the CronJob controller's syntax
// also takes @hourly and friends, which the samples do not use).
var fiveFields = regexp.MustCompile(`^(\S+\s+){4}\S+$`)

// MaxCronJobName: the controller appends an 11-character suffix to the Job
// name, which must stay a 63-character label.
const MaxCronJobName = 52

// CheckCronJob returns every way cj departs from what a scheduled invitesync
// run needs: no overlap, no retry loop, credentials from a Secret only,
// non-root on a read-only root filesystem, the ledger on a PVC, memory that
// fits a large roster, and a pinned image whose entrypoint is invitesync.
func CheckCronJob(cj *batchv1.CronJob, pvcs map[string]bool) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(cj.Name+": "+format, a...)) }
	if len(cj.Name) > MaxCronJobName {
		bad("name is %d characters; a CronJob name must be at most %d", len(cj.Name), MaxCronJobName)
	}
	if !fiveFields.MatchString(strings.TrimSpace(cj.Spec.Schedule)) {
		bad("schedule %q is not five cron fields", cj.Spec.Schedule)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		bad("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	js := cj.Spec.JobTemplate.Spec
	if js.BackoffLimit == nil || *js.BackoffLimit != 0 {
		bad("backoffLimit must be 0: a failed run is looked at, not repeated")
	}
	pod := js.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		bad("restartPolicy %q, want Never", pod.RestartPolicy)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		bad("automountServiceAccountToken must be false: the run never calls the Kubernetes API")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		bad("pod securityContext.runAsNonRoot must be true")
	}
	if len(pod.Containers) != 1 {
		bad("want one container, got %d", len(pod.Containers))
		return errs
	}
	c := pod.Containers[0]
	if !imageRef.MatchString(c.Image) {
		bad("image %q is not a pinned release reference (registry/path:vX.Y.Z)", c.Image)
	}
	if len(c.Command) > 0 && c.Command[0] != "/usr/local/bin/invitesync" {
		bad("command %v does not run the image's /usr/local/bin/invitesync", c.Command)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		bad("container has no securityContext")
	default:
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			bad("readOnlyRootFilesystem must be true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad("allowPrivilegeEscalation must be false")
		}
		if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			bad("capabilities must drop ALL")
		}
	}
	memLimit := c.Resources.Limits[corev1.ResourceMemory]
	if memLimit.Cmp(resource.MustParse("384Mi")) < 0 || memLimit.Cmp(resource.MustParse("4Gi")) > 0 {
		bad("memory limit %s: a 100k-person run peaks near 350Mi, want 384Mi..4Gi", memLimit.String())
	}
	if memReq := c.Resources.Requests[corev1.ResourceMemory]; memReq.IsZero() || memReq.Cmp(memLimit) > 0 {
		bad("memory request %s must be set and within the limit %s", memReq.String(), memLimit.String())
	}
	if _, ok := c.Resources.Limits[corev1.ResourceCPU]; !ok {
		bad("no cpu limit")
	}
	secretFrom := false
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Name != "" {
			secretFrom = true
		}
	}
	secretish := regexp.MustCompile(`(?i)secret|token|password|api_?key`)
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secretFrom = true
			continue
		}
		if secretish.MatchString(e.Name) && e.Value != "" {
			bad("env %s holds a literal value: credentials come from a Secret", e.Name)
		}
	}
	if !secretFrom {
		bad("credentials must come from a Secret (envFrom secretRef or secretKeyRef)")
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"--yes", "--ledger=", "--report=", "--log-format=json", "--no-progress"} {
		if !strings.Contains(args, want) {
			bad("args %q lack %s", args, want)
		}
	}
	// Each writable path must be a volume: the root filesystem is read-only.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
		if _, ok := mounts[v.Name]; !ok {
			bad("volume %s is mounted nowhere", v.Name)
		}
	}
	writable := func(path string) (corev1.Volume, bool) {
		for name, m := range mounts {
			if !m.ReadOnly && (path == m.MountPath || strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")) {
				v, ok := volumes[name]
				return v, ok
			}
		}
		return corev1.Volume{}, false
	}
	for _, a := range c.Args {
		if flag, val, ok := strings.Cut(a, "="); ok && (flag == "--ledger" || flag == "--report") {
			v, ok := writable(val)
			if !ok {
				bad("%s %s is on no writable volume (the root filesystem is read-only)", flag, val)
				continue
			}
			if flag == "--ledger" {
				if v.PersistentVolumeClaim == nil {
					bad("the ledger %s must be on a PersistentVolumeClaim: it is how the next run knows its invitations", val)
				} else if pvcs != nil && !pvcs[v.PersistentVolumeClaim.ClaimName] {
					bad("the ledger's claim %s is not among the rendered PersistentVolumeClaims", v.PersistentVolumeClaim.ClaimName)
				}
			}
		}
	}
	// The run lock lives under $INVITESYNC_LOCK_DIR, else the temporary directory.
	lockDir := "/tmp"
	for _, e := range c.Env {
		if e.Name == "INVITESYNC_LOCK_DIR" {
			lockDir = e.Value
		}
	}
	if _, ok := writable(lockDir); !ok {
		bad("the lock directory %s is on no writable volume", lockDir)
	}
	return errs
}

// CheckPVC: a claim the ledger can live on.
func CheckPVC(p *corev1.PersistentVolumeClaim) error {
	if len(p.Spec.AccessModes) == 0 {
		return fmt.Errorf("%s: no access mode", p.Name)
	}
	if q := p.Spec.Resources.Requests[corev1.ResourceStorage]; q.IsZero() {
		return fmt.Errorf("%s: no storage request", p.Name)
	}
	return nil
}
