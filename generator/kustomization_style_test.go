package generator_test

import (
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
)

// TestAddResourceItemOnItsOwnLine covers lists whose items start on the
// line below their dash: valid YAML that once made AddResource panic
// (a negative indentation taken from the item's column). The new entry
// takes the dashes' indentation, and the list is the old one plus it.
func TestAddResourceItemOnItsOwnLine(t *testing.T) {
	cases := []struct {
		name, in, entry, want string
	}{
		{
			name:  "value one space under the dash",
			in:    "resources:\n-\n ./namespace.yaml\n- ./echo/ks.yaml\n",
			entry: "./hello/ks.yaml",
			want:  "resources:\n-\n ./namespace.yaml\n- ./echo/ks.yaml\n- ./hello/ks.yaml\n",
		},
		{
			name:  "value two spaces under the dash",
			in:    "resources:\n-\n  ./namespace.yaml\n- ./echo/ks.yaml\n",
			entry: "./aaa/ks.yaml",
			want:  "resources:\n-\n  ./namespace.yaml\n- ./aaa/ks.yaml\n- ./echo/ks.yaml\n",
		},
		{
			name:  "sorted insert before a first item on its own line",
			in:    "resources:\n  -\n    ./beta/ks.yaml\n  - ./gamma/ks.yaml\n",
			entry: "./alpha/ks.yaml",
			want:  "resources:\n  - ./alpha/ks.yaml\n  -\n    ./beta/ks.yaml\n  - ./gamma/ks.yaml\n",
		},
		{
			name:  "a wide gap after the dash",
			in:    "resources:\n  -   ./namespace.yaml\n  -   ./b/ks.yaml\n",
			entry: "./a/ks.yaml",
			want:  "resources:\n  -   ./namespace.yaml\n  - ./a/ks.yaml\n  -   ./b/ks.yaml\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := generator.AddResource([]byte(tc.in), tc.entry)
			if err != nil {
				t.Fatal(err)
			}
			if !changed || string(got) != tc.want {
				t.Fatalf("got (changed %v)\n%s\nwant\n%s", changed, got, tc.want)
			}
			var k struct{ Resources []string }
			if err := yaml.Unmarshal(got, &k); err != nil {
				t.Fatal(err)
			}
		})
	}
}
