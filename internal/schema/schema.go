// Package schema decodes Kubernetes objects strictly into their real Go API
// types, so that a generated or edited object can never carry a field its API
// does not know, a value of the wrong type, or the same field twice.
//
// The registered kinds are the Flux APIs (kustomize.toolkit.fluxcd.io/v1,
// helm.toolkit.fluxcd.io/v2, source.toolkit.fluxcd.io/v1 and v1beta2,
// image.toolkit.fluxcd.io/v1 of both image controllers), the
// Gateway API (gateway.networking.k8s.io v1, v1beta1, v1alpha2, v1alpha3),
// the core Kubernetes groups gen writes or reads (core/v1, apps/v1, batch/v1,
// networking.k8s.io/v1, rbac.authorization.k8s.io/v1, policy/v1,
// storage.k8s.io/v1) and external-dns's DNSEndpoint
// (externaldns.k8s.io/v1alpha1, typed in this package). Objects of any other
// kind are reported as unknown, not as errors.
//
// Strictness is structural: it is what the Go types and their JSON decoders
// accept. Enum values, required fields and CEL rules of a CRD are not
// checked here; an API server does that.
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	imageautov1 "github.com/fluxcd/image-automation-controller/api/v1"
	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	sourcev1beta2 "github.com/fluxcd/source-controller/api/v1beta2"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1alpha2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
	gatewayv1alpha3 "sigs.k8s.io/gateway-api/apis/v1alpha3"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// registry holds the scheme and the strict JSON decoder built from it. It is
// built once and never changed afterwards, so it is safe for concurrent use.
type registry struct {
	scheme  *runtime.Scheme
	decoder *kjson.Serializer
}

var defaultRegistry = sync.OnceValues(func() (*registry, error) {
	s := runtime.NewScheme()
	adders := []func(*runtime.Scheme) error{
		kustomizev1.AddToScheme,
		helmv2.AddToScheme,
		sourcev1.AddToScheme,
		sourcev1beta2.AddToScheme,
		imagev1.AddToScheme,
		imageautov1.AddToScheme,
		gatewayv1.Install,
		gatewayv1beta1.Install,
		gatewayv1alpha2.Install,
		gatewayv1alpha3.Install,
		corev1.AddToScheme,
		appsv1.AddToScheme,
		batchv1.AddToScheme,
		networkingv1.AddToScheme,
		rbacv1.AddToScheme,
		policyv1.AddToScheme,
		storagev1.AddToScheme,
		addExternalDNSTypes,
	}
	for _, add := range adders {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("building the API scheme: %w", err)
		}
	}
	dec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Strict: true})
	return &registry{scheme: s, decoder: dec}, nil
})

// Known reports whether gvk has a registered Go type that Decode checks.
func Known(gvk k8sschema.GroupVersionKind) bool {
	r, err := defaultRegistry()
	if err != nil {
		return false
	}
	return r.scheme.Recognizes(gvk)
}

// Decode strictly decodes obj into the Go type registered for its apiVersion
// and kind. Unknown fields, duplicate fields and values of the wrong type are
// reported in an *Error whose FieldErrors name the field path. For a kind
// without a registered type it returns (false, nil).
func Decode(obj *unstructured.Unstructured) (known bool, err error) {
	if obj == nil {
		return false, errors.New("decoding object: object is nil")
	}
	r, err := defaultRegistry()
	if err != nil {
		return false, err
	}
	gvk := obj.GroupVersionKind()
	if !r.scheme.Recognizes(gvk) {
		return false, nil
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return true, fmt.Errorf("decoding %s %s: %w", gvkString(gvk), objectName(obj.GetNamespace(), obj.GetName()), err)
	}
	fields := r.strictDecode(gvk, data)
	if len(fields) == 0 {
		return true, nil
	}
	return true, &Error{GVK: gvk, Namespace: obj.GetNamespace(), Name: obj.GetName(), Fields: fields}
}

