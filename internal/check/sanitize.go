package check

import (
	"path"

	"github.com/gen-gitops/gen/internal/flux"
)

// Sanitize scans the given paths of files the way Run scans every file
// (syntax aside: aliases, nesting, documents) and returns files without
// the hostile ones, and the findings. gen diff calls it on the changed
// files only: hostile content can only arrive with the change.
func Sanitize(files flux.Files, paths []string, l Limits) (flux.Files, []Finding) {
	subset := map[string][]byte{}
	for _, p := range paths {
		if data, ok := files[p]; ok {
			if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
				subset[p] = data
			}
		}
	}
	sc := scanFiles(subset, l)
	var findings []Finding
	for _, f := range sc.findings {
		if f.Rule != RuleYAMLSyntax {
			findings = append(findings, f)
		}
	}
	if len(sc.hostile) == 0 {
		return files, findings
	}
	out := make(flux.Files, len(files))
	for p, data := range files {
		if !sc.hostile[p] {
			out[p] = data
		}
	}
	return out, findings
}
