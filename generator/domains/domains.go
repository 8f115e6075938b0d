// Package domains onboards a DNS domain into a repository and offboards
// it: the variable in cluster-secrets, external-dns's domainFilters, the
// DNS-01 solver's dnsZones, a Certificate and its secret on the gateways,
// and the tunnel's ingress rules and DNSEndpoint. Every part is found by
// content and edited in place (see internal/yamledit), keeping each file's
// comments, order and style.
package domains

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/internal/yamledit"
	"github.com/gen-gitops/gen/generator/tunnel"
	"github.com/gen-gitops/gen/internal/repo"
)

// Component is one of the five parts of a repository that serve a DNS
// domain. Onboarding touches all of them unless told to skip one.
type Component string

// The components a domain is onboarded into.
const (
	// ComponentClusterSecrets is the variable in cluster-secrets.
	ComponentClusterSecrets Component = "cluster-secrets"
	// ComponentDNS is external-dns's domainFilters.
	ComponentDNS Component = "cloudflare-dns"
	// ComponentCertManager is the DNS-01 solver's dnsZones.
	ComponentCertManager Component = "cert-manager"
	// ComponentGateway is the Certificate and the gateways' certificateRefs.
	ComponentGateway Component = "envoy-gateway"
	// ComponentTunnel is the cloudflared ingress rules and the tunnel's
	// DNSEndpoint.
	ComponentTunnel Component = "cloudflare-tunnel"
)

// Components returns every component, in the order the change is made.
func Components() []Component {
	return []Component{ComponentClusterSecrets, ComponentDNS, ComponentCertManager, ComponentGateway, ComponentTunnel}
}

// ParseComponent parses a --skip value.
func ParseComponent(s string) (Component, error) {
	for _, c := range Components() {
		if string(c) == s {
			return c, nil
		}
	}
	switch s {
	case "external-dns":
		return ComponentDNS, nil
	case "cloudflared":
		return ComponentTunnel, nil
	}
	var names []string
	for _, c := range Components() {
		names = append(names, string(c))
	}
	return "", fmt.Errorf("unknown component %q (want one of %s)", s, strings.Join(names, ", "))
}

// OnboardOptions are the inputs of Onboard. Validate checks them.
type OnboardOptions struct {
	// Domain is the DNS domain to onboard, e.g. example.net.
	Domain string
	// Var is the cluster-secrets variable to hold it; by default the next
	// one in the repository's sequence (SECRET_DOMAIN_TWO, _THREE, ...).
	Var string
	// Gateways whose https listeners get the certificate (default: every
	// Gateway with an HTTPS listener that lists certificateRefs).
	Gateways []string
	// Skip leaves components alone.
	Skip []Component
	// Store decrypts and edits cluster-secrets.
	Store generator.SecretStore
}

// Validate checks the options alone, before the repository is consulted.
func (o OnboardOptions) Validate() error {
	if err := validateCommon(o.Domain, o.Skip, o.Store); err != nil {
		return err
	}
	if o.Var != "" && (!envVarName.MatchString(o.Var) || !repo.IsDomainVar(o.Var)) {
		return fmt.Errorf("--var %q: want SECRET_DOMAIN or SECRET_DOMAIN_<SUFFIX> in capitals, e.g. SECRET_DOMAIN_FOUR", o.Var)
	}
	return nil
}

// OffboardOptions are the inputs of Offboard. Validate checks them.
type OffboardOptions struct {
	// Domain is the DNS domain to remove.
	Domain string
	// Var is its variable, when it cannot be found by decrypting
	// cluster-secrets (or to check that it is the one).
	Var string
	// Skip leaves components alone.
	Skip []Component
	// Store decrypts and edits cluster-secrets.
	Store generator.SecretStore
}

// Validate checks the options alone, before the repository is consulted.
func (o OffboardOptions) Validate() error {
	if err := validateCommon(o.Domain, o.Skip, o.Store); err != nil {
		return err
	}
	if o.Var != "" && !repo.IsDomainVar(o.Var) {
		return fmt.Errorf("--var %q: want SECRET_DOMAIN or SECRET_DOMAIN_<SUFFIX> in capitals", o.Var)
	}
	return nil
}

// validateCommon checks what onboarding and offboarding share: the
// domain, the components to skip, and a store unless cluster-secrets is
// skipped.
func validateCommon(domain string, skip []Component, store generator.SecretStore) error {
	if _, err := Normalize(domain); err != nil {
		return err
	}
	for _, c := range skip {
		if _, err := ParseComponent(string(c)); err != nil {
			return fmt.Errorf("--skip: %w", err)
		}
	}
	if !slices.Contains(skip, ComponentClusterSecrets) && store == nil {
		return fmt.Errorf("editing cluster-secrets needs SOPS, and no secret store was given")
	}
	return nil
}

