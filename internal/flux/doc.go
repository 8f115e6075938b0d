// Package flux renders a Flux GitOps repository the way Flux's
// kustomize-controller does, from an in-memory snapshot of the repository
// (Files), never from the disk.
//
// Discover walks the tree of Flux Kustomizations from the root file(s);
// Render builds one of them (kustomization generation, the Flux
// Kustomization's own spec fields, kustomize build, postBuild substitution);
// Affected tells which Kustomizations a set of changed paths can change.
//
// RenderAll does both in one pass for a whole-repository check: each
// Kustomization is built and post-processed once, the Kustomizations of one
// level of the tree at the same time.
//
// Builds use kustomize with the settings of github.com/fluxcd/pkg/kustomize's
// Build (see kustomizeBuild for the one difference, when kustomize's global
// schema is reset). Builds that only read kustomize's global schema run in
// parallel; one whose kustomization sets it runs alone. Before a build, every
// kustomization it reaches is scanned, and a build that would fetch from the
// network, run a program or read outside the repository is refused with an
// *UnsafeError (see scanRefs). Builds read the snapshot through an in-memory
// file system shared by all of them, never the disk.
package flux
