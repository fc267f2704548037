{{/*
Names and labels shared by every object of the chart.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "saas-crm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: fullnameOverride, or "<release>-<chart>" (just the release name when it
already contains the chart's). Cut to 63 characters, the longest DNS label Kubernetes accepts;
components append at most "-scheduler" and stay within it by cutting the base to 52.
*/}}
{{- define "saas-crm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "saas-crm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The labels that select a release's pods (never change them: selectors are immutable). */}}
{{- define "saas-crm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "saas-crm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The standard labels of every object. */}}
{{- define "saas-crm.labels" -}}
helm.sh/chart: {{ include "saas-crm.chart" . }}
{{ include "saas-crm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: saas-crm
{{- end }}

{{/* Labels of one component: include with (dict "root" $ "component" "api"). */}}
{{- define "saas-crm.componentLabels" -}}
{{ include "saas-crm.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Selector of one component: include with (dict "root" $ "component" "api"). */}}
{{- define "saas-crm.componentSelector" -}}
{{ include "saas-crm.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The service account the pods run as. */}}
{{- define "saas-crm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "saas-crm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image: repository:tag, the tag defaulting to the chart's appVersion. */}}
{{- define "saas-crm.image" -}}
{{- $repository := required "image.repository is required" .Values.image.repository }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}

{{/* The Secret holding the credentials: secrets.existingSecret, else one named after the release. */}}
{{- define "saas-crm.secretName" -}}
{{- default (include "saas-crm.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
Settings names that hold credentials: they come from the Secret by reference, never from the
ConfigMap. The chart refuses a values file that puts one under `settings`.
*/}}
{{- define "saas-crm.checkSettings" -}}
{{- $secretNames := concat (keys .Values.secrets.keys) (keys .Values.secrets.optionalKeys) }}
{{- range $name, $value := .Values.settings }}
{{- if or (has $name $secretNames) (regexMatch "(?i)(PASSWORD|SECRET|TOKEN|_KEY|_URL)$" $name) }}
{{- fail (printf "settings.%s holds a credential: put it in the Secret (secrets.existingSecret, secrets.keys) instead of the ConfigMap" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The environment taken from the Secret, by reference: the required keys, then the optional ones. */}}
{{- define "saas-crm.secretEnv" -}}
{{- $secret := include "saas-crm.secretName" .root }}
{{- range $name, $key := .root.Values.secrets.keys }}
{{- if and (eq $name "DATABASE_URL") $.migration }}
{{- $key = default $key $.root.Values.secrets.migrationDatabaseUrlKey }}
{{- end }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- range $name, $key := .root.Values.secrets.optionalKeys }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- end }}

{{/* The environment every process shares, besides the settings and the Secret. */}}
{{- define "saas-crm.processEnv" -}}
- name: SAAS_DATA_DIR
  value: /tmp/saas
- name: HOME
  value: /tmp
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The container security context: non-root, read-only root filesystem, no privilege, no capability. */}}
{{- define "saas-crm.containerSecurityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end }}

{{/* /tmp, the only writable path (the root filesystem is read-only). */}}
{{- define "saas-crm.tmpVolume" -}}
- name: tmp
  emptyDir:
    {{- with .Values.tmpVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
    {{- with .Values.tmpVolume.medium }}
    medium: {{ . }}
    {{- end }}
{{- end }}

{{/* Everything a pod spec shares: account, security, scheduling, volumes. */}}
{{- define "saas-crm.podCommon" -}}
serviceAccountName: {{ include "saas-crm.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
volumes:
  {{- include "saas-crm.tmpVolume" . | nindent 2 }}
{{- end }}

{{/* Pod annotations: the settings' checksum, so that a settings change rolls the pods. */}}
{{- define "saas-crm.podAnnotations" -}}
checksum/settings: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
