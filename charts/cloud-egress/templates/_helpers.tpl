{{/*
Names, labels and small pieces shared by the templates.
*/}}

{{- define "cloud-egress.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cloud-egress.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "cloud-egress.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "cloud-egress.labels" -}}
helm.sh/chart: {{ include "cloud-egress.chart" . }}
app.kubernetes.io/name: {{ include "cloud-egress.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloud-egress
{{- end -}}

{{/* Selector labels of a component: include with (dict "root" $ "component" "controller"). */}}
{{- define "cloud-egress.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cloud-egress.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cloud-egress.componentLabels" -}}
{{ include "cloud-egress.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cloud-egress.controller.fullname" -}}
{{- printf "%s-controller" (include "cloud-egress.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cloud-egress.agent.fullname" -}}
{{- printf "%s-agent" (include "cloud-egress.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cloud-egress.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create -}}
{{- default (include "cloud-egress.controller.fullname" .) .Values.controller.serviceAccount.name -}}
{{- else -}}
{{- required "controller.serviceAccount.name is required when controller.serviceAccount.create is false" .Values.controller.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cloud-egress.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (include "cloud-egress.agent.fullname" .) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- required "agent.serviceAccount.name is required when agent.serviceAccount.create is false" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cloud-egress.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "cloud-egress.leaseName" -}}
{{- default (include "cloud-egress.controller.fullname" .) .Values.controller.leaderElection.name -}}
{{- end -}}

{{/* The downward-API environment both components read (POD_NAME is the lease identity, NODE_NAME the agent's node). */}}
{{- define "cloud-egress.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end -}}

{{/* Environment of the agent: NODE_NAME tells it which node's pods to watch. */}}
{{- define "cloud-egress.agentEnv" -}}
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: NODE_IP
  valueFrom:
    fieldRef:
      fieldPath: status.hostIP
{{ include "cloud-egress.podEnv" . }}
{{- end -}}

{{/*
The agent runs as root in the host's network namespace with exactly two capabilities: NET_ADMIN (nftables,
links, addresses, rules, routes) and NET_RAW (gratuitous ARP). Nothing else, no privilege escalation, a
read-only root file system.
*/}}
{{- define "cloud-egress.agentSecurityContext" -}}
runAsUser: 0
runAsGroup: 0
runAsNonRoot: false
{{- if .Values.agent.privileged }}
privileged: true
{{- else }}
privileged: false
allowPrivilegeEscalation: false
{{- end }}
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
  add: ["NET_ADMIN", "NET_RAW"]
{{- end -}}

{{- define "cloud-egress.agentVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* A duration value as a flag: strings ("200ms") as they are, numbers as whole milliseconds (never 1e+06). */}}
{{- define "cloud-egress.duration" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ printf "%dms" (int64 .) }}{{- end -}}
{{- end -}}
