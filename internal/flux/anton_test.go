package flux

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/schema"
	"sigs.k8s.io/yaml"
)

// antonFiles loads the anton corpus, which CI keeps at ../shared/corpora/anton
// relative to the module root. Outside CI a missing corpus skips the test.
func antonFiles(tb testing.TB) Files {
	tb.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("module root not found")
		}
		dir = parent
	}
	root := filepath.Join(dir, "..", "shared", "corpora", "anton")
	if _, err := os.Stat(filepath.Join(root, "kubernetes")); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the anton corpus is missing at %s: %v", root, err)
		}
		tb.Skipf("the anton corpus is missing at %s", root)
	}
	files := Files{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// fluxKustomizationNames returns "namespace/name" of the Flux Kustomization
// documents in data, defaulting the namespace to ns.
func fluxKustomizationNames(t *testing.T, data []byte, ns string) []string {
	t.Helper()
	objs, err := decodeDocuments(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		if strings.HasPrefix(o.GetAPIVersion(), "kustomize.toolkit.fluxcd.io/") && o.GetKind() == "Kustomization" {
			n := o.GetNamespace()
			if ns != "" {
				n = ns
			}
			out = append(out, n+"/"+o.GetName())
		}
	}
	return out
}

func TestAnton(t *testing.T) {
	files := antonFiles(t)
	all, err := Discover(files, nil)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}

	// Independently of Discover: the ks.yaml files that namespace
	// kustomizations register, and the Kustomizations they declare (the
	// namespace kustomization moves them into its namespace).
	var registered []string
	for p, data := range files {
		if !strings.HasPrefix(p, "kubernetes/apps/") || strings.Count(p, "/") != 3 || path.Base(p) != "kustomization.yaml" {
			continue
		}
		var k struct {
			Namespace string   `json:"namespace"`
			Resources []string `json:"resources"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			t.Fatal(err)
		}
		for _, r := range k.Resources {
			if path.Base(r) != "ks.yaml" {
				continue
			}
			ks := path.Join(path.Dir(p), r)
			data, ok := files[ks]
			if !ok {
				t.Fatalf("%s registers %s, which does not exist", p, r)
			}
			registered = append(registered, fluxKustomizationNames(t, data, k.Namespace)...)
		}
	}
	sort.Strings(registered)

	var fromKsFiles, roots []string
	var external []string
	for _, ks := range all {
		switch {
		case ks.Parent == nil:
			roots = append(roots, ks.ID().String())
		case strings.HasPrefix(ks.SourceFile, "kubernetes/apps/") && path.Base(ks.SourceFile) == "ks.yaml":
			fromKsFiles = append(fromKsFiles, ks.ID().String())
		}
		if ks.External {
			external = append(external, ks.ID().String())
		}
	}
	sort.Strings(fromKsFiles)
	sort.Strings(external)
	if len(registered) != 53 {
		t.Errorf("the corpus registers %d app Kustomizations, want 53", len(registered))
	}
	if strings.Join(fromKsFiles, " ") != strings.Join(registered, " ") {
		t.Errorf("discovered from ks.yaml files:\n%v\nregistered:\n%v", fromKsFiles, registered)
	}
	if want := fluxKustomizationNames(t, files[DefaultRoot], ""); strings.Join(roots, " ") != strings.Join(want, " ") {
		t.Errorf("roots %v, want %v", roots, want)
	}
	// The rest come from inside app folders and use upstream repositories.
	wantExternal := "kube-system/snapshot-controller kube-system/snapshot-crds network/multus-upstream network/whereabouts-upstream"
	if strings.Join(external, " ") != wantExternal {
		t.Errorf("external %v, want %s", external, wantExternal)
	}
	if len(all) != len(roots)+len(registered)+len(external) {
		t.Errorf("discovered %d Kustomizations, want %d roots + %d registered + %d external", len(all), len(roots), len(registered), len(external))
	}

	decoded := 0
	for _, ks := range all {
		if ks.External {
			if ks.SourceRef.Kind != "GitRepository" || ks.SourceRef.Name == "flux-system" {
				t.Errorf("%s is external with source %s", ks, ks.SourceRef)
			}
			continue
		}
		r, err := Render(files, ks, RenderOptions{})
		if err != nil {
			t.Errorf("Render: %v", err)
			continue
		}
		for _, f := range r.Findings {
			t.Errorf("finding: %s", f)
		}
		for _, o := range r.Objects {
			known, err := schema.Decode(o.Unstructured)
			if err != nil {
				t.Errorf("%s (%s): %v", o.ID(), o.Origin, err)
			}
			if known {
				decoded++
			}
		}
		if ks.Name == "echo" {
			checkAntonEcho(t, r)
		}
	}
	if decoded < 200 {
		t.Errorf("only %d objects of known kinds were decoded", decoded)
	}
}

func checkAntonEcho(t *testing.T, r *Rendered) {
	t.Helper()
	want := map[string]string{
		"HelmRelease":   "echo",
		"OCIRepository": "echo",
		"DNSEndpoint":   "echo",
		"NetworkPolicy": "echo-isolation",
	}
	for _, o := range r.Objects {
		u := o.Unstructured
		if name, ok := want[u.GetKind()]; ok && name == u.GetName() && u.GetNamespace() == "default" {
			delete(want, u.GetKind())
		}
	}
	if len(want) > 0 {
		t.Errorf("echo lacks %v in namespace default", want)
	}
	dns := objectByID(r, "DNSEndpoint default/echo")
	if dns == nil || !strings.Contains(string(dns.YAML()), "dnsName: echo."+Placeholder("SECRET_DOMAIN_THREE")) {
		t.Errorf("the DNSEndpoint does not carry the SECRET_DOMAIN_THREE placeholder")
	}
}

// BenchmarkRenderAnton discovers the anton corpus and renders every
// Kustomization built from the repository.
func BenchmarkRenderAnton(b *testing.B) {
	files := antonFiles(b)
	for b.Loop() {
		all, err := Discover(files, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, ks := range all {
			if ks.External {
				continue
			}
			if _, err := Render(files, ks, RenderOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
