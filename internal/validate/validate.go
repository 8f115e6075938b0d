// Package validate checks a change the way Flux would take it, before
// anything is written: the Flux Kustomizations the change can affect are
// built from the repository snapshot with the change laid over it, every
// object the change contributes is decoded strictly into its API type, and
// every new Flux Kustomization must be reachable from a root.
package validate

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/secret"
	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
)

// Error lists every problem validation found.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	return "the change does not build the way Flux builds it, so nothing was written:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Overlay returns the repository snapshot with cs applied.
func Overlay(r *repo.Repo, cs *generator.Changeset) flux.Files {
	files := make(flux.Files, len(r.Files)+len(cs.Files))
	for p, data := range r.Files {
		files[p] = data
	}
	for _, f := range cs.Files {
		if f.Delete {
			delete(files, f.Path)
			continue
		}
		files[f.Path] = f.Content
	}
	return files
}

// Options returns the render options for r: domain values when known, and
// the names of every cluster-secrets variable.
func Options(r *repo.Repo) flux.RenderOptions {
	opts := flux.RenderOptions{Vars: map[string]string{}, Names: r.SecretVars}
	for _, d := range r.Domains {
		if d.Value != "" {
			opts.Vars[d.Var] = d.Value
		}
	}
	return opts
}

// Changeset validates cs against r.
func Changeset(r *repo.Repo, cs *generator.Changeset) error {
	files := Overlay(r, cs)
	changed := cs.Paths()
	isChanged := map[string]bool{}
	for _, p := range changed {
		isChanged[p] = true
	}
	var problems []string
	opts := Options(r)
	// A change to cluster-secrets changes which variables exist.
	if data, ok := files[r.ClusterSecretsFile]; ok && isChanged[r.ClusterSecretsFile] {
		opts.Names = secret.Keys(data)
	}
	rendered, all, err := flux.RenderChanged(flux.ArtifactFiles(files), r.RootKustomizations, changed, opts)
	if err != nil {
		for _, e := range unjoin(err) {
			problems = append(problems, e.Error())
		}
	}
	for _, rd := range rendered {
		for _, f := range rd.Findings {
			if f.Severity == flux.SeverityError && (f.File == "" || isChanged[f.File]) {
				problems = append(problems, fmt.Sprintf("%s: %s", rd.Kustomization.ID(), f.Message))
			}
		}
		for _, o := range rd.Objects {
			if !isChanged[o.Origin] {
				continue
			}
			if _, err := schema.Decode(o.Unstructured); err != nil {
				problems = append(problems, fmt.Sprintf("%s (%s): %v", o.Origin, o.ID(), err))
			}
		}
	}
	problems = append(problems, unregistered(files, changed, all)...)
	if len(problems) > 0 {
		sort.Strings(problems)
		return &Error{Problems: problems}
	}
	return nil
}

// unregistered reports Flux Kustomizations in changed ks.yaml files that no
// root reaches: Flux would never deploy them.
func unregistered(files flux.Files, changed []string, all []*flux.Kustomization) []string {
	found := map[string]bool{}
	for _, ks := range all {
		found[ks.Name] = true
	}
	var out []string
	for _, p := range changed {
		if path.Base(p) != "ks.yaml" {
			continue
		}
		data, ok := files[p]
		if !ok {
			continue
		}
		for _, d := range repo.SplitDocuments(data) {
			objs, err := repo.Documents(d)
			if err != nil || len(objs) == 0 {
				continue
			}
			o := objs[0]
			api, _ := o["apiVersion"].(string)
			kind, _ := o["kind"].(string)
			meta, _ := o["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			if kind == "Kustomization" && strings.HasPrefix(api, "kustomize.toolkit.fluxcd.io/") && !found[name] {
				out = append(out, fmt.Sprintf("%s: Flux Kustomization %q is not reachable from the root; list ./%s in its namespace kustomization.yaml",
					p, name, path.Base(path.Dir(p))+"/ks.yaml"))
			}
		}
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
