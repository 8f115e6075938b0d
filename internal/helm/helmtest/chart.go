// Package helmtest builds Helm charts in tests and serves them from real
// servers on loopback: an OCI registry (go-containerregistry's registry,
// in process) and an HTTP chart repository (index.yaml and archives). The
// charts are the tests' own; AppChart is shaped like app-template
// (controllers, services, routes) so that rendering is exercised on the
// structure most repositories use.
package helmtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Files is a chart's files by path relative to the chart folder.
type Files map[string]string

// Package packs files into a chart archive the way `helm package` lays it
// out: every file under a folder named after the chart. The archive is
// byte-for-byte the same for the same files.
func Package(name string, files Files) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	epoch := time.Unix(0, 0)
	for _, n := range names {
		data := files[n]
		if err := tw.WriteHeader(&tar.Header{
			Name: name + "/" + n, Mode: 0o644, Size: int64(len(data)),
			ModTime: epoch, Typeflag: tar.TypeReg,
		}); err != nil {
			panic(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// ChartYAML is a minimal Chart.yaml.
func ChartYAML(name, version string) string {
	return fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\nappVersion: %q\ntype: application\n", name, version, version)
}

// SimpleChart is a one-template chart: a ConfigMap whose data echoes the
// values it is given, so tests can see values arrive.
func SimpleChart(name, version string) Files {
	return Files{
		"Chart.yaml":  ChartYAML(name, version),
		"values.yaml": "greeting: hello\nreplicas: 1\n",
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  labels:
    helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
data:
  greeting: {{ .Values.greeting | quote }}
  replicas: {{ .Values.replicas | quote }}
  upgrade: {{ .Release.IsUpgrade | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
`,
	}
}

// AppChartOptions shape AppChart.
type AppChartOptions struct {
	// SchemaRef, when set, makes values.schema.json a single $ref to this
	// URL, as app-template publishes its schema.
	SchemaRef string
	// Schema, when set, is values.schema.json itself.
	Schema string
}

// AppChart is a chart shaped like app-template: `controllers` become
// Deployments with their containers, `service` Services selecting a
// controller's pods, `route` Gateway API HTTPRoutes whose backends name a
// service by its key. Written for these tests; it follows app-template's
// value layout, not its templates.
func AppChart(version string, opts AppChartOptions) Files {
	f := Files{
		"Chart.yaml": ChartYAML("app-chart", version),
		"values.yaml": `global:
  nameOverride: ""
controllers: {}
service: {}
route: {}
`,
		"templates/_helpers.tpl": `{{- define "app.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 }}
{{- end -}}

{{- define "app.name" -}}
{{ default .Release.Name .Values.global.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* app.fullname takes (list $root $key $count): the release name alone when
     the map has one entry, otherwise the release name and the key. */}}
{{- define "app.fullname" -}}
{{- $root := index . 0 -}}
{{- $key := index . 1 -}}
{{- $count := index . 2 -}}
{{- if eq (int $count) 1 -}}
{{ include "app.name" $root }}
{{- else -}}
{{ printf "%s-%s" (include "app.name" $root) $key | trunc 63 | trimSuffix "-" }}
{{- end -}}
{{- end -}}

{{- define "app.labels" -}}
helm.sh/chart: {{ include "app.chart" . }}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
`,
		"templates/controllers.yaml": `{{- $root := . -}}
{{- $count := len .Values.controllers -}}
{{- range $key, $ctrl := .Values.controllers }}
{{- if ne (toString $ctrl.enabled) "false" }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" (list $root $key $count) }}
  labels:
    {{- include "app.labels" $root | nindent 4 }}
    app.kubernetes.io/controller: {{ $key }}
spec:
  replicas: {{ default 1 $ctrl.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ include "app.name" $root }}
      app.kubernetes.io/controller: {{ $key }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ include "app.name" $root }}
        app.kubernetes.io/controller: {{ $key }}
    spec:
      containers:
      {{- range $cname, $c := $ctrl.containers }}
        - name: {{ $cname }}
          image: {{ printf "%s:%s" $c.image.repository (toString $c.image.tag) | quote }}
          {{- with $c.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $c.env }}
          env:
            {{- range $name, $value := . }}
            - name: {{ $name }}
              value: {{ $value | toString | quote }}
            {{- end }}
          {{- end }}
      {{- end }}
{{- end }}
{{- end }}
`,
		"templates/services.yaml": `{{- $root := . -}}
{{- $count := len .Values.service -}}
{{- range $key, $svc := .Values.service }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" (list $root $key $count) }}
  labels:
    {{- include "app.labels" $root | nindent 4 }}
spec:
  type: {{ default "ClusterIP" $svc.type }}
  selector:
    app.kubernetes.io/name: {{ include "app.name" $root }}
    app.kubernetes.io/controller: {{ required (printf "service.%s.controller is required" $key) $svc.controller }}
  ports:
  {{- range $pname, $p := $svc.ports }}
    - name: {{ $pname }}
      port: {{ $p.port }}
      targetPort: {{ default $p.port $p.targetPort }}
      protocol: {{ default "TCP" $p.protocol }}
  {{- end }}
{{- end }}
`,
		"templates/routes.yaml": `{{- $root := . -}}
{{- $count := len .Values.route -}}
{{- $services := len .Values.service -}}
{{- range $key, $route := .Values.route }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {{ include "app.fullname" (list $root $key $count) }}
  labels:
    {{- include "app.labels" $root | nindent 4 }}
spec:
  {{- with $route.parentRefs }}
  parentRefs:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $route.hostnames }}
  hostnames:
    {{- range . }}
    - {{ tpl . $root | quote }}
    {{- end }}
  {{- end }}
  rules:
  {{- range $route.rules }}
    - backendRefs:
      {{- range .backendRefs }}
        - name: {{ include "app.fullname" (list $root .identifier $services) }}
          port: {{ .port }}
      {{- end }}
  {{- end }}
{{- end }}
`,
	}
	switch {
	case opts.Schema != "":
		f["values.schema.json"] = opts.Schema
	case opts.SchemaRef != "":
		f["values.schema.json"] = fmt.Sprintf("{\n  \"$ref\": %q\n}\n", opts.SchemaRef)
	}
	return f
}

// AppValues are values for AppChart in the shape a HelmRelease carries
// them: one controller running image:tag, a Service on port 80, and a
// route for host attached to an envoy gateway.
func AppValues(image, tag, host string) map[string]any {
	return map[string]any{
		"controllers": map[string]any{
			"main": map[string]any{
				"containers": map[string]any{
					"app": map[string]any{
						"image": map[string]any{"repository": image, "tag": tag},
						"env":   map[string]any{"TZ": "UTC"},
					},
				},
			},
		},
		"service": map[string]any{
			"app": map[string]any{
				"controller": "main",
				"ports":      map[string]any{"http": map[string]any{"port": float64(80)}},
			},
		},
		"route": map[string]any{
			"app": map[string]any{
				"hostnames":  []any{host},
				"parentRefs": []any{map[string]any{"name": "envoy-external", "namespace": "network", "sectionName": "https"}},
				"rules": []any{map[string]any{
					"backendRefs": []any{map[string]any{"identifier": "app", "port": float64(80)}},
				}},
			},
		},
	}
}

// AppSchema is a JSON schema web for AppChart split the way app-template
// publishes its own: a root document whose parts are relative $refs to
// sibling documents. It maps file names to contents.
func AppSchema() map[string]string {
	return map[string]string{
		"values.schema.json": `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "global": {"type": "object"},
    "controllers": {"type": "object", "additionalProperties": {"$ref": "controller.json"}},
    "service": {"type": "object", "additionalProperties": {"$ref": "service.json"}},
    "route": {"type": "object"}
  }
}`,
		"controller.json": `{
  "type": "object",
  "properties": {
    "replicas": {"type": "integer", "minimum": 0},
    "containers": {"type": "object", "additionalProperties": {"$ref": "container.json"}}
  }
}`,
		"container.json": `{
  "type": "object",
  "required": ["image"],
  "properties": {
    "image": {
      "type": "object",
      "required": ["repository", "tag"],
      "properties": {"repository": {"type": "string"}, "tag": {"type": ["string", "number"]}}
    },
    "env": {"type": "object"}
  },
  "additionalProperties": false
}`,
		"service.json": `{
  "type": "object",
  "required": ["controller"],
  "properties": {
    "controller": {"type": "string"},
    "ports": {"type": "object"}
  }
}`,
	}
}

// Lines joins lines with newlines, for multi-line fixtures.
func Lines(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
