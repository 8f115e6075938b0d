package cli

import (
	"fmt"
	"os"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/action"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/secrets"
	"github.com/gen-gitops/gen/internal/sops"
)

// Env is what commands take from the process: the environment, and the
// services built on it (SOPS keys, validation).
type Env struct {
	Getenv func(string) string
	// AfterWriteStep, when set, is called after each filesystem step of a
	// write (apply.Writer.AfterStep): tests stop gen there to show that a
	// run killed at any point leaves a tree the next run recovers. The gen
	// binary never sets it.
	AfterWriteStep func(step int)
}

// ProcessEnv reads the real process environment.
func ProcessEnv() Env { return Env{Getenv: os.Getenv} }

// action is the configuration the actions take from e.
func (e Env) action() *action.Configuration {
	return &action.Configuration{Getenv: e.Getenv, AfterWriteStep: e.AfterWriteStep}
}

// writer returns the journaled writer for root; command names the run in
// the lock.
func (e Env) writer(root, command string) *apply.Writer {
	return e.action().Writer(root, command)
}

// identities returns the age keys, or nil and the reason when none.
func (e Env) identities() (*sops.Identities, error) {
	return sops.LoadIdentities(e.Getenv)
}

// clusterSecretValues decrypts cluster-secrets when a key is available, so
// domains are known without --domain. Nil when it cannot.
func (e Env) clusterSecretValues(r *repo.Repo) map[string]string {
	if r.ClusterSecretsFile == "" {
		return nil
	}
	ids, err := e.identities()
	if err != nil {
		return nil
	}
	values, err := secrets.ClusterValues(r, ids)
	if err != nil {
		return nil
	}
	return values
}

// sealer returns the SOPS encrypter for r. Encryption needs only the
// recipients in .sops.yaml; a key, when present, lets a rerun recognise a
// secret it already wrote.
func (e Env) sealer(r *repo.Repo) (generator.SecretSealer, error) {
	ids, _ := e.identities()
	s, err := secrets.NewSealer(r, ids)
	if err != nil {
		return nil, fmt.Errorf("--secret: %w", err)
	}
	return s, nil
}
