package generator

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Expose is how add-app makes an app reachable from its hostnames.
type Expose string

// Ways to expose an app.
const (
	// ExposeGateway attaches an HTTPRoute to an envoy gateway (the default).
	ExposeGateway Expose = "gateway"
	// ExposeTunnel adds a cloudflared ingress rule that sends the hostname
	// straight to the app's Service, and a DNSEndpoint for the name.
	ExposeTunnel Expose = "tunnel"
	// ExposeAccess writes a Chute: its operator gives the Service its own
	// tunnel and a Cloudflare Access application.
	ExposeAccess Expose = "access"
)

// Exposes lists the valid values of --expose.
func Exposes() []Expose { return []Expose{ExposeGateway, ExposeTunnel, ExposeAccess} }

// ServiceURL is the in-cluster address a tunnel rule sends traffic to.
func ServiceURL(name, namespace string, port int) string {
	return fmt.Sprintf("http://%s.%s.svc.cluster.local:%d", name, namespace, port)
}

// exposeTunnel adds one ingress rule per hostname to the repository's
// cloudflared config (embedded in the tunnel's HelmRelease or a plain
// config.yaml), and a DNSEndpoint that points each name at the tunnel.
func (g *appGen) exposeTunnel() error {
	e := &domainEdit{r: g.r, files: map[string][]byte{}, deleted: map[string]bool{}, secrets: map[string]bool{}}
	configs, err := e.tunnelConfigs()
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
	for i, h := range g.hosts {
		b := g.backendOf(i)
		service := ServiceURL(b.Service, g.o.Namespace, b.Port)
		host := h.Template()
		err := e.editTunnelConfigs(func(text []byte, what string) ([]byte, error) {
			return AddTunnelRule(text, host, service, what)
		})
		if err != nil {
			return err
		}
	}
	for p, data := range e.files {
		if string(data) != string(g.r.Files[p]) {
			g.cs.Add(p, data)
		}
	}
	if g.o.Mode == ModeChart {
		g.cs.Note("the tunnel sends %s to the Service %s on port %d; check that the chart's Service has that name and port", strings.Join(g.hostTemplates(), ", "), g.o.Name, g.o.Port)
	}
	return g.tunnelDNSEndpoint()
}

func (g *appGen) hostTemplates() []string {
	var out []string
	for _, h := range g.hosts {
		out = append(out, h.Template())
	}
	return out
}

// tunnelDNSEndpoint publishes every hostname as a CNAME to the tunnel's
// name on its domain (external.<domain>): without a route, external-dns
// learns the names from this DNSEndpoint only.
func (g *appGen) tunnelDNSEndpoint() error {
	prefix := "external."
	if gw, ok := g.r.Gateway("envoy-external"); ok && gw.Target != "" {
		prefix = targetPrefix(gw.Target)
	}
	type ep struct{ DNSName, Target string }
	var eps []ep
	for _, h := range g.hosts {
		eps = append(eps, ep{DNSName: h.Template(), Target: prefix + "${" + h.Domain.Var + "}"})
	}
	g.hasDNS = true
	return g.render("dnsendpoint.yaml", "dnsendpoint.yaml", map[string]any{"Name": g.o.Name, "Endpoints": eps})
}

// AddTunnelRule adds the ingress rule "hostname → service" to a cloudflared
// config, in the file's own style: indented like its rules, the hostname
// quoted like theirs. The rule goes before the first rule that would
// otherwise catch the hostname (a wildcard such as *.${SECRET_DOMAIN}, since
// cloudflared takes the first match), and always before the catch-all,
// which stays last. A config without a catch-all is refused; a rule for the
// hostname that already sends it to service changes nothing, and one that
// sends it elsewhere is an error. what names the config in messages.
func AddTunnelRule(text []byte, hostname, service, what string) ([]byte, error) {
	doc, seq, err := ingressOf(text, what)
	if err != nil {
		return nil, err
	}
	n := len(seq.Content)
	if n == 0 || mapGet(seq.Content[n-1], "hostname") != nil || mapGet(seq.Content[n-1], "service") == nil {
		return nil, fmt.Errorf("%s does not end with a catch-all rule (- service: http_status:404): cloudflared refuses such a config, and gen would not know where the new rule goes; add the catch-all first", what)
	}
	at := n - 1
	style := yaml.Style(0)
	for i, r := range seq.Content[:n-1] {
		hn := mapGet(r, "hostname")
		h := scalarOf(hn)
		if h == hostname {
			if got := scalarOf(mapGet(r, "service")); got != service {
				return nil, fmt.Errorf("%s already sends %s to %s; remove that rule, or choose another --host", what, hostname, got)
			}
			if p := scalarOf(mapGet(r, "path")); p != "" {
				return nil, fmt.Errorf("%s has a rule for %s limited to path %s; add the rule by hand", what, hostname, p)
			}
			return text, nil
		}
		if hn != nil && style == 0 {
			style = hn.Style
		}
		if i < at && hostnameMatches(h, hostname) && scalarOf(mapGet(r, "path")) == "" {
			at = i
		}
	}
	lines := splitLines(text)
	start, _, err := blockItemRange(lines, seq, at)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// Comments just above the rule the new one goes before belong to it.
	for start > 0 && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") && indentOf(lines[start-1]) == seq.Column-1 {
		start--
	}
	pad := strings.Repeat(" ", seq.Column-1)
	keyPad := pad + "  "
	if first := seq.Content[0]; first.Kind == yaml.MappingNode && len(first.Content) > 0 {
		keyPad = strings.Repeat(" ", first.Content[0].Column-1)
	}
	rule := []string{
		pad + "-" + keyPad[len(pad)+1:] + "hostname: " + quoteLike(style, hostname) + "\n",
		keyPad + "service: " + service + "\n",
	}
	out := joinLines(insertLines(lines, start, rule))
	err = verifyEdit(what, text, out, editList(doc, []pathKey{"ingress"}, func(list []any) []any {
		res := append([]any(nil), list[:at]...)
		res = append(res, map[string]any{"hostname": hostname, "service": service})
		return append(res, list[at:]...)
	}))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// hostnameMatches reports whether an ingress rule's hostname pattern
// catches host: equal, or a "*." wildcard over one or more labels.
func hostnameMatches(pattern, host string) bool {
	if pattern == "" {
		return false
	}
	if pattern == host {
		return true
	}
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+rest)
	}
	return false
}

// validateExpose checks --expose against the other options.
func (o *AddAppOptions) validateExpose() error {
	if o.Expose == "" {
		o.Expose = ExposeGateway
	}
	if o.Expose != ExposeAccess && (len(o.Access.Emails) > 0 || len(o.Access.EmailDomains) > 0 || o.Access.Config != "") {
		return fmt.Errorf("--allow-email, --allow-domain and --chute-config go with --expose access")
	}
	switch o.Expose {
	case ExposeGateway:
	case ExposeTunnel, ExposeAccess:
		if len(o.Hosts) == 0 {
			return fmt.Errorf("--expose %s needs --host: the hostname to expose", o.Expose)
		}
		if o.Expose == ExposeAccess {
			return o.validateAccess()
		}
	default:
		return fmt.Errorf("--expose %q: want gateway, tunnel or access", o.Expose)
	}
	return nil
}
