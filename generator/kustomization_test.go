package generator_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
)

func TestAddResource(t *testing.T) {
	cases := []struct {
		name, in, entry, want string
		changed               bool
	}{
		{
			name:  "sorted list keeps its order",
			in:    "---\nkind: Kustomization\nresources:\n  - ./namespace.yaml\n  - ./alpha/ks.yaml\n  - ./gamma/ks.yaml\n",
			entry: "./beta/ks.yaml",
			want:  "---\nkind: Kustomization\nresources:\n  - ./namespace.yaml\n  - ./alpha/ks.yaml\n  - ./beta/ks.yaml\n  - ./gamma/ks.yaml\n",
		},
		{
			name:  "unsorted list appends",
			in:    "resources:\n  - ./namespace.yaml\n  - ./zeta/ks.yaml\n  - ./alpha/ks.yaml\n",
			entry: "./beta/ks.yaml",
			want:  "resources:\n  - ./namespace.yaml\n  - ./zeta/ks.yaml\n  - ./alpha/ks.yaml\n  - ./beta/ks.yaml\n",
		},
		{
			name:  "comments stay put, including trailing ones",
			in:    "# head\nresources:\n  # the namespace\n  - ./namespace.yaml\n  - ./alpha/ks.yaml # first app\n  # - ./old/ks.yaml\nnamespace: x\n",
			entry: "./zulu/ks.yaml",
			want:  "# head\nresources:\n  # the namespace\n  - ./namespace.yaml\n  - ./alpha/ks.yaml # first app\n  - ./zulu/ks.yaml\n  # - ./old/ks.yaml\nnamespace: x\n",
		},
		{
			name:  "unindented list style is kept",
			in:    "resources:\n- ./namespace.yaml\n- ./b/ks.yaml\n",
			entry: "./a/ks.yaml",
			want:  "resources:\n- ./namespace.yaml\n- ./a/ks.yaml\n- ./b/ks.yaml\n",
		},
		{
			name:  "already listed without ./ changes nothing",
			in:    "resources:\n  - namespace.yaml\n  - app/ks.yaml\n",
			entry: "./app/ks.yaml",
			want:  "resources:\n  - namespace.yaml\n  - app/ks.yaml\n",
		},
		{
			name:  "no final newline",
			in:    "resources:\n  - ./namespace.yaml",
			entry: "./a/ks.yaml",
			want:  "resources:\n  - ./namespace.yaml\n  - ./a/ks.yaml\n",
		},
		{
			name:  "no resources key",
			in:    "kind: Kustomization\nnamespace: x\n",
			entry: "./a/ks.yaml",
			want:  "kind: Kustomization\nnamespace: x\nresources:\n  - ./a/ks.yaml\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := generator.AddResource([]byte(tc.in), tc.entry)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			if changed != (tc.in != tc.want) {
				t.Fatalf("changed = %v", changed)
			}
		})
	}
}

func TestAddResourceRefusesWhatItCannotEditSafely(t *testing.T) {
	for _, in := range []string{
		"resources: [./namespace.yaml]\n",
		"- a\n- b\n",
		"resources:\n  - a\n bad: [\n",
	} {
		if _, _, err := generator.AddResource([]byte(in), "./x/ks.yaml"); err == nil {
			t.Errorf("%q: want an error", strings.TrimSpace(in))
		}
	}
}
