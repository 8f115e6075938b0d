package flux

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
)

// A folder without a kustomization file gets one from the controller that
// lists every manifest and every sub-folder with its own kustomization
// (the root Kustomization of a cluster-template repository builds the apps
// folder this way: one sub-folder per namespace). kustomize checks each
// object it adds against every object already there, so one build of a
// large tree costs the square of its objects: seconds for a thousand apps.
//
// Such a build is split: each listed entry is built alone with the same
// generated kustomization (the Flux Kustomization's patches, images and
// build metadata applied to it), and the objects are concatenated in the
// order of the entries: the controller's build does not sort (kustomize's
// reorder option is left unset), so a whole build gives them in that
// order too. That is the same output, as long as
// nothing in the build relates objects of different entries, which
// splittable and scanRefs check: no name prefix or suffix, no target
// namespace, no component, no patch without a target selector (it would
// fail on the entries that lack its object), and in no reached
// kustomization a generator (kustomize fixes references to the hashed
// names wherever they are), vars or transformer configurations. Objects
// two entries both declare make kustomize fail; the build is then run
// whole, so the error is kustomize's own.

// errNotSplit makes build fall back to one kustomize run.
var errNotSplit = errors.New("the build cannot be split")

// splittable reports whether a generated kustomization may be built entry
// by entry.
func splittable(gen *generatedKustomization) bool {
	k := gen.kus
	if !gen.created || len(k.Resources) < 2 {
		return false
	}
	if k.NamePrefix != "" || k.NameSuffix != "" || (k.Namespace != "" && k.Namespace != "_placeholder") {
		return false
	}
	if len(k.Components) > 0 || len(k.PatchesStrategicMerge) > 0 || len(k.Replacements) > 0 || len(k.Generators) > 0 || len(k.Transformers) > 0 {
		return false
	}
	for _, p := range k.Patches {
		if p.Target == nil {
			return false
		}
	}
	for _, p := range k.PatchesJson6902 {
		if p.Target == nil {
			return false
		}
	}
	return true
}

// buildParts builds each entry of kus alone, at once on several cores, and
// returns every object in the order a whole build gives, and the work.
func buildParts(snap *snapshot, gen *generatedKustomization, kus kustypes.Kustomization, dir string, in *inputs) ([]*resource.Resource, int64, error) {
	type part struct {
		resources []*resource.Resource
		in        *inputs
		err       error
	}
	parts := make([]part, len(kus.Resources))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(parts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := kus
				p.Resources = []string{kus.Resources[i]}
				parts[i].in = newInputs()
				parts[i].resources, parts[i].err = buildPart(snap, gen.file, p, dir, parts[i].in)
			}
		}()
	}
	for i := range parts {
		next <- i
	}
	close(next)
	wg.Wait()

	var all []*resource.Resource
	var work int64
	seen := map[string]bool{}
	for _, p := range parts {
		in.merge(p.in)
		if p.err != nil {
			return nil, 0, p.err
		}
		d := int64(p.in.documents())
		work += d * d
		for _, r := range p.resources {
			id := r.CurId().String()
			if seen[id] {
				return nil, 0, fmt.Errorf("%w: %s is declared twice", errNotSplit, id)
			}
			seen[id] = true
			all = append(all, r)
		}
	}
	return all, work, nil
}

// buildPart runs kustomize on one entry.
func buildPart(snap *snapshot, file string, kus kustypes.Kustomization, dir string, in *inputs) ([]*resource.Resource, error) {
	manifest, err := json.Marshal(kus)
	if err != nil {
		return nil, err
	}
	fs := newMemFS(snap.idx)
	if err := fs.WriteFile(file, manifest); err != nil {
		return nil, err
	}
	resMap, err := kustomizeBuild(recordingFS{FileSystem: fs, in: in}, dir, false)
	if err != nil {
		return nil, err
	}
	return resMap.Resources(), nil
}