// Normalize lower-cases a domain, drops a trailing dot and checks it
// is a DNS name of at least two labels.
func Normalize(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	switch {
	case d == "":
		return "", fmt.Errorf("no domain given")
	case strings.Contains(d, "://") || strings.Contains(d, "/"):
		return "", fmt.Errorf("%q is a URL or path; give the domain alone, e.g. example.net", d)
	case strings.HasPrefix(d, "*."):
		return "", fmt.Errorf("%q: give the domain without \"*.\"; the wildcard comes with it", d)
	}
	for _, c := range d {
		if c > 127 {
			return "", fmt.Errorf("%q is not ASCII; give its punycode form (xn--...)", d)
		}
	}
	if errs := validation.IsDNS1123Subdomain(d); len(errs) > 0 {
		return "", fmt.Errorf("%q is not a valid DNS name: %s", d, strings.Join(errs, "; "))
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%q is not a domain: it needs at least two labels, like example.net", d)
	}
	for _, l := range labels {
		if errs := validation.IsDNS1123Label(l); len(errs) > 0 {
			return "", fmt.Errorf("%q is not a valid DNS name: label %q: %s", d, l, strings.Join(errs, "; "))
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", fmt.Errorf("%q looks like an IP address, not a domain", d)
	}
	return d, nil
}

var envVarName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// AlreadyOnboarded is the note Onboard leaves on an empty Changeset
// when the domain is onboarded already.
const AlreadyOnboarded = "already onboarded"

// Onboard returns the Changeset that brings domain into the repository: a
// variable in cluster-secrets, external-dns's domainFilters, the DNS-01
// solver's dnsZones, a Certificate for the apex and the wildcard and its
// secret on the gateways' https listeners, the tunnel's ingress rules
// (before the catch-all) and the tunnel's DNSEndpoint. Every edit keeps
// the file's comments, order and style; every part already in place is
// left alone, so a second run returns an empty Changeset whose note says
// the domain is already onboarded.
func Onboard(r *generator.Repo, o OnboardOptions) (*generator.Changeset, error) {
	if err := o.Validate(); err != nil {
		return nil, &generator.OptionsError{Err: err}
	}
	e := newDomainEdit(r, o.Domain, o.Skip, o.Store)
	domain := e.domain
	if err := e.checkComponents(o.Gateways); err != nil {
		return nil, err
	}
	already, err := e.chooseVar(o.Var)
	if err != nil {
		return nil, err
	}
	steps := []struct {
		c  Component
		fn func() error
	}{
		{ComponentClusterSecrets, e.addSecret},
		{ComponentDNS, e.addDomainFilters},
		{ComponentCertManager, e.addDNSZones},
		{ComponentGateway, e.addCertificate},
		{ComponentTunnel, e.addTunnelRules},
		{ComponentTunnel, e.addTunnelEndpoint},
	}
	for _, s := range steps {
		if e.skip[s.c] {
			continue
		}
		if err := s.fn(); err != nil {
			return nil, err
		}
	}
	cs, err := e.w.Changeset(fmt.Sprintf("Onboard %s as %s", domain, e.v))
	if err != nil {
		return nil, err
	}
	if len(cs.Files) == 0 {
		cs.Notes = nil
		if already != "" {
			cs.Note("%s is %s as %s; nothing to change", domain, AlreadyOnboarded, already)
		} else {
			cs.Note("%s: every part is in place already; nothing to change", domain)
		}
		return cs, nil
	}
	for _, c := range o.Skip {
		cs.Note("skipped %s: add %s there by hand", c, domain)
	}
	if e.skip[ComponentClusterSecrets] {
		cs.Note("add %s: %s to cluster-secrets yourself; until it is there Flux substitutes an empty string for ${%s}", e.v, domain, e.v)
	}
	if len(r.Config.Domains) > 0 {
		cs.Note(".gen.yaml lists the domains: add %s: %s under domains: there", e.v, domain)
	}
	cs.Note("in Cloudflare, %s must be a zone of the account, and the API token of external-dns and cert-manager must be allowed to edit its DNS records", domain)
	return cs, nil
}

// Offboard returns the Changeset that removes exactly what Onboard adds
// for domain. It refuses while anything else in the repository still uses
// the domain's variable, naming the apps.
func Offboard(r *generator.Repo, o OffboardOptions) (*generator.Changeset, error) {
	if err := o.Validate(); err != nil {
		return nil, &generator.OptionsError{Err: err}
	}
	e := newDomainEdit(r, o.Domain, o.Skip, o.Store)
	domain := e.domain
	if err := e.findVarToRemove(o.Var); err != nil {
		return nil, err
	}
	steps := []struct {
		c  Component
		fn func() error
	}{
		{ComponentDNS, e.removeDomainFilters},
		{ComponentCertManager, e.removeDNSZones},
		{ComponentGateway, e.removeCertificate},
		{ComponentTunnel, e.removeTunnelRules},
		{ComponentTunnel, e.removeTunnelEndpoint},
	}
	for _, s := range steps {
		if e.skip[s.c] {
			continue
		}
		if err := s.fn(); err != nil {
			return nil, err
		}
	}
	if err := e.checkUnused(); err != nil {
		return nil, err
	}
	if !e.skip[ComponentClusterSecrets] {
		if err := e.removeSecret(); err != nil {
			return nil, err
		}
	}
	cs, err := e.w.Changeset(fmt.Sprintf("Offboard %s (%s)", domain, e.v))
	if err != nil {
		return nil, err
	}
	for _, c := range o.Skip {
		cs.Note("skipped %s: remove %s there by hand", c, domain)
	}
	if _, ok := r.Config.Domains[e.v]; ok {
		cs.Note(".gen.yaml still maps %s to %s under domains:; remove it there", e.v, domain)
	}
	if len(cs.Files) > 0 {
		cs.Note("the Certificate's TLS secret stays in the cluster until you delete it; Flux prunes the Certificate itself")
	}
	return cs, nil
}

// domainEdit is one onboarding or offboarding run: a working copy of the
// files it changed, over the repository snapshot.
type domainEdit struct {
	r      *generator.Repo
	w      *generator.WorkingCopy
	store  generator.SecretStore
	skip   map[Component]bool
	domain string
	v      string
	// values are the decrypted cluster-secrets (nil when skipped).
	values map[string]string
	// gateways are the Gateways that get the certificate.
	gateways map[string]bool
	// secretName is the TLS secret of the domain's Certificate.
	secretName string
}

// newDomainEdit starts a run over r for validated options.
func newDomainEdit(r *generator.Repo, domain string, skip []Component, store generator.SecretStore) *domainEdit {
	e := &domainEdit{r: r, w: generator.NewWorkingCopy(r), store: store, skip: map[Component]bool{}}
	e.domain, _ = Normalize(domain)
	for _, c := range skip {
		e.skip[c] = true
	}
	return e
}

// Variables.

// domainValues returns the domain variables and their domains: decrypted
// from cluster-secrets, or, when that component is skipped, as the
// repository model knows them (--domain, .gen.yaml).
func (e *domainEdit) domainValues() (map[string]string, error) {
	out := map[string]string{}
	if e.skip[ComponentClusterSecrets] {
		for _, d := range e.r.Domains {
			out[d.Var] = d.Value
		}
		return out, nil
	}
	p := e.r.ClusterSecretsFile
	all, err := e.store.Values(p, e.r.Files[p])
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", p, err)
	}
	e.values = all
	for k, v := range all {
		if repo.IsDomainVar(k) {
			out[k] = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")
		}
	}
	return out, nil
}

