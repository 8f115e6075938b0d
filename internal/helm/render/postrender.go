package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizeapi "github.com/fluxcd/pkg/apis/kustomize"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/postrenderer"
	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// postRenderers builds the chain helm-controller gives Helm for a
// HelmRelease: one kustomize step per postRenderers entry, then the common
// labels and annotations, then the origin labels (last, so that they win
// over a common label of the same key).
func postRenderers(hr *helmv2.HelmRelease) postrenderer.PostRenderer {
	var steps chain
	for _, pr := range hr.Spec.PostRenderers {
		if pr.Kustomize != nil {
			steps = append(steps, kustomizeStep{patches: pr.Kustomize.Patches, images: pr.Kustomize.Images})
		}
	}
	if cm := hr.Spec.CommonMetadata; cm != nil {
		var ts []resmap.Transformer
		if cm.Labels != nil {
			ts = append(ts, labels(cm.Labels))
		}
		if cm.Annotations != nil {
			ts = append(ts, annotations(cm.Annotations))
		}
		if len(ts) > 0 {
			steps = append(steps, transformStep(ts))
		}
	}
	steps = append(steps, transformStep{labels(originLabels(hr))})
	return steps
}

// originLabels are the labels helm-controller puts on every object it
// applies for a HelmRelease.
func originLabels(hr *helmv2.HelmRelease) map[string]string {
	return map[string]string{
		helmv2.GroupVersion.Group + "/name":      hr.Name,
		helmv2.GroupVersion.Group + "/namespace": hr.Namespace,
	}
}

// chain runs post-renderers in order.
type chain []postrenderer.PostRenderer

func (c chain) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out := in
	for _, pr := range c {
		var err error
		if out, err = pr.Run(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// kustomizeStep builds the rendered manifests as the only resource of an
// in-memory kustomization with the HelmRelease's patches and images.
// Plugins are off and nothing outside the in-memory folder exists, so a
// patch cannot load a file or a URL.
type kustomizeStep struct {
	patches []kustomizeapi.Patch
	images  []kustomizeapi.Image
}

func (k kustomizeStep) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	const input = "helm-output.yaml"
	k8s := kustypes.Kustomization{
		TypeMeta:  kustypes.TypeMeta{APIVersion: kustypes.KustomizationVersion, Kind: kustypes.KustomizationKind},
		Resources: []string{input},
	}
	for _, img := range k.images {
		k8s.Images = append(k8s.Images, kustypes.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	for _, p := range k.patches {
		patch := kustypes.Patch{Patch: p.Patch}
		if t := p.Target; t != nil {
			sel := &kustypes.Selector{LabelSelector: t.LabelSelector, AnnotationSelector: t.AnnotationSelector}
			sel.Gvk.Group, sel.Gvk.Version, sel.Gvk.Kind = t.Group, t.Version, t.Kind
			sel.Name, sel.Namespace = t.Name, t.Namespace
			patch.Target = sel
		}
		k8s.Patches = append(k8s.Patches, patch)
	}
	doc, err := json.Marshal(k8s)
	if err != nil {
		return nil, err
	}
	fs := filesys.MakeFsInMemory()
	if err := fs.WriteFile(input, in.Bytes()); err != nil {
		return nil, err
	}
	if err := fs.WriteFile("kustomization.yaml", doc); err != nil {
		return nil, err
	}
	opts := &krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	}
	m, err := krusty.MakeKustomizer(opts).Run(fs, ".")
	if err != nil {
		return nil, err
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}

// transformStep applies kustomize's builtin transformers to the rendered
// manifests.
type transformStep []resmap.Transformer

func (t transformStep) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	factory := resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory())
	m, err := factory.NewResMapFromBytes(in.Bytes())
	if err != nil {
		return nil, err
	}
	for _, tr := range t {
		if err := tr.Transform(m); err != nil {
			return nil, err
		}
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}

func labels(l map[string]string) resmap.Transformer {
	return &builtins.LabelTransformerPlugin{
		Labels:     l,
		FieldSpecs: []kustypes.FieldSpec{{Path: "metadata/labels", CreateIfNotPresent: true}},
	}
}

func annotations(a map[string]string) resmap.Transformer {
	return &builtins.AnnotationsTransformerPlugin{
		Annotations: a,
		FieldSpecs:  []kustypes.FieldSpec{{Path: "metadata/annotations", CreateIfNotPresent: true}},
	}
}

// crdManifest lists the chart's CRDs (after dependency processing, so a
// disabled subchart's CRDs are left out) with the origin labels, keeping
// only CustomResourceDefinitions as helm-controller does.
func crdManifest(ch *chart.Chart, hr *helmv2.HelmRelease) (string, error) {
	origin := originLabels(hr)
	keys := make([]string, 0, len(origin))
	for k := range origin {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, crd := range ch.CRDObjects() {
		for _, doc := range splitDocuments(crd.File.Data) {
			var obj map[string]any
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				return "", &Error{Stage: StageChart, Msg: fmt.Sprintf("failed to parse CustomResourceDefinitions from %s: %v", crd.Name, err)}
			}
			if obj == nil {
				continue
			}
			apiVersion, _ := obj["apiVersion"].(string)
			kind, _ := obj["kind"].(string)
			if !strings.HasPrefix(apiVersion, "apiextensions.k8s.io/") || kind != "CustomResourceDefinition" {
				continue
			}
			meta, _ := obj["metadata"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
				obj["metadata"] = meta
			}
			ls, _ := meta["labels"].(map[string]any)
			if ls == nil {
				ls = map[string]any{}
				meta["labels"] = ls
			}
			for _, k := range keys {
				ls[k] = origin[k]
			}
			out, err := yaml.Marshal(obj)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "---\n# Source: %s\n%s", crd.Filename, out)
		}
	}
	return b.String(), nil
}

// splitDocuments splits a YAML stream on document separators.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		trimmed := bytes.TrimRight(line, "\r\n")
		if bytes.Equal(trimmed, []byte("---")) || bytes.HasPrefix(trimmed, []byte("--- ")) {
			if len(bytes.TrimSpace(cur.Bytes())) > 0 {
				docs = append(docs, bytes.Clone(cur.Bytes()))
			}
			cur.Reset()
			continue
		}
		cur.Write(line)
	}
	if len(bytes.TrimSpace(cur.Bytes())) > 0 {
		docs = append(docs, bytes.Clone(cur.Bytes()))
	}
	return docs
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
