package generator

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Host is a hostname resolved against the repository's domains.
type Host struct {
	// Label is the part before the domain ("" for the apex).
	Label string
	// Domain is the domain variable it lives on.
	Domain Domain
}

// Template returns the hostname as written in the repository:
// label.${SECRET_DOMAIN_TWO}.
func (h Host) Template() string {
	v := "${" + h.Domain.Var + "}"
	if h.Label == "" {
		return v
	}
	return h.Label + "." + v
}

// Literal returns the real hostname, when the domain's value is known.
func (h Host) Literal() string {
	if h.Label == "" {
		return h.Domain.Value
	}
	return h.Label + "." + h.Domain.Value
}

var varHost = regexp.MustCompile(`^(?:([a-z0-9.-]+)\.)?\$\{([A-Z0-9_]+)\}$`)

// ResolveHost maps a --host value to a domain of the repository:
//   - "name" (no dot) is name on the primary domain;
//   - "name.${SECRET_DOMAIN_TWO}" names the variable directly;
//   - a full hostname is matched to the onboarded domain it ends with.
//
// An unknown domain is an error that says how to onboard it, or how to tell
// gen the domains when no key is available to read them.
func ResolveHost(r *Repo, host string) (Host, error) {
	host = strings.TrimSuffix(strings.TrimSpace(host), ".")
	if host == "" {
		return Host{}, fmt.Errorf("empty --host")
	}
	if m := varHost.FindStringSubmatch(host); m != nil {
		d, ok := r.DomainByVar(m[2])
		if !ok {
			return Host{}, fmt.Errorf("--host %q: %s is not a domain variable of this repository (have: %s)", host, m[2], domainVars(r))
		}
		if m[1] != "" {
			if err := checkLabels(host, m[1]); err != nil {
				return Host{}, err
			}
		}
		return Host{Label: m[1], Domain: d}, nil
	}
	host = strings.ToLower(host)
	if !strings.Contains(host, ".") {
		if err := checkLabels(host, host); err != nil {
			return Host{}, err
		}
		d, ok := r.PrimaryDomain()
		if !ok {
			return Host{}, fmt.Errorf("--host %q: the repository has no primary domain variable (SECRET_DOMAIN in cluster-secrets); give a full hostname", host)
		}
		return Host{Label: host, Domain: d}, nil
	}
	if errs := validation.IsDNS1123Subdomain(strings.ReplaceAll(host, "*", "x")); len(errs) > 0 {
		return Host{}, fmt.Errorf("--host %q is not a valid hostname: %s", host, strings.Join(errs, "; "))
	}
	var unknown []string
	best := -1
	var match Host
	for _, d := range r.Domains {
		if d.Value == "" {
			unknown = append(unknown, d.Var)
			continue
		}
		switch {
		case host == d.Value:
			if len(d.Value) > best {
				best, match = len(d.Value), Host{Domain: d}
			}
		case strings.HasSuffix(host, "."+d.Value):
			if len(d.Value) > best {
				best, match = len(d.Value), Host{Label: strings.TrimSuffix(host, "."+d.Value), Domain: d}
			}
		}
	}
	if best >= 0 {
		return match, nil
	}
	if len(unknown) > 0 {
		return Host{}, fmt.Errorf("--host %q: the values of %s are unknown without the age key; "+
			"pass --domain %s=<domain> (repeatable), add a `domains:` map to .gen.yaml, or set SOPS_AGE_KEY_FILE so gen can read cluster-secrets",
			host, strings.Join(unknown, ", "), unknown[0])
	}
	return Host{}, fmt.Errorf("--host %q is on no onboarded domain (have: %s); run 'gen onboard-domain %s' first",
		host, domainList(r), registrable(host))
}

func checkLabels(host, labels string) error {
	for _, l := range strings.Split(labels, ".") {
		if l == "*" {
			continue
		}
		if errs := validation.IsDNS1123Label(l); len(errs) > 0 {
			return fmt.Errorf("--host %q: %q is not a valid DNS label: %s", host, l, strings.Join(errs, "; "))
		}
	}
	return nil
}

func domainVars(r *Repo) string {
	var out []string
	for _, d := range r.Domains {
		out = append(out, d.Var)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func domainList(r *Repo) string {
	var out []string
	for _, d := range r.Domains {
		out = append(out, d.Value)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// registrable guesses the domain to onboard for a hostname: the name a
// registrar sells (example.co.uk for app.example.co.uk), by the public
// suffix list.
func registrable(host string) string {
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// TargetPrefix turns a gateway's external-dns target
// "external.${SECRET_DOMAIN}" into "external.": the label the gateway
// publishes routes under.
func TargetPrefix(target string) string {
	if i := strings.Index(target, "${"); i >= 0 {
		return target[:i]
	}
	if i := strings.Index(target, "."); i >= 0 {
		return target[:i+1]
	}
	return "external."
}