// chooseVar picks the variable for the new domain and refuses a domain
// that is onboarded under another variable or overlaps an onboarded one.
// It returns the variable when the domain is onboarded already.
func (e *domainEdit) chooseVar(want string) (string, error) {
	values, err := e.domainValues()
	if err != nil {
		return "", err
	}
	vars := slices.Sorted(maps.Keys(values))
	for _, v := range vars {
		d := values[v]
		switch {
		case d == e.domain && (want == "" || want == v):
			e.v = v
			return v, nil
		case d == e.domain:
			return "", fmt.Errorf("%s is already onboarded as %s; offboard it first ('gen offboard-domain %s') to move it to %s", e.domain, v, e.domain, want)
		case d != "" && strings.HasSuffix(e.domain, "."+d):
			return "", fmt.Errorf("%s is a subdomain of %s, which is onboarded as %s: its hostnames are served already (name.%s → a route on ${%s}); onboard only zones of their own",
				e.domain, d, v, e.domain, v)
		case d != "" && strings.HasSuffix(d, "."+e.domain):
			return "", fmt.Errorf("%s contains %s, which is onboarded as %s: offboard %s first, or keep using it", e.domain, d, v, d)
		}
	}
	if want == "" {
		want = nextDomainVar(append(vars, e.r.SecretVars...))
	}
	if d, ok := values[want]; ok && d != "" {
		return "", fmt.Errorf("--var %s already holds %s; choose another variable or leave --var out", want, d)
	}
	for _, k := range e.r.SecretVars {
		if k == want {
			return "", fmt.Errorf("%s already exists in %s; choose another --var", want, e.r.ClusterSecretsFile)
		}
	}
	if e.skip[ComponentClusterSecrets] {
		var unknown []string
		for _, v := range vars {
			if values[v] == "" {
				unknown = append(unknown, v)
			}
		}
		if len(unknown) > 0 {
			return "", fmt.Errorf("with --skip cluster-secrets gen cannot check %s against %s; pass --domain %s=<domain> for each", e.domain, strings.Join(unknown, ", "), unknown[0])
		}
	}
	e.v = want
	return "", nil
}

