package yamledit

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func firstSeq(t *testing.T, data []byte) *yaml.Node {
	t.Helper()
	docs, err := ParseStream(data)
	if err != nil {
		t.Fatal(err)
	}
	return NodeByPath(docs[0], seqPath(t, data))
}

// seqPath is the path of firstSeq.
func seqPath(t *testing.T, data []byte) []PathKey {
	t.Helper()
	docs, err := ParseStream(data)
	if err != nil {
		t.Fatal(err)
	}
	var find func(n *yaml.Node, p []PathKey) []PathKey
	find = func(n *yaml.Node, p []PathKey) []PathKey {
		if n.Kind == yaml.SequenceNode {
			return p
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if r := find(n.Content[i+1], append(append([]PathKey(nil), p...), n.Content[i].Value)); r != nil {
					return r
				}
			}
		}
		return nil
	}
	p := find(docs[0], []PathKey{})
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
			out, err := AppendClone(data, seq, len(seq.Content)-1, "B", "C")
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.add {
				t.Fatalf("append:\n%s\nwant:\n%s", out, tc.add)
			}
			err = VerifyEdit("test", data, out, EditList(0, seqPath(t, data), func(l []any) []any {
				return append(l, SubstAny(l[len(l)-1], "B", "C"))
			}))
			if err != nil {
				t.Fatal(err)
			}
			out, err = RemoveItem(data, seq, len(seq.Content)-1)
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
	out, err := RemoveItem(data, firstSeq(t, data), 0)
	if err != nil || string(out) != "list: [\"${B}\"]\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	data = []byte("list: [a, b, c]\n")
	out, err = RemoveItem(data, firstSeq(t, data), 1)
	if err != nil || string(out) != "list: [a, c]\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	data = []byte("list: [ \"${A}\" ]\n")
	out, err = RemoveItem(data, firstSeq(t, data), 0)
	if err != nil || string(out) != "list: []\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	data = []byte("list: []\n")
	out, err = flowAppend(data, firstSeq(t, data), `"${A}"`)
	if err != nil || string(out) != "list: [\"${A}\"]\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	data = []byte("list:\n  - ${A}\n")
	if _, err := RemoveItem(data, firstSeq(t, data), 0); err == nil || !strings.Contains(err.Error(), "empty block list") {
		t.Fatalf("removing the only block item: %v", err)
	}
}

func TestVerifyEditCatchesStrayChanges(t *testing.T) {
	old := []byte("a: [1, 2]\nb: x\n")
	bad := []byte("a: [1, 2, 3]\nb: y\n")
	err := VerifyEdit("f.yaml", old, bad, EditList(0, []PathKey{"a"}, func(l []any) []any { return append(l, 3) }))
	if err == nil || !strings.Contains(err.Error(), "changed more than intended") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if err := VerifyEdit("f.yaml", old, []byte("a: [1, 2\n"), EditList(0, nil, nil)); err == nil || !strings.Contains(err.Error(), "invalid YAML") {
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
		if got := SubstVar(in, "SECRET_DOMAIN", "SECRET_DOMAIN_FOUR"); got != want {
			t.Errorf("SubstVar(%q) = %q, want %q", in, got, want)
		}
	}
	if !RefersTo("a.${X/./-}", "X") || RefersTo("${XY}", "X") || RefersTo("$X", "X") {
		t.Fatal("refersTo")
	}
}
