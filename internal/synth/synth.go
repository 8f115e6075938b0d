// Package synth writes synthetic repositories of the cluster-template shape
// with any number of apps, for benchmarks: the example repository's
// infrastructure (gateways, external-dns, the tunnel, cert-manager,
// cluster-secrets) plus apps that gen's own add-app generator writes.
//
// Two apps are generated with apps.Add (an app-template HelmRelease
// on the primary domain, and plain manifests on the secondary domain with
// an HTTPRoute and a DNSEndpoint) and stamped out under other names, so
// that a 5,000-app repository takes seconds to write; the namespace
// kustomizations list every app.
package synth

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/internal/repo"
)

// Options say what to generate.
type Options struct {
	// Apps is the number of apps.
	Apps int
	// PerNamespace is the number of apps in a namespace (default 100).
	PerNamespace int
}

const (
	tplNamespace = "synthtpl"
	tplApp       = "tplapp"
)

// Generate writes a repository into dir (created, or empty), starting from
// the example repository at base.
func Generate(base, dir string, opts Options) error {
	per := opts.PerNamespace
	if per <= 0 {
		per = 100
	}
	files, err := readTree(base)
	if err != nil {
		return err
	}
	r, err := repo.FromFiles(files, repo.LoadOptions{Domains: map[string]string{"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}})
	if err != nil {
		return fmt.Errorf("reading the base repository: %w", err)
	}
	templates := []apps.AddOptions{
		{Namespace: tplNamespace, Name: tplApp, Mode: apps.ModeAppTemplate, Image: "ghcr.io/traefik/whoami:v1.11.0", Port: 80, Hosts: []string{tplApp}, Gateway: "external"},
		{Namespace: tplNamespace, Name: tplApp, Mode: apps.ModeRaw, Image: "ghcr.io/traefik/whoami:v1.11.0", Port: 8080, Hosts: []string{tplApp + ".example.org"}, Gateway: "external"},
	}
	var stamps [][]stampFile
	var nsFiles map[string][]byte
	for _, o := range templates {
		cs, err := apps.Add(r.Model(), o)
		if err != nil {
			return fmt.Errorf("generating the template app: %w", err)
		}
		var app []stampFile
		ns := map[string][]byte{}
		prefix := "kubernetes/apps/" + tplNamespace + "/"
		for _, f := range cs.Files {
			rest, ok := strings.CutPrefix(f.Path, prefix)
			if !ok {
				return fmt.Errorf("the template app writes %s, outside its namespace", f.Path)
			}
			if strings.HasPrefix(rest, tplApp+"/") {
				app = append(app, stampFile{rest, f.Content})
			} else {
				ns[rest] = f.Content
			}
		}
		stamps = append(stamps, app)
		if nsFiles == nil {
			nsFiles = ns
		}
	}

	out := map[string][]byte{}
	for p, data := range files {
		out[p] = data
	}
	namespaces := map[string][]string{}
	for i := range opts.Apps {
		ns := fmt.Sprintf("team%03d", i/per)
		name := fmt.Sprintf("app%05d", i)
		namespaces[ns] = append(namespaces[ns], name)
		for _, f := range stamps[i%len(stamps)] {
			p := "kubernetes/apps/" + ns + "/" + name + strings.TrimPrefix(f.rel, tplApp)
			out[p] = rename(f.data, ns, name)
		}
	}
	for ns, apps := range namespaces {
		sort.Strings(apps)
		for rel, data := range nsFiles {
			if strings.HasSuffix(rel, "kustomization.yaml") {
				continue
			}
			out["kubernetes/apps/"+ns+"/"+rel] = rename(data, ns, "")
		}
		kus, ok := nsFiles["kustomization.yaml"]
		if !ok {
			return fmt.Errorf("the template namespace has no kustomization.yaml")
		}
		var list strings.Builder
		for _, a := range apps {
			fmt.Fprintf(&list, "  - ./%s/ks.yaml\n", a)
		}
		k := string(rename(kus, ns, ""))
		line := "  - ./" + tplApp + "/ks.yaml\n"
		if !strings.Contains(k, line) {
			return fmt.Errorf("the template namespace kustomization does not list %s", strings.TrimSpace(line))
		}
		out["kubernetes/apps/"+ns+"/kustomization.yaml"] = []byte(strings.Replace(k, line, list.String(), 1))
	}
	return writeTree(dir, out)
}

type stampFile struct {
	rel  string
	data []byte
}

// rename turns the template's namespace and app name into ns and name.
func rename(data []byte, ns, name string) []byte {
	data = bytes.ReplaceAll(data, []byte(tplNamespace), []byte(ns))
	if name != "" {
		data = bytes.ReplaceAll(data, []byte(tplApp), []byte(name))
	}
	return data
}

func readTree(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = data
		return nil
	})
	return out, err
}

func writeTree(dir string, files map[string][]byte) error {
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
