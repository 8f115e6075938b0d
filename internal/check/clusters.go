package check

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/repo"
)

// clusters returns the clusters to check: the one --root names, else
// those .gen.yaml names or discovery finds (narrowed by --cluster), else
// one at the default root.
func (c *checker) clusters() ([]repo.Cluster, error) {
	if len(c.opts.Roots) > 0 {
		var roots []string
		for _, r := range c.opts.Roots {
			roots = append(roots, strings.TrimPrefix(path.Clean(r), "./"))
		}
		return []repo.Cluster{{Name: c.opts.Cluster, Roots: roots, Why: "--root names it"}}, nil
	}
	all, err := repo.DiscoverClusters(c.files)
	if err != nil {
		c.add(newFinding(RuleRepoShape, "", 0, "%s", shapeMessage(err)))
		all = nil
	}
	if c.opts.Cluster != "" {
		var names []string
		for _, cl := range all {
			if cl.Name == c.opts.Cluster {
				return []repo.Cluster{cl}, nil
			}
			names = append(names, cl.Name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("--cluster %q: gen found no cluster in the repository", c.opts.Cluster)
		}
		return nil, fmt.Errorf("--cluster %q: no such cluster; the repository's clusters are %s", c.opts.Cluster, strings.Join(names, ", "))
	}
	if len(all) == 0 {
		return []repo.Cluster{{Roots: []string{flux.DefaultRoot}, Why: "no bootstrap was found; the default root"}}, nil
	}
	return all, nil
}

func shapeMessage(err error) string {
	msg := err.Error()
	if errors.Is(err, repo.ErrUnknownShape) {
		msg = strings.TrimPrefix(msg, repo.ErrUnknownShape.Error()+": ")
	}
	return msg
}

// danglingHint is how many chart references to sources nothing renders
// make check say the roots may be wrong.
const danglingHint = 10

// checkCluster renders one cluster's tree and applies the rules to it.
func (c *checker) checkCluster(cl repo.Cluster) {
	c.model, c.tree, c.objects, c.buildFailed = nil, nil, nil, false
	lo := repo.LoadOptions{Domains: c.opts.Domains, Cluster: cl.Name}
	if len(c.opts.Roots) > 0 {
		lo = repo.LoadOptions{Domains: c.opts.Domains, Roots: cl.Roots}
	}
	model, err := repo.FromFiles(c.files, lo)
	if err != nil {
		c.add(newFinding(RuleRepoShape, "", 0, "%s", shapeMessage(err)))
	} else {
		c.model = model
		if cl.AppsDir == "" {
			cl.AppsDir = model.AppsDir
		}
	}
	c.render(cl.Roots)
	c.decode()
	c.customResources()
	before := len(c.findings)
	if c.tree != nil {
		c.contract()
	}
	// Many references to sources nothing renders mean a wrong root more
	// often than many wrong references.
	dangling := 0
	for _, f := range c.findings[before:] {
		if f.Rule == RuleChartRef {
			dangling++
		}
	}
	if dangling >= danglingHint {
		c.add(newFinding(RuleRepoShape, "", 0, "%d chart references name sources that no Kustomization of %s renders; if the sources are declared elsewhere, the roots may be wrong: name them with --root, or with roots: in .gen.yaml",
			dangling, strings.Join(cl.Roots, ", ")))
	}
	info := ClusterInfo{Name: cl.Name, Roots: cl.Roots, AppsDir: cl.AppsDir, Why: cl.Why}
	if c.tree != nil {
		info.Kustomizations = len(c.tree.Kustomizations)
		c.kustomizations += len(c.tree.Kustomizations)
		for i, ks := range c.tree.Kustomizations {
			switch {
			case ks.External:
				c.notBuilt++
			case c.tree.Rendered[i] != nil:
				c.built++
			}
		}
	}
	c.nObjects += len(c.objects)
	c.clusterInfos = append(c.clusterInfos, info)
}
