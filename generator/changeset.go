// Package generator is what gen's generators share: the repository model
// they read (Repo), the Changeset they return (the complete set of file
// writes one gen command makes), the repository's style, the
// namespace-kustomization editor (AddResource, RemoveResource), a
// WorkingCopy for edits in place, and the vocabulary of their options
// (Ref, Host, Expose, KV, the secret interfaces).
//
// Each command's generator lives in a package below: apps (add-app,
// remove-app), domains (onboard-domain, offboard-domain), promote, scratch,
// secret and initrepo (init); tunnel and access are capabilities several of
// them use. Each takes a *Repo and its options, which have a Default and a
// Validate, and returns a Changeset.
//
// Generators are pure: they never touch the disk, never print and never reach
// the network (TestGeneratorsArePure holds them to it). Everything they
// produce is validated, shown as a diff and written by the caller (see
// internal/apply).
package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileChange is one whole-file write (or removal) in a Changeset.
type FileChange struct {
	// Path is slash-separated and relative to the repository root.
	Path string
	// Content is the complete new content; nil with Delete set removes the file.
	Content []byte
	// Delete removes the file.
	Delete bool
	// Sensitive marks content that holds SOPS-encrypted values: diffs show
	// the keys that changed and redact every value.
	Sensitive bool
}

// Changeset is everything a command writes, in one unit: applied all or none.
type Changeset struct {
	// Title is a one-line description, used as the default commit subject.
	Title string
	// Files are the writes, sorted by path once Normalize has run.
	Files []FileChange
	// Notes are messages for the user (what was kept raw, what to do next).
	Notes []string
	// Read records what the change was computed from: for every path it
	// writes or deletes, the ContentHash of the file as it was read, or ""
	// for a file that did not exist. The writer compares the disk with it
	// under its lock and refuses to write when anything changed since, so
	// a concurrent edit is never overwritten. Nil skips the comparison.
	Read map[string]string
}

// ContentHash is the hash Changeset.Read records for a file's content.
func ContentHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// RecordRead fills Read for every path of the change from files, the
// snapshot the change was computed from: a path in the snapshot records
// its content's hash, any other path the promise that it does not exist.
func (c *Changeset) RecordRead(files map[string][]byte) {
	c.Read = make(map[string]string, len(c.Files))
	for _, f := range c.Files {
		if data, ok := files[f.Path]; ok {
			c.Read[f.Path] = ContentHash(data)
		} else {
			c.Read[f.Path] = ""
		}
	}
}

// CheckReplaced refuses a change that replaces a YAML file of files (the
// snapshot it was computed from) that does not parse: gen edits what it
// can read, and a file it cannot read would lose whatever it held. The
// error names the file and the line the parser stopped at.
func (c *Changeset) CheckReplaced(files map[string][]byte) error {
	for _, f := range c.Files {
		ext := path.Ext(f.Path)
		if f.Delete || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		data, ok := files[f.Path]
		if !ok {
			continue
		}
		if err := parsesAsYAML(data); err != nil {
			return fmt.Errorf("%s: %s; gen never replaces a file it cannot parse: fix the file and run the command again", f.Path, YAMLProblem(data, err))
		}
	}
	return nil
}

// YAMLProblem is a YAML parser's error, with the line that indents with a
// tab named when there is one: the parser reports such a tab at the line
// before it.
func YAMLProblem(data []byte, err error) string {
	msg := err.Error()
	if !strings.Contains(msg, "tab character") {
		return msg
	}
	for i, line := range strings.Split(string(data), "\n") {
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if strings.Contains(indent, "\t") {
			return fmt.Sprintf("%s (line %d indents with a tab)", msg, i+1)
		}
	}
	return msg
}

// parsesAsYAML decodes every document of data.
func parsesAsYAML(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Add records a whole-file write of content at p.
func (c *Changeset) Add(p string, content []byte) {
	c.Files = append(c.Files, FileChange{Path: p, Content: content})
}

// AddSensitive records a write whose content holds encrypted values.
func (c *Changeset) AddSensitive(p string, content []byte) {
	c.Files = append(c.Files, FileChange{Path: p, Content: content, Sensitive: true})
}

// Note appends a message for the user.
func (c *Changeset) Note(format string, args ...any) {
	c.Notes = append(c.Notes, fmt.Sprintf(format, args...))
}

// Paths returns the touched paths in order.
func (c *Changeset) Paths() []string {
	out := make([]string, 0, len(c.Files))
	for _, f := range c.Files {
		out = append(out, f.Path)
	}
	return out
}

// Normalize sorts the writes by path and rejects paths that are absolute,
// escape the repository or are written twice.
func (c *Changeset) Normalize() error {
	seen := map[string]bool{}
	for i, f := range c.Files {
		clean, err := CleanRelPath(f.Path)
		if err != nil {
			return err
		}
		if seen[clean] {
			return fmt.Errorf("changeset writes %q twice", clean)
		}
		seen[clean] = true
		c.Files[i].Path = clean
	}
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	return nil
}

// CleanRelPath cleans a slash-separated path and refuses anything that is
// absolute or leaves the repository root.
func CleanRelPath(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path")
	}
	if strings.Contains(p, "\\") {
		return "", fmt.Errorf("path %q: backslashes are not allowed", p)
	}
	if path.IsAbs(p) {
		return "", fmt.Errorf("path %q is absolute: paths must stay inside the repository", p)
	}
	clean := path.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("path %q escapes the repository", p)
	}
	return clean, nil
}