// DecodeYAML strictly decodes one YAML document like Decode does. Field
// errors carry the document's line number where the field can be found
// (lines count from 1 at the start of doc). A document holding more than one
// YAML document, or no object, is an error.
func DecodeYAML(doc []byte) (known bool, err error) {
	r, err := defaultRegistry()
	if err != nil {
		return false, err
	}
	root, err := parseSingleDocument(doc)
	if err != nil {
		return false, err
	}

	// Duplicate keys are found on the YAML itself: the JSON produced from
	// it keeps only one of them.
	var dups []*FieldError
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		dups = duplicateKeyErrors(root, err)
		if len(dups) == 0 {
			return false, fmt.Errorf("decoding YAML: %w", err)
		}
		if data, err = yaml.YAMLToJSON(doc); err != nil {
			return false, fmt.Errorf("decoding YAML: %w", err)
		}
	}

	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return false, fmt.Errorf("decoding YAML: document is not an object: %w", err)
	}
	gv, err := k8sschema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return false, fmt.Errorf("decoding YAML: apiVersion %q: %w", head.APIVersion, err)
	}
	gvk := gv.WithKind(head.Kind)
	if !r.scheme.Recognizes(gvk) {
		return false, nil
	}
	fields := append(dups, r.strictDecode(gvk, data)...)
	for _, f := range fields {
		if f.Line == 0 && f.Path != "" {
			f.Line = lineOf(root, f.Path)
		}
	}
	if len(fields) == 0 {
		return true, nil
	}
	return true, &Error{GVK: gvk, Namespace: head.Metadata.Namespace, Name: head.Metadata.Name, Fields: fields}
}

// Error is a failed strict decode of one object: every field problem found.
type Error struct {
	GVK             k8sschema.GroupVersionKind
	Namespace, Name string
	Fields          []*FieldError
}

// Error lists the object and its field problems on one line.
func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return fmt.Sprintf("decoding %s %s: %s", gvkString(e.GVK), objectName(e.Namespace, e.Name), strings.Join(parts, "; "))
}

// Unwrap returns the field errors, so errors.As finds a *FieldError.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errs
}

// FieldError is one problem with one field of a decoded object.
type FieldError struct {
	// Path is the field's path, dot-separated with [i] for list items, e.g.
	// "spec.endpoints[0].dnsName"; empty when the field could not be told.
	Path string
	// Line is the 1-based line of the field in the YAML document when known
	// (DecodeYAML only), else 0.
	Line int
	// Problem says what is wrong: "unknown field", "duplicate field", or a
	// type or value error.
	Problem string
}

// Error formats the problem with its line and path.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// strictDecode decodes JSON data into the type registered for gvk and returns
// every field problem found.
func (r *registry) strictDecode(gvk k8sschema.GroupVersionKind, data []byte) []*FieldError {
	err := r.decodeOnce(gvk, data)
	if err == nil {
		return nil
	}
	if strict, ok := runtime.AsStrictDecodingError(err); ok {
		var out []*FieldError
		for _, e := range strict.Errors() {
			out = append(out, strictFieldError(e))
		}
		return out
	}
	// A fatal error (wrong type, bad value for a type with its own decoder)
	// stops the decoder at the first bad field, and not every such error
	// names the field. Find the field by taking parts of the object away
	// until the error changes.
	var m map[string]any
	if jerr := json.Unmarshal(data, &m); jerr != nil {
		return []*FieldError{{Problem: err.Error()}}
	}
	path := r.isolate(gvk, m, err.Error())
	fe := &FieldError{Path: path, Problem: typeProblem(err.Error())}
	// The remaining fields may have unknown-field problems of their own.
	if path != "" {
		trimmed := deepCopyJSON(m)
		if removePath(trimmed, SplitPath(path)) {
			if rest, merr := json.Marshal(trimmed); merr == nil {
				return append([]*FieldError{fe}, r.strictDecode(gvk, rest)...)
			}
		}
	}
	return []*FieldError{fe}
}

func (r *registry) decodeOnce(gvk k8sschema.GroupVersionKind, data []byte) error {
	_, _, err := r.decoder.Decode(data, &gvk, nil)
	return err
}

// fieldPathError is implemented by the strict decoder's unknown and duplicate
// field errors.
type fieldPathError interface {
	error
	FieldPath() string
}

func strictFieldError(err error) *FieldError {
	var fp fieldPathError
	if errors.As(err, &fp) {
		problem := strings.TrimSpace(strings.TrimSuffix(fp.Error(), strconv.Quote(fp.FieldPath())))
		return &FieldError{Path: fp.FieldPath(), Problem: problem}
	}
	return &FieldError{Problem: err.Error()}
}

