package apps_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/gentest"
)

// TestAddAppReplicas: a replica count is written as given, 0 included (an
// app kept in the repository but scaled down); without one, raw mode
// writes Kubernetes' default of 1 and app-template leaves it to the chart.
func TestAddAppReplicas(t *testing.T) {
	r := gentest.LoadExample(t).Model()
	cases := []struct {
		name     string
		mode     apps.Mode
		replicas *int
		file     string
		want     string // "" when the file must hold no replicas
	}{
		{"raw zero", apps.ModeRaw, new(0), "deployment.yaml", "\n  replicas: 0\n"},
		{"raw three", apps.ModeRaw, new(3), "deployment.yaml", "\n  replicas: 3\n"},
		{"raw unset", apps.ModeRaw, nil, "deployment.yaml", "\n  replicas: 1\n"},
		{"app-template zero", apps.ModeAppTemplate, new(0), "helmrelease.yaml", "\n        replicas: 0\n"},
		{"app-template three", apps.ModeAppTemplate, new(3), "helmrelease.yaml", "\n        replicas: 3\n"},
		{"app-template unset", apps.ModeAppTemplate, nil, "helmrelease.yaml", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := apps.Add(r, apps.AddOptions{Namespace: "default", Name: "scaled", Mode: tc.mode, Image: "nginx:1.27", Replicas: tc.replicas})
			if err != nil {
				t.Fatal(err)
			}
			var content string
			for _, f := range cs.Files {
				if f.Path == "kubernetes/apps/default/scaled/app/"+tc.file {
					content = string(f.Content)
					gentest.AssertStrict(t, f.Path, f.Content)
				}
			}
			if content == "" {
				t.Fatalf("no %s in %v", tc.file, cs.Paths())
			}
			if tc.want == "" && strings.Contains(content, "replicas:") {
				t.Errorf("%s sets replicas:\n%s", tc.file, content)
			}
			if tc.want != "" && !strings.Contains(content, tc.want) {
				t.Errorf("%s lacks %q:\n%s", tc.file, tc.want, content)
			}
		})
	}
	for _, n := range []int{0, 2} {
		_, err := apps.Add(r, apps.AddOptions{Namespace: "default", Name: "chart", Mode: apps.ModeChart,
			Chart: "oci://ghcr.io/x/charts/y", ChartVersion: "1.0.0", Replicas: new(n)})
		if err == nil || !strings.Contains(err.Error(), "in chart mode put them in --values") {
			t.Errorf("chart mode with --replicas %d: %v", n, err)
		}
	}
	if _, err := apps.Add(r, apps.AddOptions{Namespace: "default", Name: "x", Mode: apps.ModeRaw, Image: "nginx:1.27", Replicas: new(-1)}); err == nil ||
		!strings.Contains(err.Error(), "--replicas -1 must not be negative") {
		t.Errorf("negative replicas: %v", err)
	}
}
