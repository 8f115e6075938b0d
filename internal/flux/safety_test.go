package flux

import (
	"errors"
	"strings"
	"testing"
)

// TestUnsafeReferencesAreRefused checks that a build whose kustomization
// files would make kustomize fetch, execute or leave the repository is
// refused before kustomize runs.
func TestUnsafeReferencesAreRefused(t *testing.T) {
	const app = "kubernetes/apps/default/echo/app/kustomization.yaml"
	cases := []struct {
		name, kustomization, kind string
	}{
		{"https resource", "resources:\n  - https://example.com/deploy.yaml\n", ProblemRemote},
		{"git repository", "resources:\n  - github.com/example/repo//deploy?ref=v1\n", ProblemRemote},
		{"scp-like git", "resources:\n  - git@github.com:example/repo.git\n", ProblemRemote},
		{"forced git", "resources:\n  - git::HTTPS://example.com/repo.git\n", ProblemRemote},
		{"remote component", "components:\n  - ssh://git@example.com/repo.git\n", ProblemRemote},
		{"remote patch", "resources:\n  - ./httproute.yaml\npatches:\n  - path: http://example.com/patch.yaml\n", ProblemRemote},
		{"remote generator file", "resources:\n  - ./httproute.yaml\nconfigMapGenerator:\n  - name: x\n    files:\n      - k=https://example.com/f\n", ProblemRemote},
		{"escape", "resources:\n  - ../../../../../../etc/passwd\n", ProblemEscape},
		{"absolute", "resources:\n  - /etc/passwd\n", ProblemAbsolute},
		{"helm", "helmCharts:\n  - name: x\n    repo: https://example.com\n", ProblemExec},
		{"function", "resources:\n  - ./httproute.yaml\ntransformers:\n  - |-\n    apiVersion: example.com/v1\n    kind: Fn\n    metadata:\n      name: fn\n      annotations:\n        config.kubernetes.io/function: |\n          exec:\n            path: /bin/sh\n", ProblemExec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := repo(map[string]string{app: "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + c.kustomization})
			_, err := Discover(files, nil)
			var unsafe *UnsafeError
			if !errors.As(err, &unsafe) {
				t.Fatalf("err = %v, want an UnsafeError", err)
			}
			if len(unsafe.Problems) == 0 || unsafe.Problems[0].Kind != c.kind || unsafe.Problems[0].File != app {
				t.Errorf("problems %+v, want %s in %s", unsafe.Problems, c.kind, app)
			}
		})
	}
}

// TestUnsafeReferencesInReachedKustomizations follows local folders and
// components: a remote base two levels down is refused too.
func TestUnsafeReferencesInReachedKustomizations(t *testing.T) {
	files := repo(map[string]string{
		"kubernetes/apps/default/echo/app/kustomization.yaml":      "resources:\n  - ./base\n",
		"kubernetes/apps/default/echo/app/base/kustomization.yaml": "resources:\n  - https://example.com/x.yaml\n",
	})
	_, err := Discover(files, nil)
	if err == nil || !strings.Contains(err.Error(), "app/base/kustomization.yaml: resources entry \"https://example.com/x.yaml\" is remote") {
		t.Errorf("err = %v", err)
	}
}

func TestIsRemoteRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"./deploy.yaml":                  false,
		"../base":                        false,
		"github.com/org/repo":            true,
		"GitHub.com:org/repo":            true,
		"user@host:path":                 true,
		"https://x/y.yaml":               true,
		"file:///tmp/repo":               true,
		"git::ssh://example.com/r":       true,
		"example.com/org/repo":           false, // kustomize reads it as a local path
		"s3://bucket/key":                true,
		"deploy.yaml?ref=main":           false,
		"components/github.com/org/repo": false,
	} {
		if got := isRemoteRef(ref); got != want {
			t.Errorf("isRemoteRef(%q) = %v, want %v", ref, got, want)
		}
	}
}
