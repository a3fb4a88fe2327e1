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

{{/* The address /metrics and the probes listen on: every address of the pod's own network,
or hostNetwork.bindAddress in the node's. */}}
{{- define "attune.bindHost" -}}
{{- if .Values.hostNetwork.enabled -}}{{ .Values.hostNetwork.bindAddress }}{{- else -}}0.0.0.0{{- end -}}
{{- end -}}

{{/* The kubelet probes the pod IP unless told otherwise: in the node's network, a listener
bound to one address is probed there. */}}
{{- define "attune.probeHost" -}}
{{- $host := include "attune.bindHost" . -}}
{{- if ne $host "0.0.0.0" -}}, host: {{ $host }}{{- end -}}
{{- end -}}
