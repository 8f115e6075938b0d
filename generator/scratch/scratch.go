// Package scratch renders scratch apps: a manifest kubectl applies to try
// an app out on the cluster, every object labelled scratch.app=<name>,
// before promote turns it into a Flux app of the repository.
package scratch

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
	"github.com/gen-gitops/gen/scaffolds"
)

// Label is the label every object of a scratch app carries; its value is
// the app's name.
const Label = "scratch.app"

// DefaultNamespace is where scratch apps run.
const DefaultNamespace = "scratch"

// SelectorFor returns the label selector of a scratch app.
func SelectorFor(app string) string { return Label + "=" + app }

// Options are the inputs of Generate. Default fills in what was left out;
// Validate checks them.
type Options struct {
	// Name is the app's name, the value of its scratch.app label.
	Name string
	// Image is the container image.
	Image string
	// Port is the container and Service port (default 80).
	Port int
	// Hosts are hostnames: a full hostname, or (inside a repository) a
	// name on the primary domain.
	Hosts []string
	// AllowWildcard lets a host be a wildcard (*.example.org).
	AllowWildcard bool
	// Gateway is "external" (default) or "internal".
	Gateway string
	// Namespace is where scratch apps run (default scratch).
	Namespace string
	// Expose is gateway (default: an HTTPRoute, and DNSEndpoints where
	// needed) or access (a Chute: the chute operator's tunnel behind
	// Cloudflare Access). The tunnel is refused: its rules live in the
	// repository.
	Expose generator.Expose
	// Access is the policy of ExposeAccess.
	Access access.Options
}

// Endpoint is one DNS record of a scratch app.
type Endpoint struct {
	DNSName string
	Target  string
}

// Manifest is a rendered scratch app.
type Manifest struct {
	// YAML is the manifest: Namespace, Deployment, Service, and with
	// hostnames an HTTPRoute and, for domains the gateway does not publish,
	// a DNSEndpoint (or, with ExposeAccess, a Chute).
	YAML []byte
	// Hosts are the literal hostnames.
	Hosts []string
	// Published are the hostnames whose records external-dns publishes
	// (all of Hosts, unless a Chute's operator publishes them): what a
	// pre-flight checks.
	Published []string
	// Notes are messages for the user.
	Notes []string
}

// Default fills in the options left empty: the scratch namespace, port
// 80, the external gateway, exposure through a gateway route.
func (o *Options) Default() {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Port == 0 {
		o.Port = 80
	}
	if o.Gateway == "" {
		o.Gateway = "external"
	}
	if o.Expose == "" {
		o.Expose = generator.ExposeGateway
	}
}

