package generator

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/scaffolds"
)

// Mode is how add-app declares the workload.
type Mode string

// Modes of add-app.
const (
	// ModeAppTemplate is a HelmRelease of the bjw-s app-template chart.
	ModeAppTemplate Mode = "app-template"
	// ModeChart is a HelmRelease of any chart.
	ModeChart Mode = "chart"
	// ModeRaw is plain Deployment and Service manifests.
	ModeRaw Mode = "raw"
)

// Default app-template chart, used when the repository pins none.
const (
	DefaultAppTemplateURL     = "oci://ghcr.io/bjw-s-labs/helm/app-template"
	DefaultAppTemplateVersion = "4.6.2"
)

// KV is one KEY=VALUE pair, in the order given.
type KV struct {
	Key   string
	Value string
}

// Persist is one --persist NAME=SIZE:/path volume.
type Persist struct {
	Name string
	Size string
	Path string
}

// Probe is a health check: HTTP on a path, or TCP on the port.
type Probe struct {
	// Kind is "http" or "tcp".
	Kind string
	// Path is the HTTP path.
	Path string
}

// Ref names a Flux Kustomization.
type Ref struct {
	Namespace string
	Name      string
}

func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// SecretSealer encrypts new secret files and compares existing ones, so a
// second identical run is recognised though encryption is randomised.
type SecretSealer interface {
	// Seal encrypts a plaintext Secret document destined for path.
	Seal(path string, plain []byte) ([]byte, error)
	// Holds reports whether the encrypted document holds exactly values
	// under stringData (and nothing else).
	Holds(existing []byte, values map[string]string) (bool, error)
}

// AddAppOptions are the inputs of AddApp. Validate checks them.
type AddAppOptions struct {
	Namespace string
	Name      string
	Mode      Mode

	Image    string
	Port     int
	Env      []KV
	Replicas int
	CPU      string
	Memory   string
	Probe    *Probe
	Persist  []Persist

	// Chart is oci://registry/path/name or https://repo#name (ModeChart).
	Chart        string
	ChartVersion string
	// Values is a YAML document of HelmRelease values (ModeChart).
	Values []byte

	Hosts []string
	// AllowWildcard lets a host be a wildcard (*.example.org).
	AllowWildcard bool
	Gateway       string // "external" or "internal"
	// Expose is how the hostnames reach the app (ExposeGateway when empty).
	Expose Expose
	// Access is the policy of ExposeAccess.
	Access AccessOptions

	DependsOn []Ref
	Secrets   []KV
	Sealer    SecretSealer

	// ImagePolicy, when set, adds an ImageRepository and ImagePolicy for
	// Image and marks its tag for Flux's image-automation. An
	// ImageUpdateAutomation for the app's folder comes with them when none
	// in the repository covers it.
	ImagePolicy *ImagePolicy
	// SkipImageAutomation leaves the ImageUpdateAutomation out, for
	// repositories that keep their own.
	SkipImageAutomation bool

	Force bool
}

