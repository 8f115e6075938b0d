package flux

import (
	"bytes"
	"fmt"
	"path"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// buildMu serialises kustomize builds: kustomize keeps process-wide state
// (its OpenAPI schema) that concurrent builds would race on.
var buildMu sync.Mutex

// kustomizeBuild runs kustomize with the settings kustomize-controller
// uses (fluxcd/pkg/kustomize.Build): load restrictions off, every plugin
// disabled, a panic turned into an error.
//
// fluxcd/pkg/kustomize.Build also resets kustomize's global OpenAPI schema
// and reloads the built-in one before every build, which costs about 60 ms
// a build on this project's reference machine and dominates a repository
// check. The reset exists so that a kustomization declaring its own schema
// (`openapi:`) or CRDs (`crds:`) cannot leak them into later builds. Here
// the reset runs only after a build that read such a kustomization, which
// keeps the isolation and drops the cost from every other build.
func kustomizeBuild(fs filesys.FileSystem, dir string, in *inputs) (res resmap.ResMap, err error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered from kustomize build panic: %v", r)
		}
	}()
	defer func() {
		if changesSchema(fs, in) {
			openapi.ResetOpenAPI()
		}
	}()
	k := krusty.MakeKustomizer(&krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	})
	return k.Run(fs, dir)
}

// changesSchema reports whether a build read a kustomization file that
// sets kustomize's global schema.
func changesSchema(fs filesys.FileSystem, in *inputs) bool {
	in.mu.Lock()
	var files []string
	for p := range in.read {
		if isKustomizationFileName(path.Base(p)) {
			files = append(files, p)
		}
	}
	in.mu.Unlock()
	for _, p := range files {
		data, err := fs.ReadFile("/" + p)
		if err != nil {
			continue
		}
		for _, key := range [][]byte{[]byte("\nopenapi:"), []byte("\ncrds:")} {
			if bytes.Contains(append([]byte("\n"), data...), key) {
				return true
			}
		}
	}
	return false
}
