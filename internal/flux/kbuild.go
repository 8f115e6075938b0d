package flux

import (
	"fmt"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// buildMu guards kustomize's process-wide state (its OpenAPI schema): builds
// that only read it share the lock, a build whose kustomization sets it
// (openapi: or crds:) holds it alone and restores the built-in schema after.
var buildMu sync.RWMutex

// schemaReady loads kustomize's built-in schema once, before builds share
// it: its lazy loading is not safe for concurrent use.
var schemaReady sync.Once

// kustomizeBuild runs kustomize with the settings kustomize-controller
// uses (fluxcd/pkg/kustomize.Build): load restrictions off, every plugin
// disabled, a panic turned into an error.
//
// fluxcd/pkg/kustomize.Build also resets kustomize's global OpenAPI schema
// and reloads the built-in one before every build, and runs one build at a
// time. The reset costs about 60 ms a build on this project's reference
// machine and dominates a repository check. It exists so that a
// kustomization declaring its own schema (`openapi:`) or CRDs (`crds:`)
// cannot leak them into later builds. Here such a build (changesSchema,
// found by scanRefs before the build) runs alone and resets the schema
// after itself; every other build only reads the built-in schema and runs
// alongside the others.
func kustomizeBuild(fs filesys.FileSystem, dir string, changesSchema bool) (res resmap.ResMap, err error) {
	schemaReady.Do(loadSchema)
	if changesSchema {
		buildMu.Lock()
		defer buildMu.Unlock()
		// Back to the built-in schema, loaded again before the lock goes:
		// the builds after this one only read it.
		defer builtinSchema()
	} else {
		buildMu.RLock()
		defer buildMu.RUnlock()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered from kustomize build panic: %v", r)
		}
	}()
	k := krusty.MakeKustomizer(&krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	})
	return k.Run(fs, dir)
}

// PreloadSchema starts loading kustomize's built-in OpenAPI schema (tens of
// milliseconds of parsing, once per process) in the background, so that it
// overlaps with reading the repository; the first build waits for it.
func PreloadSchema() {
	go schemaReady.Do(loadSchema)
}

func loadSchema() {
	buildMu.Lock()
	defer buildMu.Unlock()
	builtinSchema()
}

// builtinSchema resets kustomize's schema to the built-in one and loads it
// (and the namespace-scope table) now, while the caller holds buildMu.
func builtinSchema() {
	openapi.ResetOpenAPI()
	_ = openapi.Schema()
	openapi.IsNamespaceScoped(yaml.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"})
}
