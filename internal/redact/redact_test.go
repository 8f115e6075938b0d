package redact

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func object(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func text(t *testing.T, m map[string]any) string {
	t.Helper()
	out, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestObjectHidesSecretsWhereverTheyHide: every place a Secret's value can
// be written in an object is hidden, and nothing else is.
func TestObjectHidesSecretsWhereverTheyHide(t *testing.T) {
	cases := []struct {
		name, doc string
		keep      []string
	}{
		{"secret", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: aHVudGVyMg==\nstringData:\n  b: hunter2\n", []string{"name: s"}},
		{"list items", "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n    data: {visible: yes-visible}\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData: {password: hunter2}\n", []string{"yes-visible"}},
		{"values object", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app}\nspec:\n  values:\n    replicas: 2\n    extraObjects:\n      - apiVersion: v1\n        kind: Secret\n        metadata: {name: s}\n        stringData: {password: hunter2}\n", []string{"replicas: 2", "name: s"}},
		{"values string", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app}\nspec:\n  values:\n    extraManifests: |\n      apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: c}\n      data: {visible: yes-visible}\n      ---\n      apiVersion: v1\n      kind: Secret\n      metadata: {name: s}\n      stringData:\n        password: hunter2\n", []string{"yes-visible", "name: s"}},
		{"annotation json", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    last: '{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},\"data\":{\"k\":\"aHVudGVyMg==\"}}'\n", []string{"name: c"}},
		{"generator literals", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nsecretGenerator:\n  - name: g\n    literals:\n      - password=hunter2\n      - other=aHVudGVyMg==\n", []string{"password=<redacted>"}},
		{"template string", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  tpl: |\n    {{- if .Values.x }}\n    kind: Secret\n    stringData: {password: hunter2}\n    {{- end }}\n", []string{"name: c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := object(t, c.doc)
			if !Object(m, false) {
				t.Error("reported nothing hidden")
			}
			got := text(t, m)
			for _, secret := range []string{"hunter2", "aHVudGVyMg=="} {
				if strings.Contains(got, secret) {
					t.Errorf("%s is still there:\n%s", secret, got)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(got, k) {
					t.Errorf("%q is gone:\n%s", k, got)
				}
			}
		})
	}
}

// TestObjectLeavesOtherObjectsAlone: a reference to a Secret, a ConfigMap's
// data, text that only mentions Secrets are not values.
func TestObjectLeavesOtherObjectsAlone(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: k}\nspec:\n  postBuild:\n    substituteFrom:\n      - {kind: Secret, name: cluster-secrets}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  note: Secrets are kept elsewhere\n  token: not-a-secret\n",
	} {
		m := object(t, doc)
		before := text(t, m)
		if Object(m, false) {
			t.Errorf("hid something in\n%s", before)
		}
		if after := text(t, m); after != before {
			t.Errorf("changed:\n%s\nto\n%s", before, after)
		}
	}
}

// TestSensitiveHidesAnyKindsData: an object that was SOPS-encrypted has its
// data hidden whatever its kind, and every ENC[...] payload goes.
func TestSensitiveHidesAnyKindsData(t *testing.T) {
	m := object(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {a: 'ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]'}\ndata:\n  k: plain\n")
	Object(m, true)
	got := text(t, m)
	if strings.Contains(got, "plain") || strings.Contains(got, "data:abc") || !strings.Contains(got, "ENC[…]") {
		t.Errorf("got\n%s", got)
	}
}

// TestPairMarksChangedValues: a value that changed, wherever it is, reads
// as changed on the head side; one that did not, as hidden.
func TestPairMarksChangedValues(t *testing.T) {
	doc := func(pw, token string) map[string]any {
		return object(t, "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app}\nspec:\n  values:\n    extraObjects:\n      - apiVersion: v1\n        kind: Secret\n        metadata: {name: s}\n        stringData: {password: "+pw+", same: same-value}\n    manifest: |\n      apiVersion: v1\n      kind: Secret\n      metadata: {name: t}\n      stringData: {token: "+token+"}\n")
	}
	base, head := doc("old-pw", "tok-1"), doc("new-pw", "tok-1")
	if !Pair(base, head, false) {
		t.Fatal("reported nothing hidden")
	}
	b, h := text(t, base), text(t, head)
	for _, s := range []string{"old-pw", "new-pw", "tok-1", "same-value"} {
		if strings.Contains(b, s) || strings.Contains(h, s) {
			t.Fatalf("%s is still there:\n%s\n%s", s, b, h)
		}
	}
	if strings.Contains(b, Changed) {
		t.Errorf("the base has a changed mark:\n%s", b)
	}
	if !strings.Contains(h, "password: "+Changed) || !strings.Contains(h, "same: "+Hidden) || !strings.Contains(h, "token: "+Hidden) {
		t.Errorf("head:\n%s", h)
	}
	head = doc("old-pw", "tok-2")
	base = doc("old-pw", "tok-1")
	Pair(base, head, false)
	if h := text(t, head); !strings.Contains(h, "token: "+Changed) || strings.Contains(h, "password: "+Changed) {
		t.Errorf("head:\n%s", h)
	}
}

// TestFindLocatesValues gives check what it reports: where each value is,
// the Secret holding it, and whether it is readable.
func TestFindLocatesValues(t *testing.T) {
	m := object(t, "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: s}\n    stringData:\n      password: hunter2\n      token: ${TOKEN}\n  - apiVersion: kustomize.config.k8s.io/v1beta1\n    kind: Kustomization\n    secretGenerator:\n      - name: g\n        literals: [a=b]\n        envs: [creds.env]\n")
	before := text(t, m)
	got := Find(m, false)
	if after := text(t, m); after != before {
		t.Errorf("Find changed the object")
	}
	want := []struct{ path, object, kind, key string }{
		{"items[0].stringData.password", "items[0]", KindData, "password"},
		{"items[0].stringData.token", "items[0]", KindData, "token"},
		{"items[1].secretGenerator[0].literals[0]", "items[1].secretGenerator[0]", KindLiteral, "a"},
		{"items[1].secretGenerator[0].envs[0]", "items[1].secretGenerator[0]", KindFile, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("found %+v", got)
	}
	for i, w := range want {
		g := got[i]
		if PathString(g.Path) != w.path || PathString(g.Object) != w.object || g.Kind != w.kind || g.Key != w.key {
			t.Errorf("%d: %s %s %s %s, want %+v", i, PathString(g.Path), PathString(g.Object), g.Kind, g.Key, w)
		}
	}
	if !Plain(got[0].Raw) || Plain(got[1].Raw) || got[0].Name != "s" || got[2].Name != "g" {
		t.Errorf("found %+v", got)
	}
}

// TestStringsAreBounded: a string whose aliases expand past the bound is
// not expanded, and since it names a Secret, it is hidden whole.
func TestStringsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for i := range 8 {
		name := string(rune('b' + i))
		b.WriteString(name + ": &" + name + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
		prev = name
	}
	b.WriteString("kind: Secret\nstringData: {password: hunter2}\n")
	m := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"bomb": b.String()}}
	found := Find(m, false)
	if len(found) != 1 || !found[0].Unread {
		t.Fatalf("found %+v", found)
	}
	Object(m, false)
	if m["data"].(map[string]any)["bomb"] != Hidden {
		t.Errorf("bomb = %v", m["data"].(map[string]any)["bomb"])
	}
}
