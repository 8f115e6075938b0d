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
	// Roots are the files holding the root Flux Kustomizations.
	Roots []string `yaml:"roots"`
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

// ParseConfig decodes .gen.yaml strictly: a misspelt key is an error.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytesReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if err.Error() == "EOF" {
			return Config{}, nil
		}
		return Config{}, fmt.Errorf("%w (known keys: appsDir, roots, clusterSecrets, primaryDomain, domains, appTemplate)", err)
	}
	return c, nil
}
