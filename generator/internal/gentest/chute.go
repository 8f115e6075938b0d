package gentest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/internal/testutil"
)

// CRD checks objects against one version of a CRD the way the API
// server's structural schema does: unknown fields (pruning), then types,
// required fields, enums, patterns, formats and bounds.
type CRD struct {
	structural *structuralschema.Structural
	schema     *spec.Schema
}

// LoadCRD reads the CRD of kind from examples/crds/chute.yaml.
func LoadCRD(t testing.TB, kind string) *CRD {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.ModuleRoot(t), "examples", "crds", "chute.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := sigsyaml.UnmarshalStrict([]byte(doc), &crd); err != nil {
			t.Fatalf("examples/crds/chute.yaml does not decode as a CRD: %v", err)
		}
		if crd.Spec.Names.Kind != kind {
			continue
		}
		if crd.Spec.Group != access.ChuteGroup || crd.Name != crd.Spec.Names.Plural+"."+crd.Spec.Group {
			t.Fatalf("CRD %s: group %s", crd.Name, crd.Spec.Group)
		}
		v1 := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, &internal, nil); err != nil {
			t.Fatal(err)
		}
		s, err := structuralschema.NewStructural(&internal)
		if err != nil {
			t.Fatalf("%s: not a structural schema: %v", kind, err)
		}
		if errs := structuralschema.ValidateStructural(nil, s); len(errs) > 0 {
			t.Fatalf("%s: not a structural schema: %v", kind, errs.ToAggregate())
		}
		raw, err := json.Marshal(v1)
		if err != nil {
			t.Fatal(err)
		}
		var sp spec.Schema
		if err := json.Unmarshal(raw, &sp); err != nil {
			t.Fatal(err)
		}
		return &CRD{structural: s, schema: &sp}
	}
	t.Fatalf("examples/crds/chute.yaml has no CRD for %s", kind)
	return nil
}

// Validate returns the problems the CRD finds in a YAML object (none when
// it would be accepted).
func (v *CRD) Validate(t testing.TB, doc []byte) []string {
	t.Helper()
	var obj map[string]any
	if err := sigsyaml.Unmarshal(doc, &obj); err != nil {
		t.Fatal(err)
	}
	var problems []string
	pruned := pruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range pruned {
		problems = append(problems, "unknown field "+p)
	}
	res := validate.NewSchemaValidator(v.schema, nil, "", strfmt.Default).Validate(obj)
	for _, e := range res.Errors {
		problems = append(problems, e.Error())
	}
	return problems
}

// ChuteRepo is the example repository with a chute operator app whose
// folder declares the ChuteConfig home.
func ChuteRepo(t *testing.T) string {
	t.Helper()
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	app := filepath.Join(dir, "kubernetes/apps/network/chutes")
	mustWrite(t, filepath.Join(app, "ks.yaml"), `---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: chutes
  namespace: flux-system
spec:
  interval: 1h
  path: ./kubernetes/apps/network/chutes/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: network
`)
	mustWrite(t, filepath.Join(app, "app/kustomization.yaml"), "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./chuteconfig.yaml\n")
	mustWrite(t, filepath.Join(app, "app/chuteconfig.yaml"), `---
apiVersion: chutes.troubleshat.com/v1alpha1
kind: ChuteConfig
metadata:
  name: home
spec:
  accountID: 0123456789abcdef0123456789abcdef
  teamName: home
  apiTokenSecretRef:
    name: chutes
    namespace: network
    key: api-token
`)
	nk := filepath.Join(dir, "kubernetes/apps/network/kustomization.yaml")
	data, err := os.ReadFile(nk)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, nk, strings.Replace(string(data), "  - ./cloudflare-dns/ks.yaml\n", "  - ./chutes/ks.yaml\n  - ./cloudflare-dns/ks.yaml\n", 1))
	return dir
}

func mustWrite(t testing.TB, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
