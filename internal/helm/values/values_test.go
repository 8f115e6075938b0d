package values

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func resources(t *testing.T, docs ...string) *Resources {
	t.Helper()
	r := NewResources()
	for _, d := range docs {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			t.Fatal(err)
		}
		if err := r.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func release(values string, refs ...helmv2.ValuesReference) *helmv2.HelmRelease {
	h := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"}}
	if values != "" {
		raw, err := yaml.YAMLToJSON([]byte(values))
		if err != nil {
			panic(err)
		}
		h.Spec.Values = &apiextensionsv1.JSON{Raw: raw}
	}
	h.Spec.ValuesFrom = refs
	return h
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestComposeOrder(t *testing.T) {
	res := resources(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: base, namespace: apps}
data:
  values.yaml: |
    image: {repository: nginx, tag: "1.0"}
    replicas: 1
    env: {A: from-configmap, B: from-configmap}
  extra.yaml: |
    env: {C: from-extra-key}
`, `
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: apps}
data:
  password: `+b64("hunter2")+`
stringData:
  values.yaml: |
    env: {B: from-secret}
`, `
apiVersion: v1
kind: ConfigMap
metadata: {name: elsewhere, namespace: other}
data:
  values.yaml: "stolen: true"
`)
	hr := release("replicas: 3\nenv: {A: from-values}\nauth: {password: from-values}\n",
		helmv2.ValuesReference{Kind: "ConfigMap", Name: "base"},
		helmv2.ValuesReference{Kind: "ConfigMap", Name: "base", ValuesKey: "extra.yaml"},
		helmv2.ValuesReference{Kind: "Secret", Name: "creds"},
		helmv2.ValuesReference{Kind: "Secret", Name: "creds", ValuesKey: "password", TargetPath: "auth.password"},
		helmv2.ValuesReference{Kind: "ConfigMap", Name: "absent", Optional: true},
		helmv2.ValuesReference{Kind: "ConfigMap", Name: "elsewhere", Optional: true},
	)
	vals, notes, err := Compose(context.Background(), hr, res)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes: %+v", notes)
	}
	want := `{"auth":{"password":"hunter2"},"env":{"A":"from-values","B":"from-secret","C":"from-extra-key"},"image":{"repository":"nginx","tag":"1.0"},"replicas":3}`
	if got := asJSON(t, vals); got != want {
		t.Errorf("values:\n got %s\nwant %s", got, want)
	}
}

func TestComposeErrors(t *testing.T) {
	res := resources(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: base, namespace: apps}
data:
  values.yaml: "a: 1"
  broken.yaml: "a: [1"
`)
	for name, tc := range map[string]struct {
		ref  helmv2.ValuesReference
		want string
	}{
		"missing object":  {helmv2.ValuesReference{Kind: "ConfigMap", Name: "nope"}, "not found"},
		"missing key":     {helmv2.ValuesReference{Kind: "ConfigMap", Name: "base", ValuesKey: "other.yaml"}, "other.yaml"},
		"unreadable data": {helmv2.ValuesReference{Kind: "ConfigMap", Name: "base", ValuesKey: "broken.yaml"}, "broken.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := Compose(context.Background(), release("", tc.ref), res)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if _, _, err := Compose(context.Background(), release("", helmv2.ValuesReference{Kind: "ConfigMap", Name: "base", ValuesKey: "other.yaml", Optional: true}), res); err != nil {
		t.Errorf("an optional missing key: %v", err)
	}
}

func TestComposeKeepsCiphertextOut(t *testing.T) {
	// A SOPS-encrypted Secret as it sits in the repository: values are
	// ciphertext, one key left readable by unencrypted_regex.
	res := resources(t, `
apiVersion: v1
kind: Secret
metadata: {name: app-secret, namespace: apps}
data:
  token: `+b64("ENC[AES256_GCM,data:c2VjcmV0,iv:aXY=,tag:dGFn,type:str]")+`
stringData:
  values.yaml: ENC[AES256_GCM,data:Zm9vYmFy,iv:aXY=,tag:dGFn,type:str]
  region: eu-west-1
sops:
  version: 3.13.3
`)
	hr := release("replicas: 2\n",
		helmv2.ValuesReference{Kind: "Secret", Name: "app-secret"},
		helmv2.ValuesReference{Kind: "Secret", Name: "app-secret", ValuesKey: "token", TargetPath: "api.token"},
		helmv2.ValuesReference{Kind: "Secret", Name: "app-secret", ValuesKey: "region", TargetPath: "api.region"},
	)
	vals, notes, err := Compose(context.Background(), hr, res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"api":{"region":"eu-west-1","token":"` + Placeholder + `"},"replicas":2}`
	if got := asJSON(t, vals); got != want {
		t.Errorf("values:\n got %s\nwant %s", got, want)
	}
	if len(notes) != 2 || !strings.Contains(notes[0].Msg+notes[1].Msg, "left out") || !strings.Contains(notes[0].Msg+notes[1].Msg, "placeholder") {
		t.Errorf("notes: %+v", notes)
	}
	if strings.Contains(asJSON(t, vals), "c2VjcmV0") {
		t.Error("ciphertext reached the values")
	}
}
