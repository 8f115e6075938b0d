package diff

import (
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/redact"
)

const (
	// Redacted stands for a hidden value.
	Redacted = redact.Hidden
	// RedactedChanged stands for a hidden value that differs from the
	// other side's.
	RedactedChanged = redact.Changed
)

// redactPair returns copies of both objects fit to print: every Secret
// value either holds, wherever it is (a Secret, List items, objects and
// object strings in a HelmRelease's values, secretGenerator literals; see
// package redact), and every value under data and stringData of a Secret
// or of an object that was SOPS-encrypted on either side, is replaced,
// marked changed on the head side when it differs from the base's; every
// ENC[...] payload becomes ENC[…]. It reports whether anything was hidden.
func redactPair(base, head *flux.Object) (b, h map[string]any, redacted bool) {
	var bm, hm map[string]any
	if base != nil {
		bm = runtime.DeepCopyJSON(base.Unstructured.Object)
	}
	if head != nil {
		hm = runtime.DeepCopyJSON(head.Unstructured.Object)
	}
	sensitive := func(o *flux.Object) bool {
		return o != nil && (o.Encrypted || redact.IsSecret(o.Unstructured.Object))
	}
	redacted = redact.Pair(bm, hm, sensitive(base) || sensitive(head))
	return bm, hm, redacted
}

// RedactText hides every ENC[...] payload of a text: the last line of
// defence for anything printed that did not come from a redacted object.
func RedactText(s string) string {
	return redact.Text(s)
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