// nextDomainVar names the variable after the highest one in use:
// SECRET_DOMAIN, then SECRET_DOMAIN_TWO, _THREE ...; digits when the
// repository counts with digits (SECRET_DOMAIN_2).
func nextDomainVar(vars []string) string {
	highest, digits := 0, false
	for _, v := range vars {
		if !repo.IsDomainVar(v) {
			continue
		}
		suffix, ok := strings.CutPrefix(v, "SECRET_DOMAIN")
		if !ok {
			continue
		}
		suffix = strings.TrimPrefix(suffix, "_")
		n := 1
		if suffix != "" {
			n = repo.NumberWordValue(suffix)
			if n == 0 {
				continue
			}
			if strings.Trim(suffix, "0123456789") == "" {
				digits = true
			}
		}
		highest = max(highest, n)
	}
	switch {
	case highest == 0:
		return "SECRET_DOMAIN"
	case digits:
		return fmt.Sprintf("SECRET_DOMAIN_%d", highest+1)
	}
	return "SECRET_DOMAIN_" + repo.NumberWord(highest+1)
}

// findVarToRemove finds the variable that holds the domain to offboard.
func (e *domainEdit) findVarToRemove(want string) error {
	if !e.skip[ComponentClusterSecrets] && e.r.ClusterSecretsFile == "" {
		return e.missing([]string{missingText[ComponentClusterSecrets]}, []Component{ComponentClusterSecrets})
	}
	values, err := e.domainValues()
	if err != nil {
		return err
	}
	found := ""
	for v, d := range values {
		if d == e.domain {
			found = v
		}
	}
	switch {
	case want != "" && found != "" && want != found:
		return fmt.Errorf("%s is held by %s, not %s", e.domain, found, want)
	case want != "" && found == "":
		if d := values[want]; d != "" {
			return fmt.Errorf("%s holds %s, not %s", want, d, e.domain)
		}
		if !e.skip[ComponentClusterSecrets] {
			return fmt.Errorf("%s is not in %s; nothing to offboard", want, e.r.ClusterSecretsFile)
		}
		found = want
	case found == "":
		var have []string
		for v, d := range values {
			if d != "" {
				have = append(have, d+" ("+v+")")
			}
		}
		sort.Strings(have)
		if len(have) == 0 {
			have = []string{"none known; pass --var"}
		}
		return fmt.Errorf("%s is not onboarded (onboarded: %s)", e.domain, strings.Join(have, ", "))
	}
	primary := "SECRET_DOMAIN"
	if e.r.Config.PrimaryDomain != "" {
		primary = e.r.Config.PrimaryDomain
	}
	if found == primary {
		return fmt.Errorf("%s is the primary domain (%s): the gateways' DNS target and most apps hang on it; gen does not offboard it", e.domain, found)
	}
	e.v = found
	return nil
}

// addSecret puts the variable into cluster-secrets.
func (e *domainEdit) addSecret() error {
	if e.values[e.v] == e.domain {
		return nil
	}
	p := e.r.ClusterSecretsFile
	out, err := e.store.Edit(p, e.w.Read(p), map[string]string{e.v: e.domain}, nil)
	if err != nil {
		return fmt.Errorf("adding %s to %q: %w", e.v, p, err)
	}
	e.w.WriteSensitive(p, out)
	return nil
}

// removeSecret takes the variable out of cluster-secrets.
func (e *domainEdit) removeSecret() error {
	if _, ok := e.values[e.v]; !ok {
		return nil
	}
	p := e.r.ClusterSecretsFile
	out, err := e.store.Edit(p, e.w.Read(p), nil, []string{e.v})
	if err != nil {
		return fmt.Errorf("removing %s from %q: %w", e.v, p, err)
	}
	e.w.WriteSensitive(p, out)
	return nil
}

