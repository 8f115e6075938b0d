// Package chartfile reads Helm chart packages and chart folders within
// budgets, before anything parses them.
//
// A chart comes from a registry, a chart repository or a pull request, so
// its size is the author's choice. Scan walks a packaged chart (.tgz) and
// every chart packaged inside it (charts/*.tgz) while counting: compressed
// bytes, decompressed bytes, files and nesting are bounded, and a chart
// over any budget is refused with an error that names the budget. Nothing
// is kept in memory but the few files gen needs before rendering (the
// Chart.yaml and values.schema.json of the chart and of every subchart).
package chartfile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Limits bounds what a chart may hold. The zero value of a field means its
// default (DefaultLimits).
type Limits struct {
	// ArchiveBytes is the largest packaged chart, compressed.
	ArchiveBytes int64
	// Bytes is the largest total of decompressed file contents, counting
	// the charts packaged inside the chart.
	Bytes int64
	// FileBytes is the largest single file, decompressed.
	FileBytes int64
	// Files is the most files a chart may hold, counting every subchart's.
	Files int
	// Depth is the deepest nesting of packaged subcharts.
	Depth int
}

// DefaultLimits are generous for real charts (app-template packs about 60
// files in 40 KB; the largest public charts hold a few thousand files and a
// few MB of CRDs) and small enough to read on a CI runner without thought.
// ArchiveBytes and FileBytes are source-controller's own limits for charts.
func DefaultLimits() Limits {
	return Limits{
		ArchiveBytes: 10 << 20,
		Bytes:        64 << 20,
		FileBytes:    5 << 20,
		Files:        10000,
		Depth:        5,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.ArchiveBytes > 0 {
		d.ArchiveBytes = l.ArchiveBytes
	}
	if l.Bytes > 0 {
		d.Bytes = l.Bytes
	}
	if l.FileBytes > 0 {
		d.FileBytes = l.FileBytes
	}
	if l.Files > 0 {
		d.Files = l.Files
	}
	if l.Depth > 0 {
		d.Depth = l.Depth
	}
	return d
}

// BudgetError says which budget a chart went over.
type BudgetError struct {
	// Budget names the limit: "archive bytes", "bytes", "file bytes",
	// "files" or "depth".
	Budget string
	// Limit is the limit's value.
	Limit int64
	// Path is the file being read when the budget ran out, if any.
	Path string
}

func (e *BudgetError) Error() string {
	where := ""
	if e.Path != "" {
		where = fmt.Sprintf(" at %q", e.Path)
	}
	return fmt.Sprintf("chart is over the %s budget (%d)%s", e.Budget, e.Limit, where)
}

// Chart describes a chart found by Scan.
type Chart struct {
	// Path is where the chart lives inside the top-level chart: "" for the
	// chart itself, "charts/<name>" (or "charts/<file>.tgz") for a subchart.
	Path string
	// Name and Version come from its Chart.yaml.
	Name, Version string
	// Schema is its values.schema.json, nil when it has none.
	Schema []byte
}

// Summary is what Scan learnt about a chart.
type Summary struct {
	// Charts lists the chart first, then its subcharts depth first.
	Charts []Chart
	// Files and Bytes are the totals counted, subcharts included.
	Files int
	Bytes int64
}

// Root returns the top-level chart.
func (s *Summary) Root() Chart {
	if len(s.Charts) == 0 {
		return Chart{}
	}
	return s.Charts[0]
}

// Scan reads a packaged chart within the limits.
func Scan(archive []byte, limits Limits) (*Summary, error) {
	l := limits.withDefaults()
	if int64(len(archive)) > l.ArchiveBytes {
		return nil, &BudgetError{Budget: "archive bytes", Limit: l.ArchiveBytes}
	}
	s := &scanner{limits: l, sum: &Summary{}}
	if err := s.archive(archive, "", 0); err != nil {
		return nil, err
	}
	sortCharts(s.sum.Charts)
	return s.sum, nil
}

// File is one file of an unpacked chart, its name relative to the chart's
// folder with forward slashes.
type File struct {
	Name string
	Data []byte
}

// ScanFiles applies the same budgets to an unpacked chart (a chart folder
// read from a repository); packaged subcharts under charts/ are opened.
func ScanFiles(files []File, limits Limits) (*Summary, error) {
	l := limits.withDefaults()
	s := &scanner{limits: l, sum: &Summary{}}
	charts := map[string]*Chart{}
	for _, f := range files {
		if err := s.count(f.Name, int64(len(f.Data))); err != nil {
			return nil, err
		}
		if err := s.file(charts, "", f.Name, f.Data, 0); err != nil {
			return nil, err
		}
	}
	s.collect(charts)
	sortCharts(s.sum.Charts)
	return s.sum, nil
}

type scanner struct {
	limits Limits
	sum    *Summary
}

func (s *scanner) count(name string, size int64) error {
	s.sum.Files++
	if s.sum.Files > s.limits.Files {
		return &BudgetError{Budget: "files", Limit: int64(s.limits.Files), Path: name}
	}
	if size > s.limits.FileBytes {
		return &BudgetError{Budget: "file bytes", Limit: s.limits.FileBytes, Path: name}
	}
	s.sum.Bytes += size
	if s.sum.Bytes > s.limits.Bytes {
		return &BudgetError{Budget: "bytes", Limit: s.limits.Bytes, Path: name}
	}
	return nil
}

// archive walks one packaged chart whose files live under prefix.
func (s *scanner) archive(data []byte, prefix string, depth int) error {
	if depth > s.limits.Depth {
		return &BudgetError{Budget: "depth", Limit: int64(s.limits.Depth), Path: prefix}
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("reading chart package %s: %w", displayPath(prefix), err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	charts := map[string]*Chart{}
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading chart package %s: %w", displayPath(prefix), err)
		}
		if hd.FileInfo().IsDir() || hd.Typeflag == tar.TypeXGlobalHeader || hd.Typeflag == tar.TypeXHeader {
			continue
		}
		// The first path element is the chart's own folder; Helm's loader
		// drops it the same way.
		name := strings.ReplaceAll(hd.Name, "\\", "/")
		if i := strings.IndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		} else {
			name = ""
		}
		name = path.Clean(name)
		if name == "." || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("chart package %s holds a file outside its folder: %q", displayPath(prefix), hd.Name)
		}
		full := path.Join(prefix, name)
		if hd.Size > s.limits.FileBytes {
			return &BudgetError{Budget: "file bytes", Limit: s.limits.FileBytes, Path: full}
		}
		keep := wanted(name)
		var buf bytes.Buffer
		var w io.Writer = io.Discard
		if keep {
			w = &buf
		}
		// Read one byte more than the budget allows so that an entry whose
		// header lies about its size is still caught.
		n, err := io.Copy(w, io.LimitReader(tr, s.limits.FileBytes+1))
		if err != nil {
			return fmt.Errorf("reading %q of chart package %s: %w", name, displayPath(prefix), err)
		}
		if err := s.count(full, n); err != nil {
			return err
		}
		if keep {
			if err := s.file(charts, prefix, name, buf.Bytes(), depth); err != nil {
				return err
			}
		}
	}
	s.collect(charts)
	return nil
}

// wanted says whether a file's content matters before rendering: chart
// metadata, schemas and packaged subcharts. The rest is only counted.
func wanted(name string) bool {
	base := path.Base(name)
	return base == "Chart.yaml" || base == "values.schema.json" ||
		(strings.HasSuffix(base, ".tgz") && inChartsDir(name))
}

// inChartsDir says whether name lies directly in a charts/ folder of some
// chart (charts/x.tgz, charts/a/charts/y.tgz).
func inChartsDir(name string) bool {
	dir := path.Dir(name)
	return dir == "charts" || strings.HasSuffix(dir, "/charts")
}

// file records a wanted file of the chart under prefix.
func (s *scanner) file(charts map[string]*Chart, prefix, name string, data []byte, depth int) error {
	base := path.Base(name)
	dir := path.Dir(name)
	if dir == "." {
		dir = ""
	}
	switch {
	case base == "Chart.yaml" || base == "values.schema.json":
		if dir != "" && !isChartDir(dir) {
			return nil
		}
		key := path.Join(prefix, dir)
		c := charts[key]
		if c == nil {
			c = &Chart{Path: key}
			charts[key] = c
		}
		if base == "values.schema.json" {
			c.Schema = bytes.Clone(data)
			return nil
		}
		var meta struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}
		if err := yaml.Unmarshal(data, &meta); err != nil {
			return fmt.Errorf("reading %s: %w", path.Join(prefix, name), err)
		}
		c.Name, c.Version = meta.Name, meta.Version
	case strings.HasSuffix(base, ".tgz") && inChartsDir(name):
		return s.archive(data, path.Join(prefix, name), depth+1)
	}
	return nil
}

// isChartDir says whether dir (relative to a chart) is a subchart folder:
// charts/<name>, charts/<name>/charts/<name>, ...
func isChartDir(dir string) bool {
	parts := strings.Split(dir, "/")
	if len(parts)%2 != 0 {
		return false
	}
	for i := 0; i < len(parts); i += 2 {
		if parts[i] != "charts" {
			return false
		}
	}
	return true
}

func (s *scanner) collect(charts map[string]*Chart) {
	for _, c := range charts {
		s.sum.Charts = append(s.sum.Charts, *c)
	}
}

func sortCharts(cs []Chart) {
	sort.SliceStable(cs, func(i, j int) bool {
		di, dj := strings.Count(cs[i].Path, "/"), strings.Count(cs[j].Path, "/")
		if (cs[i].Path == "") != (cs[j].Path == "") {
			return cs[i].Path == ""
		}
		if di != dj {
			return di < dj
		}
		return cs[i].Path < cs[j].Path
	})
}

func displayPath(prefix string) string {
	if prefix == "" {
		return "(top level)"
	}
	return prefix
}