var (
	envKey     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretKey  = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	persistArg = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=([^:]+):(/.*)$`)
)

// ParseKV parses KEY=VALUE.
func ParseKV(s string) (KV, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return KV{}, fmt.Errorf("%q is not KEY=VALUE", s)
	}
	return KV{Key: k, Value: v}, nil
}

// ParsePersist parses NAME=SIZE:/path.
func ParsePersist(s string) (Persist, error) {
	m := persistArg.FindStringSubmatch(s)
	if m == nil {
		return Persist{}, fmt.Errorf("--persist %q is not NAME=SIZE:/path (e.g. data=1Gi:/data)", s)
	}
	if _, err := resource.ParseQuantity(m[3]); err != nil {
		return Persist{}, fmt.Errorf("--persist %q: size %q is not a quantity like 1Gi", s, m[3])
	}
	return Persist{Name: m[1], Size: m[3], Path: path.Clean(m[4])}, nil
}

// ParseProbe parses "http:/path", "/path" or "tcp".
func ParseProbe(s string) (*Probe, error) {
	switch {
	case s == "tcp":
		return &Probe{Kind: "tcp"}, nil
	case strings.HasPrefix(s, "/"):
		return &Probe{Kind: "http", Path: s}, nil
	case strings.HasPrefix(s, "http:/"):
		return &Probe{Kind: "http", Path: strings.TrimPrefix(s, "http:")}, nil
	}
	return nil, fmt.Errorf("--probe %q: want an HTTP path (/healthz or http:/healthz) or tcp", s)
}

// ParseRef parses ns/name.
func ParseRef(s string) (Ref, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return Ref{}, fmt.Errorf("%q is not <namespace>/<name>", s)
	}
	for _, part := range []string{ns, name} {
		if errs := validation.IsDNS1123Label(part); len(errs) > 0 {
			return Ref{}, fmt.Errorf("%q: %q is not a valid name: %s", s, part, strings.Join(errs, "; "))
		}
	}
	return Ref{Namespace: ns, Name: name}, nil
}

// Validate checks the options alone, before the repository is consulted.
func (o *AddAppOptions) Validate() error {
	for what, v := range map[string]string{"namespace": o.Namespace, "app name": o.Name} {
		if strings.Contains(v, "..") || strings.Contains(v, "/") {
			return fmt.Errorf("%s %q must be a plain name, not a path", what, v)
		}
		if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
			return fmt.Errorf("%s %q is not a valid DNS-1123 label: %s", what, v, strings.Join(errs, "; "))
		}
	}
	switch o.Mode {
	case ModeAppTemplate, ModeRaw:
		if o.Image == "" {
			return fmt.Errorf("--image is required in %s mode", o.Mode)
		}
	case ModeChart:
		if o.Chart == "" {
			return fmt.Errorf("--chart is required in chart mode")
		}
		if o.Image != "" {
			return fmt.Errorf("--image and --chart do not go together: a chart brings its own image; set it in --values")
		}
	default:
		return fmt.Errorf("unknown mode %q", o.Mode)
	}
	if o.Image != "" {
		if _, err := reference.ParseNormalizedNamed(o.Image); err != nil {
			return fmt.Errorf("--image %q does not parse as an image reference: %v", o.Image, err)
		}
	}
	if err := o.validateImagePolicy(); err != nil {
		return err
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("--port %d is out of range 1-65535", o.Port)
	}
	if o.Port == 0 && o.Mode != ModeChart {
		o.Port = 80
	}
	if o.Replicas < 0 {
		return fmt.Errorf("--replicas %d must not be negative", o.Replicas)
	}
	for flag, q := range map[string]string{"--cpu": o.CPU, "--memory": o.Memory} {
		if q == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			return fmt.Errorf("%s %q is not a Kubernetes quantity (like 100m or 256Mi)", flag, q)
		}
	}
	seen := map[string]bool{}
	for _, kv := range o.Env {
		if !envKey.MatchString(kv.Key) {
			return fmt.Errorf("--env %q: not a valid environment variable name", kv.Key)
		}
		if seen[kv.Key] {
			return fmt.Errorf("--env %s is given twice", kv.Key)
		}
		seen[kv.Key] = true
	}
	seenSecret := map[string]bool{}
	for _, kv := range o.Secrets {
		if !secretKey.MatchString(kv.Key) {
			return fmt.Errorf("--secret %q: not a valid Secret key", kv.Key)
		}
		if seenSecret[kv.Key] || seen[kv.Key] {
			return fmt.Errorf("--secret %s is given twice (or also as --env)", kv.Key)
		}
		seenSecret[kv.Key] = true
	}
	seenP := map[string]bool{}
	for _, p := range o.Persist {
		if seenP[p.Name] {
			return fmt.Errorf("--persist %s is given twice", p.Name)
		}
		seenP[p.Name] = true
	}
	if o.Mode == ModeChart && (len(o.Env) > 0 || len(o.Persist) > 0 || o.Probe != nil || o.CPU != "" || o.Memory != "" || o.Replicas > 0) {
		return fmt.Errorf("--env, --persist, --probe, --cpu, --memory and --replicas shape app-template or raw apps; in chart mode put them in --values")
	}
	if o.Mode == ModeChart && len(o.Hosts) > 0 && o.Port == 0 {
		return fmt.Errorf("--host in chart mode needs --port: the port of the chart's Service the route sends traffic to")
	}
	if o.Gateway == "" {
		o.Gateway = "external"
	}
	if err := o.validateExpose(); err != nil {
		return err
	}
	if o.Gateway != "external" && o.Gateway != "internal" {
		return fmt.Errorf("--gateway %q: want external or internal", o.Gateway)
	}
	if err := checkHosts(o.Hosts, o.AllowWildcard); err != nil {
		return err
	}
	if o.Mode == ModeChart {
		c, err := parseChart(o.Chart)
		if err != nil {
			return err
		}
		if err := validateChartVersion(o.ChartVersion, c.OCI); err != nil {
			return err
		}
	}
	if len(o.Values) > 0 {
		var v map[string]any
		if err := yaml.Unmarshal(o.Values, &v); err != nil {
			return fmt.Errorf("--values: not a YAML mapping: %v", err)
		}
	}
	return nil
}

// chartRef is a parsed --chart.
type chartRef struct {
	OCI  bool
	URL  string // OCI: full oci:// URL of the chart; HTTP: repository URL
	Name string // chart name
}

func parseChart(s string) (chartRef, error) {
	if err := validateChartURL(s); err != nil {
		return chartRef{}, err
	}
	switch {
	case strings.HasPrefix(s, "oci://"):
		rest := strings.TrimPrefix(s, "oci://")
		if strings.Contains(rest, "#") || !strings.Contains(rest, "/") {
			return chartRef{}, fmt.Errorf("--chart %q: want oci://registry/path/chart", s)
		}
		return chartRef{OCI: true, URL: s, Name: path.Base(rest)}, nil
	case strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		u, name, ok := strings.Cut(s, "#")
		if !ok || name == "" {
			return chartRef{}, fmt.Errorf("--chart %q: a Helm repository needs the chart name after #, e.g. https://charts.example.com#mychart", s)
		}
		return chartRef{URL: u, Name: name}, nil
	}
	return chartRef{}, fmt.Errorf("--chart %q: want oci://registry/path/chart or https://repo#chart", s)
}

// AddApp returns the Changeset that adds the app to r.
func AddApp(r *repo.Repo, opts AddAppOptions) (*Changeset, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(opts.Secrets) > 0 && opts.Sealer == nil {
		return nil, fmt.Errorf("--secret needs SOPS encryption, and no sealer was given")
	}
	g := &appGen{r: r, o: opts, set: Scaffolds(r), style: StyleOf(r)}
	return g.run()
}

type appGen struct {
	r     *repo.Repo
	o     AddAppOptions
	set   scaffolds.Set
	style Style
	cs    Changeset

	appDir, nsDir string
	hosts         []Host
	resources     []string // app/kustomization.yaml resources
	hasRoute      bool
	hasDNS        bool
	gateway       repo.Gateway
	// extraDeps are Kustomizations the exposure needs (the chute
	// operator's).
	extraDeps []Ref
	// backends gives each of hosts the Service and port it reaches, for
	// --expose tunnel and access. Empty means the app's own Service
	// (o.Name, o.Port); promote sets it, since a scratch route names a
	// Service that may be called something else.
	backends []backend
}

// backend is the Service, and its port, that an exposed hostname reaches.
type backend struct {
	Service string
	Port    int
}

// backendOf is what hosts[i] reaches.
func (g *appGen) backendOf(i int) backend {
	if i < len(g.backends) {
		return g.backends[i]
	}
	return backend{Service: g.o.Name, Port: g.o.Port}
}

func (g *appGen) run() (*Changeset, error) {
	r, o := g.r, g.o
	if err := g.checkCollisions(); err != nil {
		return nil, err
	}
	ns := r.Namespaces[o.Namespace]
	if ns != nil {
		g.nsDir = ns.Dir
	} else {
		g.nsDir = path.Join(r.AppsDir, o.Namespace)
		if err := checkNoNamespaceKustomization(r, g.nsDir, o.Namespace); err != nil {
			return nil, err
		}
	}
	g.appDir = path.Join(g.nsDir, o.Name)
	if len(o.Hosts) > 0 {
		if o.Expose == ExposeGateway {
			gw, err := g.pickGateway()
			if err != nil {
				return nil, err
			}
			g.gateway = gw
		}
		for _, h := range o.Hosts {
			host, err := ResolveHost(r, h)
			if err != nil {
				return nil, err
			}
			g.hosts = append(g.hosts, host)
		}
		g.hasRoute = o.Expose == ExposeGateway
	}
	var err error
	switch o.Mode {
	case ModeAppTemplate:
		err = g.appTemplate()
	case ModeChart:
		err = g.chart()
	case ModeRaw:
		err = g.raw()
	}
	if err != nil {
		return nil, err
	}
	if err := g.imageAutomation(); err != nil {
		return nil, err
	}
	switch o.Expose {
	case ExposeTunnel:
		err = g.exposeTunnel()
	case ExposeAccess:
		err = g.exposeAccess()
	}
	if err != nil {
		return nil, err
	}
	if err := g.dnsEndpoint(); err != nil {
		return nil, err
	}
	if err := g.secret(); err != nil {
		return nil, err
	}
	if err := g.appKustomization(); err != nil {
		return nil, err
	}
	if err := g.ks(); err != nil {
		return nil, err
	}
	if err := g.register(ns); err != nil {
		return nil, err
	}
	g.cs.Title = fmt.Sprintf("Add %s/%s", o.Namespace, o.Name)
	if err := g.cs.Normalize(); err != nil {
		return nil, err
	}
	if err := g.checkExisting(); err != nil {
		return nil, err
	}
	return &g.cs, nil
}

// checkCollisions refuses names that would clash with infrastructure.
func (g *appGen) checkCollisions() error {
	for _, a := range g.r.AppsNamed(g.o.Name) {
		if a.Namespace == g.o.Namespace {
			continue
		}
		if isInfrastructure(g.r, a) {
			return fmt.Errorf("%s/%s: %q is the infrastructure app %s/%s; choose another name", g.o.Namespace, g.o.Name, g.o.Name, a.Namespace, a.Name)
		}
	}
	return nil
}

// isInfrastructure reports whether an app is one other apps depend on.
func isInfrastructure(r *repo.Repo, a *repo.App) bool {
	for _, ref := range []Ref{gatewayOwner(r), dnsOwner(r)} {
		if ref.Namespace == a.Namespace && ref.Name == a.Name {
			return true
		}
	}
	switch a.Name {
	case "envoy-gateway", "cloudflare-dns", "cloudflare-tunnel", "cert-manager", "external-secrets", "external-dns", "flux-operator", "flux-instance", "cilium", "coredns":
		return true
	}
	return false
}

func (g *appGen) pickGateway() (repo.Gateway, error) {
	name := "envoy-" + g.o.Gateway
	gw, ok := g.r.Gateway(name)
	if !ok {
		var have []string
		for _, x := range g.r.Gateways {
			have = append(have, x.Name)
		}
		if len(have) == 0 {
			return repo.Gateway{}, fmt.Errorf("--host needs a gateway, and the repository declares no Gateway")
		}
		return repo.Gateway{}, fmt.Errorf("--gateway %s: no Gateway %q in the repository (have: %s)", g.o.Gateway, name, strings.Join(have, ", "))
	}
	if !gw.HasListener("https") {
		return repo.Gateway{}, fmt.Errorf("gateway %s has no https listener for routes to attach to", name)
	}
	return gw, nil
}

func (g *appGen) file(name string) string { return path.Join(g.appDir, "app", name) }

func (g *appGen) render(tmpl, file string, data any) error {
	out, err := g.set.Render(tmpl, data)
	if err != nil {
		return err
	}
	g.cs.Add(g.file(file), out)
	g.resources = append(g.resources, file)
	return nil
}

// routeHostnames are the hostnames as the route declares them.
func (g *appGen) routeHostnames(releaseName bool) []string {
	var out []string
	for _, h := range g.hosts {
		t := h.Template()
		if releaseName && h.Label == g.o.Name {
			t = "{{ .Release.Name }}." + "${" + h.Domain.Var + "}"
		}
		out = append(out, t)
	}
	return out
}

func (g *appGen) appTemplate() error {
	url, version := g.style.AppTemplateURL, g.style.AppTemplateVersion
	if err := g.render("ocirepository.yaml", "ocirepository.yaml", map[string]any{
		"SchemaHeaders": g.style.SchemaHeaders, "Name": g.o.Name, "URL": url, "Version": version,
	}); err != nil {
		return err
	}
	values, err := g.appTemplateValues()
	if err != nil {
		return err
	}
	return g.renderFirst("helmrelease.yaml", "helmrelease.yaml", map[string]any{
		"SchemaHeaders": g.style.SchemaHeaders, "Name": g.o.Name, "ChartSpec": nil, "Values": values,
	})
}

// renderFirst renders a file and lists it first in app/kustomization.yaml,
// the order the repositories keep (helmrelease before its source).
func (g *appGen) renderFirst(tmpl, file string, data any) error {
	if err := g.render(tmpl, file, data); err != nil {
		return err
	}
	n := len(g.resources)
	g.resources = append([]string{g.resources[n-1]}, g.resources[:n-1]...)
	return nil
}

func (g *appGen) appTemplateValues() (*yaml.Node, error) {
	o := g.o
	repoName, tag := splitImage(o.Image)
	container := newMap()
	image := newMap()
	image.set("repository", str(repoName))
	tagNode := str(tag)
	if o.ImagePolicy != nil {
		tagNode.LineComment = ImagePolicyMarker(o.Namespace, o.Name, "tag")
	}
	image.set("tag", tagNode)
	container.set("image", image.node)
	if len(o.Env) > 0 {
		env := newMap()
		for _, kv := range o.Env {
			env.set(kv.Key, str(kv.Value))
		}
		container.set("env", env.node)
	}
	if len(o.Secrets) > 0 {
		container.set("envFrom", seq(mapOf("secretRef", mapOf("name", str(g.secretName())))))
	}
	if o.Probe != nil {
		var spec *yaml.Node
		if o.Probe.Kind == "http" {
			spec = mapOf("httpGet", mapOf("path", str(o.Probe.Path), "port", num(o.Port)))
		} else {
			spec = mapOf("tcpSocket", mapOf("port", num(o.Port)))
		}
		probe := mapOf("enabled", boolean(true), "custom", boolean(true), "spec", spec)
		probe.Anchor = "probes"
		container.set("probes", mapOf("liveness", probe, "readiness", &yaml.Node{Kind: yaml.AliasNode, Alias: probe, Value: "probes"}))
	}
	if res := resources(o.CPU, o.Memory); res != nil {
		container.set("resources", res)
	}
	controller := newMap()
	if o.Replicas > 0 {
		controller.set("replicas", num(o.Replicas))
	}
	controller.set("containers", mapOf("app", container.node))
	values := newMap()
	values.set("controllers", mapOf(o.Name, controller.node))
	values.set("service", mapOf("app", mapOf("ports", mapOf("http", mapOf("port", num(o.Port))))))
	if g.hasRoute {
		hostnames := &yaml.Node{Kind: yaml.SequenceNode}
		for _, h := range g.routeHostnames(true) {
			hostnames.Content = append(hostnames.Content, quoted(h))
		}
		values.set("route", mapOf("app", mapOf(
			"hostnames", hostnames,
			"parentRefs", seq(mapOf("name", str(g.gateway.Name), "namespace", str(g.gateway.Namespace), "sectionName", str("https"))),
			"rules", seq(mapOf("backendRefs", seq(mapOf("identifier", str("app"), "port", num(o.Port))))),
		)))
	}
	if len(o.Persist) > 0 {
		p := newMap()
		for _, v := range o.Persist {
			p.set(v.Name, mapOf(
				"type", str("persistentVolumeClaim"),
				"accessMode", str("ReadWriteOnce"),
				"size", str(v.Size),
				"globalMounts", seq(mapOf("path", str(v.Path))),
			))
		}
		values.set("persistence", p.node)
	}
	return values.node, nil
}

func (g *appGen) chart() error {
	o := g.o
	c, _ := parseChart(o.Chart)
	var values any
	if len(bytes.TrimSpace(o.Values)) > 0 {
		var n yaml.Node
		if err := yaml.Unmarshal(o.Values, &n); err != nil {
			return fmt.Errorf("--values: %v", err)
		}
		if len(n.Content) == 1 && len(n.Content[0].Content) > 0 {
			values = n.Content[0]
		}
	}
	data := map[string]any{"SchemaHeaders": g.style.SchemaHeaders, "Name": o.Name, "Values": values, "ChartSpec": nil}
	if c.OCI {
		if err := g.render("ocirepository.yaml", "ocirepository.yaml", map[string]any{
			"SchemaHeaders": g.style.SchemaHeaders, "Name": o.Name, "URL": c.URL, "Version": o.ChartVersion,
		}); err != nil {
			return err
		}
	} else {
		if err := g.render("helmrepository.yaml", "helmrepository.yaml", map[string]any{
			"SchemaHeaders": g.style.SchemaHeaders, "Name": o.Name, "URL": c.URL,
		}); err != nil {
			return err
		}
		data["ChartSpec"] = map[string]any{"Chart": c.Name, "Version": o.ChartVersion, "Source": o.Name}
	}
	if err := g.renderFirst("helmrelease.yaml", "helmrelease.yaml", data); err != nil {
		return err
	}
	return g.httpRoute()
}

func (g *appGen) raw() error {
	o := g.o
	container := newMap()
	container.set("name", str(o.Name))
	imageNode := str(o.Image)
	if o.ImagePolicy != nil {
		imageNode.LineComment = ImagePolicyMarker(o.Namespace, o.Name, "")
	}
	container.set("image", imageNode)
	container.set("ports", seq(mapOf("name", str("http"), "containerPort", num(o.Port), "protocol", str("TCP"))))
	if len(o.Env) > 0 {
		env := &yaml.Node{Kind: yaml.SequenceNode}
		for _, kv := range o.Env {
			env.Content = append(env.Content, mapOf("name", str(kv.Key), "value", str(kv.Value)))
		}
		container.set("env", env)
	}
	if len(o.Secrets) > 0 {
		container.set("envFrom", seq(mapOf("secretRef", mapOf("name", str(g.secretName())))))
	}
	if o.Probe != nil {
		var p *yaml.Node
		if o.Probe.Kind == "http" {
			p = mapOf("httpGet", mapOf("path", str(o.Probe.Path), "port", str("http")))
		} else {
			p = mapOf("tcpSocket", mapOf("port", str("http")))
		}
		container.set("readinessProbe", p)
		container.set("livenessProbe", p)
	}
	if res := resources(o.CPU, o.Memory); res != nil {
		container.set("resources", res)
	}
	if len(o.Persist) > 0 {
		mounts := &yaml.Node{Kind: yaml.SequenceNode}
		for _, v := range o.Persist {
			mounts.Content = append(mounts.Content, mapOf("name", str(v.Name), "mountPath", str(v.Path)))
		}
		container.set("volumeMounts", mounts)
	}
	podSpec := newMap()
	podSpec.set("containers", seq(container.node))
	if len(o.Persist) > 0 {
		vols := &yaml.Node{Kind: yaml.SequenceNode}
		for _, v := range o.Persist {
			vols.Content = append(vols.Content, mapOf("name", str(v.Name), "persistentVolumeClaim", mapOf("claimName", str(o.Name+"-"+v.Name))))
		}
		podSpec.set("volumes", vols)
	}
	labels := mapOf("app.kubernetes.io/name", str(o.Name))
	spec := newMap()
	replicas := o.Replicas
	if replicas == 0 {
		replicas = 1
	}
	spec.set("replicas", num(replicas))
	spec.set("selector", mapOf("matchLabels", labels))
	spec.set("template", mapOf("metadata", mapOf("labels", labels), "spec", podSpec.node))
	if err := g.render("deployment.yaml", "deployment.yaml", map[string]any{"Name": o.Name, "Spec": spec.node}); err != nil {
		return err
	}
	if err := g.render("service.yaml", "service.yaml", map[string]any{"Name": o.Name, "Port": o.Port, "TargetPort": "http"}); err != nil {
		return err
	}
	for _, v := range o.Persist {
		pvc := fmt.Sprintf("---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s-%s\nspec:\n  accessModes:\n    - ReadWriteOnce\n  resources:\n    requests:\n      storage: %s\n", o.Name, v.Name, v.Size)
		g.cs.Add(g.file("pvc-"+v.Name+".yaml"), []byte(pvc))
		g.resources = append(g.resources, "pvc-"+v.Name+".yaml")
	}
	return g.httpRoute()
}

func (g *appGen) httpRoute() error {
	if !g.hasRoute {
		return nil
	}
	return g.render("httproute.yaml", "httproute.yaml", map[string]any{
		"Name": g.o.Name, "Gateway": g.gateway.Name, "GatewayNamespace": g.gateway.Namespace,
		"Hostnames": g.routeHostnames(false), "Service": g.o.Name, "Port": g.o.Port,
	})
}

// dnsEndpoint writes a DNSEndpoint for hostnames on secondary domains served
// through the external gateway: external-dns only reads the primary domain's
// records from the gateway's target annotation.
func (g *appGen) dnsEndpoint() error {
	if !g.hasRoute || g.gateway.Target == "" {
		return nil
	}
	prefix := targetPrefix(g.gateway.Target)
	type ep struct{ DNSName, Target string }
	var eps []ep
	for _, h := range g.hosts {
		if h.Domain.Primary {
			continue
		}
		eps = append(eps, ep{DNSName: h.Template(), Target: prefix + "${" + h.Domain.Var + "}"})
	}
	if len(eps) == 0 {
		return nil
	}
	g.hasDNS = true
	return g.render("dnsendpoint.yaml", "dnsendpoint.yaml", map[string]any{"Name": g.o.Name, "Endpoints": eps})
}

// targetPrefix turns the gateway target "external.${SECRET_DOMAIN}" into
// "external.".
func targetPrefix(target string) string {
	if i := strings.Index(target, "${"); i >= 0 {
		return target[:i]
	}
	if i := strings.Index(target, "."); i >= 0 {
		return target[:i+1]
	}
	return "external."
}

func (g *appGen) secretName() string { return g.o.Name + "-secret" }

func (g *appGen) secret() error {
	if len(g.o.Secrets) == 0 {
		return nil
	}
	p := g.file("secret.sops.yaml")
	values := map[string]string{}
	data := newMap()
	for _, kv := range g.o.Secrets {
		values[kv.Key] = kv.Value
		data.set(kv.Key, str(kv.Value))
	}
	g.resources = append(g.resources, "secret.sops.yaml")
	if existing, ok := g.r.Files[p]; ok {
		same, err := g.o.Sealer.Holds(existing, values)
		if err == nil && same {
			g.cs.AddSensitive(p, existing)
			return nil
		}
	}
	plain, err := g.set.Render("secret.yaml", map[string]any{"Name": g.secretName(), "StringData": data.node})
	if err != nil {
		return err
	}
	sealed, err := g.o.Sealer.Seal(p, plain)
	if err != nil {
		return fmt.Errorf("encrypting %q: %w", p, err)
	}
	g.cs.AddSensitive(p, sealed)
	return nil
}

func (g *appGen) appKustomization() error {
	out, err := g.set.Render("app-kustomization.yaml", map[string]any{
		"SchemaHeaders": g.style.SchemaHeaders, "Resources": g.resources,
	})
	if err != nil {
		return err
	}
	g.cs.Add(g.file("kustomization.yaml"), out)
	return nil
}

// DependsOnFor returns the Kustomizations an app needs by the repository's
// rule table: an HTTPRoute needs the gateway's owner, a DNSEndpoint the
// external-dns owner.
func DependsOnFor(r *repo.Repo, route, dns bool) []Ref {
	var out []Ref
	if route {
		if ref := gatewayOwner(r); ref.Name != "" {
			out = append(out, ref)
		}
	}
	if dns {
		if ref := dnsOwner(r); ref.Name != "" {
			out = append(out, ref)
		}
	}
	return out
}

func (g *appGen) ks() error {
	deps := DependsOnFor(g.r, g.hasRoute, g.hasDNS)
	deps = append(deps, g.extraDeps...)
	for _, d := range g.o.DependsOn {
		if _, ok := g.r.App(d.Namespace, d.Name); !ok && !hasKustomization(g.r, d) {
			return fmt.Errorf("--depends-on %s: no Flux Kustomization %q in namespace %q", d, d.Name, d.Namespace)
		}
		deps = append(deps, d)
	}
	deps = uniqueRefs(deps)
	out, err := g.set.Render("ks.yaml", map[string]any{
		"SchemaHeaders":  g.style.SchemaHeaders,
		"Name":           g.o.Name,
		"KSNamespace":    g.style.KSNamespace,
		"Path":           path.Join(g.appDir, "app"),
		"SubstituteFrom": g.style.SubstituteFrom,
		"SourceRef":      g.style.SourceRef,
		"Namespace":      g.o.Namespace,
		"DependsOn":      deps,
	})
	if err != nil {
		return err
	}
	g.cs.Add(path.Join(g.appDir, "ks.yaml"), out)
	return nil
}

func hasKustomization(r *repo.Repo, ref Ref) bool {
	if ns, ok := r.Namespaces[ref.Namespace]; ok {
		for _, a := range ns.Apps {
			for _, k := range a.Kustomizations {
				if k == ref.Name {
					return true
				}
			}
		}
	}
	return false
}

func uniqueRefs(in []Ref) []Ref {
	seen := map[Ref]bool{}
	var out []Ref
	for _, r := range in {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// register lists the app in its namespace kustomization, or creates the
// namespace.
func (g *appGen) register(ns *repo.Namespace) error {
	entry := "./" + g.o.Name + "/ks.yaml"
	if ns == nil {
		var comps []string
		if g.r.SopsComponent != "" {
			rel, err := relPath(g.nsDir, g.r.SopsComponent)
			if err != nil {
				return err
			}
			comps = append(comps, rel)
		}
		nsFile, err := g.set.Render("namespace.yaml", map[string]any{"Name": g.o.Namespace})
		if err != nil {
			return err
		}
		kfile, err := g.set.Render("namespace-kustomization.yaml", map[string]any{
			"SchemaHeaders": g.style.NamespaceHeaders, "Name": g.o.Namespace, "Components": comps, "Apps": []string{g.o.Name},
		})
		if err != nil {
			return err
		}
		// A namespace.yaml already there stays as it is: it may carry
		// labels and annotations the scaffold does not.
		if _, ok := g.r.Files[path.Join(g.nsDir, "namespace.yaml")]; !ok {
			g.cs.Add(path.Join(g.nsDir, "namespace.yaml"), nsFile)
		}
		g.cs.Add(path.Join(g.nsDir, "kustomization.yaml"), kfile)
		return nil
	}
	data := g.r.Files[ns.Kustomization]
	out, changed, err := AddResource(data, entry)
	if err != nil {
		return fmt.Errorf("registering %s in %q: %w", entry, ns.Kustomization, err)
	}
	if changed {
		g.cs.Add(ns.Kustomization, out)
	}
	return nil
}

// checkNoNamespaceKustomization refuses to scaffold a namespace whose
// folder already holds a kustomization that discovery could not use: gen
// would replace it, and every app it lists would be pruned by Flux. A
// kustomization that does not parse is named with the parser's line.
func checkNoNamespaceKustomization(r *repo.Repo, dir, namespace string) error {
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		p := path.Join(dir, name)
		data, ok := r.Files[p]
		if !ok {
			continue
		}
		if _, err := repo.ParseKustomization(data); err != nil {
			return fmt.Errorf("%s: %s; gen cannot read this namespace kustomization and never replaces one: fix the file and run the command again", p, yamlProblem(data, err))
		}
		return fmt.Errorf("%s exists but does not make namespace %s (its namespace: field names another); fix it, or name the app by that namespace", p, namespace)
	}
	return nil
}

// checkExisting turns a rerun into "nothing to do" and refuses to replace
// an app that differs unless forced.
func (g *appGen) checkExisting() error {
	var differ []string
	kept := g.cs.Files[:0]
	for _, f := range g.cs.Files {
		old, ok := g.r.Files[f.Path]
		if ok && bytes.Equal(old, f.Content) {
			continue
		}
		if ok && strings.HasPrefix(f.Path, g.appDir+"/") {
			differ = append(differ, f.Path)
		}
		kept = append(kept, f)
	}
	g.cs.Files = kept
	if len(differ) > 0 && !g.o.Force {
		return &ExistsError{App: g.o.Namespace + "/" + g.o.Name, Paths: differ, Changeset: &g.cs}
	}
	if g.o.Force {
		g.noteLeftovers()
	}
	return nil
}

// noteLeftovers lists files of an existing app folder that --force neither
// rewrote nor lists any longer.
func (g *appGen) noteLeftovers() {
	written := map[string]bool{}
	for _, f := range g.cs.Files {
		written[f.Path] = true
	}
	var left []string
	for p := range g.r.Files {
		if strings.HasPrefix(p, g.appDir+"/app/") && !written[p] {
			listed := false
			for _, res := range g.resources {
				if g.file(res) == p {
					listed = true
				}
			}
			if !listed {
				left = append(left, p)
			}
		}
	}
	sort.Strings(left)
	for _, p := range left {
		g.cs.Note("%s was kept but is no longer listed in app/kustomization.yaml; delete it or list it again", p)
	}
}

// ExistsError reports an app that exists with other content.
type ExistsError struct {
	App       string
	Paths     []string
	Changeset *Changeset
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("app %s already exists with different content (%s); rerun with --force to replace it, and --dry-run to see the diff first",
		e.App, strings.Join(e.Paths, ", "))
}

func splitImage(img string) (string, string) {
	named, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return img, "latest"
	}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	name := reference.FamiliarName(named)
	if !strings.Contains(strings.SplitN(img, "/", 2)[0], ".") {
		// Keep what the user wrote for Docker Hub images.
		name = strings.SplitN(img, "@", 2)[0]
		if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
			name = name[:i]
		}
	}
	if d, ok := named.(reference.Digested); ok {
		tag = tag + "@" + d.Digest().String()
	}
	return name, tag
}

func resources(cpu, memory string) *yaml.Node {
	if cpu == "" && memory == "" {
		return nil
	}
	req := newMap()
	if cpu != "" {
		req.set("cpu", str(cpu))
	}
	if memory != "" {
		req.set("memory", str(memory))
	}
	res := newMap()
	res.set("requests", req.node)
	if memory != "" {
		// A CPU limit throttles; a memory limit protects the node. This is
		// the convention the target repositories follow.
		res.set("limits", mapOf("memory", str(memory)))
	}
	return res.node
}

func relPath(from, to string) (string, error) {
	fromParts := strings.Split(path.Clean(from), "/")
	toParts := strings.Split(path.Clean(to), "/")
	i := 0
	for i < len(fromParts) && i < len(toParts) && fromParts[i] == toParts[i] {
		i++
	}
	var parts []string
	for range fromParts[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, toParts[i:]...)
	if len(parts) == 0 {
		return ".", nil
	}
	return strings.Join(parts, "/"), nil
}

// ordered YAML helpers: gen writes keys in the order a person would.

type mapping struct{ node *yaml.Node }

func newMap() mapping { return mapping{node: &yaml.Node{Kind: yaml.MappingNode}} }

func (m mapping) set(k string, v *yaml.Node) {
	m.node.Content = append(m.node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
}

func mapOf(kv ...any) *yaml.Node {
	m := newMap()
	for i := 0; i+1 < len(kv); i += 2 {
		m.set(kv[i].(string), kv[i+1].(*yaml.Node))
	}
	return m.node
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func quoted(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle}
}

func num(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}
