package generator

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// firstSeq returns the first sequence of the first document, depth first.
func firstSeq(t *testing.T, data []byte) *yaml.Node {
	t.Helper()
	docs, err := parseStream(data)
	if err != nil {
		t.Fatal(err)
	}
	return nodeByPath(docs[0], seqPath(t, data))
}

// seqPath is the path of firstSeq.
func seqPath(t *testing.T, data []byte) []pathKey {
	t.Helper()
	docs, err := parseStream(data)
	if err != nil {
		t.Fatal(err)
	}
	var find func(n *yaml.Node, p []pathKey) []pathKey
	find = func(n *yaml.Node, p []pathKey) []pathKey {
		if n.Kind == yaml.SequenceNode {
			return p
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if r := find(n.Content[i+1], append(append([]pathKey(nil), p...), n.Content[i].Value)); r != nil {
					return r
				}
			}
		}
		return nil
	}
	p := find(docs[0], []pathKey{})
	if p == nil {
		t.Fatal("no list")
	}
	return p
}

func TestAppendCloneAndRemove(t *testing.T) {
	cases := []struct {
		name, in, add, remove string
	}{
		{"flow one line",
			"x:\n  list: [\"${A}\", \"${B}\"] # zones\n",
			"x:\n  list: [\"${A}\", \"${B}\", \"${C}\"] # zones\n",
			"x:\n  list: [\"${A}\"] # zones\n"},
		{"flow trailing comma",
			"list: ['${A}', '${B}',]\n",
			"list: ['${A}', '${B}', '${C}',]\n",
			"list: ['${A}',]\n"},
		{"flow one per line",
			"list: [\n  \"${A}\",\n  \"${B}\"\n]\n",
			"list: [\n  \"${A}\",\n  \"${B}\",\n  \"${C}\"\n]\n",
			"list: [\n  \"${A}\"\n]\n"},
		{"flow maps",
			"refs: [{kind: Secret, name: \"${A/./-}-tls\"}, {kind: Secret, name: \"${B/./-}-tls\"}]\n",
			"refs: [{kind: Secret, name: \"${A/./-}-tls\"}, {kind: Secret, name: \"${B/./-}-tls\"}, {kind: Secret, name: \"${C/./-}-tls\"}]\n",
			"refs: [{kind: Secret, name: \"${A/./-}-tls\"}]\n"},
		{"block with comments",
			"list:\n  # first\n  - \"${A}\"\n  # second\n  - \"${B}\" # trailing\n\n# after\nnext: 1\n",
			"list:\n  # first\n  - \"${A}\"\n  # second\n  - \"${B}\" # trailing\n  - \"${C}\" # trailing\n\n# after\nnext: 1\n",
			"list:\n  # first\n  - \"${A}\"\n  # second\n\n# after\nnext: 1\n"},
		{"block maps indentless",
			"eps:\n- dnsName: external.${A}\n  targets: [x]\n- dnsName: external.${B}\n  # inner\n  targets: [x]\nnext: 1\n",
			"eps:\n- dnsName: external.${A}\n  targets: [x]\n- dnsName: external.${B}\n  # inner\n  targets: [x]\n- dnsName: external.${C}\n  targets: [x]\nnext: 1\n",
			"eps:\n- dnsName: external.${A}\n  targets: [x]\nnext: 1\n"},
		{"no trailing newline",
			"list:\n  - ${A}\n  - ${B}",
			"list:\n  - ${A}\n  - ${B}\n  - ${C}\n",
			"list:\n  - ${A}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.in)
			seq := firstSeq(t, data)
			out, err := appendClone(data, seq, len(seq.Content)-1, "B", "C")
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.add {
				t.Fatalf("append:\n%s\nwant:\n%s", out, tc.add)
			}
			err = verifyEdit("test", data, out, editList(0, seqPath(t, data), func(l []any) []any {
				return append(l, substAny(l[len(l)-1], "B", "C"))
			}))
			if err != nil {
				t.Fatal(err)
			}
			out, err = removeItem(data, seq, len(seq.Content)-1)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.remove {
				t.Fatalf("remove:\n%q\nwant:\n%q", out, tc.remove)
			}
		})
	}
}