// Validate checks the options alone; Default runs first.
func (o Options) Validate() error {
	if errs := validation.IsDNS1123Label(o.Name); len(errs) > 0 {
		return fmt.Errorf("app name %q is not a valid DNS-1123 label: %s", o.Name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
		return fmt.Errorf("--namespace %q is not a valid DNS-1123 label: %s", o.Namespace, strings.Join(errs, "; "))
	}
	if o.Image == "" {
		return fmt.Errorf("--image is required")
	}
	if _, err := reference.ParseNormalizedNamed(o.Image); err != nil {
		return fmt.Errorf("--image %q does not parse as an image reference: %v", o.Image, err)
	}
	if o.Port < 1 || o.Port > 65535 {
		return fmt.Errorf("--port %d is out of range 1-65535", o.Port)
	}
	if o.Gateway != "external" && o.Gateway != "internal" {
		return fmt.Errorf("--gateway %q: want external or internal", o.Gateway)
	}
	if err := generator.CheckHosts(o.Hosts, o.AllowWildcard); err != nil {
		return err
	}
	return o.validateExpose()
}

func (o Options) validateExpose() error {
	a := o.Access
	switch o.Expose {
	case generator.ExposeGateway:
		if len(a.Emails) > 0 || len(a.EmailDomains) > 0 || a.Config != "" {
			return fmt.Errorf("--allow-email, --allow-domain and --chute-config go with --expose access")
		}
		return nil
	case generator.ExposeTunnel:
		return fmt.Errorf("--expose tunnel: a tunnel rule lives in the repository's cloudflared config, which Flux applies, not kubectl; try the app through the gateway or --expose access, then promote it with 'gen promote %s --expose tunnel'", o.Name)
	case generator.ExposeAccess:
		if len(o.Hosts) != 1 {
			return fmt.Errorf("--expose access takes one --host: a Chute serves one hostname")
		}
		return a.Validate()
	}
	return fmt.Errorf("--expose %q: want gateway or access", o.Expose)
}

// Generate renders the manifest of a scratch app: every object labelled
// scratch.app=<name>, literal hostnames (kubectl applies it, nothing
// substitutes variables). With a repository (r may be nil) hostnames are
// resolved against its domains and gateways, and a DNSEndpoint is written
// only for hostnames the gateway does not publish; without one every
// hostname must be complete and gets a DNSEndpoint to external.<domain>.
func Generate(r *generator.Repo, o Options) (*Manifest, error) {
	o.Default()
	if err := o.Validate(); err != nil {
		return nil, &generator.OptionsError{Err: err}
	}
	m := &Manifest{}
	gateway, gatewayNS, prefix := "envoy-"+o.Gateway, "network", "external."
	if r != nil && len(o.Hosts) > 0 && o.Expose == generator.ExposeGateway {
		gw, ok := r.Gateway(gateway)
		if !ok {
			m.Notes = append(m.Notes, fmt.Sprintf("the repository declares no Gateway %s; the route names it anyway", gateway))
		} else {
			gatewayNS = gw.Namespace
			if gw.Target != "" {
				prefix = generator.TargetPrefix(gw.Target)
			}
		}
	}
	var eps []Endpoint
	for _, h := range o.Hosts {
		if r == nil {
			h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
			if !strings.Contains(h, ".") {
				return nil, fmt.Errorf("--host %q: outside a repository gen does not know the domain; give the full hostname, or --repo", h)
			}
			if errs := validation.IsDNS1123Subdomain(strings.ReplaceAll(h, "*", "x")); len(errs) > 0 {
				return nil, fmt.Errorf("--host %q is not a valid hostname: %s", h, strings.Join(errs, "; "))
			}
			m.Hosts = append(m.Hosts, h)
			_, domain, _ := strings.Cut(h, ".")
			eps = append(eps, Endpoint{DNSName: h, Target: prefix + domain})
			continue
		}
		host, err := generator.ResolveHost(r, h)
		if err != nil {
			return nil, err
		}
		if host.Domain.Value == "" {
			return nil, fmt.Errorf("--host %q: the value of %s is unknown without the age key; pass --domain %s=<domain>, or set SOPS_AGE_KEY_FILE so gen can read cluster-secrets",
				h, host.Domain.Var, host.Domain.Var)
		}
		lit := host.Literal()
		m.Hosts = append(m.Hosts, lit)
		if !host.Domain.Primary {
			eps = append(eps, Endpoint{DNSName: lit, Target: prefix + host.Domain.Value})
		}
	}
	var chute []byte
	routed := m.Hosts
	if o.Expose == generator.ExposeAccess {
		doc, err := scratchChute(r, o, m.Hosts[0])
		if err != nil {
			return nil, err
		}
		chute = doc
		// The operator publishes the name: no route, no DNSEndpoint.
		routed, eps = nil, nil
		m.Notes = append(m.Notes, fmt.Sprintf("the chute operator publishes %s and puts it behind Cloudflare Access: no HTTPRoute, no DNSEndpoint", m.Hosts[0]))
	} else {
		m.Published = m.Hosts
	}
	if r == nil && len(eps) > 0 {
		m.Notes = append(m.Notes, "outside a repository gen cannot tell which domain the gateway publishes: every hostname got a DNSEndpoint record")
	}
	set := scaffolds.Set{}
	if r != nil {
		set = generator.Scaffolds(r)
	}
	out, err := set.Render("scratch.yaml", map[string]any{
		"Namespace": o.Namespace, "Name": o.Name, "Image": o.Image, "Port": o.Port,
		"Hosts": routed, "Gateway": gateway, "GatewayNamespace": gatewayNS, "Endpoints": eps,
	})
	if err != nil {
		return nil, err
	}
	m.YAML = append(out, chute...)
	return m, nil
}

// scratchChute is the Chute of a scratch app: the literal hostname, the
// scratch namespace and label, the app's Service.
func scratchChute(r *generator.Repo, o Options, host string) ([]byte, error) {
	config := o.Access.Config
	if r != nil {
		c, _, err := access.PickConfig(r, config)
		if err != nil {
			return nil, err
		}
		config = c
	} else if config == "" {
		return nil, fmt.Errorf("--expose access: outside a repository gen cannot find the ChuteConfig; pass --chute-config NAME, the one your chute operator uses")
	}
	admit := o.Access.Normalized()
	meta := yamlnode.MapOf("name", yamlnode.Str(o.Name), "namespace", yamlnode.Str(o.Namespace), "labels", yamlnode.MapOf(Label, yamlnode.Str(o.Name)))
	doc := access.ChuteNode(meta, access.ChuteSpec{
		ConfigRef: access.ChuteConfigRef{Name: config},
		Service:   access.ChuteService{Name: o.Name, Port: int32(o.Port)},
		Hostname:  host,
		Access:    access.ChuteAccess{Emails: admit.Emails, EmailDomains: admit.EmailDomains},
	})
	out, err := yamlnode.Docs([]*yaml.Node{doc})
	if err != nil {
		return nil, err
	}
	if _, err := access.DecodeChute(out); err != nil {
		return nil, fmt.Errorf("--expose access: %w", err)
	}
	return out, nil
}
