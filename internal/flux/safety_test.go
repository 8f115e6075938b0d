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

// TestUnsafeReferencesInBuiltinConfigs: the files a builtin generator,
// transformer or validator config names are checked like the
// kustomization's own, in every document of every config: inline, in a
// file, or made by a kustomization folder.
func TestUnsafeReferencesInBuiltinConfigs(t *testing.T) {
	const dir = "kubernetes/apps/default/echo/app/"
	const k = dir + "kustomization.yaml"
	head := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./httproute.yaml\n"
	cases := []struct {
		name  string
		files map[string]string
		kind  string
		file  string
		ref   string
	}{
		{"generator file", map[string]string{
			k:                head + "generators:\n  - ./gen.yaml\n",
			dir + "gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: canary\nfiles:\n  - canary=http://127.0.0.1:18080/data.txt\n",
		}, ProblemRemote, dir + "gen.yaml", "http://127.0.0.1:18080/data.txt"},
		{"transformer file", map[string]string{
			k:               head + "transformers:\n  - ./tr.yaml\n",
			dir + "tr.yaml": "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: fetch\npath: http://127.0.0.1:18080/cm.yaml\n",
		}, ProblemRemote, dir + "tr.yaml", "http://127.0.0.1:18080/cm.yaml"},
		{"inline generator", map[string]string{
			k: head + "generators:\n  - |\n    apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata:\n      name: canary\n    files:\n      - http://127.0.0.1:18080/data.txt\n",
		}, ProblemRemote, k, "http://127.0.0.1:18080/data.txt"},
		{"inline flow generator", map[string]string{
			k: head + "generators:\n  - '{apiVersion: builtin, kind: SecretGenerator, metadata: {name: s}, envs: [/etc/environment]}'\n",
		}, ProblemAbsolute, k, "/etc/environment"},
		{"second document", map[string]string{
			k:                head + "generators:\n  - ./gen.yaml\n",
			dir + "gen.yaml": "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: fine\nliterals:\n  - url=https://example.com\n---\napiVersion: builtin\nkind: SecretGenerator\nmetadata:\n  name: creds\nenv: https://example.com/env\n",
		}, ProblemRemote, dir + "gen.yaml", "https://example.com/env"},
		{"folder of generators", map[string]string{
			k:                               head + "generators:\n  - ./gens\n",
			dir + "gens/kustomization.yaml": "resources:\n  - ./cm.yaml\n",
			dir + "gens/cm.yaml":            "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: x\nfiles:\n  - git@github.com:org/repo.git\n",
		}, ProblemRemote, dir + "gens/cm.yaml", "git@github.com:org/repo.git"},
		{"replacement path", map[string]string{
			k:               head + "transformers:\n  - ./tr.yaml\n",
			dir + "tr.yaml": "apiVersion: builtin\nkind: ReplacementTransformer\nmetadata:\n  name: r\nreplacements:\n  - path: ../../../../../../../etc/passwd\n",
		}, ProblemEscape, dir + "tr.yaml", "../../../../../../../etc/passwd"},
		{"strategic merge paths", map[string]string{
			k:               head + "transformers:\n  - ./tr.yaml\n",
			dir + "tr.yaml": "apiVersion: builtin\nkind: PatchStrategicMergeTransformer\nmetadata:\n  name: p\npaths:\n  - https://example.com/patch.yaml\n",
		}, ProblemRemote, dir + "tr.yaml", "https://example.com/patch.yaml"},
		{"value add target file", map[string]string{
			k:              head + "validators:\n  - ./v.yaml\n",
			dir + "v.yaml": "apiVersion: builtin\nkind: ValueAddTransformer\nmetadata:\n  name: v\ntargetFilePath: https://example.com/targets.yaml\n",
		}, ProblemRemote, dir + "v.yaml", "https://example.com/targets.yaml"},
		{"helm generator", map[string]string{
			k:                head + "generators:\n  - ./gen.yaml\n",
			dir + "gen.yaml": "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata:\n  name: h\nchartName: x\nchartRepoUrl: https://example.com\n",
		}, ProblemExec, dir + "gen.yaml", "helm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Discover(repo(c.files), nil)
			var unsafe *UnsafeError
			if !errors.As(err, &unsafe) {
				t.Fatalf("err = %v, want an UnsafeError", err)
			}
			for _, p := range unsafe.Problems {
				if p.Kind == c.kind && p.File == c.file && p.Ref == c.ref {
					return
				}
			}
			t.Errorf("problems %+v, want %s %q in %s", unsafe.Problems, c.kind, c.ref, c.file)
		})
	}
}

// TestBuiltinConfigDataIsNotAReference: a URL in what a config holds as
// data (a literal, an inline patch) is not fetched and not refused.
func TestBuiltinConfigDataIsNotAReference(t *testing.T) {
	const dir = "kubernetes/apps/default/echo/app/"
	files := repo(map[string]string{
		dir + "kustomization.yaml": "resources:\n  - ./httproute.yaml\ngenerators:\n  - ./gen.yaml\ntransformers:\n  - ./tr.yaml\n",
		dir + "gen.yaml":           "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: links\nliterals:\n  - docs=https://example.com/docs\n",
		dir + "tr.yaml":            "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: note\ntarget:\n  kind: HTTPRoute\npatch: |\n  - op: add\n    path: /metadata/annotations\n    value: {docs: \"https://example.com\"}\n",
	})
	if _, err := Discover(files, nil); err != nil {
		t.Fatal(err)
	}
}
