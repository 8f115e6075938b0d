package flux

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/fluxcd/pkg/envsubst"
	"sigs.k8s.io/yaml"
)

// substituteStrings is the short way to the controller's substitution.
// The controller writes the object out as YAML, runs envsubst over the
// whole text and reads it back. Every "$" of an object sits in a string or
// a key; each string is written as one piece of that text, whose spelling
// (plain, quoted or a literal block) does not depend on where it sits,
// except that a one-line string may be folded at a space when it reaches
// past the writer's line width (see foldSafe). So writing the string alone,
// substituting that text and reading it back gives exactly what the whole
// text gives for it.
//
// It returns false, having changed nothing, when any key holds a "$" or
// any string falls outside that, or when envsubst could read past the end
// of the string's text (a "${" with no closing brace); the caller then takes
// the controller's own path.
func (p *postProcess) substituteStrings(m map[string]any) bool {
	memo := map[string]string{}
	ok := eachString(m, func(s string, key bool) bool {
		if strings.IndexByte(s, '$') < 0 {
			return true
		}
		if key {
			return false
		}
		if _, seen := memo[s]; seen {
			return true
		}
		out, good := p.substituteScalar(s)
		memo[s] = out
		return good
	})
	if !ok {
		return false
	}
	var apply func(v any) any
	apply = func(v any) any {
		switch v := v.(type) {
		case string:
			if out, hit := memo[v]; hit {
				return out
			}
		case map[string]any:
			for k, e := range v {
				v[k] = apply(e)
			}
		case []any:
			for i, e := range v {
				v[i] = apply(e)
			}
		}
		return v
	}
	apply(m)
	return true
}

// substituteScalar substitutes the variables of one string the way the
// controller's text round trip does, and reports whether that is sure to
// be what the round trip of the whole object gives for it.
func (p *postProcess) substituteScalar(s string) (string, bool) {
	if !strings.Contains(s, "${") && !strings.Contains(s, "$$") {
		// envsubst changes neither this string nor its spelling in the
		// text: a lone "$" stays as it is ("$HOME", "$(cmd)", "{{ $x }}").
		return s, true
	}
	if r, ok := p.scalars[s]; ok {
		return r.out, r.ok
	}
	out, ok := p.substituteSpelled(s)
	if p.scalars == nil {
		p.scalars = map[string]scalarResult{}
	}
	p.scalars[s] = scalarResult{out, ok}
	return out, ok
}

// scalarResult is a remembered answer of substituteScalar.
type scalarResult struct {
	out string
	ok  bool
}

// substituteSpelled is substituteScalar for a string with a reference or
// an escape: its spelling in the text is substituted and read back.
func (p *postProcess) substituteSpelled(s string) (string, bool) {
	text, err := yaml.Marshal(s)
	if err != nil || !utf8.Valid(text) {
		return "", false
	}
	literal := text[0] == '|'
	if !literal && bytes.Count(text, []byte("\n")) != 1 {
		return "", false
	}
	if unclosedRef(text) {
		return "", false
	}
	out, err := envsubst.Eval(string(text), p.lookup)
	if err != nil || !sameLines(string(text), out) {
		// A value with a line break starts a line of the whole text at a
		// column only that text knows; one that changes how a line of a
		// block is indented changes how the block reads in it.
		return "", false
	}
	var back any
	if err := yaml.Unmarshal([]byte(out), &back); err != nil {
		return "", false
	}
	str, ok := back.(string)
	if !ok {
		return "", false
	}
	// The substituted text must be how the writer spells the new string:
	// then it reads back as that string wherever it stands, and not, say,
	// as a quoted string closed early followed by text the whole document
	// would stumble on.
	if again, err := yaml.Marshal(str); err != nil || string(again) != out {
		return "", false
	}
	if !literal && bytes.IndexByte(text, ' ') >= 0 && !foldSafe(str) {
		return "", false
	}
	return str, true
}

// lookup is the controller's variable lookup: an undefined variable is
// substituted with an empty string.
func (p *postProcess) lookup(name string) (string, bool) { return p.vars[name], true }

// lineBreaks counts what YAML 1.1 reads as line breaks.
func lineBreaks(s string) int {
	n := 0
	for _, r := range s {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}

// sameLines reports whether after has the lines of before, each indented
// as before and blank only where before's is: substitution changed
// nothing the reading of a block scalar depends on.
func sameLines(before, after string) bool {
	if lineBreaks(before) != lineBreaks(after) {
		return false
	}
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	for i := range b {
		bt, at := strings.TrimLeft(b[i], " \t"), strings.TrimLeft(a[i], " \t")
		if len(b[i])-len(bt) != len(a[i])-len(at) || b[i][:len(b[i])-len(bt)] != a[i][:len(a[i])-len(at)] {
			return false
		}
		if (strings.TrimSpace(bt) == "") != (strings.TrimSpace(at) == "") {
			return false
		}
	}
	return true
}

// unclosedRef reports whether a "${" in text has no "}" after it: envsubst
// would read on past the end of text for it.
func unclosedRef(text []byte) bool {
	for i := bytes.Index(text, []byte("${")); i >= 0; {
		end := bytes.IndexByte(text[i:], '}')
		if end < 0 {
			return true
		}
		next := bytes.Index(text[i+end:], []byte("${"))
		if next < 0 {
			return false
		}
		i += end + next
	}
	return false
}

// foldSafe reports whether a one-line string whose spelling has spaces
// reads back the same wherever the writer folded that spelling. The writer
// folds only at a single space between two other characters, and reading
// turns the line break and the indentation after it back into one space,
// dropping any other white space at the ends of the two lines. After
// substitution, a value that is empty or starts or ends with white space
// next to such a space would lose that white space; every such case leaves
// two white space characters side by side, or one at an end, in the
// result.
func foldSafe(s string) bool {
	if s == "" || isBlank(s[0]) || isBlank(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if isBlank(s[i]) && isBlank(s[i-1]) {
			return false
		}
	}
	return true
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }
