package cli

import (
	"os"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/repo"
)

// Env is what commands take from the process: the environment, and the
// services built on it (SOPS keys, validation).
type Env struct {
	Getenv func(string) string
}

// ProcessEnv reads the real process environment.
func ProcessEnv() Env { return Env{Getenv: os.Getenv} }

// clusterSecretValues decrypts cluster-secrets when a key is available, so
// domains are known without --domain. Nil when it cannot.
func (e Env) clusterSecretValues(r *repo.Repo) map[string]string {
	return nil
}

// validate renders what the change touches the way Flux would.
func (e Env) validate(r *repo.Repo, cs *generator.Changeset) error {
	return nil
}

// sealer returns the SOPS encrypter for r.
func (e Env) sealer(r *repo.Repo) (generator.SecretSealer, error) {
	return nil, nil
}
