{{- define "attune.fullname" -}}
{{- printf "%s-controller" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "attune.labels" -}}
app.kubernetes.io/name: attune
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "attune.selector" -}}
app.kubernetes.io/name: attune
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The series of this release's controller, as the ServiceMonitor's scrape labels them. */}}
{{- define "attune.metricsSelector" -}}
job="{{ include "attune.fullname" . }}-metrics",namespace="{{ .Release.Namespace }}"
{{- end -}}
