package repo_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/gen-gitops/gen/internal/repo"
)

// TestLayouts loads each layout of testdata/layouts and compares the
// clusters found with the archive's "want: NAME ROOT APPSDIR" lines, and
// "uses: NAME FILE" says a cluster's Kustomizations can read the file.
func TestLayouts(t *testing.T) {
	paths, err := filepath.Glob("testdata/layouts/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no layouts: %v", err)
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			for _, f := range ar.Files {
				files[f.Name] = f.Data
			}
			var want []string
			uses := map[string][]string{}
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				if w, ok := strings.CutPrefix(line, "want: "); ok {
					want = append(want, w)
				}
				if u, ok := strings.CutPrefix(line, "uses: "); ok {
					name, file, _ := strings.Cut(u, " ")
					uses[name] = append(uses[name], file)
				}
			}
			clusters, err := repo.DiscoverClusters(files)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range clusters {
				got = append(got, c.Name+" "+strings.Join(c.Roots, ",")+" "+c.AppsDir)
				for _, f := range uses[c.Name] {
					if !c.Uses(f) {
						t.Errorf("cluster %s does not use %s", c.Name, f)
					}
				}
				if c.Why == "" {
					t.Errorf("cluster %s: no reason given", c.Name)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("clusters:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			// Each cluster loads on its own, with its own apps.
			for _, c := range clusters {
				r, err := repo.FromFiles(files, repo.LoadOptions{Cluster: c.Name})
				if err != nil {
					t.Fatalf("cluster %s: %v", c.Name, err)
				}
				if r.AppsDir != c.AppsDir || len(r.Namespaces) == 0 {
					t.Errorf("cluster %s: apps %q, namespaces %v", c.Name, r.AppsDir, r.NamespaceNames())
				}
			}
		})
	}
	if _, err := repo.FromFiles(map[string][]byte{}, repo.LoadOptions{Cluster: "nope"}); err == nil {
		t.Error("an unknown cluster loaded")
	}
}
