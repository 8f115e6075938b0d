package repo

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Config is .gen.yaml: what a repository tells gen when discovery cannot
// guess. Every field is optional.
type Config struct {
	// AppsDir is the folder of namespace folders (kubernetes/apps).
	AppsDir string `yaml:"appsDir"`
	// Roots are the files holding the root Flux Kustomizations (or the
	// folder a Flux installation syncs). Alone, they name the one cluster
	// gen works on; its apps folder is found from them.
	Roots []string `yaml:"roots"`
	// Clusters name each cluster of a repository of several, when
	// discovery does not find them.
	Clusters []ClusterConfig `yaml:"clusters"`
	// ClusterSecrets is the name of the variables Secret (cluster-secrets).
	ClusterSecrets string `yaml:"clusterSecrets"`
	// PrimaryDomain is the variable of the primary domain (SECRET_DOMAIN).
	PrimaryDomain string `yaml:"primaryDomain"`
	// Domains maps domain variables to domains, for use without an age key.
	Domains map[string]string `yaml:"domains"`
	// AppTemplate pins the app-template chart gen writes for new apps.
	AppTemplate struct {
		URL     string `yaml:"url"`
		Version string `yaml:"version"`
	} `yaml:"appTemplate"`
}

// ClusterConfig is one cluster in .gen.yaml.
type ClusterConfig struct {
	// Name is what --cluster selects it by.
	Name string `yaml:"name"`
	// Roots are its root files or sync folder.
	Roots []string `yaml:"roots"`
	// AppsDir is its folder of namespace folders (found from the roots
	// when empty).
	AppsDir string `yaml:"appsDir"`
}

// ParseConfig decodes .gen.yaml strictly: a misspelt key is an error.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytesReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if err.Error() == "EOF" {
			return Config{}, nil
		}
		return Config{}, fmt.Errorf("%w (known keys: appsDir, roots, clusters, clusterSecrets, primaryDomain, domains, appTemplate)", err)
	}
	return c, nil
}
