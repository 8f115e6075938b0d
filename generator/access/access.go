// Package access holds what putting an app behind Cloudflare Access takes:
// the chute operator's API (a ChuteConfig for the account, a Chute per
// exposed Service, which the operator gives a tunnel and an Access
// application) and the policy options of --expose access. add-app, promote
// and scratch new write Chutes with it.
package access

import (
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
)

// The chute operator's API: a ChuteConfig (account-level settings) and a
// Chute per exposed Service. The schema is examples/crds/chute.yaml; the Go
// types below mirror it, and a test checks that both accept and refuse the
// same objects.
const (
	ChuteGroup      = "chutes.troubleshat.com"
	ChuteAPIVersion = ChuteGroup + "/v1alpha1"
	// ChuteResource is the Chutes' resource as kubectl names it (plural.group).
	ChuteResource = "chutes." + ChuteGroup
)

// Options are the inputs of --expose access.
type Options struct {
	// Emails and EmailDomains are who the Access policy admits.
	Emails       []string
	EmailDomains []string
	// Config names the ChuteConfig; when empty, the repository's only one.
	Config string
}

// Chute mirrors the Chute custom resource; decode with DecodeChute.
type Chute struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   ChuteMetadata  `json:"metadata"`
	Spec       ChuteSpec      `json:"spec"`
	Status     map[string]any `json:"status,omitempty"`
}

// ChuteMetadata is the part of metadata a Chute file sets.
type ChuteMetadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ChuteSpec is what a Chute asks for.
type ChuteSpec struct {
	// ConfigRef names the ChuteConfig whose account serves the Chute.
	ConfigRef ChuteConfigRef `json:"configRef"`
	// Service receives the traffic; it is in the Chute's namespace.
	Service ChuteService `json:"service"`
	// Hostname is the public name.
	Hostname string `json:"hostname"`
	// Access is who may pass; at least one list is set.
	Access ChuteAccess `json:"access"`
	// SessionDuration is how long a login lasts ("24h", "30m").
	SessionDuration string `json:"sessionDuration,omitempty"`
}

// ChuteConfigRef names a ChuteConfig.
type ChuteConfigRef struct {
	Name string `json:"name"`
}

// ChuteService is the Service a Chute exposes.
type ChuteService struct {
	Name string `json:"name"`
	Port int32  `json:"port"`
	// Scheme is http (default) or https.
	Scheme string `json:"scheme,omitempty"`
}

// ChuteAccess is the Access policy: emails and email domains admitted.
type ChuteAccess struct {
	Emails       []string `json:"emails,omitempty"`
	EmailDomains []string `json:"emailDomains,omitempty"`
}

