package generator

import (
	"fmt"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator/internal/yamledit"
)

// AddResource adds entry to the resources list of a kustomization.yaml,
// changing nothing else: the new line takes the indentation of its
// neighbours, goes where it keeps a sorted list sorted (at the end
// otherwise), and every comment stays where it was. It reports whether the
// file changed; an entry already listed (as ./x or x) changes nothing.
func AddResource(data []byte, entry string) ([]byte, bool, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, false, fmt.Errorf("not YAML: %w", err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("not a kustomization (no top-level mapping)")
	}
	doc := root.Content[0]
	var key, list *yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "resources" {
			key, list = doc.Content[i], doc.Content[i+1]
		}
	}
	lines := yamledit.SplitLines(data)
	if list == nil {
		// No resources list: append one at the end of the document.
		out := strings.TrimRight(string(data), "\n") + "\nresources:\n  - " + entry + "\n"
		return []byte(out), true, nil
	}
	empty := list.Kind == yaml.ScalarNode && list.Tag == "!!null" && list.Value == "" // "resources:" and nothing more
	if !empty && (list.Kind != yaml.SequenceNode || list.Style&yaml.FlowStyle != 0) {
		return nil, false, fmt.Errorf("resources is not a block list; add %s by hand", entry)
	}
	norm := func(s string) string { return strings.TrimPrefix(s, "./") }
	items := list.Content
	for _, it := range items {
		if norm(it.Value) == norm(entry) {
			return data, false, nil
		}
	}
	var at int // 0-based line index to insert before
	var newLine string
	after := -1 // index of the item the new one goes after (-1: before the first)
	if len(items) == 0 {
		// "resources: []" style is flow; an empty block list cannot exist,
		// so this is "resources:" with null: the entry goes on the next line.
		at = key.Line
		newLine = strings.Repeat(" ", key.Column+1) + "- " + entry + "\n"
	} else {
		sorted := true
		for i := 1; i < len(items); i++ {
			if resourceLess(items[i].Value, items[i-1].Value) {
				sorted = false
			}
		}
		after = len(items) - 1
		if sorted {
			after = -1
			for i, it := range items {
				if resourceLess(it.Value, entry) {
					after = i
				}
			}
		}
		// The new line takes the dashes' indentation: an item's own column
		// says where its value starts, which may be a line below its dash.
		dashCol := list.Column - 1
		newLine = strings.Repeat(" ", dashCol) + "- " + entry + "\n"
		if after == -1 {
			start, _, err := yamledit.BlockItemRange(lines, list, 0)
			if err != nil {
				return nil, false, err
			}
			at = start
			// Keep comments that head the first item above it.
			for at > 0 && strings.HasPrefix(strings.TrimSpace(lines[at-1]), "#") && yamledit.IndentOf(lines[at-1]) == dashCol {
				at--
			}
		} else {
			_, end, err := yamledit.BlockItemRange(lines, list, after)
			if err != nil {
				return nil, false, err
			}
			at = end
		}
	}
	if at > len(lines) {
		at = len(lines)
	}
	result := yamledit.JoinLines(yamledit.InsertLines(lines, at, []string{newLine}))
	err := yamledit.VerifyEdit("kustomization.yaml", data, result, func(docs []any) ([]any, error) {
		m, ok := docs[0].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not a mapping")
		}
		old, _ := m["resources"].([]any)
		res := make([]any, 0, len(old)+1)
		res = append(res, old[:after+1]...)
		res = append(res, entry)
		res = append(res, old[after+1:]...)
		nm := make(map[string]any, len(m))
		for k, v := range m {
			nm[k] = v
		}
		nm["resources"] = res
		out := append([]any(nil), docs...)
		out[0] = nm
		return out, nil
	})
	if err != nil {
		return nil, false, err
	}
	return result, true, nil
}

// resourceLess orders resource entries the way people sort them: the
// namespace.yaml first, then by path.
func resourceLess(a, b string) bool {
	ka, kb := resourceKey(a), resourceKey(b)
	return ka < kb
}

func resourceKey(s string) string {
	s = strings.TrimPrefix(s, "./")
	if s == "namespace.yaml" {
		return ""
	}
	return s
}

// RemoveResource removes entry from the resources list of a
// kustomization.yaml, the inverse of AddResource: the entry's own line goes
// (with a comment on that line), and every other byte stays, comments
// around it included. An entry written as ./x or x matches either; one
// listed twice goes twice. It reports whether the file changed; an entry
// that is not listed changes nothing. Removing the last entry leaves
// "resources:" empty, which AddResource fills again.
func RemoveResource(data []byte, entry string) ([]byte, bool, error) {
	docs, err := yamledit.ParseStream(data)
	if err != nil {
		return nil, false, fmt.Errorf("not YAML: %w", err)
	}
	if len(docs) == 0 || docs[0] == nil || docs[0].Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("not a kustomization (no top-level mapping)")
	}
	list := yamledit.MapGet(docs[0], "resources")
	if list == nil || (list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
		return data, false, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, false, fmt.Errorf("resources is not a list; remove %s by hand", entry)
	}
	var idx []int
	for i, it := range list.Content {
		if it.Kind == yaml.ScalarNode && sameResource(it.Value, entry) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return data, false, nil
	}
	if yamledit.IsFlow(list) {
		return nil, false, fmt.Errorf("resources is not a block list; remove %s by hand", entry)
	}
	lines := yamledit.SplitLines(data)
	type span struct{ start, end int }
	spans := make([]span, len(idx))
	for k, i := range idx {
		start, end, err := yamledit.BlockItemRange(lines, list, i)
		if err != nil {
			return nil, false, err
		}
		spans[k] = span{start, end}
	}
	// From the last to the first, so the earlier line numbers still hold.
	for k := len(spans) - 1; k >= 0; k-- {
		lines = yamledit.RemoveLines(lines, spans[k].start, spans[k].end)
	}
	out := yamledit.JoinLines(lines)
	err = yamledit.VerifyEdit("kustomization.yaml", data, out, func(docs []any) ([]any, error) {
		m, ok := docs[0].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not a mapping")
		}
		old, _ := m["resources"].([]any)
		var kept []any
		for _, r := range old {
			if s, ok := r.(string); !ok || !sameResource(s, entry) {
				kept = append(kept, r)
			}
		}
		nm := make(map[string]any, len(m))
		for k, v := range m {
			nm[k] = v
		}
		if len(kept) == 0 {
			nm["resources"] = nil
		} else {
			nm["resources"] = kept
		}
		res := append([]any(nil), docs...)
		res[0] = nm
		return res, nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// sameResource reports whether two resource entries name the same path
// (./x, x and x/ are one).
func sameResource(a, b string) bool {
	return path.Clean(strings.TrimPrefix(a, "./")) == path.Clean(strings.TrimPrefix(b, "./"))
}