func TestFlowRemoveFirstAndOnly(t *testing.T) {
	data := []byte("list: [\"${A}\", \"${B}\"]\n")
	out, err := removeItem(data, firstSeq(t, data), 0)
	if err != nil || string(out) != "list: [\"${B}\"]\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	data = []byte("list: [a, b, c]\n")
	out, err = removeItem(data, firstSeq(t, data), 1)
	if err != nil || string(out) != "list: [a, c]\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	data = []byte("list: [ \"${A}\" ]\n")
	out, err = removeItem(data, firstSeq(t, data), 0)
	if err != nil || string(out) != "list: []\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	data = []byte("list: []\n")
	out, err = flowAppend(data, firstSeq(t, data), `"${A}"`)
	if err != nil || string(out) != "list: [\"${A}\"]\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	data = []byte("list:\n  - ${A}\n")
	if _, err := removeItem(data, firstSeq(t, data), 0); err == nil || !strings.Contains(err.Error(), "empty block list") {
		t.Fatalf("removing the only block item: %v", err)
	}
}

func TestVerifyEditCatchesStrayChanges(t *testing.T) {
	old := []byte("a: [1, 2]\nb: x\n")
	bad := []byte("a: [1, 2, 3]\nb: y\n")
	err := verifyEdit("f.yaml", old, bad, editList(0, []pathKey{"a"}, func(l []any) []any { return append(l, 3) }))
	if err == nil || !strings.Contains(err.Error(), "changed more than intended") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if err := verifyEdit("f.yaml", old, []byte("a: [1, 2\n"), editList(0, nil, nil)); err == nil || !strings.Contains(err.Error(), "invalid YAML") {
		t.Fatalf("want invalid YAML, got %v", err)
	}
}

func TestSubstVar(t *testing.T) {
	cases := map[string]string{
		"${SECRET_DOMAIN}":                    "${SECRET_DOMAIN_FOUR}",
		"*.${SECRET_DOMAIN}":                  "*.${SECRET_DOMAIN_FOUR}",
		"${SECRET_DOMAIN/./-}-production":     "${SECRET_DOMAIN_FOUR/./-}-production",
		"${SECRET_DOMAIN:=x}":                 "${SECRET_DOMAIN_FOUR:=x}",
		"${SECRET_DOMAIN_TWO}":                "${SECRET_DOMAIN_TWO}",
		"$SECRET_DOMAIN and ${SECRET_DOMAIN}": "$SECRET_DOMAIN and ${SECRET_DOMAIN_FOUR}",
	}
	for in, want := range cases {
		if got := substVar(in, "SECRET_DOMAIN", "SECRET_DOMAIN_FOUR"); got != want {
			t.Errorf("substVar(%q) = %q, want %q", in, got, want)
		}
	}
	if !refersTo("a.${X/./-}", "X") || refersTo("${XY}", "X") || refersTo("$X", "X") {
		t.Fatal("refersTo")
	}
}

