// Package apps adds apps to a repository and removes them: add-app's
// workloads (an app-template HelmRelease, any chart, or plain manifests),
// their routes, DNS records, secrets and image automation, the ways a
// hostname reaches them (a gateway route, a cloudflared rule, a Chute), and
// remove-app, the inverse. Folder is the app folder both add and promote
// write.
package apps

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
)

// Mode is how Add declares the workload.
type Mode string

// Modes of Add.
const (
	// ModeAppTemplate is a HelmRelease of the bjw-s app-template chart.
	ModeAppTemplate Mode = "app-template"
	// ModeChart is a HelmRelease of any chart.
	ModeChart Mode = "chart"
	// ModeRaw is plain Deployment and Service manifests.
	ModeRaw Mode = "raw"
)

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

// AddOptions are the inputs of Add. Default fills in what was left out;
// Validate checks them.
type AddOptions struct {
	Namespace string
	Name      string
	Mode      Mode

	Image string
	Port  int
	Env   []generator.KV
	// Replicas is the number of pods; nil leaves it to the chart (whose
	// default is 1), or writes 1 in raw mode.
	Replicas *int
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
	// Expose is how the hostnames reach the app.
	Expose generator.Expose
	// Access is the policy of ExposeAccess.
	Access access.Options

	DependsOn []generator.Ref
	Secrets   []generator.KV
	Sealer    generator.SecretSealer

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

// Default fills in the options left empty: port 80 for a workload gen
// writes, the external gateway, exposure through a gateway route.
func (o *AddOptions) Default() {
	if o.Port == 0 && o.Mode != ModeChart {
		o.Port = 80
	}
	if o.Gateway == "" {
		o.Gateway = "external"
	}
	if o.Expose == "" {
		o.Expose = generator.ExposeGateway
	}
}

// Validate checks the options alone, before the repository is consulted;
// Default runs first. It changes nothing: the checks run in the order
// below, and the first that fails is the error.
func (o AddOptions) Validate() error {
	for _, check := range []func() error{
		o.validateNames,
		o.validateMode,
		o.validateImage,
		o.validateImagePolicy,
		o.validatePort,
		o.validateReplicas,
		o.validateResources,
		o.validateEnv,
		o.validateSecrets,
		o.validatePersist,
		o.validateChartShape,
		o.validateExpose,
		o.validateGateway,
		o.validateHosts,
		o.validateChart,
		o.validateValues,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateNames checks the namespace and the app name: plain DNS labels.
func (o AddOptions) validateNames() error {
	for _, f := range []struct{ what, v string }{{"namespace", o.Namespace}, {"app name", o.Name}} {
		if strings.Contains(f.v, "..") || strings.Contains(f.v, "/") {
			return fmt.Errorf("%s %q must be a plain name, not a path", f.what, f.v)
		}
		if errs := validation.IsDNS1123Label(f.v); len(errs) > 0 {
			return fmt.Errorf("%s %q is not a valid DNS-1123 label: %s", f.what, f.v, strings.Join(errs, "; "))
		}
	}
	return nil
}

// validateMode checks that the mode is known and has what it needs: an
// image for app-template and raw, a chart (and no image) for chart.
func (o AddOptions) validateMode() error {
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
	return nil
}

// validateImage checks that the image parses as a reference.
func (o AddOptions) validateImage() error {
	if o.Image == "" {
		return nil
	}
	if _, err := reference.ParseNormalizedNamed(o.Image); err != nil {
		return fmt.Errorf("--image %q does not parse as an image reference: %v", o.Image, err)
	}
	return nil
}

func (o AddOptions) validatePort() error {
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("--port %d is out of range 1-65535", o.Port)
	}
	return nil
}

func (o AddOptions) validateReplicas() error {
	if o.Replicas != nil && *o.Replicas < 0 {
		return fmt.Errorf("--replicas %d must not be negative", *o.Replicas)
	}
	return nil
}

// validateResources checks --cpu and --memory: Kubernetes quantities.
func (o AddOptions) validateResources() error {
	for _, f := range []struct{ flag, q string }{{"--cpu", o.CPU}, {"--memory", o.Memory}} {
		if f.q == "" {
			continue
		}
		if _, err := resource.ParseQuantity(f.q); err != nil {
			return fmt.Errorf("%s %q is not a Kubernetes quantity (like 100m or 256Mi)", f.flag, f.q)
		}
	}
	return nil
}

// validateEnv checks the environment variables: valid names, each once.
func (o AddOptions) validateEnv() error {
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
	return nil
}

// validateSecrets checks the secret keys: valid Secret keys, each once,
// none also an environment variable (the pod gets both as variables).
func (o AddOptions) validateSecrets() error {
	seen := map[string]bool{}
	for _, kv := range o.Secrets {
		if !secretKey.MatchString(kv.Key) {
			return fmt.Errorf("--secret %q: not a valid Secret key", kv.Key)
		}
		if seen[kv.Key] || slices.ContainsFunc(o.Env, func(e generator.KV) bool { return e.Key == kv.Key }) {
			return fmt.Errorf("--secret %s is given twice (or also as --env)", kv.Key)
		}
		seen[kv.Key] = true
	}
	return nil
}

func (o AddOptions) validatePersist() error {
	seen := map[string]bool{}
	for _, p := range o.Persist {
		if seen[p.Name] {
			return fmt.Errorf("--persist %s is given twice", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// validateChartShape refuses the options that shape a workload gen writes
// in chart mode, where the chart's values do that, and a route without
// the port of the chart's Service.
func (o AddOptions) validateChartShape() error {
	if o.Mode != ModeChart {
		return nil
	}
	if len(o.Env) > 0 || len(o.Persist) > 0 || o.Probe != nil || o.CPU != "" || o.Memory != "" || o.Replicas != nil {
		return fmt.Errorf("--env, --persist, --probe, --cpu, --memory and --replicas shape app-template or raw apps; in chart mode put them in --values")
	}
	if len(o.Hosts) > 0 && o.Port == 0 {
		return fmt.Errorf("--host in chart mode needs --port: the port of the chart's Service the route sends traffic to")
	}
	return nil
}

func (o AddOptions) validateGateway() error {
	if o.Gateway != "external" && o.Gateway != "internal" {
		return fmt.Errorf("--gateway %q: want external or internal", o.Gateway)
	}
	return nil
}

// validateHosts refuses a wildcard host unless AllowWildcard.
func (o AddOptions) validateHosts() error {
	return generator.CheckHosts(o.Hosts, o.AllowWildcard)
}

// validateChart checks --chart and --chart-version in chart mode.
func (o AddOptions) validateChart() error {
	if o.Mode != ModeChart {
		return nil
	}
	c, err := parseChart(o.Chart)
	if err != nil {
		return err
	}
	return generator.ValidateChartVersion(o.ChartVersion, c.OCI)
}

// validateValues checks that --values is a YAML mapping.
func (o AddOptions) validateValues() error {
	if len(o.Values) == 0 {
		return nil
	}
	var v map[string]any
	if err := yaml.Unmarshal(o.Values, &v); err != nil {
		return fmt.Errorf("--values: not a YAML mapping: %v", err)
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
	if err := generator.ValidateChartURL(s); err != nil {
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

// Add returns the Changeset that adds the app to r. A second run with the
// same options changes nothing; an app that exists with other content is
// an *ExistsError unless Force.
func Add(r *generator.Repo, opts AddOptions) (*generator.Changeset, error) {
	opts.Default()
	if err := opts.Validate(); err != nil {
		return nil, &generator.OptionsError{Err: err}
	}
	if len(opts.Secrets) > 0 && opts.Sealer == nil {
		return nil, fmt.Errorf("--secret needs SOPS encryption, and no sealer was given")
	}
	g := &adder{r: r, o: opts}
	return g.run()
}

// adder is one run of Add.
type adder struct {
	r *generator.Repo
	o AddOptions
	f *Folder

	hosts   []generator.Host
	gateway generator.Gateway
}

// run writes the app in named steps, each adding files to the folder.
func (g *adder) run() (*generator.Changeset, error) {
	o := g.o
	if err := CheckName(g.r, o.Namespace, o.Name); err != nil {
		return nil, err
	}
	g.f = NewFolder(g.r, o.Namespace, o.Name)
	if err := g.f.CheckNewNamespace(); err != nil {
		return nil, err
	}
	if err := g.resolveHosts(); err != nil {
		return nil, err
	}
	for _, step := range []func() error{
		g.workload,
		g.imageAutomation,
		g.expose,
		g.dnsEndpoint,
		g.secret,
		g.f.WriteKustomization,
		g.ks,
		g.f.Register,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	cs := &g.f.Changeset
	cs.Title = fmt.Sprintf("Add %s/%s", o.Namespace, o.Name)
	if err := cs.Normalize(); err != nil {
		return nil, err
	}
	if err := g.checkExisting(); err != nil {
		return nil, err
	}
	return cs, nil
}

// resolveHosts maps --host to the repository's domains and, for a route,
// picks the gateway.
func (g *adder) resolveHosts() error {
	o := g.o
	if len(o.Hosts) == 0 {
		return nil
	}
	if o.Expose == generator.ExposeGateway {
		gw, err := g.pickGateway()
		if err != nil {
			return err
		}
		g.gateway = gw
	}
	for _, h := range o.Hosts {
		host, err := generator.ResolveHost(g.r, h)
		if err != nil {
			return err
		}
		g.hosts = append(g.hosts, host)
	}
	g.f.Route = o.Expose == generator.ExposeGateway
	return nil
}

// workload writes what runs the app, by mode.
func (g *adder) workload() error {
	switch g.o.Mode {
	case ModeAppTemplate:
		return g.appTemplate()
	case ModeChart:
		return g.chart()
	case ModeRaw:
		return g.raw()
	}
	return nil
}

// expose writes the tunnel rule or the Chute of --expose tunnel or access;
// a gateway route came with the workload.
func (g *adder) expose() error {
	switch g.o.Expose {
	case generator.ExposeTunnel:
		return g.exposeTunnel()
	case generator.ExposeAccess:
		return g.exposeAccess()
	}
	return nil
}

// backends gives every hostname the app's own Service and port.
func (g *adder) backends() []Backend {
	out := make([]Backend, len(g.hosts))
	for i := range out {
		out[i] = Backend{Service: g.o.Name, Port: g.o.Port}
	}
	return out
}

func (g *adder) pickGateway() (generator.Gateway, error) {
	name := "envoy-" + g.o.Gateway
	gw, ok := g.r.Gateway(name)
	if !ok {
		var have []string
		for _, x := range g.r.Gateways {
			have = append(have, x.Name)
		}
		if len(have) == 0 {
			return generator.Gateway{}, fmt.Errorf("--host needs a gateway, and the repository declares no Gateway")
		}
		return generator.Gateway{}, fmt.Errorf("--gateway %s: no Gateway %q in the repository (have: %s)", g.o.Gateway, name, strings.Join(have, ", "))
	}
	if !gw.HasListener("https") {
		return generator.Gateway{}, fmt.Errorf("gateway %s has no https listener for routes to attach to", name)
	}
	return gw, nil
}

// routeHostnames are the hostnames as the route declares them.
func (g *adder) routeHostnames(releaseName bool) []string {
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

func (g *adder) appTemplate() error {
	url, version := g.f.style.AppTemplateURL, g.f.style.AppTemplateVersion
	if err := g.f.Render("ocirepository.yaml", "ocirepository.yaml", map[string]any{
		"SchemaHeaders": g.f.style.SchemaHeaders, "Name": g.o.Name, "URL": url, "Version": version,
	}); err != nil {
		return err
	}
	values, err := g.appTemplateValues()
	if err != nil {
		return err
	}
	return g.renderFirst("helmrelease.yaml", "helmrelease.yaml", map[string]any{
		"SchemaHeaders": g.f.style.SchemaHeaders, "Name": g.o.Name, "ChartSpec": nil, "Values": values,
	})
}

// renderFirst renders a file and lists it first in app/kustomization.yaml,
// the order the repositories keep (helmrelease before its source).
func (g *adder) renderFirst(tmpl, file string, data any) error {
	if err := g.f.Render(tmpl, file, data); err != nil {
		return err
	}
	n := len(g.f.Resources)
	g.f.Resources = append([]string{g.f.Resources[n-1]}, g.f.Resources[:n-1]...)
	return nil
}

func (g *adder) appTemplateValues() (*yaml.Node, error) {
	o := g.o
	repoName, tag := splitImage(o.Image)
	container := yamlnode.NewMap()
	image := yamlnode.NewMap()
	image.Set("repository", yamlnode.Str(repoName))
	tagNode := yamlnode.Str(tag)
	if o.ImagePolicy != nil {
		tagNode.LineComment = ImagePolicyMarker(o.Namespace, o.Name, "tag")
	}
	image.Set("tag", tagNode)
	container.Set("image", image.Node)
	if len(o.Env) > 0 {
		env := yamlnode.NewMap()
		for _, kv := range o.Env {
			env.Set(kv.Key, yamlnode.Str(kv.Value))
		}
		container.Set("env", env.Node)
	}
	if len(o.Secrets) > 0 {
		container.Set("envFrom", yamlnode.Seq(yamlnode.MapOf("secretRef", yamlnode.MapOf("name", yamlnode.Str(g.secretName())))))
	}
	if o.Probe != nil {
		var spec *yaml.Node
		if o.Probe.Kind == "http" {
			spec = yamlnode.MapOf("httpGet", yamlnode.MapOf("path", yamlnode.Str(o.Probe.Path), "port", yamlnode.Int(o.Port)))
		} else {
			spec = yamlnode.MapOf("tcpSocket", yamlnode.MapOf("port", yamlnode.Int(o.Port)))
		}
		probe := yamlnode.MapOf("enabled", yamlnode.Bool(true), "custom", yamlnode.Bool(true), "spec", spec)
		probe.Anchor = "probes"
		container.Set("probes", yamlnode.MapOf("liveness", probe, "readiness", &yaml.Node{Kind: yaml.AliasNode, Alias: probe, Value: "probes"}))
	}
	if res := resources(o.CPU, o.Memory); res != nil {
		container.Set("resources", res)
	}
	controller := yamlnode.NewMap()
	if o.Replicas != nil {
		controller.Set("replicas", yamlnode.Int(*o.Replicas))
	}
	controller.Set("containers", yamlnode.MapOf("app", container.Node))
	values := yamlnode.NewMap()
	values.Set("controllers", yamlnode.MapOf(o.Name, controller.Node))
	values.Set("service", yamlnode.MapOf("app", yamlnode.MapOf("ports", yamlnode.MapOf("http", yamlnode.MapOf("port", yamlnode.Int(o.Port))))))
	if g.f.Route {
		hostnames := &yaml.Node{Kind: yaml.SequenceNode}
		for _, h := range g.routeHostnames(true) {
			hostnames.Content = append(hostnames.Content, yamlnode.Quoted(h))
		}
		values.Set("route", yamlnode.MapOf("app", yamlnode.MapOf(
			"hostnames", hostnames,
			"parentRefs", yamlnode.Seq(yamlnode.MapOf("name", yamlnode.Str(g.gateway.Name), "namespace", yamlnode.Str(g.gateway.Namespace), "sectionName", yamlnode.Str("https"))),
			"rules", yamlnode.Seq(yamlnode.MapOf("backendRefs", yamlnode.Seq(yamlnode.MapOf("identifier", yamlnode.Str("app"), "port", yamlnode.Int(o.Port))))),
		)))
	}
	if len(o.Persist) > 0 {
		p := yamlnode.NewMap()
		for _, v := range o.Persist {
			p.Set(v.Name, yamlnode.MapOf(
				"type", yamlnode.Str("persistentVolumeClaim"),
				"accessMode", yamlnode.Str("ReadWriteOnce"),
				"size", yamlnode.Str(v.Size),
				"globalMounts", yamlnode.Seq(yamlnode.MapOf("path", yamlnode.Str(v.Path))),
			))
		}
		values.Set("persistence", p.Node)
	}
	return values.Node, nil
}

func (g *adder) chart() error {
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
	data := map[string]any{"SchemaHeaders": g.f.style.SchemaHeaders, "Name": o.Name, "Values": values, "ChartSpec": nil}
	if c.OCI {
		if err := g.f.Render("ocirepository.yaml", "ocirepository.yaml", map[string]any{
			"SchemaHeaders": g.f.style.SchemaHeaders, "Name": o.Name, "URL": c.URL, "Version": o.ChartVersion,
		}); err != nil {
			return err
		}
	} else {
		if err := g.f.Render("helmrepository.yaml", "helmrepository.yaml", map[string]any{
			"SchemaHeaders": g.f.style.SchemaHeaders, "Name": o.Name, "URL": c.URL,
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

func (g *adder) raw() error {
	o := g.o
	container := yamlnode.NewMap()
	container.Set("name", yamlnode.Str(o.Name))
	imageNode := yamlnode.Str(o.Image)
	if o.ImagePolicy != nil {
		imageNode.LineComment = ImagePolicyMarker(o.Namespace, o.Name, "")
	}
	container.Set("image", imageNode)
	container.Set("ports", yamlnode.Seq(yamlnode.MapOf("name", yamlnode.Str("http"), "containerPort", yamlnode.Int(o.Port), "protocol", yamlnode.Str("TCP"))))
	if len(o.Env) > 0 {
		env := &yaml.Node{Kind: yaml.SequenceNode}
		for _, kv := range o.Env {
			env.Content = append(env.Content, yamlnode.MapOf("name", yamlnode.Str(kv.Key), "value", yamlnode.Str(kv.Value)))
		}
		container.Set("env", env)
	}
	if len(o.Secrets) > 0 {
		container.Set("envFrom", yamlnode.Seq(yamlnode.MapOf("secretRef", yamlnode.MapOf("name", yamlnode.Str(g.secretName())))))
	}
	if o.Probe != nil {
		var p *yaml.Node
		if o.Probe.Kind == "http" {
			p = yamlnode.MapOf("httpGet", yamlnode.MapOf("path", yamlnode.Str(o.Probe.Path), "port", yamlnode.Str("http")))
		} else {
			p = yamlnode.MapOf("tcpSocket", yamlnode.MapOf("port", yamlnode.Str("http")))
		}
		container.Set("readinessProbe", p)
		container.Set("livenessProbe", p)
	}
	if res := resources(o.CPU, o.Memory); res != nil {
		container.Set("resources", res)
	}
	if len(o.Persist) > 0 {
		mounts := &yaml.Node{Kind: yaml.SequenceNode}
		for _, v := range o.Persist {
			mounts.Content = append(mounts.Content, yamlnode.MapOf("name", yamlnode.Str(v.Name), "mountPath", yamlnode.Str(v.Path)))
		}
		container.Set("volumeMounts", mounts)
	}
	podSpec := yamlnode.NewMap()
	podSpec.Set("containers", yamlnode.Seq(container.Node))
	if len(o.Persist) > 0 {
		vols := &yaml.Node{Kind: yaml.SequenceNode}
		for _, v := range o.Persist {
			vols.Content = append(vols.Content, yamlnode.MapOf("name", yamlnode.Str(v.Name), "persistentVolumeClaim", yamlnode.MapOf("claimName", yamlnode.Str(o.Name+"-"+v.Name))))
		}
		podSpec.Set("volumes", vols)
	}
	labels := yamlnode.MapOf("app.kubernetes.io/name", yamlnode.Str(o.Name))
	spec := yamlnode.NewMap()
	replicas := 1
	if o.Replicas != nil {
		replicas = *o.Replicas
	}
	spec.Set("replicas", yamlnode.Int(replicas))
	spec.Set("selector", yamlnode.MapOf("matchLabels", labels))
	spec.Set("template", yamlnode.MapOf("metadata", yamlnode.MapOf("labels", labels), "spec", podSpec.Node))
	if err := g.f.Render("deployment.yaml", "deployment.yaml", map[string]any{"Name": o.Name, "Spec": spec.Node}); err != nil {
		return err
	}
	if err := g.f.Render("service.yaml", "service.yaml", map[string]any{"Name": o.Name, "Port": o.Port, "TargetPort": "http"}); err != nil {
		return err
	}
	for _, v := range o.Persist {
		pvc := fmt.Sprintf("---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s-%s\nspec:\n  accessModes:\n    - ReadWriteOnce\n  resources:\n    requests:\n      storage: %s\n", o.Name, v.Name, v.Size)
		g.f.Add("pvc-"+v.Name+".yaml", []byte(pvc))
	}
	return g.httpRoute()
}

func (g *adder) httpRoute() error {
	if !g.f.Route {
		return nil
	}
	return g.f.Render("httproute.yaml", "httproute.yaml", map[string]any{
		"Name": g.o.Name, "Gateway": g.gateway.Name, "GatewayNamespace": g.gateway.Namespace,
		"Hostnames": g.routeHostnames(false), "Service": g.o.Name, "Port": g.o.Port,
	})
}

// dnsEndpoint writes a DNSEndpoint for hostnames on secondary domains served
// through the external gateway: external-dns only reads the primary domain's
// records from the gateway's target annotation.
func (g *adder) dnsEndpoint() error {
	if !g.f.Route || g.gateway.Target == "" {
		return nil
	}
	prefix := generator.TargetPrefix(g.gateway.Target)
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
	g.f.DNS = true
	return g.f.Render("dnsendpoint.yaml", "dnsendpoint.yaml", map[string]any{"Name": g.o.Name, "Endpoints": eps})
}

func (g *adder) secretName() string { return g.o.Name + "-secret" }

func (g *adder) secret() error {
	if len(g.o.Secrets) == 0 {
		return nil
	}
	p := g.f.File("secret.sops.yaml")
	values := map[string]string{}
	data := yamlnode.NewMap()
	for _, kv := range g.o.Secrets {
		values[kv.Key] = kv.Value
		data.Set(kv.Key, yamlnode.Str(kv.Value))
	}
	g.f.Resources = append(g.f.Resources, "secret.sops.yaml")
	if existing, ok := g.r.Files[p]; ok {
		same, err := g.o.Sealer.Holds(existing, values)
		if err == nil && same {
			g.f.Changeset.AddSensitive(p, existing)
			return nil
		}
	}
	plain, err := g.f.set.Render("secret.yaml", map[string]any{"Name": g.secretName(), "StringData": data.Node})
	if err != nil {
		return err
	}
	sealed, err := g.o.Sealer.Seal(p, plain)
	if err != nil {
		return fmt.Errorf("encrypting %q: %w", p, err)
	}
	g.f.Changeset.AddSensitive(p, sealed)
	return nil
}

// ks checks --depends-on against the repository and writes ks.yaml.
func (g *adder) ks() error {
	for _, d := range g.o.DependsOn {
		if _, ok := g.r.App(d.Namespace, d.Name); !ok && !hasKustomization(g.r, d) {
			return fmt.Errorf("--depends-on %s: no Flux Kustomization %q in namespace %q", d, d.Name, d.Namespace)
		}
	}
	return g.f.WriteKS(g.o.DependsOn)
}

// hasKustomization reports whether a Flux Kustomization of an app in
// ref's namespace is called ref's name.
func hasKustomization(r *generator.Repo, ref generator.Ref) bool {
	if ns, ok := r.Namespaces[ref.Namespace]; ok {
		for _, a := range ns.Apps {
			if slices.Contains(a.Kustomizations, ref.Name) {
				return true
			}
		}
	}
	return false
}

// checkExisting turns a rerun into "nothing to do" and refuses to replace
// an app that differs unless forced.
func (g *adder) checkExisting() error {
	var differ []string
	kept := g.f.Changeset.Files[:0]
	for _, f := range g.f.Changeset.Files {
		old, ok := g.r.Files[f.Path]
		if ok && bytes.Equal(old, f.Content) {
			continue
		}
		if ok && strings.HasPrefix(f.Path, g.f.Dir+"/") {
			differ = append(differ, f.Path)
		}
		kept = append(kept, f)
	}
	g.f.Changeset.Files = kept
	if len(differ) > 0 && !g.o.Force {
		return &ExistsError{App: g.o.Namespace + "/" + g.o.Name, Paths: differ, Changeset: &g.f.Changeset}
	}
	if g.o.Force {
		g.noteLeftovers()
	}
	return nil
}

// noteLeftovers lists files of an existing app folder that --force neither
// rewrote nor lists any longer.
func (g *adder) noteLeftovers() {
	written := map[string]bool{}
	for _, f := range g.f.Changeset.Files {
		written[f.Path] = true
	}
	var left []string
	for p := range g.r.Files {
		if strings.HasPrefix(p, g.f.Dir+"/app/") && !written[p] {
			listed := false
			for _, res := range g.f.Resources {
				if g.f.File(res) == p {
					listed = true
				}
			}
			if !listed {
				left = append(left, p)
			}
		}
	}
	slices.Sort(left)
	for _, p := range left {
		g.f.Changeset.Note("%s was kept but is no longer listed in app/kustomization.yaml; delete it or list it again", p)
	}
}

// ExistsError reports an app that exists with other content.
type ExistsError struct {
	App       string
	Paths     []string
	Changeset *generator.Changeset
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
	req := yamlnode.NewMap()
	if cpu != "" {
		req.Set("cpu", yamlnode.Str(cpu))
	}
	if memory != "" {
		req.Set("memory", yamlnode.Str(memory))
	}
	res := yamlnode.NewMap()
	res.Set("requests", req.Node)
	if memory != "" {
		// A CPU limit throttles; a memory limit protects the node. This is
		// the convention the target repositories follow.
		res.Set("limits", yamlnode.MapOf("memory", yamlnode.Str(memory)))
	}
	return res.Node
}
