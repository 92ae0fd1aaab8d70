package k8scheck

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
)

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name, doc, wantErr string
		wantKinds          []string
	}{
		{"two documents and a comment-only one", "# c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n", "", []string{"ConfigMap", "Secret"}},
		{"unknown field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndatta: {}\n", `unknown field "datta"`, nil},
		{"misplaced field", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: a}\nspec: {schedule: '* * * * *', restartPolicy: Never}\n", `unknown field "restartPolicy"`, nil},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: 1}\ndata: {k: 2}\n", `key "data" already set`, nil},
		{"unexpected kind", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n", "unexpected object apps/v1 Deployment", nil},
		{"wrong apiVersion for the kind", "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: a}\n", "unexpected object", nil},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "no metadata.name", nil},
		{"a name Kubernetes refuses", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n", "Bad_Name", nil},
		{"a quantity that does not parse", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: a}\nspec: {resources: {requests: {storage: lots}}}\n", "quantities must match", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.Kind)
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKinds, ",") {
				t.Errorf("kinds %v, want %v", kinds, tt.wantKinds)
			}
		})
	}
}

const goodCronJob = `apiVersion: batch/v1
kind: CronJob
metadata: {name: invitesync}
spec:
  schedule: "17 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          automountServiceAccountToken: false
          securityContext: {runAsNonRoot: true}
          containers:
            - name: invitesync
              image: ghcr.io/invitesync/invitesync:v1.0.0
              args: [apply, --yes, --ledger=/data/ledger.jsonl, --report=/data/reports/latest, --log-format=json, --no-progress]
              envFrom: [{secretRef: {name: creds}}]
              resources:
                requests: {memory: 256Mi}
                limits: {cpu: "1", memory: 512Mi}
              securityContext:
                allowPrivilegeEscalation: false
                readOnlyRootFilesystem: true
                capabilities: {drop: [ALL]}
              volumeMounts:
                - {name: data, mountPath: /data}
                - {name: tmp, mountPath: /tmp}
          volumes:
            - {name: data, persistentVolumeClaim: {claimName: invitesync-data}}
            - {name: tmp, emptyDir: {}}
`

func TestCheckCronJob(t *testing.T) {
	tests := []struct {
		name      string
		from, to  string // a replacement in goodCronJob
		wantError string // "" when the CronJob must pass
	}{
		{"the good one", "", "", ""},
		{"overlapping runs", "Forbid", "Allow", "concurrencyPolicy"},
		{"retried runs", "backoffLimit: 0", "backoffLimit: 6", "backoffLimit"},
		{"latest image", "invitesync:v1.0.0", "invitesync:latest", "pinned release"},
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"root allowed", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		{"too little memory", "memory: 512Mi", "memory: 128Mi", "memory limit"},
		{"ledger on an emptyDir", "{name: data, persistentVolumeClaim: {claimName: invitesync-data}}", "{name: data, emptyDir: {}}", "PersistentVolumeClaim"},
		{"ledger on the read-only root", "--ledger=/data/ledger.jsonl", "--ledger=/ledger.jsonl", "no writable volume"},
		{"no /tmp for the lock", "{name: tmp, mountPath: /tmp}", "{name: tmp, mountPath: /scratch}", "lock directory"},
		{"a literal credential", "envFrom: [{secretRef: {name: creds}}]", "env: [{name: CONFLUENT_CLOUD_API_SECRET, value: x}]", "literal value"},
		{"another claim than the rendered one", "claimName: invitesync-data", "claimName: other", "not among"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := goodCronJob
			if tt.from != "" {
				if !strings.Contains(doc, tt.from) {
					t.Fatalf("%q not in the CronJob", tt.from)
				}
				doc = strings.Replace(doc, tt.from, tt.to, 1)
			}
			objs, err := Decode([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			errs := CheckCronJob(Of[batchv1.CronJob](objs)[0], map[string]bool{"invitesync-data": true})
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			got := strings.Join(all, "\n")
			if tt.wantError == "" && got != "" {
				t.Errorf("unexpected problems:\n%s", got)
			}
			if tt.wantError != "" && !strings.Contains(got, tt.wantError) {
				t.Errorf("problems %q lack %q", got, tt.wantError)
			}
		})
	}
}
