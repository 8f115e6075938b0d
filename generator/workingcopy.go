package generator

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator/internal/yamledit"
)

// WorkingCopy is the files a generator changes, over the repository's
// snapshot: an edit reads what earlier edits wrote, and Changeset returns
// only what differs from the snapshot. Generators that edit several files
// in place (onboarding a domain, removing an app, adding a tunnel rule)
// share one.
type WorkingCopy struct {
	r         *Repo
	files     map[string][]byte
	deleted   map[string]bool
	sensitive map[string]bool
}

// NewWorkingCopy returns a working copy of r with nothing changed.
func NewWorkingCopy(r *Repo) *WorkingCopy {
	return &WorkingCopy{r: r, files: map[string][]byte{}, deleted: map[string]bool{}, sensitive: map[string]bool{}}
}

// Repo returns the repository the working copy is over.
func (w *WorkingCopy) Repo() *Repo { return w.r }

// Read returns the file at p as it is now.
func (w *WorkingCopy) Read(p string) []byte {
	if d, ok := w.files[p]; ok {
		return d
	}
	return w.r.Files[p]
}

// Write replaces the file at p.
func (w *WorkingCopy) Write(p string, data []byte) {
	w.files[p] = data
	delete(w.deleted, p)
}

// WriteSensitive replaces the file at p with content that holds encrypted
// values (see FileChange.Sensitive).
func (w *WorkingCopy) WriteSensitive(p string, data []byte) {
	w.Write(p, data)
	w.sensitive[p] = true
}

// Delete removes the file at p.
func (w *WorkingCopy) Delete(p string) {
	w.deleted[p] = true
	delete(w.files, p)
}

// Written returns the files written so far, by path.
func (w *WorkingCopy) Written() map[string][]byte { return w.files }

// YAMLFiles returns the repository's YAML files that are not deleted,
// sorted.
func (w *WorkingCopy) YAMLFiles() []string {
	var out []string
	for p := range w.r.Files {
		if (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) && !w.deleted[p] {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// FilesWithKind returns the files, sorted, that declare a document of one
// of kinds and are not deleted.
func (w *WorkingCopy) FilesWithKind(kinds ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, o := range w.r.Objects {
		if slices.Contains(kinds, o.Kind) && !seen[o.File] && !w.deleted[o.File] {
			seen[o.File] = true
			out = append(out, o.File)
		}
	}
	slices.Sort(out)
	return out
}

// Docs parses the file at p as it is now: its text and the root node of
// each document (nil for an empty one).
func (w *WorkingCopy) Docs(p string) ([]byte, []*yaml.Node, error) {
	data := w.Read(p)
	docs, err := yamledit.ParseStream(data)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %q: %w", p, err)
	}
	return data, docs, nil
}

// EachDoc calls fn for every document of kind, in the API group apiGroup
// when it is not "", in the files that declare one as they are now. Files
// that no longer parse are left out.
func (w *WorkingCopy) EachDoc(kind, apiGroup string, fn func(file string, i int, doc *yaml.Node)) {
	for _, f := range w.FilesWithKind(kind) {
		_, docs, err := w.Docs(f)
		if err != nil {
			continue
		}
		for i, d := range docs {
			if yamledit.ScalarOf(yamledit.MapGet(d, "kind")) != kind {
				continue
			}
			if apiGroup != "" && !strings.HasPrefix(yamledit.ScalarOf(yamledit.MapGet(d, "apiVersion")), apiGroup+"/") {
				continue
			}
			fn(f, i, d)
		}
	}
}

// Changeset returns what differs from the snapshot, titled title: the
// files written with other content, the deleted files that existed.
func (w *WorkingCopy) Changeset(title string) (*Changeset, error) {
	cs := &Changeset{Title: title}
	paths := slices.AppendSeq(slices.Collect(maps.Keys(w.files)), maps.Keys(w.deleted))
	slices.Sort(paths)
	for _, p := range paths {
		if w.deleted[p] {
			if _, ok := w.r.Files[p]; ok {
				cs.Files = append(cs.Files, FileChange{Path: p, Delete: true})
			}
			continue
		}
		data := w.files[p]
		if old, ok := w.r.Files[p]; ok && bytes.Equal(old, data) {
			continue
		}
		if w.sensitive[p] {
			cs.AddSensitive(p, data)
		} else {
			cs.Add(p, data)
		}
	}
	if err := cs.Normalize(); err != nil {
		return nil, err
	}
	return cs, nil
}
