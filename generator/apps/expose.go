package apps

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
	"github.com/gen-gitops/gen/generator/tunnel"
	"github.com/gen-gitops/gen/scaffolds"
)

// validateExpose checks --expose against the other options.
func (o AddOptions) validateExpose() error {
	if o.Expose != generator.ExposeAccess && (len(o.Access.Emails) > 0 || len(o.Access.EmailDomains) > 0 || o.Access.Config != "") {
		return fmt.Errorf("--allow-email, --allow-domain and --chute-config go with --expose access")
	}
	switch o.Expose {
	case generator.ExposeGateway:
	case generator.ExposeTunnel, generator.ExposeAccess:
		if len(o.Hosts) == 0 {
			return fmt.Errorf("--expose %s needs --host: the hostname to expose", o.Expose)
		}
		if o.Expose == generator.ExposeAccess {
			return o.validateAccess()
		}
	default:
		return fmt.Errorf("--expose %q: want gateway, tunnel or access", o.Expose)
	}
	return nil
}

// validateAccess checks the options of --expose access.
func (o AddOptions) validateAccess() error {
	if len(o.Access.Emails) == 0 && len(o.Access.EmailDomains) == 0 {
		return o.Access.Validate()
	}
	if len(o.Hosts) != 1 {
		return fmt.Errorf("--expose access takes one --host: a Chute serves one hostname")
	}
	if o.Mode == ModeChart && o.Port == 0 {
		return fmt.Errorf("--expose access in chart mode needs --port: the port of the chart's Service")
	}
	return o.Access.Validate()
}

// exposeTunnel sends every hostname through the tunnel to the app's
// Service.
func (g *adder) exposeTunnel() error {
	if err := g.f.ExposeTunnel(g.hosts, g.backends()); err != nil {
		return err
	}
	if g.o.Mode == ModeChart {
		var hosts []string
		for _, h := range g.hosts {
			hosts = append(hosts, h.Template())
		}
		g.f.Changeset.Note("the tunnel sends %s to the Service %s on port %d; check that the chart's Service has that name and port", strings.Join(hosts, ", "), g.o.Name, g.o.Port)
	}
	return nil
}

// exposeAccess puts the app's Service behind Cloudflare Access.
func (g *adder) exposeAccess() error {
	return g.f.ExposeAccess(g.hosts[0], g.backends()[0], g.o.Access)
}

// ExposeTunnel adds one ingress rule per hostname to the repository's
// cloudflared config (embedded in the tunnel's HelmRelease or a plain
// config.yaml), sending hosts[i] to backends[i], and a DNSEndpoint that
// points each name at the tunnel. A repository with no cloudflared
// config, or several, is refused.
func (f *Folder) ExposeTunnel(hosts []generator.Host, backends []Backend) error {
	w := generator.NewWorkingCopy(f.r)
	configs, err := tunnel.Configs(w)
	if err != nil {
		return err
	}
	switch len(configs) {
	case 0:
		return fmt.Errorf("--expose tunnel: the repository has no cloudflared config (a config.yaml or a HelmRelease value with an ingress: list); use --expose gateway")
	case 1:
	default:
		var where []string
		for _, c := range configs {
			where = append(where, c.File)
		}
		return fmt.Errorf("--expose tunnel: the repository has %d cloudflared configs (%s) and gen cannot tell which tunnel serves the app; add the rule by hand", len(configs), strings.Join(where, ", "))
	}
	for i, h := range hosts {
		b := backends[i]
		service := tunnel.ServiceURL(b.Service, f.Namespace, b.Port)
		host := h.Template()
		err := tunnel.Edit(w, func(text []byte, what string) ([]byte, error) {
			return tunnel.AddRule(text, host, service, what)
		})
		if err != nil {
			return err
		}
	}
	written := w.Written()
	for _, p := range slices.Sorted(maps.Keys(written)) {
		if string(written[p]) != string(f.r.Files[p]) {
			f.Changeset.Add(p, written[p])
		}
	}
	return f.tunnelDNSEndpoint(hosts)
}

// tunnelDNSEndpoint publishes every hostname as a CNAME to the tunnel's
// name on its domain (external.<domain>): without a route, external-dns
// learns the names from this DNSEndpoint only.
func (f *Folder) tunnelDNSEndpoint(hosts []generator.Host) error {
	prefix := "external."
	if gw, ok := f.r.Gateway("envoy-external"); ok && gw.Target != "" {
		prefix = generator.TargetPrefix(gw.Target)
	}
	type ep struct{ DNSName, Target string }
	var eps []ep
	for _, h := range hosts {
		eps = append(eps, ep{DNSName: h.Template(), Target: prefix + "${" + h.Domain.Var + "}"})
	}
	f.DNS = true
	return f.Render("dnsendpoint.yaml", "dnsendpoint.yaml", map[string]any{"Name": f.Name, "Endpoints": eps})
}

// ExposeAccess writes the app's Chute, for host and the Service backend,
// admitting who opts names: its operator gives the Service a tunnel and an
// Access application, and publishes the name itself, so no route, tunnel
// rule or DNSEndpoint is written. The app then depends on the
// Kustomization that declares the ChuteConfig.
func (f *Folder) ExposeAccess(host generator.Host, backend Backend, opts access.Options) error {
	config, file, err := access.PickConfig(f.r, opts.Config)
	if err != nil {
		return err
	}
	if file != "" {
		if ref, ok := generator.OwnerOfFile(f.r, file); ok {
			f.Needs = append(f.Needs, ref)
		}
	}
	admit := opts.Normalized()
	spec := access.ChuteSpec{
		ConfigRef: access.ChuteConfigRef{Name: config},
		Service:   access.ChuteService{Name: backend.Service, Port: int32(backend.Port)},
		Hostname:  host.Template(),
		Access:    access.ChuteAccess{Emails: admit.Emails, EmailDomains: admit.EmailDomains},
	}
	// Check the object as Flux will apply it: with the domain substituted.
	check := access.Chute{APIVersion: access.ChuteAPIVersion, Kind: "Chute", Metadata: access.ChuteMetadata{Name: f.Name}, Spec: spec}
	domain := host.Domain.Value
	if domain == "" {
		domain = "example.com"
	}
	check.Spec.Hostname = strings.ReplaceAll(spec.Hostname, "${"+host.Domain.Var+"}", domain)
	if err := check.Validate(); err != nil {
		return fmt.Errorf("--expose access: %w", err)
	}
	doc := access.ChuteNode(yamlnode.MapOf("name", yamlnode.Str(f.Name)), spec)
	body, err := scaffolds.ToYAML(doc)
	if err != nil {
		return fmt.Errorf("writing chute.yaml: %w", err)
	}
	f.Add("chute.yaml", []byte("---\n"+body+"\n"))
	return nil
}
