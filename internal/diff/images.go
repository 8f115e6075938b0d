package diff

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gen-gitops/gen/internal/textdiff"
)

// ImageChange is a container image that changed.
type ImageChange struct {
	// Object is "Kind namespace/name".
	Object string `json:"object"`
	// Where is the place in the object: a container's path, or the path of
	// an image in HelmRelease values.
	Where string `json:"where"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// imageChanges compares the images of every object pair.
func imageChanges(pairs []objectPair) []ImageChange {
	var out []ImageChange
	seen := map[string]bool{}
	for _, p := range pairs {
		var before, after map[string]string
		id := ""
		if p.base != nil {
			before = images(p.base.Unstructured.Object)
			id = p.base.ID()
		}
		if p.head != nil {
			after = images(p.head.Unstructured.Object)
			id = p.head.ID()
		}
		places := map[string]bool{}
		for k := range before {
			places[k] = true
		}
		for k := range after {
			places[k] = true
		}
		for where := range places {
			if before[where] == after[where] {
				continue
			}
			key := id + "\x00" + where
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, ImageChange{Object: id, Where: where, From: before[where], To: after[where]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Object != out[j].Object {
			return out[i].Object < out[j].Object
		}
		return out[i].Where < out[j].Where
	})
	return out
}

// images finds the images of an object: every "image" string (containers,
// and charts that take a whole reference), and every map holding a
// "repository" with a "tag" or "digest" (charts such as app-template),
// keyed by where they are. List items with a name are named by it.
func images(obj map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			if img, ok := v["image"].(string); ok && img != "" && !strings.Contains(path, ".env") {
				out[join(path, "image")] = img
			}
			if repo, ok := v["repository"].(string); ok && repo != "" {
				tag := scalarString(v["tag"])
				digest := scalarString(v["digest"])
				if tag != "" || digest != "" {
					ref := repo
					if tag != "" {
						ref += ":" + tag
					}
					if digest != "" {
						ref += "@" + digest
					}
					out[path] = ref
				}
			}
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "image" {
					if _, isString := v[k].(string); isString {
						continue
					}
				}
				walk(v[k], join(path, k))
			}
		case []any:
			for i, e := range v {
				seg := "[" + strconv.Itoa(i) + "]"
				if m, ok := e.(map[string]any); ok {
					if name, ok := m["name"].(string); ok && name != "" {
						seg = "[" + name + "]"
					}
				}
				walk(e, path+seg)
			}
		}
	}
	walk(obj, "")
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int64, int, float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

// unified returns a unified diff of two texts, "" when they are equal.
func unified(a, b, from, to string) string {
	if a == b {
		return ""
	}
	if a == "" {
		from = "/dev/null"
	}
	if b == "" {
		to = "/dev/null"
	}
	text, err := textdiff.Unified(a, b, from, to)
	if err != nil {
		return ""
	}
	return text
}
