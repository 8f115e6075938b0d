package flux

import (
	"bufio"
	"bytes"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"sigs.k8s.io/yaml"
)

// defaultExclusions are the patterns source-controller leaves out of every
// GitRepository artifact: version control files, CI configuration, and the
// SOPS and Flux configuration files. (Image and archive extensions were
// once excluded too; the Flux line gen follows keeps them, and kustomize
// generators may read them.)
var defaultExclusions = []string{
	".git/", ".gitignore", ".gitmodules", ".gitattributes",
	".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml",
	"cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml",
	"**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml",
}

// ArtifactFiles returns the files of the snapshot that source-controller
// puts in the repository's artifact, which is what kustomize-controller
// builds: it leaves out the default exclusions (version control and CI
// files), what each .sourceignore file ignores below its folder, and what
// spec.ignore of the repository's
// GitRepository (flux-system/flux-system, when the repository declares it)
// ignores. A Kustomization whose path is "./" would otherwise build CI
// workflow files as manifests.
//
// The result shares the file contents of files. When nothing is ignored,
// files itself is returned.
func ArtifactFiles(files Files) Files {
	var ps []gitignore.Pattern
	for _, p := range defaultExclusions {
		ps = append(ps, gitignore.ParsePattern(p, nil))
	}
	var ignores []string
	for p := range files {
		if path.Base(p) == ".sourceignore" {
			ignores = append(ignores, p)
		}
	}
	sort.Strings(ignores)
	for _, p := range ignores {
		var domain []string
		if dir := path.Dir(p); dir != "." {
			domain = strings.Split(dir, "/")
		}
		ps = append(ps, patterns(files[p], domain)...)
	}
	if spec := ownIgnore(files); spec != "" {
		ps = append(ps, patterns([]byte(spec), nil)...)
	}
	m := gitignore.NewMatcher(ps)
	var out Files
	for p := range files {
		if ignoredPath(m, p) {
			if out == nil {
				out = make(Files, len(files))
				for q, data := range files {
					out[q] = data
				}
			}
			delete(out, p)
		}
	}
	if out == nil {
		return files
	}
	return out
}

// ignoredPath reports whether p, or a folder above it, is ignored.
func ignoredPath(m gitignore.Matcher, p string) bool {
	parts := strings.Split(p, "/")
	for i := 1; i < len(parts); i++ {
		if m.Match(parts[:i], true) {
			return true
		}
	}
	return m.Match(parts, false)
}

// patterns parses gitignore lines.
func patterns(data []byte, domain []string) []gitignore.Pattern {
	var out []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, gitignore.ParsePattern(line, domain))
	}
	return out
}

// ownIgnore returns spec.ignore of the GitRepository flux-system/flux-system
// that the repository declares (flux bootstrap's gotk-sync.yaml, the old
// template's flux/config/cluster.yaml), "" when there is none.
func ownIgnore(files Files) string {
	for p, data := range files {
		ext := path.Ext(p)
		if (ext != ".yaml" && ext != ".yml") || !bytes.Contains(data, []byte("kind: GitRepository")) || !bytes.Contains(data, []byte("ignore:")) {
			continue
		}
		for _, doc := range bytes.Split(data, []byte("\n---")) {
			var g struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name, Namespace string
				} `json:"metadata"`
				Spec struct {
					Ignore string `json:"ignore"`
				} `json:"spec"`
			}
			if yaml.Unmarshal(doc, &g) != nil || g.Kind != "GitRepository" || g.Metadata.Name != DefaultNamespace {
				continue
			}
			if g.Metadata.Namespace == "" || g.Metadata.Namespace == DefaultNamespace {
				return g.Spec.Ignore
			}
		}
	}
	return ""
}
