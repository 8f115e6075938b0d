package source

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing/fstest"

	"helm.sh/helm/v4/pkg/ignore"

	"github.com/gen-gitops/gen/internal/helm/chartfile"
)

// readChartDir reads a chart folder from the repository as Helm's
// directory loader does: .helmignore and Helm's default rules applied,
// regular files only; within the chart budgets.
func readChartDir(fsys fs.FS, dir string, limits chartfile.Limits) ([]chartfile.File, error) {
	l := limits
	if l.Files <= 0 {
		l.Files = chartfile.DefaultLimits().Files
	}
	if l.Bytes <= 0 {
		l.Bytes = chartfile.DefaultLimits().Bytes
	}
	rules := ignore.Empty()
	if data, err := fs.ReadFile(fsys, path.Join(dir, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("reading %s: %w", path.Join(dir, ignore.HelmIgnore), err)
		}
	}
	rules.AddDefaults()
	var files []chartfile.File
	var total int64
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if rel == "" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rules.Ignore(rel, info) {
				return fs.SkipDir
			}
			return nil
		}
		if rules.Ignore(rel, info) || !d.Type().IsRegular() {
			return nil
		}
		if len(files) >= l.Files {
			return &chartfile.BudgetError{Budget: "files", Limit: int64(l.Files), Path: rel}
		}
		total += info.Size()
		if total > l.Bytes {
			return &chartfile.BudgetError{Budget: "bytes", Limit: l.Bytes, Path: rel}
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, chartfile.File{Name: rel, Data: data})
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("no such folder in the repository")
	}
	if err != nil {
		return nil, err
	}
	return files, nil
}

// filesDigest identifies a chart folder's content: the sha256 of its
// files' names and contents in name order.
func filesDigest(files []chartfile.File) string {
	sorted := append([]chartfile.File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%d:%s\n%d:", len(f.Name), f.Name, len(f.Data))
		h.Write(f.Data)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// maxFilterLength bounds an OCIRepository's semverFilter: it comes from
// the repository, and Go compiles a regular expression in time and memory
// proportional to its length.
const maxFilterLength = 1024

func compileFilter(filter string) (*regexp.Regexp, error) {
	if len(filter) > maxFilterLength {
		return nil, fmt.Errorf("semverFilter is longer than %d characters", maxFilterLength)
	}
	return regexp.Compile(filter)
}

// FilesFS presents a repository snapshot held as a map of slash-separated
// paths to contents (flux.Files, check.Snapshot.Files) as an fs.FS for
// Resolver.Repository. Folders are implied by the paths.
func FilesFS(files map[string][]byte) fs.FS {
	m := make(fstest.MapFS, len(files))
	for p, data := range files {
		m[p] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	return m
}
