{{/* The image reference: repository:tag, or repository@digest when a digest is pinned. */}}
{{- define "invitesync.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Labels of every object of one org; called with (dict "root" $ "org" $org). */}}
{{- define "invitesync.labels" -}}
app.kubernetes.io/name: invitesync
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
invitesync.io/org: {{ .org.name }}
invitesync.io/provider: {{ .org.provider }}
{{- end -}}

{{/* A memory quantity in MiB (Mi or Gi only), for GOMEMLIMIT. */}}
{{- define "invitesync.mebibytes" -}}
{{- $q := toString . -}}
{{- if hasSuffix "Gi" $q -}}
{{ mul (trimSuffix "Gi" $q | atoi) 1024 }}
{{- else if hasSuffix "Mi" $q -}}
{{ trimSuffix "Mi" $q | atoi }}
{{- else -}}
{{ fail (printf "memory limit %q: give it in Mi or Gi (GOMEMLIMIT is derived from it)" $q) }}
{{- end -}}
{{- end -}}
