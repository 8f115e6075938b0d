package domains

import (
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/internal/yamledit"
	"github.com/gen-gitops/gen/generator/tunnel"
	"github.com/gen-gitops/gen/internal/repo"
)

// listTarget is a YAML sequence that onboarding edits: in document Doc of
// File, at Path (keys and indices from the document root).
type listTarget struct {
	File string
	Doc  int
	Path []yamledit.PathKey
	// What names the list for messages.
	What string
	// Owner is extra context: the Gateway's name for certificateRefs.
	Owner string
}

// newItem is an item written when a list has none to copy.
type newItem struct {
	flow  string
	block []string
	value any
}

// locate finds a target list in the working copy.
func (e *domainEdit) locate(t listTarget) ([]byte, *yaml.Node, error) {
	data, docs, err := e.w.Docs(t.File)
	if err != nil {
		return nil, nil, err
	}
	if t.Doc >= len(docs) {
		return nil, nil, fmt.Errorf("%s in %q: the document is gone", t.What, t.File)
	}
	n := yamledit.NodeByPath(docs[t.Doc], t.Path)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("%s in %q is not a plain list (an alias?); edit it by hand or --skip its component", t.What, t.File)
	}
	return data, n, nil
}

// refersToDomainVar reports whether any scalar below n refers to a domain
// variable.
func refersToDomainVar(n *yaml.Node) bool { return yamledit.DomainVarOf(n, repo.IsDomainVar) != "" }

// addToList adds a reference to the new variable to a list: a copy of the
// last item that refers to a domain variable (and that accept takes), with
// that variable replaced, or, when there is none, the item fallback gives.
// A list that refers to the variable already is left alone.
func (e *domainEdit) addToList(t listTarget, accept func(it *yaml.Node, from string) bool, fallback func(seq *yaml.Node) (newItem, error)) error {
	data, seq, err := e.locate(t)
	if err != nil {
		return err
	}
	for _, it := range seq.Content {
		if yamledit.NodeRefersTo(it, e.v) {
			return nil
		}
	}
	tmpl, from := -1, ""
	for i, it := range seq.Content {
		dv := yamledit.DomainVarOf(it, repo.IsDomainVar)
		if dv != "" && (accept == nil || accept(it, dv)) {
			tmpl, from = i, dv
		}
	}
	var out []byte
	var item newItem
	if tmpl >= 0 {
		out, err = yamledit.AppendClone(data, seq, tmpl, from, e.v)
	} else {
		if item, err = fallback(seq); err != nil {
			return fmt.Errorf("%s in %q: %w", t.What, t.File, err)
		}
		out, err = yamledit.AppendItem(data, seq, item.flow, item.block)
	}
	if err != nil {
		return fmt.Errorf("%s in %q: %w", t.What, t.File, err)
	}
	err = yamledit.VerifyEdit(t.File, data, out, yamledit.EditList(t.Doc, t.Path, func(list []any) []any {
		if tmpl >= 0 {
			return append(list, yamledit.SubstAny(list[tmpl], from, e.v))
		}
		return append(list, item.value)
	}))
	if err != nil {
		return err
	}
	e.w.Write(t.File, out)
	return nil
}

