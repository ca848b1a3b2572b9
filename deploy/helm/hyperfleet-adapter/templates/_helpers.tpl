{{/* Names ---------------------------------------------------------------------------------- */}}

{{- define "hyperfleet-adapter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hyperfleet-adapter.fullname" -}}
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

{{/* Cluster-scoped objects carry the namespace so two releases of the same name do not clash. */}}
{{- define "hyperfleet-adapter.clusterScopedName" -}}
{{- printf "%s-%s" (include "hyperfleet-adapter.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hyperfleet-adapter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hyperfleet-adapter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hyperfleet-adapter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "hyperfleet-adapter.labels" -}}
helm.sh/chart: {{ include "hyperfleet-adapter.chart" . }}
{{ include "hyperfleet-adapter.selectorLabels" . }}
app.kubernetes.io/version: {{ default .Chart.AppVersion .Values.image.tag | toString | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "hyperfleet-adapter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hyperfleet-adapter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hyperfleet-adapter.adapterConfigMapName" -}}
{{- default (printf "%s-config" (include "hyperfleet-adapter.fullname" .)) .Values.adapterConfig.configMapName }}
{{- end }}

{{- define "hyperfleet-adapter.taskConfigMapName" -}}
{{- default (printf "%s-task" (include "hyperfleet-adapter.fullname" .)) .Values.adapterTaskConfig.configMapName }}
{{- end }}

{{- define "hyperfleet-adapter.brokerConfigMapName" -}}
{{- default (printf "%s-broker" (include "hyperfleet-adapter.fullname" .)) .Values.broker.configMapName }}
{{- end }}

{{- define "hyperfleet-adapter.image" -}}
{{- printf "%s/%s:%s" (trim (toString .Values.image.registry)) (trim (toString .Values.image.repository)) (trim (toString .Values.image.tag)) }}
{{- end }}

{{/* The API group of an rbac.resources entry. */}}
{{- define "hyperfleet-adapter.apiGroup" -}}
{{- $base := splitList "/" . | first }}
{{- if has $base (list "deployments" "statefulsets" "daemonsets" "replicasets") }}apps
{{- else if has $base (list "jobs" "cronjobs") }}batch
{{- else if has $base (list "roles" "rolebindings" "clusterroles" "clusterrolebindings") }}rbac.authorization.k8s.io
{{- end }}
{{- end }}

{{/* The broker type, required whenever the chart generates broker.yaml. */}}
{{- define "hyperfleet-adapter.brokerType" -}}
{{- required "broker.type must be set to one of: googlepubsub, rabbitmq" .Values.broker.type }}
{{- end }}

{{/* Validation --------------------------------------------------------------------------- */}}

{{- define "hyperfleet-adapter.validate" -}}
{{- include "hyperfleet-adapter.validateImage" . }}
{{- include "hyperfleet-adapter.validateAuth" . }}
{{- include "hyperfleet-adapter.validateRenamedKeys" . }}
{{- include "hyperfleet-adapter.validateBroker" . }}
{{- include "hyperfleet-adapter.validateAdapterConfig" . }}
{{- include "hyperfleet-adapter.validateTaskConfig" . }}
{{- end }}

{{/* Blank, whitespace or the CHANGE_ME placeholder count as unset. */}}
{{- define "hyperfleet-adapter.unset" -}}
{{- $v := trim (toString (default "" .)) }}
{{- if or (eq $v "") (eq $v "CHANGE_ME") }}true{{ end }}
{{- end }}

{{- define "hyperfleet-adapter.validateImage" -}}
{{- $image := .Values.image }}
{{- if include "hyperfleet-adapter.unset" $image.registry }}
{{- fail "image.registry must be set (e.g. --set image.registry=quay.io)" }}
{{- end }}
{{- if include "hyperfleet-adapter.unset" $image.repository }}
{{- fail "image.repository must be set (e.g. --set image.repository=openshift-hyperfleet/hyperfleet-adapter)" }}
{{- end }}
{{- if include "hyperfleet-adapter.unset" $image.tag }}
{{- fail "image.tag must be set (e.g. --set image.tag=abc1234)" }}
{{- end }}
{{- end }}

{{- define "hyperfleet-adapter.renamed" -}}
{{- fail (printf "%s has been renamed to %s (camelCase). Please update your values." (index . 0) (index . 1)) }}
{{- end }}

{{- define "hyperfleet-adapter.validateRenamedKeys" -}}
{{- $pubsub := .Values.broker.googlepubsub | default dict }}
{{- range $old, $new := dict "project_id" "projectId" "subscription_id" "subscriptionId" "dead_letter_topic" "deadLetterTopic" "create_topic_if_missing" "createTopicIfMissing" "create_subscription_if_missing" "createSubscriptionIfMissing" "message_retention_duration" "messageRetentionDuration" "expiration_ttl" "expirationTTL" }}
{{- if hasKey $pubsub $old }}
{{- include "hyperfleet-adapter.renamed" (list (printf "broker.googlepubsub.%s" $old) (printf "broker.googlepubsub.%s" $new)) }}
{{- end }}
{{- end }}
{{- $rabbit := .Values.broker.rabbitmq | default dict }}
{{- if hasKey $rabbit "exchange_type" }}
{{- include "hyperfleet-adapter.renamed" (list "broker.rabbitmq.exchange_type" "broker.rabbitmq.exchangeType") }}
{{- end }}
{{- if hasKey .Values.adapterConfig "hyperfleet_api" }}
{{- include "hyperfleet-adapter.renamed" (list "adapterConfig.hyperfleet_api" "adapterConfig.hyperfleetApi") }}
{{- end }}
{{- $api := .Values.adapterConfig.hyperfleetApi | default dict }}
{{- if hasKey $api "base_url" }}
{{- include "hyperfleet-adapter.renamed" (list "adapterConfig.hyperfleetApi.base_url" "adapterConfig.hyperfleetApi.baseUrl") }}
{{- end }}
{{- if hasKey .Values "serviceMonitor" }}
{{- fail "serviceMonitor has moved to monitoring.serviceMonitor. Please update your values (e.g. monitoring.serviceMonitor.enabled)." }}
{{- end }}
{{- if hasKey .Values "tracing" }}
{{- fail "tracing has moved to monitoring.tracing. Please update your values (e.g. monitoring.tracing.enabled)." }}
{{- end }}
{{- end }}

{{- define "hyperfleet-adapter.validateAdapterConfig" -}}
{{- $c := .Values.adapterConfig }}
{{- include "hyperfleet-adapter.validateConfigMapSource" (list $c "adapterConfig") }}
{{- if $c.create }}
{{- if not (or $c.yaml $c.files) }}
{{- fail "When .Values.adapterConfig.create is true, either .Values.adapterConfig.yaml or .Values.adapterConfig.files must be provided." }}
{{- end }}
{{- include "hyperfleet-adapter.validateChartFiles" (list $ "adapterConfig" $c.files) }}
{{- end }}
{{- end }}

{{- define "hyperfleet-adapter.validateTaskConfig" -}}
{{- $c := .Values.adapterTaskConfig }}
{{- include "hyperfleet-adapter.validateConfigMapSource" (list $c "adapterTaskConfig") }}
{{- if $c.create }}
{{- if and $c.yaml (or $c.files $c.external) }}
{{- fail "Cannot set .Values.adapterTaskConfig.yaml with .Values.adapterTaskConfig.files or .Values.adapterTaskConfig.external - these modes are mutually exclusive." }}
{{- end }}
{{- if not (or $c.yaml $c.files $c.external) }}
{{- fail "When .Values.adapterTaskConfig.create is true, at least one of .Values.adapterTaskConfig.yaml, .Values.adapterTaskConfig.files, or .Values.adapterTaskConfig.external must be provided." }}
{{- end }}
{{- include "hyperfleet-adapter.validateChartFiles" (list $ "adapterTaskConfig" $c.files) }}
{{- range $name, $content := ($c.external | default dict) }}
{{- $key := printf "%s.yaml" $name }}
{{- if hasKey ($c.files | default dict) $key }}
{{- fail (printf "ConfigMap key collision: '%s' exists in both adapterTaskConfig.external and adapterTaskConfig.files" $key) }}
{{- end }}
{{- if not (trim (toString $content)) }}
{{- fail (printf "adapterTaskConfig.external.%s is empty" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The create / configMapName choice every chart ConfigMap offers. Args: values section, its key. */}}
{{- define "hyperfleet-adapter.validateConfigMapSource" -}}
{{- $c := index . 0 }}
{{- $section := index . 1 }}
{{- $name := trim (toString (default "" $c.configMapName)) }}
{{- if not (or $c.create $name) }}
{{- if hasKey $c "configMapName" }}
{{- fail (printf "If .Values.%s.configMapName is specified, it must have a non-blank value." $section) }}
{{- end }}
{{- fail (printf "Either .Values.%s.create must be true or a non-blank .Values.%s.configMapName must be provided." $section $section) }}
{{- end }}
{{- end }}

{{/* The data of a config ConfigMap: `yaml` (a string, or an object written as YAML) under one
     key, or else each `files` entry and each `external` entry (`<name>.yaml`). `|2` keeps a
     first line that starts with spaces. Args: root, the key for `yaml`, values section. */}}
{{- define "hyperfleet-adapter.configData" -}}
{{- $root := index . 0 }}
{{- $c := index . 2 }}
{{- if $c.yaml }}
{{ index . 1 }}: |2
  {{- (kindIs "string" $c.yaml | ternary $c.yaml (toYaml $c.yaml)) | nindent 2 }}
{{- else }}
{{- range $key, $path := $c.files }}
{{ $key }}: |2
  {{- $root.Files.Get $path | nindent 2 }}
{{- end }}
{{- range $name, $content := $c.external }}
{{ printf "%s.yaml" $name }}: |2
  {{- toString $content | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Every `files` entry must name a non-empty file inside the chart. Args: root, values key, files map. */}}
{{- define "hyperfleet-adapter.validateChartFiles" -}}
{{- $root := index . 0 }}
{{- $section := index . 1 }}
{{- range $key, $path := (index . 2 | default dict) }}
{{- if not (trim ($root.Files.Get $path)) }}
{{- fail (printf "%s.files.%s: file not found or empty at path '%s'" $section $key $path) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hyperfleet-adapter.validateBroker" -}}
{{- $b := .Values.broker }}
{{- include "hyperfleet-adapter.validateConfigMapSource" (list $b "broker") }}
{{- if $b.create }}
{{- if not $b.yaml }}
{{- $type := include "hyperfleet-adapter.brokerType" . }}
{{- if not (has $type (list "googlepubsub" "rabbitmq")) }}
{{- fail (printf "broker.type must be one of googlepubsub, rabbitmq (got %q)" $type) }}
{{- end }}
{{- if eq $type "googlepubsub" }}
{{- $p := $b.googlepubsub | default dict }}
{{- with $p.messageRetentionDuration }}
{{- if not (regexMatch "^[1-9][0-9]{0,9}[smhd]$" (toString .)) }}
{{- fail "broker.googlepubsub.messageRetentionDuration must be a duration like \"1d\", \"12h\", \"30m\", \"604800s\"" }}
{{- end }}
{{- $s := include "hyperfleet-adapter.durationSeconds" (toString .) | atoi }}
{{- if or (lt $s 600) (gt $s 2678400) }}
{{- fail "broker.googlepubsub.messageRetentionDuration must be between \"10m\" and \"31d\" (Google Pub/Sub limits)" }}
{{- end }}
{{- end }}
{{- if hasKey $p "expirationTTL" }}
{{- with toString $p.expirationTTL | trim }}
{{- if not (regexMatch "^(0|[1-9][0-9]{0,9}[smhd])$" .) }}
{{- fail "broker.googlepubsub.expirationTTL must be \"0\" (never expire) or a duration like \"1d\", \"12h\", \"30m\", \"604800s\"" }}
{{- end }}
{{- if ne . "0" }}
{{- if lt (include "hyperfleet-adapter.durationSeconds" . | atoi) 86400 }}
{{- fail "broker.googlepubsub.expirationTTL must be \"0\" (never expire) or at least \"1d\" (Google Pub/Sub minimum)" }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- else }}
{{- $r := $b.rabbitmq | default dict }}
{{- if not $r.url }}
{{- fail "broker.rabbitmq.url is required when broker type is rabbitmq" }}
{{- end }}
{{- if not $r.exchange }}
{{- fail "broker.rabbitmq.exchange is required when broker type is rabbitmq" }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* "90m" -> "5400". The regex checks above bound the number to ten digits. */}}
{{- define "hyperfleet-adapter.durationSeconds" -}}
{{- $n := trimSuffix "s" (trimSuffix "m" (trimSuffix "h" (trimSuffix "d" .))) | int64 }}
{{- $unit := substr (int (sub (len .) 1)) (len .) . }}
{{- $mult := get (dict "s" 1 "m" 60 "h" 3600 "d" 86400) $unit | int64 }}
{{- mul $n $mult }}
{{- end }}

{{- define "hyperfleet-adapter.validateAuth" -}}
{{- $auth := .Values.adapterConfig.hyperfleetApi.auth | default dict }}
{{- if $auth.enabled }}
{{- $path := toString (default "" $auth.tokenPath) }}
{{- if not (hasPrefix "/" $path) }}
{{- fail "adapterConfig.hyperfleetApi.auth.tokenPath must be an absolute path (start with /)" }}
{{- end }}
{{- if or (hasSuffix "/" $path) (eq (base $path) "/") }}
{{- fail "adapterConfig.hyperfleetApi.auth.tokenPath must include a filename, not just a directory" }}
{{- end }}
{{- $dir := dir $path }}
{{- range $taken := list "/" "/etc" "/etc/adapter" "/etc/broker" "/app" }}
{{- if eq $dir $taken }}
{{- fail (printf "adapterConfig.hyperfleetApi.auth.tokenPath must be in a directory of its own: the token volume is mounted at %s, which would hide other files (e.g. /var/run/secrets/hyperfleet/token)" $dir) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Probes: httpGet (default path, port http), tcpSocket or exec, plus the timing fields.
     Args: probe values, default path. */}}
{{- define "hyperfleet-adapter.probe" -}}
{{- $p := index . 0 }}
{{- $path := index . 1 }}
{{- if $p.tcpSocket }}
tcpSocket:
  port: {{ $p.tcpSocket.port }}
{{- else if $p.exec }}
exec:
  {{- toYaml $p.exec | nindent 2 }}
{{- else }}
{{- $http := $p.httpGet | default dict }}
httpGet:
  path: {{ default $path $http.path }}
  port: {{ default "http" $http.port }}
  {{- with $http.scheme }}
  scheme: {{ . }}
  {{- end }}
{{- end }}
{{- range $field := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $p $field }}
{{ $field }}: {{ index $p $field }}
{{- end }}
{{- end }}
{{- end }}
