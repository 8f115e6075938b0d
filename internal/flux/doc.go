// Package flux renders a Flux GitOps repository the way Flux's
// kustomize-controller does, from an in-memory snapshot of the repository
// (Files), never from the disk.
//
// Discover walks the tree of Flux Kustomizations from the root file(s);
// Render builds one of them (kustomization generation, the Flux
// Kustomization's own spec fields, kustomize build, postBuild substitution);
// Affected tells which Kustomizations a set of changed paths can change.
//
// Builds use kustomize with the settings of github.com/fluxcd/pkg/kustomize's
// Build (see kustomizeBuild for the one difference, when kustomize's global
// schema is reset). One package-level mutex is held for the duration of
// every build in the process: Render and Discover may be called from several
// goroutines, but their kustomize builds run one at a time.
package flux