// removeFromList removes every item of a list that match takes.
func (e *domainEdit) removeFromList(t listTarget, match func(it *yaml.Node) bool) error {
	for {
		data, seq, err := e.locate(t)
		if err != nil {
			return err
		}
		idx := -1
		for i, it := range seq.Content {
			if match(it) {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil
		}
		out, err := yamledit.RemoveItem(data, seq, idx)
		if err != nil {
			return fmt.Errorf("%s in %q: %w", t.What, t.File, err)
		}
		err = yamledit.VerifyEdit(t.File, data, out, yamledit.EditList(t.Doc, t.Path, func(list []any) []any {
			return append(list[:idx:idx], list[idx+1:]...)
		}))
		if err != nil {
			return err
		}
		e.w.Write(t.File, out)
	}
}

func (e *domainEdit) refersToVar(it *yaml.Node) bool { return yamledit.NodeRefersTo(it, e.v) }

// quotedVar is "${V}" as a flow item.
func (e *domainEdit) quotedVar() newItem {
	return newItem{flow: `"${` + e.v + `}"`, block: []string{`- "${` + e.v + `}"`}, value: "${" + e.v + "}"}
}

// external-dns: values.domainFilters of every HelmRelease that lists a
// domain variable there.

func (e *domainEdit) domainFilterLists() []listTarget {
	var out []listTarget
	e.w.EachDoc("HelmRelease", "helm.toolkit.fluxcd.io", func(f string, i int, d *yaml.Node) {
		p := []yamledit.PathKey{"spec", "values", "domainFilters"}
		seq := yamledit.NodeByPath(d, p)
		if seq != nil && refersToDomainVar(seq) {
			out = append(out, listTarget{File: f, Doc: i, Path: p, What: "values.domainFilters of HelmRelease " + yamledit.ObjectName(d)})
		}
	})
	return out
}

func (e *domainEdit) addDomainFilters() error {
	for _, t := range e.domainFilterLists() {
		if err := e.addToList(t, nil, func(*yaml.Node) (newItem, error) { return e.quotedVar(), nil }); err != nil {
			return err
		}
	}
	return nil
}

func (e *domainEdit) removeDomainFilters() error {
	for _, t := range e.domainFilterLists() {
		if err := e.removeFromList(t, e.refersToVar); err != nil {
			return err
		}
	}
	return nil
}

// cert-manager: the first dns01 solver with selector.dnsZones of every
// Issuer and ClusterIssuer.

func (e *domainEdit) issuers(fn func(f string, i int, d *yaml.Node)) {
	e.w.EachDoc("ClusterIssuer", "cert-manager.io", fn)
	e.w.EachDoc("Issuer", "cert-manager.io", fn)
}

func (e *domainEdit) hasDNS01Issuer() bool {
	found := false
	e.issuers(func(_ string, _ int, d *yaml.Node) {
		solvers := yamledit.NodeAt(d, "spec", "acme", "solvers")
		if solvers == nil {
			return
		}
		for _, s := range solvers.Content {
			if yamledit.MapGet(s, "dns01") != nil {
				found = true
			}
		}
	})
	return found
}

// issuerRef names the issuer a new Certificate uses: the DNS-01 issuer
// whose name says production, else the first.
func (e *domainEdit) issuerRef() (kind, name string) {
	type iss struct{ kind, name string }
	var all []iss
	e.issuers(func(_ string, _ int, d *yaml.Node) {
		if solvers := yamledit.NodeAt(d, "spec", "acme", "solvers"); solvers != nil {
			all = append(all, iss{yamledit.ScalarOf(yamledit.MapGet(d, "kind")), yamledit.ObjectName(d)})
		}
	})
	for _, i := range all {
		if strings.Contains(i.name, "production") {
			return i.kind, i.name
		}
	}
	if len(all) > 0 {
		return all[0].kind, all[0].name
	}
	return "ClusterIssuer", "letsencrypt-production"
}

func (e *domainEdit) dnsZoneLists() []listTarget {
	var out []listTarget
	e.issuers(func(f string, i int, d *yaml.Node) {
		solvers := yamledit.NodeAt(d, "spec", "acme", "solvers")
		if solvers == nil || solvers.Kind != yaml.SequenceNode {
			return
		}
		for si, s := range solvers.Content {
			if yamledit.MapGet(s, "dns01") == nil {
				continue
			}
			p := []yamledit.PathKey{"spec", "acme", "solvers", si, "selector", "dnsZones"}
			if seq := yamledit.NodeByPath(d, p); seq != nil && refersToDomainVar(seq) {
				out = append(out, listTarget{File: f, Doc: i, Path: p,
					What: fmt.Sprintf("solvers[%d].selector.dnsZones of %s %s", si, yamledit.ScalarOf(yamledit.MapGet(d, "kind")), yamledit.ObjectName(d))})
				return
			}
		}
	})
	return out
}

func (e *domainEdit) addDNSZones() error {
	for _, t := range e.dnsZoneLists() {
		if err := e.addToList(t, nil, func(*yaml.Node) (newItem, error) { return e.quotedVar(), nil }); err != nil {
			return err
		}
	}
	return nil
}

func (e *domainEdit) removeDNSZones() error {
	for _, t := range e.dnsZoneLists() {
		if err := e.removeFromList(t, e.refersToVar); err != nil {
			return err
		}
	}
	return nil
}

// Certificates: one per domain, for the apex and the wildcard.

type certDoc struct {
	File       string
	Doc        int
	Node       *yaml.Node
	Var        string
	SecretName string
}

// certificates lists the Certificates whose names or secret refer to a
// domain variable, in file order.
func (e *domainEdit) certificates() []certDoc {
	var out []certDoc
	e.w.EachDoc("Certificate", "cert-manager.io", func(f string, i int, d *yaml.Node) {
		spec := yamledit.MapGet(d, "spec")
		sn := yamledit.ScalarOf(yamledit.MapGet(spec, "secretName"))
		v := yamledit.DomainVarOf(yamledit.MapGet(spec, "secretName"), repo.IsDomainVar)
		if v == "" {
			v = yamledit.DomainVarOf(yamledit.MapGet(spec, "dnsNames"), repo.IsDomainVar)
		}
		if v != "" {
			out = append(out, certDoc{File: f, Doc: i, Node: d, Var: v, SecretName: sn})
		}
	})
	return out
}

// addCertificate adds the domain's Certificate, a copy of the last one
// there is (in the file that holds it), then its secret on the gateways.
func (e *domainEdit) addCertificate() error {
	certs := e.certificates()
	for _, c := range certs {
		if yamledit.NodeRefersTo(yamledit.MapGet(c.Node, "spec"), e.v) {
			e.secretName = c.SecretName
			return e.addGatewayRefs()
		}
	}
	if len(certs) == 0 {
		if err := e.newCertificate(); err != nil {
			return err
		}
		return e.addGatewayRefs()
	}
	t := certs[len(certs)-1]
	data := e.w.Read(t.File)
	lines := yamledit.SplitLines(data)
	c, ok := yamledit.ChunkOf(yamledit.DocChunks(lines), t.Node)
	if !ok {
		return fmt.Errorf("reading %q: cannot find the text of Certificate %s", t.File, yamledit.ObjectName(t.Node))
	}
	chunk := lines[c.Start:c.End]
	for len(chunk) > 0 && strings.TrimSpace(chunk[len(chunk)-1]) == "" {
		chunk = chunk[:len(chunk)-1]
	}
	cloned := yamledit.CloneLines(chunk, t.Var, e.v)
	if len(cloned) == 0 || !yamledit.IsDocMarker(cloned[0]) {
		cloned = append([]string{"---\n"}, cloned...)
	}
	out := append([]byte{}, data...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, yamledit.JoinLines(cloned)...)
	err := yamledit.VerifyEdit(t.File, data, out, func(docs []any) ([]any, error) {
		return append(append([]any(nil), docs...), yamledit.SubstAny(docs[t.Doc], t.Var, e.v)), nil
	})
	if err != nil {
		return err
	}
	e.secretName = yamledit.SubstVar(t.SecretName, t.Var, e.v)
	if !yamledit.RefersTo(e.secretName, e.v) {
		return fmt.Errorf("the Certificate copied from %s in %q has secretName %q, which does not name the new domain; add the Certificate by hand or --skip envoy-gateway",
			yamledit.ObjectName(t.Node), t.File, e.secretName)
	}
	e.w.Write(t.File, out)
	return e.addGatewayRefs()
}

// newCertificate writes a Certificate when the repository has none to copy:
// into certificate.yaml beside the first gateway, listed in the folder's
// kustomization.
func (e *domainEdit) newCertificate() error {
	var gwFile string
	e.w.EachDoc("Gateway", "gateway.networking.k8s.io", func(f string, _ int, d *yaml.Node) {
		if gwFile == "" && e.gateways[yamledit.ObjectName(d)] {
			gwFile = f
		}
	})
	if gwFile == "" {
		return fmt.Errorf("no Gateway to put the Certificate beside")
	}
	kind, issuer := e.issuerRef()
	e.secretName = "${" + e.v + "/./-}-production-tls"
	doc := fmt.Sprintf("---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: \"${%[1]s/./-}-production\"\nspec:\n"+
		"  dnsNames:\n    - \"${%[1]s}\"\n    - \"*.${%[1]s}\"\n  issuerRef:\n    kind: %[2]s\n    name: %[3]s\n  secretName: \"%[4]s\"\n",
		e.v, kind, issuer, e.secretName)
	file := newFileBeside(gwFile, "certificate.yaml")
	if _, ok := e.r.Files[file]; ok || e.w.Written()[file] != nil {
		out := append([]byte{}, e.w.Read(file)...)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		e.w.Write(file, append(out, doc...))
		return nil
	}
	e.w.Write(file, []byte(doc))
	k := e.r.KustomizationIn(path.Dir(file))
	if k == "" {
		return nil
	}
	out, changed, err := generator.AddResource(e.w.Read(k), "./certificate.yaml")
	if err != nil {
		return fmt.Errorf("registering ./certificate.yaml in %q: %w", k, err)
	}
	if changed {
		e.w.Write(k, out)
	}
	return nil
}

// removeCertificate removes the domain's secret from the gateways and its
// Certificate documents; a file left without documents is deleted and
// unlisted.
func (e *domainEdit) removeCertificate() error {
	if err := e.removeGatewayRefs(); err != nil {
		return err
	}
	for {
		var hit *certDoc
		for _, c := range e.certificates() {
			if yamledit.NodeRefersTo(yamledit.MapGet(c.Node, "spec"), e.v) || yamledit.NodeRefersTo(yamledit.MapGet(c.Node, "metadata"), e.v) {
				hit = &c
				break
			}
		}
		if hit == nil {
			return nil
		}
		data := e.w.Read(hit.File)
		lines := yamledit.SplitLines(data)
		c, ok := yamledit.ChunkOf(yamledit.DocChunks(lines), hit.Node)
		if !ok {
			return fmt.Errorf("reading %q: cannot find the text of Certificate %s", hit.File, yamledit.ObjectName(hit.Node))
		}
		out := yamledit.JoinLines(yamledit.RemoveLines(lines, c.Start, c.End))
		err := yamledit.VerifyEdit(hit.File, data, out, func(docs []any) ([]any, error) {
			return append(append([]any(nil), docs[:hit.Doc]...), docs[hit.Doc+1:]...), nil
		})
		if err != nil {
			return err
		}
		left, _ := yamledit.DecodeStream(out)
		empty := true
		for _, d := range left {
			if d != nil {
				empty = false
			}
		}
		if !empty {
			e.w.Write(hit.File, out)
			continue
		}
		e.w.Delete(hit.File)
		if k := e.r.KustomizationIn(path.Dir(hit.File)); k != "" {
			out, err := removeResource(e.w.Read(k), path.Base(hit.File))
			if err != nil {
				return fmt.Errorf("unlisting %s in %q: %w", path.Base(hit.File), k, err)
			}
			e.w.Write(k, out)
		}
	}
}

// removeResource removes entry (as ./x or x) from a kustomization's
// resources.
func removeResource(data []byte, entry string) ([]byte, error) {
	docs, err := yamledit.ParseStream(data)
	if err != nil || len(docs) == 0 {
		return nil, fmt.Errorf("not YAML: %v", err)
	}
	seq := yamledit.MapGet(docs[0], "resources")
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return data, nil
	}
	for i, it := range seq.Content {
		if strings.TrimPrefix(it.Value, "./") == strings.TrimPrefix(entry, "./") {
			out, err := yamledit.RemoveItem(data, seq, i)
			if err != nil {
				return nil, err
			}
			return out, yamledit.VerifyEdit("kustomization", data, out, yamledit.EditList(0, []yamledit.PathKey{"resources"}, func(list []any) []any {
				return append(list[:i:i], list[i+1:]...)
			}))
		}
	}
	return data, nil
}

