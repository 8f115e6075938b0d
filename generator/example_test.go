package generator_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
)

// A program outside gen describes the repository itself, with no more
// than the public API, and calls a generator on it: here the add-app
// generator, on a repository whose apps live in kubernetes/apps and whose
// default namespace holds the app echo. The Changeset is what gen would
// write: the app's folder, and its line in the namespace kustomization.
func Example() {
	files := map[string][]byte{
		"kubernetes/apps/default/kustomization.yaml": []byte(`---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: default
resources:
  - ./echo/ks.yaml
`),
		"kubernetes/apps/default/echo/ks.yaml": []byte(`---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: echo
  namespace: flux-system
spec:
  interval: 1h
  path: ./kubernetes/apps/default/echo/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: default
`),
	}
	r := &generator.Repo{
		Files:   files,
		AppsDir: "kubernetes/apps",
		Namespaces: map[string]*generator.Namespace{
			"default": {
				Name: "default", Dir: "kubernetes/apps/default", Kustomization: "kubernetes/apps/default/kustomization.yaml",
				Apps: map[string]*generator.App{
					"echo": {Namespace: "default", Name: "echo", Dir: "kubernetes/apps/default/echo", KS: "kubernetes/apps/default/echo/ks.yaml", Registered: true, Kustomizations: []string{"echo"}},
				},
			},
		},
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		objs, err := generator.ParseObjects(p, files[p])
		if err != nil {
			fmt.Println(err)
			return
		}
		r.Objects = append(r.Objects, objs...)
	}

	cs, err := apps.Add(r, apps.AddOptions{
		Namespace: "default", Name: "whoami", Mode: apps.ModeRaw,
		Image: "ghcr.io/traefik/whoami:v1.11.0", Port: 8080,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cs.Title)
	for _, f := range cs.Files {
		fmt.Println(f.Path)
	}
	// The registration, one line added in sorted place, and ks.yaml, in
	// the style of its neighbour.
	fmt.Print(string(cs.Files[0].Content))
	fmt.Print(string(cs.Files[len(cs.Files)-1].Content))
	// Output:
	// Add default/whoami
	// kubernetes/apps/default/kustomization.yaml
	// kubernetes/apps/default/whoami/app/deployment.yaml
	// kubernetes/apps/default/whoami/app/kustomization.yaml
	// kubernetes/apps/default/whoami/app/service.yaml
	// kubernetes/apps/default/whoami/ks.yaml
	// ---
	// apiVersion: kustomize.config.k8s.io/v1beta1
	// kind: Kustomization
	// namespace: default
	// resources:
	//   - ./echo/ks.yaml
	//   - ./whoami/ks.yaml
	// ---
	// apiVersion: kustomize.toolkit.fluxcd.io/v1
	// kind: Kustomization
	// metadata:
	//   name: whoami
	//   namespace: flux-system
	// spec:
	//   interval: 1h
	//   path: ./kubernetes/apps/default/whoami/app
	//   prune: true
	//   sourceRef:
	//     kind: GitRepository
	//     name: flux-system
	//     namespace: flux-system
	//   targetNamespace: default
	//   wait: false
}