// checkUnused refuses to offboard while files other than the ones
// offboarding edits still refer to the variable.
func (e *domainEdit) checkUnused() error {
	users := map[string][]string{}
	for _, p := range e.w.YAMLFiles() {
		if p == e.r.ClusterSecretsFile || !yamledit.RefersTo(string(e.w.Read(p)), e.v) {
			continue
		}
		owner, rel := e.ownerOf(p)
		users[owner] = append(users[owner], rel)
	}
	if len(users) == 0 {
		return nil
	}
	var list []string
	for u, files := range users {
		if u == "" {
			list = append(list, files...)
			continue
		}
		list = append(list, fmt.Sprintf("%s (%s)", u, strings.Join(files, ", ")))
	}
	sort.Strings(list)
	return fmt.Errorf("%s (%s) is still used by %s; move those to another domain or remove them first, then offboard",
		e.domain, e.v, strings.Join(list, ", "))
}

// ownerOf names the app whose folder holds p and p's path inside it, or
// "" and p for a file outside every app.
func (e *domainEdit) ownerOf(p string) (string, string) {
	var best *generator.App
	for _, ns := range e.r.Namespaces {
		for _, a := range ns.Apps {
			if strings.HasPrefix(p, a.Dir+"/") && (best == nil || len(a.Dir) > len(best.Dir)) {
				best = a
			}
		}
	}
	if best == nil {
		return "", p
	}
	return best.Namespace + "/" + best.Name, strings.TrimPrefix(p, best.Dir+"/")
}

// Components.

var missingText = map[Component]string{
	ComponentClusterSecrets: "cluster-secrets (no Secret cluster-secrets)",
	ComponentDNS:            "cloudflare-dns (no external-dns HelmRelease with values.domainFilters)",
	ComponentCertManager:    "cert-manager (no ClusterIssuer or Issuer with an ACME dns01 solver)",
	ComponentGateway:        "envoy-gateway (no Gateway with an HTTPS listener listing tls.certificateRefs)",
	ComponentTunnel:         "cloudflare-tunnel (no cloudflared config with ingress rules, or no DNSEndpoint pointing at <uuid>.cfargotunnel.com)",
}

func (e *domainEdit) missing(what []string, comps []Component) error {
	var names []string
	for _, c := range comps {
		names = append(names, string(c))
	}
	return fmt.Errorf("the repository lacks %s; gen found none by content. Run again with --skip %s to leave %s out, and make that part of the change by hand",
		strings.Join(what, ", "), strings.Join(names, ","), itOrThem(len(comps)))
}

func itOrThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// checkComponents finds every component not skipped and says which are
// missing, and resolves --gateways.
func (e *domainEdit) checkComponents(gateways []string) error {
	var what []string
	var comps []Component
	add := func(c Component) {
		what = append(what, missingText[c])
		comps = append(comps, c)
	}
	if !e.skip[ComponentClusterSecrets] && e.r.ClusterSecretsFile == "" {
		add(ComponentClusterSecrets)
	}
	if !e.skip[ComponentDNS] && len(e.domainFilterLists()) == 0 {
		add(ComponentDNS)
	}
	if !e.skip[ComponentCertManager] && !e.hasDNS01Issuer() {
		add(ComponentCertManager)
	}
	if !e.skip[ComponentGateway] {
		all := e.tlsGateways()
		if len(all) == 0 {
			add(ComponentGateway)
		} else {
			e.gateways = map[string]bool{}
			for _, g := range gateways {
				if _, ok := all[g]; !ok {
					have := slices.Sorted(maps.Keys(all))
					return fmt.Errorf("--gateways %s: no Gateway %q with an HTTPS listener listing certificateRefs (have: %s)", strings.Join(gateways, ","), g, strings.Join(have, ", "))
				}
				e.gateways[g] = true
			}
			if len(gateways) == 0 {
				for n := range all {
					e.gateways[n] = true
				}
			}
		}
	}
	if !e.skip[ComponentTunnel] {
		configs, err := tunnel.Configs(e.w)
		if err != nil {
			return err
		}
		if len(configs) == 0 || len(e.tunnelEndpointLists()) == 0 {
			add(ComponentTunnel)
		}
	}
	if len(what) > 0 {
		return e.missing(what, comps)
	}
	return nil
}

// newFileBeside returns path name in the folder of file.
func newFileBeside(file, name string) string { return path.Join(path.Dir(file), name) }
