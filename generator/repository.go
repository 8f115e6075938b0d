package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator/internal/yamledit"
)

// Repo is a repository as generators read it: its files, its YAML
// documents and what discovery found in them (where apps live, the
// namespaces and apps, cluster-secrets, the domains and the gateways).
//
// gen builds it with internal/repo, which finds all of this by content; a
// program outside gen fills one in itself (see the package example).
// Generators only read a Repo.
type Repo struct {
	// Files is the snapshot: every YAML file below the repository root plus
	// .sops.yaml and .gen.yaml, keyed by slash path.
	Files map[string][]byte
	// Objects are the YAML documents of Files, in file order.
	Objects []Object
	// Config is what .gen.yaml tells generators.
	Config Config

	// RootKustomizations are the files holding the root Flux
	// Kustomizations (or the folder a Flux installation syncs).
	RootKustomizations []string
	// AppsDir is the folder the root Kustomization builds (kubernetes/apps).
	AppsDir string
	// Namespaces are the namespace folders under AppsDir, by name.
	Namespaces map[string]*Namespace
	// SopsComponent is the folder of the kustomize Component that carries
	// cluster-secrets into every namespace ("" when there is none).
	SopsComponent string
	// ClusterSecretsFile is the path of the cluster-secrets Secret.
	ClusterSecretsFile string
	// SecretVars are the variable names cluster-secrets defines, sorted.
	SecretVars []string
	// Domains are the SECRET_DOMAIN* variables, primary first.
	Domains []Domain
	// Gateways are the Gateway API Gateways, sorted by name.
	Gateways []Gateway
}

// Config is the part of .gen.yaml generators read.
type Config struct {
	// ClusterSecrets is the name of the variables Secret (cluster-secrets).
	ClusterSecrets string
	// PrimaryDomain is the variable of the primary domain (SECRET_DOMAIN).
	PrimaryDomain string
	// Domains maps domain variables to domains.
	Domains map[string]string
	// AppTemplateURL and AppTemplateVersion pin the app-template chart.
	AppTemplateURL     string
	AppTemplateVersion string
}

// Namespace is one folder under the apps folder.
type Namespace struct {
	Name string
	// Dir is the folder, e.g. kubernetes/apps/default.
	Dir string
	// Kustomization is the path of its kustomization.yaml.
	Kustomization string
	// Apps by name, registered or not.
	Apps map[string]*App
}

// App is one app folder: <ns>/<app>/ks.yaml plus what its Flux
// Kustomizations build.
type App struct {
	Namespace string
	Name      string
	// Dir is the app folder, e.g. kubernetes/apps/default/echo.
	Dir string
	// KS is the path of ks.yaml ("" when the folder has none).
	KS string
	// Registered is set when the namespace kustomization lists ./<app>/ks.yaml.
	Registered bool
	// Kustomizations are the names of the Flux Kustomizations in ks.yaml.
	Kustomizations []string
}

// Domain is one DNS domain the repository serves through a variable.
type Domain struct {
	// Var is the cluster-secrets variable name, e.g. SECRET_DOMAIN_TWO.
	Var string
	// Value is the domain, e.g. example.org; "" when unknown.
	Value string
	// Primary is set for the domain the gateways' target annotation uses:
	// its hostnames get DNS records from the gateway, others need a
	// DNSEndpoint.
	Primary bool
}

// Gateway is a Gateway API Gateway declared in the repository.
type Gateway struct {
	Name      string
	Namespace string
	File      string
	// Target is the external-dns target annotation, if any.
	Target    string
	Listeners []Listener
}

// Listener is one listener of a Gateway.
type Listener struct {
	Name     string
	Protocol string
	Port     int
}

// HasListener reports whether the gateway has a listener called name.
func (g Gateway) HasListener(name string) bool {
	return slices.ContainsFunc(g.Listeners, func(l Listener) bool { return l.Name == name })
}

// ObjectsIn returns the documents of the files below dir.
func (r *Repo) ObjectsIn(dir string) []Object {
	var out []Object
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for _, o := range r.Objects {
		if strings.HasPrefix(o.File, prefix) {
			out = append(out, o)
		}
	}
	return out
}

// Gateway returns the gateway called name.
func (r *Repo) Gateway(name string) (Gateway, bool) {
	for _, g := range r.Gateways {
		if g.Name == name {
			return g, true
		}
	}
	return Gateway{}, false
}

// PrimaryDomain returns the primary domain (Var SECRET_DOMAIN by default).
func (r *Repo) PrimaryDomain() (Domain, bool) {
	for _, d := range r.Domains {
		if d.Primary {
			return d, true
		}
	}
	return Domain{}, false
}

