package flux

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	apiskustomize "github.com/fluxcd/pkg/apis/kustomize"
	fluxkustomize "github.com/fluxcd/pkg/kustomize"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The generator in github.com/fluxcd/pkg/kustomize (NewGenerator(...).
// GenerateManifest) reads the build directory through a file system it opens
// itself on the real disk; v1.41.0 offers no way to hand it another one. The
// functions below apply the same rules to any filesys.FileSystem. The test
// TestGenerateMatchesFlux runs both on the same trees (the library's on a
// temporary directory) and compares their output byte for byte.

// generatedKustomization is the kustomization a Flux Kustomization builds: the
// one found in its directory, or one generated for it, with the Flux
// Kustomization's spec fields applied.
type generatedKustomization struct {
	// kus is the kustomization to write.
	kus kustypes.Kustomization
	// file is the absolute path the kustomization is written to.
	file string
	// created is true when the directory had no kustomization file.
	created bool
}

// findKustomizationFile returns the kustomization file of dir, trying the
// names kustomize recognises in its order, or "".
func findKustomizationFile(fs filesys.FileSystem, dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		if fs.Exists(p) && !fs.IsDir(p) {
			return p
		}
	}
	return ""
}

// generateKustomization produces what kustomize-controller writes into dir
// before it builds: the existing kustomization file, or a generated one
// listing every manifest below dir, then the spec fields of the Flux
// Kustomization obj that the controller applies to it.
func generateKustomization(fs filesys.FileSystem, dir string, obj map[string]any) (*generatedKustomization, error) {
	out := &generatedKustomization{}
	var data []byte
	if kfile := findKustomizationFile(fs, dir); kfile != "" {
		b, err := fs.ReadFile(kfile)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", repoPath(kfile), err)
		}
		data, out.file = b, kfile
	} else {
		resources, err := scanManifests(fs, dir)
		if err != nil {
			return nil, err
		}
		gen := kustypes.Kustomization{TypeMeta: kustypes.TypeMeta{
			APIVersion: kustypes.KustomizationVersion,
			Kind:       kustypes.KustomizationKind,
		}}
		if len(resources) == 0 {
			// An empty kustomization fails to build; the controller gives it a
			// placeholder namespace instead.
			gen.Namespace = "_placeholder"
		} else {
			gen.Resources = resources
		}
		b, err := yaml.Marshal(gen)
		if err != nil {
			return nil, fmt.Errorf("generating the kustomization of %q: %w", repoPath(dir), err)
		}
		data, out.file, out.created = b, path.Join(dir, konfig.DefaultKustomizationFileName()), true
	}

	out.kus = kustypes.Kustomization{TypeMeta: kustypes.TypeMeta{
		APIVersion: kustypes.KustomizationVersion,
		Kind:       kustypes.KustomizationKind,
	}}
	if err := yaml.Unmarshal(data, &out.kus); err != nil {
		return nil, fmt.Errorf("reading %q: %w", repoPath(out.file), err)
	}
	kus := &out.kus
	if !out.created && len(kus.Resources) == 0 {
		// A kustomization with only components or generators would be
		// reported empty; the controller sets build metadata to avoid that.
		kus.BuildMetadata = []string{"originAnnotations"}
	}

	if err := applySpec(fs, dir, obj, kus); err != nil {
		return nil, fmt.Errorf("applying the Flux Kustomization spec to %q: %w", repoPath(out.file), err)
	}
	return out, nil
}

