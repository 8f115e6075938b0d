package diff

import (
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/flux"
)

const (
	// Redacted stands for a hidden value.
	Redacted = "<redacted>"
	// RedactedChanged stands for a hidden value that differs from the
	// other side's.
	RedactedChanged = "<redacted, changed>"
)

// encPayload matches a SOPS ciphertext.
var encPayload = regexp.MustCompile(`ENC\[[A-Za-z0-9_]+,[^\]]*\]`)

// redactPair returns copies of both objects fit to print: every value
// under data and stringData of a Secret (or of any object that was
// SOPS-encrypted) is replaced, marked changed on the head side when it
// differs from the base's; every ENC[...] payload anywhere becomes
// ENC[…]. It reports whether anything was hidden.
func redactPair(base, head *flux.Object) (b, h map[string]any, redacted bool) {
	var bm, hm map[string]any
	if base != nil {
		bm = runtime.DeepCopyJSON(base.Unstructured.Object)
	}
	if head != nil {
		hm = runtime.DeepCopyJSON(head.Unstructured.Object)
	}
	sensitive := func(o *flux.Object) bool {
		return o != nil && (o.Encrypted || (o.Unstructured.GetKind() == "Secret" && o.Unstructured.GetAPIVersion() == "v1"))
	}
	if sensitive(base) || sensitive(head) {
		for _, field := range []string{"data", "stringData"} {
			bd, _ := bm[field].(map[string]any)
			hd, _ := hm[field].(map[string]any)
			for k, v := range bd {
				bd[k] = Redacted
				redacted = true
				if hv, ok := hd[k]; ok && !equalValue(v, hv) {
					hd[k] = RedactedChanged
				} else if ok {
					hd[k] = Redacted
				}
			}
			for k := range hd {
				if _, done := bd[k]; !done {
					hd[k] = Redacted
					redacted = true
				}
			}
		}
	}
	if hideEnc(bm) {
		redacted = true
	}
	if hideEnc(hm) {
		redacted = true
	}
	return bm, hm, redacted
}

func equalValue(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return as == bs
	}
	ay, _ := yaml.Marshal(a)
	by, _ := yaml.Marshal(b)
	return string(ay) == string(by)
}

// hideEnc replaces every ENC[...] payload in strings and keys of v.
func hideEnc(v any) bool {
	found := false
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case string:
			if strings.Contains(v, "ENC[") {
				found = true
				return encPayload.ReplaceAllString(v, "ENC[…]")
			}
			return v
		case map[string]any:
			for k, e := range v {
				v[k] = walk(e)
			}
			return v
		case []any:
			for i, e := range v {
				v[i] = walk(e)
			}
			return v
		}
		return v
	}
	walk(v)
	return found
}

// RedactText hides every ENC[...] payload of a text: the last line of
// defence for anything printed that did not come from a redacted object.
func RedactText(s string) string {
	return encPayload.ReplaceAllString(s, "ENC[…]")
}

func yamlOf(m map[string]any) string {
	if m == nil {
		return ""
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return ""
	}
	return string(out)
}

func valuesYAML(v any) string {
	if v == nil {
		return ""
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return string(out)
}

func unmarshalYAML(data []byte, v any) error {
	return yaml.Unmarshal(data, v)
}
