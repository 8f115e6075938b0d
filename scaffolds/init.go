package scaffolds

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"text/template"
)

// initTree is the skeleton of a new repository (gen init): every file below
// init/ is a template whose path, less ".tmpl", is the file's path in the new
// repository.
//
//go:embed all:init
var initTree embed.FS

// InitFiles lists the paths gen init writes, sorted.
func InitFiles() []string {
	var out []string
	_ = fs.WalkDir(initTree, "init", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".tmpl") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(p, "init/"), ".tmpl"))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// RenderInit executes the skeleton template of the file at path (one of
// InitFiles) with data.
func RenderInit(path string, data any) ([]byte, error) {
	text, err := initTree.ReadFile("init/" + path + ".tmpl")
	if err != nil {
		return nil, fmt.Errorf("no skeleton file %q", path)
	}
	t, err := template.New(path).Funcs(funcs).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("parsing skeleton %q: %w", path, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("rendering skeleton %q: %w", path, err)
	}
	return tidy(buf.Bytes()), nil
}
