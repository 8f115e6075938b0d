package live_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/live"
)

func TestReadManifest(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // Kind/name list, or the error
	}{
		{"documents", "---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n", "Service/a Deployment/b"},
		{"kubectl List", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n- apiVersion: v1\n  kind: List\n  items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}]\nmetadata: {resourceVersion: \"\"}\n", "Service/a ConfigMap/c"},
		{"typed list", "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: d}\n", "Deployment/d"},
		{"json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}]}`, "Secret/s"},
		{"not yaml", "apiVersion: v1\nkind: [Service\n", `reading "in.yaml": not YAML`},
		{"not an object", "- a\n- b\n", "not a Kubernetes object"},
		{"no kind", "---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n", `reading "in.yaml", document 2: object of v1 has no kind`},
		{"no name", "apiVersion: v1\nkind: Service\n", "Service has no metadata.name"},
		{"empty", "\n# nothing\n", "no Kubernetes objects in it"},
		{"zero bytes", "", "the file is empty"},
		{"binary", "\x00\x01\x02garbage", "not"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := live.ReadManifest("in.yaml", []byte(tc.in))
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %q, want %q", err, tc.want)
				}
				return
			}
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("got %s, want %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}
