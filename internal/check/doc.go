// Package check is gen's repository-wide review: everything `gen check`
// and the pull-request bot report.
//
// Run takes a Snapshot of the repository (read from disk by ReadDir, or from
// git objects by the diff package, both through a Builder that bounds file
// sizes, total bytes and file counts and reports symbolic links), then:
//
//  1. scans every YAML file once for what could exhaust memory or time
//     (alias expansion, nesting depth, document count) and for syntax
//     errors; a hostile file is reported and left out of everything after;
//  2. renders every Flux Kustomization reachable from the roots the way
//     kustomize-controller does (internal/flux.RenderAll), refusing builds
//     that would fetch, execute or read outside the repository;
//  3. decodes every rendered object strictly into its API type;
//  4. applies the repository's contract rules (registration, dependsOn,
//     chart sources, secrets, SOPS rules, hostnames and DNS, routes).
//
// Every finding names a rule of the catalogue (Rules) with a stable id, a
// severity and a one-line fix. Rules can be switched off by id, and a
// `# gen:ignore RULE` comment on a finding's line (or the line above it)
// silences it there. Nothing is executed, nothing is fetched, and nothing
// outside the snapshot is read.
package check
