package flux

import (
	"strings"
	"testing"
)

func TestAffected(t *testing.T) {
	files := repo(map[string]string{
		"kubernetes/apps/default/kustomization.yaml": strings.Replace(baseRepo["kubernetes/apps/default/kustomization.yaml"],
			"  - ./echo/ks.yaml\n", "  - ./echo/ks.yaml\n  - ./web/ks.yaml\n", 1),
		"kubernetes/apps/default/web/ks.yaml": `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: web
spec:
  interval: 1h
  path: ./kubernetes/apps/default/web/app
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
`,
		// No kustomization.yaml: Flux generates one listing every manifest.
		"kubernetes/apps/default/web/app/deploy.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
		"kubernetes/apps/default/web/app/unit/kustomization.yaml": "resources: [./cm.yaml]\n",
		"kubernetes/apps/default/web/app/unit/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unit\n",
		"README.md": "# repo\n",
	})
	all := discover(t, files)
	everything := "flux-system/cluster-apps default/echo default/web"
	tests := []struct {
		name    string
		changed []string
		want    string
	}{
		{"app manifest", []string{"kubernetes/apps/default/echo/app/httproute.yaml"}, "default/echo"},
		{"app ks.yaml", []string{"kubernetes/apps/default/echo/ks.yaml"}, "flux-system/cluster-apps default/echo"},
		{"new file in a generated folder", []string{"kubernetes/apps/default/web/app/new/svc.yaml"}, "default/web"},
		{"file in a unit below a generated folder", []string{"kubernetes/apps/default/web/app/unit/cm.yaml"}, "default/web"},
		{"unlisted file next to a kustomization", []string{"kubernetes/apps/default/echo/app/unlisted.yaml"}, ""},
		{"unlisted file in a unit", []string{"kubernetes/apps/default/web/app/unit/other.yaml"}, ""},
		{"a new kustomization file in a listed folder", []string{"kubernetes/apps/default/web/app/kustomization.yaml"}, "default/web"},
		{"component used by the namespace", []string{"kubernetes/components/sops/cluster-settings.yaml"}, everything},
		{"namespace kustomization", []string{"kubernetes/apps/default/kustomization.yaml"}, everything},
		{"root file", []string{"./kubernetes/flux/cluster/ks.yaml"}, everything},
		{"a new namespace folder", []string{"kubernetes/apps/media/kustomization.yaml"}, everything},
		{"unrelated", []string{"README.md", "docs/x.md"}, ""},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(ids(Affected(all, files, tt.changed)), " ")
			if got != tt.want {
				t.Errorf("Affected(%v) = %q, want %q", tt.changed, got, tt.want)
			}
		})
	}
}

func TestAffectedWithoutRecordedInputs(t *testing.T) {
	files := repo(map[string]string{
		"kubernetes/apps/default/echo/app/kustomization.yaml": "resources: [./httproute.yaml, ../../../../components/extra]\n",
		"kubernetes/components/extra/kustomization.yaml":      "resources: [./cm.yaml]\n",
		"kubernetes/components/extra/cm.yaml":                 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
	})
	objs, err := decodeDocuments([]byte(baseRepo["kubernetes/apps/default/echo/ks.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := newKustomization(objs[0], "kubernetes/apps/default/echo/ks.yaml", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"kubernetes/apps/default/echo/app/httproute.yaml", true},
		{"kubernetes/apps/default/echo/app/anything", true},
		{"kubernetes/components/extra/cm.yaml", true},
		{"kubernetes/apps/default/echo/ks.yaml", true},
		{"kubernetes/components/sops/cluster-settings.yaml", false},
	} {
		if got := len(Affected([]*Kustomization{ks}, files, []string{tt.path})) == 1; got != tt.want {
			t.Errorf("%s: affected = %v, want %v", tt.path, got, tt.want)
		}
	}
}
