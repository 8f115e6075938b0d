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
			name:  "an empty resources key (what removing the last entry leaves)",
			in:    "kind: Kustomization\nresources:\nnamespace: x\n",
			entry: "./a/ks.yaml",
			want:  "kind: Kustomization\nresources:\n  - ./a/ks.yaml\nnamespace: x\n",
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
		"resources: ~\n",
		"- a\n- b\n",
		"resources:\n  - a\n bad: [\n",
	} {
		if _, _, err := generator.AddResource([]byte(in), "./x/ks.yaml"); err == nil {
			t.Errorf("%q: want an error", strings.TrimSpace(in))
		}
	}
}

func TestRemoveResource(t *testing.T) {
	cases := []struct {
		name, in, entry, want string
	}{
		{
			name:  "the entry's line goes, nothing else",
			in:    "---\nkind: Kustomization\nresources:\n  - ./namespace.yaml\n  - ./alpha/ks.yaml\n  - ./beta/ks.yaml\n  - ./gamma/ks.yaml\n",
			entry: "./beta/ks.yaml",
			want:  "---\nkind: Kustomization\nresources:\n  - ./namespace.yaml\n  - ./alpha/ks.yaml\n  - ./gamma/ks.yaml\n",
		},
		{
			name:  "comments around it stay, its own line comment goes",
			in:    "# head\nresources:\n  # the namespace\n  - ./namespace.yaml\n  # apps\n  - ./alpha/ks.yaml # first app\n  # - ./old/ks.yaml\n  - ./zulu/ks.yaml\nnamespace: x\n",
			entry: "./alpha/ks.yaml",
			want:  "# head\nresources:\n  # the namespace\n  - ./namespace.yaml\n  # apps\n  # - ./old/ks.yaml\n  - ./zulu/ks.yaml\nnamespace: x\n",
		},
		{
			name:  "the last item, before a trailing comment and another key",
			in:    "resources:\n- ./namespace.yaml\n- ./b/ks.yaml\n# - ./c/ks.yaml\ncomponents:\n- ../../components/sops\n",
			entry: "./b/ks.yaml",
			want:  "resources:\n- ./namespace.yaml\n# - ./c/ks.yaml\ncomponents:\n- ../../components/sops\n",
		},
		{
			name:  "listed without ./",
			in:    "resources:\n  - namespace.yaml\n  - app/ks.yaml\n",
			entry: "./app/ks.yaml",
			want:  "resources:\n  - namespace.yaml\n",
		},
		{
			name:  "quoted and listed twice",
			in:    "resources:\n  - \"./app/ks.yaml\"\n  - ./namespace.yaml\n  - 'app/ks.yaml'\n",
			entry: "./app/ks.yaml",
			want:  "resources:\n  - ./namespace.yaml\n",
		},
		{
			name:  "the only entry leaves an empty list",
			in:    "kind: Kustomization\nresources:\n  - ./app/ks.yaml\nnamespace: x\n",
			entry: "./app/ks.yaml",
			want:  "kind: Kustomization\nresources:\nnamespace: x\n",
		},
		{
			name:  "no final newline",
			in:    "resources:\n  - ./namespace.yaml\n  - ./a/ks.yaml",
			entry: "./a/ks.yaml",
			want:  "resources:\n  - ./namespace.yaml\n",
		},
		{
			name:  "not listed: unchanged",
			in:    "resources:\n  - ./namespace.yaml\n  - ./a/ks.yaml\n",
			entry: "./b/ks.yaml",
			want:  "resources:\n  - ./namespace.yaml\n  - ./a/ks.yaml\n",
		},
		{
			name:  "no resources: unchanged",
			in:    "kind: Kustomization\nresources:\nnamespace: x\n",
			entry: "./b/ks.yaml",
			want:  "kind: Kustomization\nresources:\nnamespace: x\n",
		},
		{
			name:  "a flow list without the entry is no concern",
			in:    "resources: [./namespace.yaml]\n",
			entry: "./b/ks.yaml",
			want:  "resources: [./namespace.yaml]\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := generator.RemoveResource([]byte(tc.in), tc.entry)
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

// TestRemoveResourceUndoesAddResource adds an entry and removes it again
// on every shape AddResource handles: the bytes must come back exactly.
func TestRemoveResourceUndoesAddResource(t *testing.T) {
	for _, in := range []string{
		"---\nkind: Kustomization\nresources:\n  - ./namespace.yaml\n  - ./alpha/ks.yaml\n  - ./gamma/ks.yaml\n",
		"resources:\n  - ./namespace.yaml\n  - ./zeta/ks.yaml\n  - ./alpha/ks.yaml\n",
		"# head\nresources:\n  # the namespace\n  - ./namespace.yaml\n  - ./alpha/ks.yaml # first app\n  # - ./old/ks.yaml\nnamespace: x\n",
		"resources:\n  # apps first\n  - ./zulu/ks.yaml\n",
		"resources:\n- ./namespace.yaml\n- ./b/ks.yaml\n",
		"kind: Kustomization\nresources:\nnamespace: x\n",
	} {
		for _, entry := range []string{"./a/ks.yaml", "./beta/ks.yaml", "./zz/ks.yaml"} {
			added, changed, err := generator.AddResource([]byte(in), entry)
			if err != nil || !changed {
				t.Fatalf("%q + %s: %v (changed %v)", in, entry, err, changed)
			}
			back, changed, err := generator.RemoveResource(added, entry)
			if err != nil || !changed {
				t.Fatalf("%q - %s: %v (changed %v)", added, entry, err, changed)
			}
			if string(back) != in {
				t.Errorf("add then remove %s:\n%s\nwant\n%s", entry, back, in)
			}
		}
	}
}

func TestRemoveResourceRefusesWhatItCannotEditSafely(t *testing.T) {
	for _, in := range []string{
		"resources: [./namespace.yaml, ./x/ks.yaml]\n",
		"resources: ./x/ks.yaml\n",
		"- a\n- b\n",
		"resources:\n  - ./x/ks.yaml\n bad: [\n",
	} {
		if _, _, err := generator.RemoveResource([]byte(in), "./x/ks.yaml"); err == nil {
			t.Errorf("%q: want an error", strings.TrimSpace(in))
		}
	}
}