func TestIngressRules(t *testing.T) {
	const stock = `---
originRequest:
  originServerName: "external.${SECRET_DOMAIN}"
ingress:
  - hostname: "*.${SECRET_DOMAIN}"
    service: &svc https://envoy-external.network.svc.cluster.local
  # the catch-all
  - service: http_status:404
`
	out, err := addIngressRules([]byte(stock), "SECRET_DOMAIN_TWO", "test")
	if err != nil {
		t.Fatal(err)
	}
	want := `---
originRequest:
  originServerName: "external.${SECRET_DOMAIN}"
ingress:
  - hostname: "*.${SECRET_DOMAIN}"
    service: &svc https://envoy-external.network.svc.cluster.local
  - hostname: "${SECRET_DOMAIN_TWO}"
    service: *svc
  - hostname: "*.${SECRET_DOMAIN_TWO}"
    service: *svc
  # the catch-all
  - service: http_status:404
`
	if string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	again, err := addIngressRules(out, "SECRET_DOMAIN_TWO", "test")
	if err != nil || string(again) != string(out) {
		t.Fatalf("rerun changed the config: %v\n%s", err, again)
	}
	back, err := removeIngressRules(out, "SECRET_DOMAIN_TWO", "test")
	if err != nil || string(back) != stock {
		t.Fatalf("remove: %v\n%s", err, back)
	}

	// An anchor whose value names the domain is dropped in the copy, and an
	// apex-only repository gets its wildcard from the apex rule.
	const apexOnly = `ingress:
  - hostname: ${SECRET_DOMAIN}
    originRequest:
      originServerName: &osn external.${SECRET_DOMAIN}
    service: https://envoy
  - service: http_status:404
`
	out, err = addIngressRules([]byte(apexOnly), "SECRET_DOMAIN_TWO", "test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "  - hostname: \"*.${SECRET_DOMAIN_TWO}\"\n    originRequest:\n      originServerName: external.${SECRET_DOMAIN_TWO}\n") ||
		!strings.Contains(string(out), "  - hostname: ${SECRET_DOMAIN_TWO}\n") {
		t.Fatalf("got:\n%s", out)
	}

	// Rules kept wildcard first get their copies in that order.
	const wildFirst = `ingress:
  - hostname: '*.${SECRET_DOMAIN}'
    service: https://envoy
  - hostname: '${SECRET_DOMAIN}'
    service: https://envoy
  - service: http_status:404
`
	out, err = addIngressRules([]byte(wildFirst), "SECRET_DOMAIN_TWO", "test")
	if err != nil {
		t.Fatal(err)
	}
	if want := "  - hostname: '*.${SECRET_DOMAIN_TWO}'\n    service: https://envoy\n  - hostname: '${SECRET_DOMAIN_TWO}'\n    service: https://envoy\n  - service: http_status:404\n"; !strings.HasSuffix(string(out), want) {
		t.Fatalf("got:\n%s", out)
	}

	for name, bad := range map[string]string{
		"no catch-all":    "ingress:\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: x\n",
		"catch-all first": "ingress:\n  - service: http_status:404\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: x\n",
		"flow list":       "ingress: [{hostname: \"*.${SECRET_DOMAIN}\", service: x}, {service: http_status:404}]\n",
		"no domain rule":  "ingress:\n  - hostname: example.com\n    service: x\n  - service: http_status:404\n",
		"not yaml":        "ingress:\n  - service: [\n",
	} {
		if _, err := addIngressRules([]byte(bad), "SECRET_DOMAIN_TWO", "the config"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReplaceBlockScalar(t *testing.T) {
	data := []byte("a:\n  cfg: |-\n    one: 1\n\n    two: 2\n  next: x\n")
	docs, err := parseStream(data)
	if err != nil {
		t.Fatal(err)
	}
	n := nodeAt(docs[0], "a", "cfg")
	out, err := replaceBlockScalar(data, n, "one: 1\n\ntwo: 2\nthree: 3\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a:\n  cfg: |-\n    one: 1\n\n    two: 2\n    three: 3\n  next: x\n"; string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	folded := []byte("cfg: >\n  a\n")
	docs, _ = parseStream(folded)
	if _, err := replaceBlockScalar(folded, mapGet(docs[0], "cfg"), "b\n"); err == nil {
		t.Fatal("a folded block was edited")
	}
}

func TestNextDomainVar(t *testing.T) {
	cases := []struct {
		vars []string
		want string
	}{
		{nil, "SECRET_DOMAIN"},
		{[]string{"SECRET_DOMAIN", "TIMEZONE"}, "SECRET_DOMAIN_TWO"},
		{[]string{"SECRET_DOMAIN", "SECRET_DOMAIN_TWO", "SECRET_DOMAIN_THREE"}, "SECRET_DOMAIN_FOUR"},
		{[]string{"SECRET_DOMAIN", "SECRET_DOMAIN_THREE"}, "SECRET_DOMAIN_FOUR"},
		{[]string{"SECRET_DOMAIN", "SECRET_DOMAIN_2"}, "SECRET_DOMAIN_3"},
		{[]string{"SECRET_DOMAIN", "SECRET_DOMAIN_TWENTY"}, "SECRET_DOMAIN_21"},
	}
	for _, tc := range cases {
		if got := nextDomainVar(tc.vars); got != tc.want {
			t.Errorf("nextDomainVar(%v) = %s, want %s", tc.vars, got, tc.want)
		}
	}
}