// Gateways: the https listeners' tls.certificateRefs.

func (e *domainEdit) certificateRefLists() []listTarget {
	var out []listTarget
	e.w.EachDoc("Gateway", "gateway.networking.k8s.io", func(f string, i int, d *yaml.Node) {
		listeners := yamledit.NodeAt(d, "spec", "listeners")
		if listeners == nil || listeners.Kind != yaml.SequenceNode {
			return
		}
		for li, l := range listeners.Content {
			proto := yamledit.ScalarOf(yamledit.MapGet(l, "protocol"))
			if proto != "HTTPS" && proto != "TLS" {
				continue
			}
			p := []yamledit.PathKey{"spec", "listeners", li, "tls", "certificateRefs"}
			if seq := yamledit.NodeByPath(d, p); seq != nil && seq.Kind == yaml.SequenceNode {
				out = append(out, listTarget{File: f, Doc: i, Path: p, Owner: yamledit.ObjectName(d),
					What: fmt.Sprintf("listener %s's tls.certificateRefs of Gateway %s", yamledit.ScalarOf(yamledit.MapGet(l, "name")), yamledit.ObjectName(d))})
			}
		}
	})
	return out
}

// tlsGateways are the Gateways whose HTTPS listeners list certificateRefs.
func (e *domainEdit) tlsGateways() map[string]bool {
	out := map[string]bool{}
	for _, t := range e.certificateRefLists() {
		out[t.Owner] = true
	}
	return out
}