// applySpec copies the Flux Kustomization's spec fields that the controller
// merges into the kustomization: targetNamespace, namePrefix, nameSuffix,
// patches, components, the deprecated patchesStrategicMerge and
// patchesJson6902, images and buildMetadata.
func applySpec(fs filesys.FileSystem, dir string, obj map[string]any, kus *kustypes.Kustomization) error {
	if v, ok, err := unstructured.NestedString(obj, "spec", "targetNamespace"); err != nil {
		return err
	} else if ok {
		kus.Namespace = v
	}
	if v, ok, err := unstructured.NestedString(obj, "spec", "namePrefix"); err != nil {
		return err
	} else if ok {
		kus.NamePrefix = v
	}
	if v, ok, err := unstructured.NestedString(obj, "spec", "nameSuffix"); err != nil {
		return err
	} else if ok {
		kus.NameSuffix = v
	}

	var patches []apiskustomize.Patch
	if err := specList(obj, "patches", &patches); err != nil {
		return fmt.Errorf("unable to get patches: %w", err)
	}
	for _, p := range patches {
		kus.Patches = append(kus.Patches, kustypes.Patch{Patch: p.Patch, Target: toKustomizeSelector(p.Target)})
	}

	components, _, err := unstructured.NestedStringSlice(obj, "spec", "components")
	if err != nil {
		return fmt.Errorf("unable to get components: %w", err)
	}
	ignoreMissing, _, _ := unstructured.NestedBool(obj, "spec", "ignoreMissingComponents")
	for _, c := range components {
		if !fluxkustomize.IsLocalRelativePath(c) {
			return fmt.Errorf("component path '%s' must be local and relative", c)
		}
		if ignoreMissing && !fs.Exists(path.Join(dir, c)) {
			continue
		}
		kus.Components = append(kus.Components, c)
	}

	var sm []apiextensionsv1.JSON
	if err := specList(obj, "patchesStrategicMerge", &sm); err != nil {
		return fmt.Errorf("unable to get patchesStrategicMerge: %w", err)
	}
	for _, p := range sm {
		kus.PatchesStrategicMerge = append(kus.PatchesStrategicMerge, kustypes.PatchStrategicMerge(p.Raw))
	}

	var j6902 []apiskustomize.JSON6902Patch
	if err := specList(obj, "patchesJson6902", &j6902); err != nil {
		return fmt.Errorf("unable to get patchesJson6902: %w", err)
	}
	for _, p := range j6902 {
		ops, err := json.Marshal(p.Patch)
		if err != nil {
			return err
		}
		target := p.Target
		kus.PatchesJson6902 = append(kus.PatchesJson6902, kustypes.Patch{Patch: string(ops), Target: toKustomizeSelector(&target)})
	}

	var images []apiskustomize.Image
	if err := specList(obj, "images", &images); err != nil {
		return fmt.Errorf("unable to get images: %w", err)
	}
	for _, img := range images {
		mergeImage(kus, img)
	}

	buildMetadata, _, err := unstructured.NestedStringSlice(obj, "spec", "buildMetadata")
	if err != nil {
		return fmt.Errorf("unable to get buildMetadata: %w", err)
	}
	if len(buildMetadata) > 0 {
		kus.BuildMetadata = buildMetadata
	}
	return nil
}

// mergeImage adds img to the kustomization's images. An entry for the same
// image name is updated field by field, the way an overlay would: a new name
// replaces the old one, and a tag or digest replaces both the old tag and the
// old digest, since together they select the version.
func mergeImage(kus *kustypes.Kustomization, img apiskustomize.Image) {
	for i := range kus.Images {
		if kus.Images[i].Name != img.Name {
			continue
		}
		if img.NewName != "" {
			kus.Images[i].NewName = img.NewName
		}
		if img.NewTag != "" || img.Digest != "" {
			kus.Images[i].NewTag = img.NewTag
			kus.Images[i].Digest = img.Digest
		}
		return
	}
	kus.Images = append(kus.Images, kustypes.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
}

// specList converts the list spec.<field> of obj into out, a pointer to a
// slice of typed items. A missing field leaves out untouched.
func specList[T any](obj map[string]any, field string, out *[]T) error {
	items, ok, err := unstructured.NestedSlice(obj, "spec", field)
	if err != nil || !ok {
		return err
	}
	var errs []error
	for i, item := range items {
		m, isMap := item.(map[string]any)
		if !isMap {
			errs = append(errs, fmt.Errorf("item %d of spec.%s is not an object", i, field))
			continue
		}
		var v T
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &v); err != nil {
			errs = append(errs, fmt.Errorf("item %d of spec.%s: %w", i, field, err))
			continue
		}
		*out = append(*out, v)
	}
	return errors.Join(errs...)
}

func toKustomizeSelector(s *apiskustomize.Selector) *kustypes.Selector {
	if s == nil {
		return nil
	}
	out := &kustypes.Selector{
		LabelSelector:      s.LabelSelector,
		AnnotationSelector: s.AnnotationSelector,
	}
	out.Name, out.Namespace = s.Name, s.Namespace
	out.Group, out.Version, out.Kind = s.Group, s.Version, s.Kind
	return out
}

// scanManifests lists, relative to dir and in lexical walk order, every
// YAML manifest below dir and every sub-directory that holds its own
// kustomization file (whose contents are then not scanned). A YAML file that
// does not decode as Kubernetes objects fails the scan, as it fails the
// controller.
func scanManifests(fs filesys.FileSystem, dir string) ([]string, error) {
	factory := provider.NewDefaultDepProvider().GetResourceFactory()
	var found []string
	err := fs.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if info.IsDir() {
			if findKustomizationFile(fs, p) != "" {
				found = append(found, p)
				return filepath.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(p)
		if err != nil {
			return err
		}
		if err := decodesAsObjects(factory, data); err != nil {
			return fmt.Errorf("failed to decode Kubernetes YAML from %s: %w", repoPath(p), err)
		}
		found = append(found, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	resources := make([]string, len(found))
	for i, p := range found {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		resources[i] = "./" + rel
	}
	return resources, nil
}

// decodesAsObjects checks that data parses as Kubernetes objects. The parser
// panics on some malformed input; that is an error here.
func decodesAsObjects(factory *resource.Factory, data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered from panic while parsing YAML: %v", r)
		}
	}()
	_, err = factory.SliceFromBytes(data)
	return err
}