var (
	chuteHostname = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$`)
	chuteService  = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	chuteDuration = regexp.MustCompile(`^[0-9]+(m|h)$`)
)

// DecodeChute decodes a Chute document strictly (an unknown or misspelt
// field is an error) and validates it.
func DecodeChute(doc []byte) (*Chute, error) {
	js, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("reading the Chute: %w", err)
	}
	// Field names are case-sensitive, as the API server reads them.
	var c Chute
	strict, err := kjson.UnmarshalStrict(js, &c, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("reading the Chute: %w", err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("reading the Chute: %w", errors.Join(strict...))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks what examples/crds/chute.yaml requires of a Chute.
func (c *Chute) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.APIVersion != ChuteAPIVersion || c.Kind != "Chute" {
		bad("apiVersion/kind %s/%s: want %s/Chute", c.APIVersion, c.Kind, ChuteAPIVersion)
	}
	if c.Metadata.Name == "" {
		bad("metadata.name is required")
	}
	s := c.Spec
	if s.ConfigRef.Name == "" || len(s.ConfigRef.Name) > 253 {
		bad("spec.configRef.name: required, at most 253 characters")
	}
	if !chuteService.MatchString(s.Service.Name) || len(s.Service.Name) > 63 {
		bad("spec.service.name %q: a Service name", s.Service.Name)
	}
	if s.Service.Port < 1 || s.Service.Port > 65535 {
		bad("spec.service.port %d: out of range 1-65535", s.Service.Port)
	}
	if s.Service.Scheme != "" && s.Service.Scheme != "http" && s.Service.Scheme != "https" {
		bad("spec.service.scheme %q: want http or https", s.Service.Scheme)
	}
	if !chuteHostname.MatchString(s.Hostname) || len(s.Hostname) > 253 {
		bad("spec.hostname %q: a lowercase DNS name", s.Hostname)
	}
	if s.Access.Emails == nil && s.Access.EmailDomains == nil {
		bad("spec.access: give emails or emailDomains")
	}
	for _, l := range []struct {
		name  string
		items []string
		check func(string) error
	}{{"emails", s.Access.Emails, checkEmail}, {"emailDomains", s.Access.EmailDomains, checkEmailDomain}} {
		if l.items != nil && (len(l.items) < 1 || len(l.items) > 1000) {
			bad("spec.access.%s: 1 to 1000 entries", l.name)
		}
		for _, it := range l.items {
			if err := l.check(it); err != nil {
				bad("spec.access.%s: %v", l.name, err)
			}
		}
	}
	if s.SessionDuration != "" && !chuteDuration.MatchString(s.SessionDuration) {
		bad("spec.sessionDuration %q: minutes or hours, like 30m or 24h", s.SessionDuration)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid Chute %s: %s", c.Metadata.Name, strings.Join(errs, "; "))
	}
	return nil
}

func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 {
		return fmt.Errorf("%q is not an email address (want name@example.org)", s)
	}
	_, domain, _ := strings.Cut(s, "@")
	if !chuteHostname.MatchString(domain) {
		return fmt.Errorf("%q: the domain %q is not a DNS name", s, domain)
	}
	return nil
}

func checkEmailDomain(s string) error {
	if !chuteHostname.MatchString(s) || len(s) > 253 {
		return fmt.Errorf("%q is not a domain name like example.org", s)
	}
	return nil
}

// ParseAllowEmail checks one --allow-email: a bare address, lowercased.
func ParseAllowEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	if err := checkEmail(e); err != nil {
		return "", fmt.Errorf("--allow-email %w", err)
	}
	return e, nil
}

// ParseAllowDomain checks one --allow-domain: a domain whose every address
// is admitted.
func ParseAllowDomain(s string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	d = strings.TrimPrefix(d, "@")
	if strings.HasPrefix(d, "*.") {
		return "", fmt.Errorf("--allow-domain %q: give the domain itself (example.org admits every address @example.org)", s)
	}
	if err := checkEmailDomain(d); err != nil {
		return "", fmt.Errorf("--allow-domain %w", err)
	}
	return d, nil
}

// Validate checks who the policy admits (someone must be) and the
// ChuteConfig's name.
func (o Options) Validate() error {
	if len(o.Emails) == 0 && len(o.EmailDomains) == 0 {
		return fmt.Errorf("--expose access needs --allow-email or --allow-domain: who may pass the Access login")
	}
	for _, e := range o.Emails {
		if _, err := ParseAllowEmail(e); err != nil {
			return err
		}
	}
	for _, d := range o.EmailDomains {
		if _, err := ParseAllowDomain(d); err != nil {
			return err
		}
	}
	if o.Config != "" {
		if errs := validation.IsDNS1123Subdomain(o.Config); len(errs) > 0 {
			return fmt.Errorf("--chute-config %q is not a valid name: %s", o.Config, strings.Join(errs, "; "))
		}
	}
	return nil
}

// Normalized returns the options with the lists as a Chute holds them:
// each entry as ParseAllowEmail or ParseAllowDomain gives it back, sorted,
// once. It is meant for options that passed Validate.
func (o Options) Normalized() Options {
	o.Emails = normalized(o.Emails, ParseAllowEmail)
	o.EmailDomains = normalized(o.EmailDomains, ParseAllowDomain)
	return o
}

func normalized(in []string, parse func(string) (string, error)) []string {
	var out []string
	for _, s := range in {
		if v, err := parse(s); err == nil {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Configs lists the repository's ChuteConfigs: name and file.
func Configs(r *generator.Repo) map[string]string {
	out := map[string]string{}
	for _, o := range r.Objects {
		if o.Kind == "ChuteConfig" && strings.HasPrefix(o.APIVersion, ChuteGroup+"/") {
			out[o.Name] = o.File
		}
	}
	return out
}

// PickConfig returns the ChuteConfig a Chute uses, and the file that
// declares it ("" when the repository does not): the one named (any name
// when the repository declares none, since the operator may be installed
// outside it), else the repository's only one.
func PickConfig(r *generator.Repo, config string) (string, string, error) {
	configs := Configs(r)
	names := slices.Sorted(maps.Keys(configs))
	switch {
	case config == "" && len(names) == 1:
		config = names[0]
	case config == "" && len(names) == 0:
		return "", "", fmt.Errorf("--expose access: the repository declares no ChuteConfig (%s); pass --chute-config NAME, the one your chute operator uses", ChuteAPIVersion)
	case config == "":
		return "", "", fmt.Errorf("--expose access: the repository declares %d ChuteConfigs (%s); choose one with --chute-config", len(names), strings.Join(names, ", "))
	case len(names) > 0 && configs[config] == "":
		return "", "", fmt.Errorf("--chute-config %s: no ChuteConfig of that name in the repository (have: %s)", config, strings.Join(names, ", "))
	}
	return config, configs[config], nil
}

// ChuteNode is the document of a Chute with the given metadata and spec,
// fields in the order the CRD lists them.
func ChuteNode(metadata *yaml.Node, spec ChuteSpec) *yaml.Node {
	access := yamlnode.NewMap()
	if len(spec.Access.Emails) > 0 {
		access.Set("emails", yamlnode.StrSeq(spec.Access.Emails))
	}
	if len(spec.Access.EmailDomains) > 0 {
		access.Set("emailDomains", yamlnode.StrSeq(spec.Access.EmailDomains))
	}
	return yamlnode.MapOf(
		"apiVersion", yamlnode.Str(ChuteAPIVersion),
		"kind", yamlnode.Str("Chute"),
		"metadata", metadata,
		"spec", yamlnode.MapOf(
			"configRef", yamlnode.MapOf("name", yamlnode.Str(spec.ConfigRef.Name)),
			"service", yamlnode.MapOf("name", yamlnode.Str(spec.Service.Name), "port", yamlnode.Int(int(spec.Service.Port))),
			"hostname", yamlnode.Quoted(spec.Hostname),
			"access", access.Node,
		),
	)
}
