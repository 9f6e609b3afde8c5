{{/* Chart name, truncated to the 63 characters Kubernetes allows in names and labels. */}}
{{- define "selectune.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name alone when it already contains the chart name. */}}
{{- define "selectune.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "selectune.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "selectune.labels" -}}
helm.sh/chart: {{ include "selectune.chart" . }}
{{ include "selectune.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels selecting all pods of the release (API and workers): the metrics Service uses these. */}}
{{- define "selectune.selectorLabels" -}}
app.kubernetes.io/name: {{ include "selectune.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "selectune.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "selectune.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the database password and API keys: the chart's own, or existingSecret. */}}
{{- define "selectune.secretName" -}}
{{- default (include "selectune.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "selectune.modelClaimName" -}}
{{- default (printf "%s-models" (include "selectune.fullname" .)) .Values.modelCache.existingClaim }}
{{- end }}

{{- define "selectune.apiImage" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Worker image: workers.image.tag, else the API tag, with "-cu128" (the Dockerfile's CUDA flavor) on GPUs. */}}
{{- define "selectune.workerImage" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.workers.image.tag }}
{{- $tag = .Values.workers.image.tag }}
{{- else if .Values.gpu.enabled }}
{{- $tag = printf "%s-cu128" $tag }}
{{- end }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}

{{/* SELECTUNE_DEVICES of a worker pod: gpu0..gpuN-1 on GPUs, else cpu. */}}
{{- define "selectune.workerDevices" -}}
{{- if .Values.gpu.enabled }}
{{- $devices := list }}
{{- range $i := until (int .Values.gpu.count) }}
{{- $devices = append $devices (printf "gpu%d" $i) }}
{{- end }}
{{- join "," $devices }}
{{- else }}
{{- print "cpu" }}
{{- end }}
{{- end }}

{{/*
The container spec shared by API and worker pods; called with (dict "root" $ "component" "api"|"worker").
*/}}
{{- define "selectune.container" -}}
{{- $root := .root }}
{{- $worker := eq .component "worker" -}}
- name: selectune
  image: {{ ternary (include "selectune.workerImage" $root) (include "selectune.apiImage" $root) $worker | quote }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args: ["serve"]
  ports:
    - name: http
      containerPort: {{ $root.Values.containerPort }}
      protocol: TCP
  envFrom:
    - configMapRef:
        name: {{ include "selectune.fullname" $root }}
  env:
    - name: SELECTUNE_WORKERS_ENABLED
      value: {{ ternary "true" "false" $worker | quote }}
    - name: SELECTUNE_DEVICES
      value: {{ ternary (include "selectune.workerDevices" $root) "cpu" $worker | quote }}
    - name: SPRING_DATASOURCE_PASSWORD
      valueFrom:
        secretKeyRef:
          name: {{ include "selectune.secretName" $root }}
          key: {{ $root.Values.secretKeys.databasePassword }}
    - name: SELECTUNE_API_KEYS
      valueFrom:
        secretKeyRef:
          name: {{ include "selectune.secretName" $root }}
          key: {{ $root.Values.secretKeys.apiKeys }}
    {{- range $name, $value := $root.Values.extraEnv }}
    - name: {{ $name }}
      value: {{ $value | quote }}
    {{- end }}
  startupProbe:
    httpGet:
      path: {{ $root.Values.probes.livenessPath }}
      port: http
    periodSeconds: {{ $root.Values.probes.periodSeconds }}
    timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
    failureThreshold: {{ $root.Values.probes.startupFailureThreshold }}
  livenessProbe:
    httpGet:
      path: {{ $root.Values.probes.livenessPath }}
      port: http
    periodSeconds: {{ $root.Values.probes.periodSeconds }}
    timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: {{ $root.Values.probes.readinessPath }}
      port: http
    periodSeconds: {{ $root.Values.probes.periodSeconds }}
    timeoutSeconds: {{ $root.Values.probes.timeoutSeconds }}
    failureThreshold: 3
  securityContext:
    {{- toYaml $root.Values.securityContext | nindent 4 }}
  resources:
    {{- if $worker }}
    {{- $resources := deepCopy $root.Values.workers.resources }}
    {{- if $root.Values.gpu.enabled }}
    {{- $gpus := dict $root.Values.gpu.resourceName (int $root.Values.gpu.count) }}
    {{- $_ := set $resources "limits" (merge (default dict $resources.limits) $gpus) }}
    {{- $_ := set $resources "requests" (merge (default dict $resources.requests) $gpus) }}
    {{- end }}
    {{- toYaml $resources | nindent 4 }}
    {{- else }}
    {{- toYaml $root.Values.api.resources | nindent 4 }}
    {{- end }}
  volumeMounts:
    - name: data
      mountPath: /var/lib/selectune/data
    - name: djl-cache
      mountPath: /var/cache/djl
    - name: tmp
      mountPath: /tmp
    {{- if $root.Values.modelCache.enabled }}
    - name: models
      mountPath: {{ $root.Values.modelCache.mountPath }}
      readOnly: {{ $root.Values.modelCache.readOnly }}
    {{- end }}
{{- end }}

{{/* Pod volumes shared by API and worker pods. */}}
{{- define "selectune.volumes" -}}
- name: data
  emptyDir: {}
- name: djl-cache
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- if .Values.modelCache.enabled }}
- name: models
  persistentVolumeClaim:
    claimName: {{ include "selectune.modelClaimName" . }}
    readOnly: {{ .Values.modelCache.readOnly }}
{{- end }}
{{- end }}