// DomainByVar returns the domain behind a variable.
func (r *Repo) DomainByVar(v string) (Domain, bool) {
	for _, d := range r.Domains {
		if d.Var == v {
			return d, true
		}
	}
	return Domain{}, false
}

// App returns the app ns/name.
func (r *Repo) App(ns, name string) (*App, bool) {
	n, ok := r.Namespaces[ns]
	if !ok {
		return nil, false
	}
	a, ok := n.Apps[name]
	return a, ok
}

// AppsNamed returns every app called name, in any namespace, by namespace.
func (r *Repo) AppsNamed(name string) []*App {
	var out []*App
	for _, ns := range r.Namespaces {
		if a, ok := ns.Apps[name]; ok {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// NamespaceNames returns the namespace names, sorted.
func (r *Repo) NamespaceNames() []string {
	out := make([]string, 0, len(r.Namespaces))
	for n := range r.Namespaces {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Exists reports whether a file or folder exists in the snapshot.
func (r *Repo) Exists(p string) bool {
	if _, ok := r.Files[p]; ok {
		return true
	}
	prefix := strings.TrimSuffix(p, "/") + "/"
	for f := range r.Files {
		if strings.HasPrefix(f, prefix) {
			return true
		}
	}
	return false
}

// KustomizationIn returns the path of the kustomization file of dir
// (kustomization.yaml, kustomization.yml or Kustomization), or "".
func (r *Repo) KustomizationIn(dir string) string {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if _, ok := r.Files[path.Join(dir, n)]; ok {
			return path.Join(dir, n)
		}
	}
	return ""
}

// Object is one YAML document of a repository: its header, and the
// document itself, decoded when a field is asked for.
type Object struct {
	// File is the slash path of the file holding the document.
	File       string
	APIVersion string
	Kind       string
	Name       string
	// Doc is the document; nil for an Object known by its header only.
	Doc Document
}

// Document is the body of an Object, as the loader that read it keeps it.
type Document interface {
	// Map returns the document decoded into plain Go values (nil when it
	// does not parse). A loader decodes a document once.
	Map() map[string]any
	// Contains reports whether the document's text contains s: a cheap
	// filter before decoding it.
	Contains(s string) bool
}

// IsFluxKustomization reports whether the object is a Flux Kustomization
// (kustomize.toolkit.fluxcd.io), not a kustomize one.
func (o Object) IsFluxKustomization() bool {
	return o.Kind == "Kustomization" && strings.HasPrefix(o.APIVersion, "kustomize.toolkit.fluxcd.io/")
}

// Map returns the whole document, decoded (nil when there is none).
func (o Object) Map() map[string]any {
	if o.Doc == nil {
		return nil
	}
	return o.Doc.Map()
}

// Contains reports whether the document's text contains s.
func (o Object) Contains(s string) bool { return o.Doc != nil && o.Doc.Contains(s) }

// Get returns the value at path, decoding the document if needed.
func (o Object) Get(path ...string) any {
	var cur any = o.Map()
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// Str returns the string at path ("" when it is something else).
func (o Object) Str(path ...string) string {
	s, _ := o.Get(path...).(string)
	return s
}

// List returns the list at path (nil when it is something else).
func (o Object) List(path ...string) []any {
	l, _ := o.Get(path...).([]any)
	return l
}

// ParseObjects decodes every document of the YAML file at the slash path
// file into an Object, for a program that builds a Repo itself. Empty
// documents are left out.
func ParseObjects(file string, data []byte) ([]Object, error) {
	lines := yamledit.SplitLines(data)
	var out []Object
	for _, c := range yamledit.DocChunks(lines) {
		text := yamledit.JoinLines(lines[c.Start:c.End])
		var m map[string]any
		if err := yaml.NewDecoder(bytes.NewReader(text)).Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				continue
			}
			return nil, fmt.Errorf("reading %q: %w", file, err)
		}
		if m == nil {
			continue
		}
		o := Object{File: file, Doc: decoded{text: text, m: m}}
		o.APIVersion, _ = m["apiVersion"].(string)
		o.Kind, _ = m["kind"].(string)
		o.Name = o.Str("metadata", "name")
		out = append(out, o)
	}
	return out, nil
}

// decoded is a Document decoded up front.
type decoded struct {
	text []byte
	m    map[string]any
}

func (d decoded) Map() map[string]any    { return d.m }
func (d decoded) Contains(s string) bool { return bytes.Contains(d.text, []byte(s)) }
