package flux

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/resource"
)

// errNotPlain marks a resource whose values do not map onto JSON types
// directly (a non-string key, a NaN): it takes the JSON route instead.
var errNotPlain = errors.New("not plain JSON data")

// resourceObject returns res as the map its JSON form decodes to with
// Kubernetes' JSON decoder (integers as int64, other numbers as float64),
// without writing it out as text and reading it back. Values that JSON
// cannot hold take that slower route, which reports them as it always did.
func resourceObject(res *resource.Resource) (map[string]any, error) {
	var raw map[string]any
	if err := res.YNode().Decode(&raw); err == nil {
		if m, err := plainJSON(raw); err == nil {
			return m.(map[string]any), nil
		}
	}
	u, err := toUnstructured(res)
	if err != nil {
		return nil, err
	}
	return u.Object, nil
}

// plainJSON converts a decoded YAML value to what json.Marshal followed by
// k8s.io/apimachinery/pkg/util/json.Unmarshal would give: int64 for every
// number JSON prints as an integer, float64 for the others.
func plainJSON(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool:
		return v, nil
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), nil
		}
		return nil, errNotPlain
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errNotPlain
		}
		// json.Marshal prints an integral float below 1e21 without an
		// exponent, in its shortest form, which the decoder then reads as
		// an int64 if it fits.
		if v == math.Trunc(v) && math.Abs(v) < 1e21 {
			if n, err := strconv.ParseInt(strconv.FormatFloat(v, 'f', -1, 64), 10, 64); err == nil {
				return n, nil
			}
		}
		return v, nil
	case map[string]any:
		for k, e := range v {
			c, err := plainJSON(e)
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
		return v, nil
	case []any:
		for i, e := range v {
			c, err := plainJSON(e)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: %T", errNotPlain, v)
}

// stringScan is what scanStrings found.
type stringScan struct {
	// dollar: some key or string holds a "$".
	dollar bool
	// varRef: some key or string holds "${".
	varRef bool
	// refs counts the "${" in keys and strings.
	refs int
	// bytes is the length of every key and string together.
	bytes int
}

// scanStrings looks for "$" in every key and string value of v.
func scanStrings(v any) stringScan {
	var s stringScan
	look := func(str string) {
		s.bytes += len(str)
		if i := strings.IndexByte(str, '$'); i >= 0 {
			s.dollar = true
			if n := strings.Count(str[i:], "${"); n > 0 {
				s.varRef = true
				s.refs += n
			}
		}
	}
	eachString(v, func(str string, _ bool) bool {
		look(str)
		return true
	})
	return s
}

// eachString calls fn on every string of a decoded object, keys included
// (key is set for those), until fn returns false; it reports whether fn
// saw them all.
func eachString(v any, fn func(s string, key bool) bool) bool {
	switch v := v.(type) {
	case string:
		return fn(v, false)
	case map[string]any:
		for k, e := range v {
			if !fn(k, true) || !eachString(e, fn) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if !eachString(e, fn) {
				return false
			}
		}
	}
	return true
}

// maxExactInt is the largest integer a float64 holds exactly.
const maxExactInt = 1 << 53

// hasLargeInt reports whether v holds an integer that a float64 cannot
// hold exactly.
func hasLargeInt(v any) bool {
	switch v := v.(type) {
	case int64:
		return v > maxExactInt || v < -maxExactInt
	case map[string]any:
		for _, e := range v {
			if hasLargeInt(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasLargeInt(e) {
				return true
			}
		}
	}
	return false
}

// dropMapAnnotation removes one annotation, and the annotations field when
// it is left empty, as resource.SetAnnotations does.
func dropMapAnnotation(m map[string]any, key string) {
	meta, ok := m["metadata"].(map[string]any)
	if !ok {
		return
	}
	ann, ok := meta["annotations"].(map[string]any)
	if !ok {
		return
	}
	if _, ok := ann[key]; !ok {
		return
	}
	delete(ann, key)
	if len(ann) == 0 {
		delete(meta, "annotations")
	}
}

// markMapDecrypted is markDecrypted on a map.
func markMapDecrypted(m map[string]any, kind string) bool {
	sops, ok := m["sops"].(map[string]any)
	if !ok {
		return false
	}
	if _, hasMAC := sops["mac"]; !hasMAC {
		return false
	}
	delete(m, "sops")
	if kind == "Secret" {
		if data, ok := m["data"].(map[string]any); ok {
			for k, v := range data {
				if s, ok := v.(string); ok && strings.HasPrefix(s, "ENC[") {
					data[k] = base64.StdEncoding.EncodeToString([]byte(s))
				}
			}
		}
	}
	return true
}
