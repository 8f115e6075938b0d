// Package yamledit edits YAML text in place. Every edit locates its target
// with yaml.v3 node positions and splices lines or characters of the
// original text, so comments, key order, quoting and flow or block style
// stay as they were; VerifyEdit then decodes the old and the new text and
// refuses an edit that changed anything but the intended part.
//
// It is the line-splice editor the generator packages share; nothing here
// knows what a repository or a Kubernetes object is.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// SplitLines splits text into lines that keep their "\n".
func SplitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	l := strings.SplitAfter(string(data), "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

// JoinLines is the inverse of SplitLines.
func JoinLines(l []string) []byte { return []byte(strings.Join(l, "")) }

// ParseStream parses every document of data. An empty document gives a nil
// entry. Node lines count from the start of data.
func ParseStream(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 {
			out = append(out, nil)
			continue
		}
		out = append(out, doc.Content[0])
	}
}

// DecodeStream decodes every document of data into plain Go values.
func DecodeStream(data []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// MapGet returns the value node of key in mapping m, or nil.
func MapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// NodeAt follows mapping keys from n.
func NodeAt(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = MapGet(n, k)
		if n == nil {
			return nil
		}
	}
	return n
}

// ObjectName returns metadata.name of a document's root node.
func ObjectName(doc *yaml.Node) string { return ScalarOf(NodeAt(doc, "metadata", "name")) }

// ScalarOf returns the string value of a scalar node ("" otherwise).
func ScalarOf(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// Scalars returns every scalar value below n (keys included).
func Scalars(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, Scalars(c)...)
	}
	return out
}

// Variables in values: ${NAME}, ${NAME/./-}, ${NAME:=default}.

var anyVarRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// RefersTo reports whether s refers to variable v.
func RefersTo(s, v string) bool {
	for _, m := range anyVarRef.FindAllStringSubmatch(s, -1) {
		if m[1] == v {
			return true
		}
	}
	return false
}

// NodeRefersTo reports whether any scalar below n refers to v.
func NodeRefersTo(n *yaml.Node, v string) bool {
	for _, s := range Scalars(n) {
		if RefersTo(s, v) {
			return true
		}
	}
	return false
}

// DomainVarOf returns the last domain variable a node's Scalars refer to.
func DomainVarOf(n *yaml.Node, isDomainVar func(string) bool) string {
	found := ""
	for _, s := range Scalars(n) {
		for _, m := range anyVarRef.FindAllStringSubmatch(s, -1) {
			if isDomainVar(m[1]) {
				found = m[1]
			}
		}
	}
	return found
}

// SubstVar replaces references to variable from with references to to,
// keeping any operator (${FROM/./-} becomes ${TO/./-}).
func SubstVar(s, from, to string) string {
	re := regexp.MustCompile(`\$\{` + regexp.QuoteMeta(from) + `([^A-Za-z0-9_]|$)`)
	return re.ReplaceAllString(s, "$${"+to+"${1}")
}

// SubstAny deep-copies a decoded YAML value, replacing variable references
// in every string, keys included.
func SubstAny(v any, from, to string) any {
	switch x := v.(type) {
	case string:
		return SubstVar(x, from, to)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[SubstVar(k, from, to)] = SubstAny(val, from, to)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = SubstAny(val, from, to)
		}
		return out
	}
	return v
}

// Positions.