func (e *domainEdit) addGatewayRefs() error {
	for _, t := range e.certificateRefLists() {
		if !e.gateways[t.Owner] {
			continue
		}
		sameName := func(it *yaml.Node, from string) bool {
			return yamledit.SubstVar(yamledit.ScalarOf(yamledit.MapGet(it, "name")), from, e.v) == e.secretName
		}
		err := e.addToList(t, sameName, func(*yaml.Node) (newItem, error) {
			return newItem{
				flow:  `{kind: Secret, name: "` + e.secretName + `"}`,
				block: []string{"- kind: Secret", "  name: " + e.secretName},
				value: map[string]any{"kind": "Secret", "name": e.secretName},
			}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *domainEdit) removeGatewayRefs() error {
	for _, t := range e.certificateRefLists() {
		if err := e.removeFromList(t, e.refersToVar); err != nil {
			return err
		}
	}
	return nil
}

// The tunnel's ingress rules: the apex and the wildcard of the domain.

func (e *domainEdit) addTunnelRules() error {
	return tunnel.Edit(e.w, func(text []byte, what string) ([]byte, error) {
		return tunnel.AddDomainRules(text, e.v, what)
	})
}

func (e *domainEdit) removeTunnelRules() error {
	return tunnel.Edit(e.w, func(text []byte, what string) ([]byte, error) {
		return tunnel.RemoveDomainRules(text, e.v, what)
	})
}

// The tunnel's DNSEndpoint: external.<domain> CNAME <uuid>.cfargotunnel.com.

const tunnelTargetSuffix = ".cfargotunnel.com"

func isTunnelEndpoint(it *yaml.Node) bool {
	for _, t := range yamledit.Scalars(yamledit.MapGet(it, "targets")) {
		if strings.HasSuffix(t, tunnelTargetSuffix) {
			return true
		}
	}
	return false
}

func (e *domainEdit) tunnelEndpointLists() []listTarget {
	var out []listTarget
	e.w.EachDoc("DNSEndpoint", "externaldns.k8s.io", func(f string, i int, d *yaml.Node) {
		p := []yamledit.PathKey{"spec", "endpoints"}
		seq := yamledit.NodeByPath(d, p)
		if seq == nil || seq.Kind != yaml.SequenceNode {
			return
		}
		for _, it := range seq.Content {
			if isTunnelEndpoint(it) {
				out = append(out, listTarget{File: f, Doc: i, Path: p, What: "spec.endpoints of DNSEndpoint " + yamledit.ObjectName(d)})
				return
			}
		}
	})
	return out
}

func (e *domainEdit) addTunnelEndpoint() error {
	for _, t := range e.tunnelEndpointLists() {
		accept := func(it *yaml.Node, _ string) bool {
			return isTunnelEndpoint(it) && refersToDomainVar(yamledit.MapGet(it, "dnsName"))
		}
		err := e.addToList(t, accept, func(seq *yaml.Node) (newItem, error) {
			target := ""
			for _, it := range seq.Content {
				for _, s := range yamledit.Scalars(yamledit.MapGet(it, "targets")) {
					if target == "" && strings.HasSuffix(s, tunnelTargetSuffix) {
						target = s
					}
				}
			}
			name := e.targetPrefix() + "${" + e.v + "}"
			return newItem{
				flow:  fmt.Sprintf(`{dnsName: "%s", recordType: CNAME, targets: ["%s"]}`, name, target),
				block: []string{`- dnsName: "` + name + `"`, "  recordType: CNAME", "  targets:", `    - "` + target + `"`},
				value: map[string]any{"dnsName": name, "recordType": "CNAME", "targets": []any{target}},
			}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// targetPrefix is the label the gateways publish routes under
// ("external." in external.${SECRET_DOMAIN}).
func (e *domainEdit) targetPrefix() string {
	for _, g := range e.r.Gateways {
		if g.Target != "" && strings.Contains(g.Name, "external") {
			return generator.TargetPrefix(g.Target)
		}
	}
	return "external."
}

func (e *domainEdit) removeTunnelEndpoint() error {
	for _, t := range e.tunnelEndpointLists() {
		match := func(it *yaml.Node) bool { return yamledit.NodeRefersTo(yamledit.MapGet(it, "dnsName"), e.v) }
		if err := e.removeFromList(t, match); err != nil {
			return err
		}
	}
	return nil
}
