package flux

import (
	"fmt"
	"path"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultRoot is the file holding the root Flux Kustomizations of a
// cluster-template repository.
const DefaultRoot = "kubernetes/flux/cluster/ks.yaml"

// DefaultNamespace is the namespace given to a root Kustomization document
// that names none: Flux's own objects live there.
const DefaultNamespace = "flux-system"

// NamespacedName names a namespaced object.
type NamespacedName struct {
	Namespace, Name string
}

// String returns "namespace/name".
func (n NamespacedName) String() string { return n.Namespace + "/" + n.Name }

// SourceRef is the source a Flux Kustomization builds from, with its
// namespace defaulted to the Kustomization's own.
type SourceRef struct {
	Kind, Name, Namespace string
}

// String returns "Kind/namespace/name".
func (s SourceRef) String() string { return s.Kind + "/" + s.Namespace + "/" + s.Name }

// SubstituteRef is one entry of spec.postBuild.substituteFrom.
type SubstituteRef struct {
	Kind, Name string
	Optional   bool
}

// Kustomization is a Flux Kustomization found in the repository.
type Kustomization struct {
	// Name and Namespace are the object's, after its parent's build.
	Name, Namespace string
	// Path is spec.path cleaned and relative to the repository root, e.g.
	// "kubernetes/apps/default/echo/app"; "" is the root itself.
	Path string
	// SourceFile is the repository file that declared the object, when known
	// (from kustomize's origin tracking), e.g.
	// "kubernetes/apps/default/echo/ks.yaml".
	SourceFile string
	// SourceRef is spec.sourceRef.
	SourceRef SourceRef
	// External is set when SourceRef is not the repository's own source (a
	// GitRepository other than the root's, an OCIRepository, a Bucket): the
	// path lives elsewhere and is not built.
	External bool
	// DependsOn is spec.dependsOn with namespaces defaulted.
	DependsOn []NamespacedName
	// Substitute is spec.postBuild.substitute.
	Substitute map[string]string
	// SubstituteFrom is spec.postBuild.substituteFrom.
	SubstituteFrom []SubstituteRef
	// Object is the Kustomization as its parent's build rendered it (for a
	// root, as read from the root file).
	Object *unstructured.Unstructured
	// Parent is the Kustomization whose build produced this one; nil for a
	// root.
	Parent *Kustomization

	// disc links the Kustomizations of one Discover call; nil otherwise.
	disc *discovery
	// inputs records what this Kustomization's build read during Discover.
	inputs *inputs
}

// ID returns "namespace/name".
func (k *Kustomization) ID() NamespacedName {
	return NamespacedName{Namespace: k.Namespace, Name: k.Name}
}

// String returns "Kustomization namespace/name".
func (k *Kustomization) String() string { return "Kustomization " + k.ID().String() }

// Spec returns the typed spec of k's object.
func (k *Kustomization) Spec() (kustomizev1.KustomizationSpec, error) {
	var typed kustomizev1.Kustomization
	if k.Object == nil {
		return typed.Spec, fmt.Errorf("%s has no object", k)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(k.Object.Object, &typed); err != nil {
		return typed.Spec, fmt.Errorf("reading %s: %w", k, err)
	}
	return typed.Spec, nil
}

// isFluxKustomization reports whether obj is a kustomize.toolkit.fluxcd.io
// Kustomization (of any version).
func isFluxKustomization(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	return gvk.Group == kustomizev1.GroupVersion.Group && gvk.Kind == kustomizev1.KustomizationKind
}

// newKustomization reads the fields gen uses from a Flux Kustomization
// object. defaultNamespace is used when the object names no namespace.
func newKustomization(obj *unstructured.Unstructured, sourceFile, defaultNamespace string, parent *Kustomization) (*Kustomization, error) {
	var typed kustomizev1.Kustomization
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &typed); err != nil {
		return nil, fmt.Errorf("reading Kustomization %q from %q: %w", obj.GetName(), sourceFile, err)
	}
	ns := typed.Namespace
	if ns == "" {
		ns = defaultNamespace
		obj = obj.DeepCopy()
		obj.SetNamespace(ns)
	}
	ks := &Kustomization{
		Name:       typed.Name,
		Namespace:  ns,
		Path:       cleanSpecPath(typed.Spec.Path),
		SourceFile: sourceFile,
		SourceRef: SourceRef{
			Kind:      typed.Spec.SourceRef.Kind,
			Name:      typed.Spec.SourceRef.Name,
			Namespace: typed.Spec.SourceRef.Namespace,
		},
		Object: obj,
		Parent: parent,
	}
	if ks.SourceRef.Namespace == "" {
		ks.SourceRef.Namespace = ns
	}
	for _, d := range typed.Spec.DependsOn {
		dns := d.Namespace
		if dns == "" {
			dns = ns
		}
		ks.DependsOn = append(ks.DependsOn, NamespacedName{Namespace: dns, Name: d.Name})
	}
	if pb := typed.Spec.PostBuild; pb != nil {
		ks.Substitute = pb.Substitute
		for _, s := range pb.SubstituteFrom {
			ks.SubstituteFrom = append(ks.SubstituteFrom, SubstituteRef{Kind: s.Kind, Name: s.Name, Optional: s.Optional})
		}
	}
	return ks, nil
}

// cleanSpecPath turns spec.path into a repository-relative path. Like the
// controller's secure join, ".." cannot climb above the root.
func cleanSpecPath(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}