var typeErrorPattern = regexp.MustCompile(`^json: cannot unmarshal (.+) into Go (?:struct field \S+|value) of type (.+)$`)

// typeProblem rewrites the decoder's type error without Go struct names.
func typeProblem(msg string) string {
	if m := typeErrorPattern.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("wrong type: got %s, want %s", m[1], m[2])
	}
	return msg
}

// isolate returns the path of the field that causes the fatal decode error
// msg, found by removing one field or list item at a time and descending into
// the one whose removal changes the error. It returns "" when no single field
// is to blame.
func (r *registry) isolate(gvk k8sschema.GroupVersionKind, root map[string]any, msg string) string {
	changes := func(path []string) bool {
		c := deepCopyJSON(root)
		if !removePath(c, path) {
			return false
		}
		data, err := json.Marshal(c)
		if err != nil {
			return false
		}
		derr := r.decodeOnce(gvk, data)
		if derr == nil {
			return true
		}
		if _, ok := runtime.AsStrictDecodingError(derr); ok {
			return true
		}
		return derr.Error() != msg
	}
	var path []string
	var cur any = root
	for {
		found := false
		switch v := cur.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "apiVersion" || k == "kind" {
					continue
				}
				next := append(append([]string(nil), path...), k)
				if changes(next) {
					path, cur, found = next, v[k], true
					break
				}
			}
		case []any:
			for i := range v {
				next := append(append([]string(nil), path...), "["+strconv.Itoa(i)+"]")
				if changes(next) {
					path, cur, found = next, v[i], true
					break
				}
			}
		}
		if !found {
			return joinPath(path)
		}
	}
}

// SplitPath splits a field path as decoding errors give it, "a.b[0].c",
// into its segments: ["a", "b", "[0]", "c"].
func SplitPath(p string) []string {
	var out []string
	for _, part := range strings.Split(p, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			switch {
			case i < 0:
				out = append(out, part)
				part = ""
			case i > 0:
				out = append(out, part[:i])
				part = part[i:]
			default:
				j := strings.IndexByte(part, ']')
				if j < 0 {
					out = append(out, part)
					part = ""
					continue
				}
				out = append(out, part[:j+1])
				part = part[j+1:]
			}
		}
	}
	return out
}

func joinPath(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func listIndex(seg string) (int, bool) {
	if !strings.HasPrefix(seg, "[") || !strings.HasSuffix(seg, "]") {
		return 0, false
	}
	i, err := strconv.Atoi(seg[1 : len(seg)-1])
	return i, err == nil
}

// removePath deletes the field or list item at path from v, reporting
// whether it was there.
func removePath(v any, path []string) bool {
	if len(path) == 0 {
		return false
	}
	parent := v
	for _, seg := range path[:len(path)-1] {
		switch p := parent.(type) {
		case map[string]any:
			parent = p[seg]
		case []any:
			i, ok := listIndex(seg)
			if !ok || i < 0 || i >= len(p) {
				return false
			}
			parent = p[i]
		default:
			return false
		}
	}
	last := path[len(path)-1]
	switch p := parent.(type) {
	case map[string]any:
		if _, ok := p[last]; !ok {
			return false
		}
		delete(p, last)
		return true
	case []any:
		// A list item becomes null, which decodes into any type: removing
		// it would renumber the items after it.
		i, ok := listIndex(last)
		if !ok || i < 0 || i >= len(p) || p[i] == nil {
			return false
		}
		p[i] = nil
		return true
	}
	return false
}

func deepCopyJSON(v map[string]any) map[string]any {
	return runtime.DeepCopyJSONValue(v).(map[string]any)
}

// parseSingleDocument parses doc as YAML and fails unless it holds exactly
// one document that is not empty.
func parseSingleDocument(doc []byte) (*kyaml.Node, error) {
	dec := kyaml.NewDecoder(bytes.NewReader(doc))
	var root kyaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("decoding YAML: the document is empty")
		}
		return nil, fmt.Errorf("decoding YAML: %w", err)
	}
	if isEmptyDocument(&root) {
		return nil, errors.New("decoding YAML: the document is empty")
	}
	var next kyaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("decoding YAML: %w", err)
	case !isEmptyDocument(&next):
		return nil, fmt.Errorf("decoding YAML: more than one document (second at line %d)", next.Line)
	}
	return &root, nil
}

func isEmptyDocument(n *kyaml.Node) bool {
	if n.Kind == kyaml.DocumentNode {
		return len(n.Content) == 0 || (len(n.Content) == 1 && n.Content[0].Tag == "!!null")
	}
	return n.Kind == 0
}

// lineOf returns the line of the field at path in the YAML tree, or 0. A path
// segment that skips a list (type errors name no index) is looked up in
// every item, first match wins. A key holding dots is matched too.
func lineOf(root *kyaml.Node, path string) int {
	n := root
	if n.Kind == kyaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	return lineIn(n, SplitPath(path))
}

func lineIn(n *kyaml.Node, segs []string) int {
	if n == nil {
		return 0
	}
	if n.Kind == kyaml.AliasNode {
		n = n.Alias
	}
	if len(segs) == 0 {
		return n.Line
	}
	seg := segs[0]
	switch n.Kind {
	case kyaml.SequenceNode:
		if i, ok := listIndex(seg); ok {
			if i < 0 || i >= len(n.Content) {
				return 0
			}
			return lineIn(n.Content[i], segs[1:])
		}
		for _, item := range n.Content {
			if l := lineIn(item, segs); l > 0 {
				return l
			}
		}
	case kyaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if key == seg {
				if len(segs) == 1 {
					return n.Content[i].Line
				}
				if l := lineIn(n.Content[i+1], segs[1:]); l > 0 {
					return l
				}
			}
			// A key such as "app.kubernetes.io/name" was split on its dots.
			if rest, ok := joinDotted(key, segs); ok {
				if len(rest) == 0 {
					return n.Content[i].Line
				}
				if l := lineIn(n.Content[i+1], rest); l > 0 {
					return l
				}
			}
		}
	}
	return 0
}

// joinDotted reports whether key equals the first few segments joined with
// dots, returning the segments left over.
func joinDotted(key string, segs []string) ([]string, bool) {
	if !strings.Contains(key, ".") {
		return nil, false
	}
	joined := segs[0]
	for i := 1; i < len(segs); i++ {
		if strings.HasPrefix(segs[i], "[") {
			return nil, false
		}
		joined += "." + segs[i]
		if joined == key {
			return segs[i+1:], true
		}
		if !strings.HasPrefix(key, joined) {
			return nil, false
		}
	}
	return nil, false
}

var duplicateKeyPattern = regexp.MustCompile(`line (\d+): key "((?:[^"\\]|\\.)*)" already set in map`)

// duplicateKeyErrors turns the YAML converter's duplicate-key errors into
// field errors with the key's full path.
func duplicateKeyErrors(root *kyaml.Node, err error) []*FieldError {
	var out []*FieldError
	for _, m := range duplicateKeyPattern.FindAllStringSubmatch(err.Error(), -1) {
		line, _ := strconv.Atoi(m[1])
		key, uerr := strconv.Unquote(`"` + m[2] + `"`)
		if uerr != nil {
			key = m[2]
		}
		path := pathAtLine(root, line, key)
		if path == "" {
			path = key
		}
		out = append(out, &FieldError{Path: path, Line: line, Problem: "duplicate field"})
	}
	return out
}

// pathAtLine finds the path of the mapping key named key on the given line.
func pathAtLine(root *kyaml.Node, line int, key string) string {
	var walk func(n *kyaml.Node, path []string) string
	walk = func(n *kyaml.Node, path []string) string {
		switch n.Kind {
		case kyaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case kyaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				next := append(append([]string(nil), path...), k.Value)
				if k.Line == line && k.Value == key {
					return joinPath(next)
				}
				if p := walk(n.Content[i+1], next); p != "" {
					return p
				}
			}
		case kyaml.SequenceNode:
			for i, c := range n.Content {
				if p := walk(c, append(append([]string(nil), path...), "["+strconv.Itoa(i)+"]")); p != "" {
					return p
				}
			}
		}
		return ""
	}
	return walk(root, nil)
}

func gvkString(gvk k8sschema.GroupVersionKind) string {
	return gvk.GroupVersion().String() + " " + gvk.Kind
}

func objectName(namespace, name string) string {
	if namespace == "" {
		return strconv.Quote(name)
	}
	return strconv.Quote(namespace + "/" + name)
}
