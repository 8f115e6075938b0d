package check

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/internal/schema"
)

// lines finds where things are in the repository's files, for findings on
// rendered objects. Files are parsed on first use only: most files never
// have a finding.
type lines struct {
	files map[string][]byte

	mu     sync.Mutex
	parsed map[string][]*yaml.Node
}

func newLines(files map[string][]byte) *lines {
	return &lines{files: files, parsed: map[string][]*yaml.Node{}}
}

func (l *lines) docs(file string) []*yaml.Node {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d, ok := l.parsed[file]; ok {
		return d
	}
	var out []*yaml.Node
	data, ok := l.files[file]
	if ok {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) || err != nil {
				break
			}
			if len(n.Content) > 0 {
				out = append(out, n.Content[0])
			}
		}
	}
	l.parsed[file] = out
	return out
}

// doc returns the document of file declaring kind and name: an exact match,
// else the only document of that kind, else the only document.
func (l *lines) doc(file, kind, name string) *yaml.Node {
	docs := l.docs(file)
	var ofKind []*yaml.Node
	for _, d := range docs {
		if scalar(mapGet(d, "kind")) != kind && kind != "" {
			continue
		}
		ofKind = append(ofKind, d)
		if meta := mapGet(d, "metadata"); name != "" && scalar(mapGet(meta, "name")) == name {
			return d
		}
	}
	if len(ofKind) == 1 {
		return ofKind[0]
	}
	if name != "" {
		// A name written with variables (${APP}-config) is matched as
		// a pattern, when only one document fits it.
		var fits []*yaml.Node
		for _, d := range ofKind {
			if written := scalar(mapGet(mapGet(d, "metadata"), "name")); strings.Contains(written, "${") && namePattern(written).MatchString(name) {
				fits = append(fits, d)
			}
		}
		if len(fits) == 1 {
			return fits[0]
		}
	} else if len(ofKind) > 0 {
		// No name asked for: a finding about the file as a whole is on
		// its first document of the kind.
		return ofKind[0]
	}
	if len(docs) == 1 {
		return docs[0]
	}
	return nil
}

// namePattern turns a name written with ${VAR} references into a pattern
// that any value of the variables matches.
func namePattern(written string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for rest := written; rest != ""; {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:i]))
		end := strings.Index(rest[i:], "}")
		if end < 0 {
			b.WriteString(regexp.QuoteMeta(rest[i:]))
			break
		}
		b.WriteString(".*")
		rest = rest[i+end+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// docLine returns the line a document starts on, 0 when not found.
func (l *lines) docLine(file, kind, name string) int {
	if d := l.doc(file, kind, name); d != nil {
		return d.Line
	}
	return 0
}

// fieldLine returns the line of the field at path ("spec.hostnames[1]") in
// the document, or the deepest part of the path that exists, or the
// document's line.
func (l *lines) fieldLine(file, kind, name, path string) int {
	d := l.doc(file, kind, name)
	if d == nil {
		return 0
	}
	return nodeLine(d, schema.SplitPath(path))
}

// textLine returns the first line at or after the document's start that
// holds needle, or the document's line.
func (l *lines) textLine(file, kind, name, needle string) int {
	start := l.docLine(file, kind, name)
	data := l.files[file]
	for i, line := range strings.Split(string(data), "\n") {
		if i+1 >= start && strings.Contains(line, needle) {
			return i + 1
		}
	}
	return start
}

func index(seg string) (int, bool) {
	if !strings.HasPrefix(seg, "[") || !strings.HasSuffix(seg, "]") {
		return 0, false
	}
	i, err := strconv.Atoi(seg[1 : len(seg)-1])
	return i, err == nil && i >= 0
}