// OffsetOf converts a 1-based line and column (in characters, as yaml.v3
// counts them) into a byte offset of data.
func OffsetOf(data []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(data) && data[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off
}

// FlowEnd returns the offset just past the flow token (scalar, [list] or
// {map}) that starts at off.
func FlowEnd(data []byte, off int) (int, error) {
	if off >= len(data) {
		return 0, fmt.Errorf("unexpected end of text")
	}
	switch data[off] {
	case '"':
		for i := off + 1; i < len(data); i++ {
			switch data[i] {
			case '\\':
				i++
			case '"':
				return i + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated double-quoted string")
	case '\'':
		for i := off + 1; i < len(data); i++ {
			if data[i] == '\'' {
				if i+1 < len(data) && data[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated single-quoted string")
	case '[', '{':
		depth := 0
		for i := off; i < len(data); i++ {
			switch data[i] {
			case '"', '\'':
				end, err := FlowEnd(data, i)
				if err != nil {
					return 0, err
				}
				i = end - 1
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			case '#':
				if i > 0 && (data[i-1] == ' ' || data[i-1] == '\n') {
					for i < len(data) && data[i] != '\n' {
						i++
					}
				}
			}
		}
		return 0, fmt.Errorf("unterminated flow collection")
	}
	// A plain scalar in a flow collection ends at , ] } or a comment.
	i := off
	for i < len(data) {
		c := data[i]
		if c == ',' || c == ']' || c == '}' || c == '\n' {
			break
		}
		if c == '#' && i > off && data[i-1] == ' ' {
			break
		}
		i++
	}
	for i > off && data[i-1] == ' ' {
		i--
	}
	return i, nil
}

// tokenStart is where a node's text begins; a node with an anchor or tag
// is refused, since its column points at the property, not the value.
func tokenStart(data []byte, n *yaml.Node) (int, error) {
	if n.Anchor != "" || (n.Tag != "" && n.Style&yaml.TaggedStyle != 0) {
		return 0, fmt.Errorf("line %d: the item carries an anchor or tag; edit it by hand", n.Line)
	}
	return OffsetOf(data, n.Line, n.Column), nil
}

// IsFlow reports whether a collection node is written in flow style.
func IsFlow(n *yaml.Node) bool { return n.Style&yaml.FlowStyle != 0 }

// Flow sequences.

// flowItemText returns the source text of item i of a flow sequence.
func flowItemText(data []byte, seq *yaml.Node, i int) (string, error) {
	start, err := tokenStart(data, seq.Content[i])
	if err != nil {
		return "", err
	}
	end, err := FlowEnd(data, start)
	if err != nil {
		return "", err
	}
	return string(data[start:end]), nil
}

// flowAppend adds text as the last item of a flow sequence: on the same
// line as the last item, or on a line of its own when the items are one
// per line.
func flowAppend(data []byte, seq *yaml.Node, text string) ([]byte, error) {
	open := OffsetOf(data, seq.Line, seq.Column)
	if open >= len(data) || data[open] != '[' {
		return nil, fmt.Errorf("line %d: cannot find the start of the flow list", seq.Line)
	}
	if len(seq.Content) == 0 {
		return splice(data, open+1, open+1, text), nil
	}
	last := seq.Content[len(seq.Content)-1]
	start, err := tokenStart(data, last)
	if err != nil {
		return nil, err
	}
	end, err := FlowEnd(data, start)
	if err != nil {
		return nil, err
	}
	multiline := last.Line > seq.Line
	sep := ", "
	if multiline {
		sep = ",\n" + strings.Repeat(" ", last.Column-1)
	}
	// A trailing comma stays trailing.
	j := end
	for j < len(data) && (data[j] == ' ' || data[j] == '\t') {
		j++
	}
	if j < len(data) && data[j] == ',' {
		if multiline {
			return splice(data, j+1, j+1, "\n"+strings.Repeat(" ", last.Column-1)+text+","), nil
		}
		return splice(data, j+1, j+1, " "+text+","), nil
	}
	return splice(data, end, end, sep+text), nil
}

// flowRemove removes item i of a flow sequence with its separator.
func flowRemove(data []byte, seq *yaml.Node, i int) ([]byte, error) {
	items := seq.Content
	start, err := tokenStart(data, items[i])
	if err != nil {
		return nil, err
	}
	end, err := FlowEnd(data, start)
	if err != nil {
		return nil, err
	}
	switch {
	case i > 0:
		prevStart, err := tokenStart(data, items[i-1])
		if err != nil {
			return nil, err
		}
		prevEnd, err := FlowEnd(data, prevStart)
		if err != nil {
			return nil, err
		}
		return splice(data, prevEnd, end, ""), nil
	case len(items) > 1:
		next, err := tokenStart(data, items[1])
		if err != nil {
			return nil, err
		}
		return splice(data, start, next, ""), nil
	}
	// The only item: drop a trailing comma too, leaving [].
	j := end
	for j < len(data) && (data[j] == ' ' || data[j] == ',') {
		j++
	}
	open := OffsetOf(data, seq.Line, seq.Column)
	return splice(data, open+1, j, ""), nil
}

func splice(data []byte, from, to int, text string) []byte {
	out := make([]byte, 0, len(data)+len(text))
	out = append(out, data[:from]...)
	out = append(out, text...)
	return append(out, data[to:]...)
}

// Block sequences.

// IndentOf counts the spaces that indent line.
func IndentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

// BlockItemRange returns the 0-based line range [start, end) of item i of a
// block sequence: from its dash to its last line, without the blank lines
// and comments that follow it at the dash's indentation or less.
func BlockItemRange(lines []string, seq *yaml.Node, i int) (int, int, error) {
	dashCol := seq.Column - 1
	item := seq.Content[i]
	start := -1
	for l := item.Line - 1; l >= 0 && l >= seq.Line-1; l-- {
		if l < len(lines) && IndentOf(lines[l]) == dashCol && strings.HasPrefix(lines[l][dashCol:], "-") {
			start = l
			break
		}
	}
	if start < 0 {
		return 0, 0, fmt.Errorf("line %d: cannot find the dash of the list item", item.Line)
	}
	end := start + 1
	if i+1 < len(seq.Content) {
		next, _, err := BlockItemRange(lines, seq, i+1)
		if err != nil {
			return 0, 0, err
		}
		end = next
	} else {
		for end < len(lines) && (strings.TrimSpace(lines[end]) == "" || IndentOf(lines[end]) > dashCol ||
			strings.HasPrefix(strings.TrimSpace(lines[end]), "#")) {
			end++
		}
	}
	for end > start+1 && (strings.TrimSpace(lines[end-1]) == "" ||
		(strings.HasPrefix(strings.TrimSpace(lines[end-1]), "#") && IndentOf(lines[end-1]) <= dashCol)) {
		end--
	}
	return start, end, nil
}

// InsertLines inserts newLines before line index at.
func InsertLines(lines []string, at int, newLines []string) []string {
	if at > 0 && at == len(lines) && !strings.HasSuffix(lines[at-1], "\n") {
		lines = append(lines[:at-1:at-1], lines[at-1]+"\n")
	}
	out := make([]string, 0, len(lines)+len(newLines))
	out = append(out, lines[:at]...)
	out = append(out, newLines...)
	return append(out, lines[at:]...)
}

// RemoveLines removes lines [from, to).
func RemoveLines(lines []string, from, to int) []string {
	out := make([]string, 0, len(lines)-(to-from))
	out = append(out, lines[:from]...)
	return append(out, lines[to:]...)
}

// CloneLines copies lines with the variable from replaced by to, leaving
// out full-line comments (they describe the original, not the copy).
func CloneLines(lines []string, from, to string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#") && !strings.Contains(l, "yaml-language-server:") {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			l += "\n"
		}
		out = append(out, SubstVar(l, from, to))
	}
	return out
}

// Sequence edits, flow or block.

// AppendClone appends to seq a copy of its item tmpl in which variable from
// becomes to, written in the style of the list (flow or block).
func AppendClone(data []byte, seq *yaml.Node, tmpl int, from, to string) ([]byte, error) {
	if IsFlow(seq) {
		text, err := flowItemText(data, seq, tmpl)
		if err != nil {
			return nil, err
		}
		return flowAppend(data, seq, SubstVar(text, from, to))
	}
	lines := SplitLines(data)
	start, end, err := BlockItemRange(lines, seq, tmpl)
	if err != nil {
		return nil, err
	}
	_, lastEnd, err := BlockItemRange(lines, seq, len(seq.Content)-1)
	if err != nil {
		return nil, err
	}
	return JoinLines(InsertLines(lines, lastEnd, CloneLines(lines[start:end], from, to))), nil
}

// AppendItem appends a new item to seq: flowText in a flow list, or
// blockText (the item's lines, without indentation before the dash) in a
// block list. An empty block list cannot exist in YAML, so seq has items.
func AppendItem(data []byte, seq *yaml.Node, flowText string, blockText []string) ([]byte, error) {
	if IsFlow(seq) {
		return flowAppend(data, seq, flowText)
	}
	if len(seq.Content) == 0 {
		return nil, fmt.Errorf("line %d: empty list", seq.Line)
	}
	lines := SplitLines(data)
	_, lastEnd, err := BlockItemRange(lines, seq, len(seq.Content)-1)
	if err != nil {
		return nil, err
	}
	pad := strings.Repeat(" ", seq.Column-1)
	var add []string
	for _, l := range blockText {
		add = append(add, pad+l+"\n")
	}
	return JoinLines(InsertLines(lines, lastEnd, add)), nil
}

// RemoveItem removes item i of seq, flow or block.
func RemoveItem(data []byte, seq *yaml.Node, i int) ([]byte, error) {
	if IsFlow(seq) {
		return flowRemove(data, seq, i)
	}
	if len(seq.Content) == 1 {
		return nil, fmt.Errorf("line %d: removing the only item would leave an empty block list", seq.Line)
	}
	lines := SplitLines(data)
	start, end, err := BlockItemRange(lines, seq, i)
	if err != nil {
		return nil, err
	}
	return JoinLines(RemoveLines(lines, start, end)), nil
}

// Documents.

// DocChunk is the line range [Start, End) of one document of a stream,
// from its "---" (when it has one) to the line before the next "---".
type DocChunk struct{ Start, End int }

// DocChunks splits lines at document markers.
func DocChunks(lines []string) []DocChunk {
	var out []DocChunk
	start := 0
	for i, l := range lines {
		if IsDocMarker(l) && i > start {
			out = append(out, DocChunk{start, i})
			start = i
		}
	}
	if start < len(lines) {
		out = append(out, DocChunk{start, len(lines)})
	}
	return out
}

// IsDocMarker reports whether l is a document marker line (---).
func IsDocMarker(l string) bool {
	l = strings.TrimRight(l, "\r\n")
	return l == "---" || strings.HasPrefix(l, "--- ")
}

// ChunkOf returns the chunk that holds a document's root node.
func ChunkOf(chunks []DocChunk, root *yaml.Node) (DocChunk, bool) {
	for _, c := range chunks {
		if root.Line-1 >= c.Start && root.Line-1 < c.End {
			return c, true
		}
	}
	return DocChunk{}, false
}

// Verification.

// VerifyEdit decodes old and new and checks that new equals old changed by
// want. It is the safety net under every line edit: an edit that changed
// anything else is refused.
func VerifyEdit(file string, old, new []byte, want func(docs []any) ([]any, error)) error {
	before, err := DecodeStream(old)
	if err != nil {
		return fmt.Errorf("reading %q: %w", file, err)
	}
	after, err := DecodeStream(new)
	if err != nil {
		return fmt.Errorf("editing %q produced invalid YAML (nothing was written): %w", file, err)
	}
	expect, err := want(before)
	if err != nil {
		return fmt.Errorf("editing %q: %w", file, err)
	}
	if !reflect.DeepEqual(expect, after) {
		return fmt.Errorf("editing %q changed more than intended, so gen stopped and wrote nothing; make this change by hand", file)
	}
	return nil
}

// PathKey is one step of a path into a decoded document: a map key
// (string) or a list index (int).
type PathKey = any

// NodeByPath follows keys and indices from n.
func NodeByPath(n *yaml.Node, p []PathKey) *yaml.Node {
	for _, k := range p {
		switch k := k.(type) {
		case string:
			n = MapGet(n, k)
		case int:
			if n == nil || n.Kind != yaml.SequenceNode || k < 0 || k >= len(n.Content) {
				return nil
			}
			n = n.Content[k]
		}
		if n == nil {
			return nil
		}
	}
	return n
}

// GetPath returns the value at path in a decoded document.
func GetPath(v any, path []PathKey) (any, bool) {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			v, ok = m[k]
			if !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || k < 0 || k >= len(l) {
				return nil, false
			}
			v = l[k]
		}
	}
	return v, true
}

// SetPath returns a copy of v with the value at path replaced by val; only
// the containers on the path are copied.
func SetPath(v any, path []PathKey, val any) (any, error) {
	if len(path) == 0 {
		return val, nil
	}
	switch k := path[0].(type) {
	case string:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not a mapping at %v", k)
		}
		out := maps.Clone(m)
		child, err := SetPath(m[k], path[1:], val)
		if err != nil {
			return nil, err
		}
		out[k] = child
		return out, nil
	case int:
		l, ok := v.([]any)
		if !ok || k < 0 || k >= len(l) {
			return nil, fmt.Errorf("no list item %d", k)
		}
		out := append([]any(nil), l...)
		child, err := SetPath(l[k], path[1:], val)
		if err != nil {
			return nil, err
		}
		out[k] = child
		return out, nil
	}
	return nil, fmt.Errorf("bad path step %v", path[0])
}

// EditList returns a want function for VerifyEdit that changes the list at
// path of document doc with fn.
func EditList(doc int, path []PathKey, fn func(list []any) []any) func([]any) ([]any, error) {
	return func(docs []any) ([]any, error) {
		if doc >= len(docs) {
			return nil, fmt.Errorf("document %d is missing", doc)
		}
		cur, _ := GetPath(docs[doc], path)
		list, _ := cur.([]any)
		nd, err := SetPath(docs[doc], path, fn(append([]any(nil), list...)))
		if err != nil {
			return nil, err
		}
		out := append([]any(nil), docs...)
		out[doc] = nd
		return out, nil
	}
}
