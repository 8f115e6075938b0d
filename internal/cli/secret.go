package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/secret"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/secrets"
	"github.com/gen-gitops/gen/internal/sops"
)

// sopsStore is the generator.SecretStore of one repository: it encrypts by
// the repository's .sops.yaml and decrypts and edits with the age keys
// found the way the sops CLI finds them.
type sopsStore struct {
	cfg    *sops.Config // nil when the repository has no .sops.yaml
	cfgErr error
	sealer *secrets.Sealer
	ids    *sops.Identities
	idsErr error
}

func newSopsStore(r *repo.Repo, env Env) *sopsStore {
	s := &sopsStore{}
	s.ids, s.idsErr = env.identities()
	if data, ok := r.Files[".sops.yaml"]; ok {
		s.cfg, s.cfgErr = sops.ParseConfig(data)
		if s.cfgErr != nil {
			s.cfgErr = fmt.Errorf("reading \".sops.yaml\": %w", s.cfgErr)
		}
	}
	s.sealer, _ = secrets.NewSealer(r, s.ids)
	return s
}

// checkRule refuses a file that no creation rule of .sops.yaml covers: the
// sops CLI could not re-encrypt it, and the repository's rules are wrong.
func (s *sopsStore) checkRule(path string) error {
	if s.cfgErr != nil {
		return s.cfgErr
	}
	if s.cfg == nil {
		return nil
	}
	if _, err := s.cfg.RuleFor(path); err != nil {
		return fmt.Errorf(".sops.yaml: %w", err)
	}
	return nil
}

func (s *sopsStore) keys() (*sops.Identities, error) {
	if s.idsErr != nil {
		return nil, s.idsErr
	}
	return s.ids, nil
}

func (s *sopsStore) Seal(path string, plain []byte) ([]byte, error) {
	if s.cfgErr != nil {
		return nil, s.cfgErr
	}
	if s.sealer == nil {
		return nil, fmt.Errorf("writing a secret needs .sops.yaml at the repository root with a creation_rule whose path_regex matches %s; none was found", path)
	}
	return s.sealer.Seal(path, plain)
}

func (s *sopsStore) Values(path string, data []byte) (map[string]string, error) {
	if err := s.checkRule(path); err != nil {
		return nil, err
	}
	ids, err := s.keys()
	if err != nil {
		return nil, err
	}
	return secrets.Values(data, ids)
}

func (s *sopsStore) Edit(path string, data []byte, set map[string]string, remove []string) ([]byte, error) {
	if err := s.checkRule(path); err != nil {
		return nil, err
	}
	ids, err := s.keys()
	if err != nil {
		return nil, err
	}
	return sops.Edit(data, ids, set, remove)
}

func newSecretCmd(streams IO, env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Set and read values of SOPS-encrypted Secrets",
		Long: `secret writes and reads Kubernetes Secrets kept SOPS-encrypted in the
repository (*.sops.yaml), in process: no sops binary is needed.

A secret is named by its app, <namespace>/<app> (the app's one *.sops.yaml
under app/, or a new app/secret.sops.yaml), or by its path.`,
		Example: `  # The Cloudflare tunnel token, read from stdin so it stays out of shell history
  printf '%s' "$TOKEN" | gen secret set network/cloudflare-tunnel TUNNEL_TOKEN=-

  # Read one value back, for a script
  gen secret get network/cloudflare-tunnel TUNNEL_TOKEN`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSecretSetCmd(streams, env, nil), newSecretGetCmd(streams, env, nil))
	return cmd
}

type secretSetFlags struct {
	writeFlags
	Name string
}

// secretSetOptions is what secret set runs with.
type secretSetOptions struct {
	IO    IO
	Env   Env
	Write writeFlags
	// Target is <namespace>/<app> or a path as given; Name the --name.
	Target string
	Name   string
	Values []generator.KV
}

func newSecretSetCmd(streams IO, env Env, runF func(context.Context, *secretSetOptions) error) *cobra.Command {
	f := &secretSetFlags{}
	cmd := &cobra.Command{
		Use:   "set <namespace>/<app> | <file.sops.yaml> KEY=VALUE...",
		Short: "Create or update an encrypted Secret and list it in its kustomization",
		Long: `set writes KEY=VALUE pairs into a SOPS-encrypted Secret. An existing file
is edited in place: the values it does not touch keep their ciphertext, so
the diff shows only the keys that changed. A new file is encrypted by the
first creation rule of .sops.yaml that matches its path. Either way the file
is listed in the kustomization.yaml beside it.

VALUE may be @path (the file's content) or - (standard input), so that no
secret lands in shell history. Editing an existing file needs the age key
(SOPS_AGE_KEY, SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt); creating one
needs only the recipients in .sops.yaml.`,
		Example: `  # The Cloudflare tunnel token into cloudflare-tunnel-secret
  printf '%s' "$TOKEN" | gen secret set network/cloudflare-tunnel TUNNEL_TOKEN=-

  # A new secret for an app, from a file and a literal, previewed first
  gen secret set default/bot API_KEY=@api.key MODE=prod --dry-run

  # A file named by its path, committed
  gen secret set kubernetes/apps/default/bot/app/db.sops.yaml PASSWORD=- --commit`,
		Args:              cobra.MinimumNArgs(2),
		ValidArgsFunction: completeFirst(completeApps(env, &f.repoFlags)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			values, err := readSecretArgs(args[1:], streams.In)
			if err != nil {
				return err
			}
			f.command = cmd.CommandPath()
			opts := &secretSetOptions{IO: streams, Env: env, Write: f.writeFlags, Target: args[0], Name: f.Name, Values: values}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return secretSetRun(cmd.Context(), opts)
		},
	}
	f.writeFlags.register(cmd)
	cmd.Flags().StringVar(&f.Name, "name", "", "metadata.name of a new Secret (default <app>-secret), or which of an app's secrets to edit")
	return cmd
}

func secretSetRun(ctx context.Context, o *secretSetOptions) error {
	r, err := o.Write.load(o.IO, o.Env)
	if err != nil {
		return err
	}
	target, err := secretTarget(r, o.Target)
	if err != nil {
		return err
	}
	cs, err := secret.Set(r.Model(), secret.SetOptions{
		Target: target, Name: o.Name, Values: o.Values, Store: newSopsStore(r, o.Env),
	})
	if err != nil {
		return err
	}
	return runChangeset(ctx, o.IO, o.Env, &o.Write, r, cs)
}

// secretGetOptions is what secret get runs with.
type secretGetOptions struct {
	IO   IO
	Env  Env
	Repo repoFlags
	// Target is <namespace>/<app> or a path as given, Key the value's key,
	// Name the --name.
	Target string
	Key    string
	Name   string
}

func newSecretGetCmd(streams IO, env Env, runF func(*secretGetOptions) error) *cobra.Command {
	f := &repoFlags{}
	var name string
	cmd := &cobra.Command{
		Use:   "get <namespace>/<app> | <file.sops.yaml> KEY",
		Short: "Print one decrypted value of an encrypted Secret",
		Long: `get decrypts a Secret and prints the value of one key to standard output,
exactly as stored (no newline is added), for use in scripts. It needs the
age key (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt).`,
		Example: `  gen secret get network/cloudflare-tunnel TUNNEL_TOKEN
  TOKEN=$(gen secret get kubernetes/apps/default/bot/app/secret.sops.yaml TOKEN)`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeFirst(completeApps(env, f)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := &secretGetOptions{IO: streams, Env: env, Repo: *f, Target: args[0], Key: args[1], Name: name}
			if runF != nil {
				return runF(opts)
			}
			return secretGetRun(opts)
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().StringVar(&name, "name", "", "which of an app's secrets to read, by metadata.name")
	return cmd
}

func secretGetRun(o *secretGetOptions) error {
	r, err := o.Repo.load(o.Env)
	if err != nil {
		return err
	}
	target, err := secretTarget(r, o.Target)
	if err != nil {
		return err
	}
	sf, err := secret.Resolve(r.Model(), target, o.Name)
	if err != nil {
		return err
	}
	if !sf.Exists {
		return fmt.Errorf("no secret file %s; write one with 'gen secret set %s %s=...'", sf.Path, o.Target, o.Key)
	}
	// Reading needs the key only, not a creation rule.
	ids, err := o.Env.identities()
	if err != nil {
		return fmt.Errorf("decrypting %q: %w", sf.Path, err)
	}
	values, err := secrets.Values(r.Files[sf.Path], ids)
	if err != nil {
		return fmt.Errorf("decrypting %q: %w", sf.Path, err)
	}
	v, ok := values[o.Key]
	if !ok {
		return fmt.Errorf("%s has no key %s (keys: %s)", sf.Path, o.Key, strings.Join(slices.Sorted(maps.Keys(values)), ", "))
	}
	_, err = io.WriteString(o.IO.Out, v)
	return err
}

// secretTarget turns a path argument into a repository path: a path that
// is in the repository as given, else one relative to the current folder.
// <namespace>/<app> is passed through.
func secretTarget(r *repo.Repo, arg string) (string, error) {
	if !secret.IsPath(arg) && !filepath.IsAbs(arg) {
		return arg, nil
	}
	if !filepath.IsAbs(arg) {
		if _, ok := r.Files[filepath.ToSlash(filepath.Clean(arg))]; ok {
			return filepath.ToSlash(filepath.Clean(arg)), nil
		}
	}
	abs, err := filepath.Abs(arg)
	if err != nil {
		return "", err
	}
	if resolved, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(resolved, filepath.Base(abs))
	}
	root := r.Root
	if resolved, err := filepath.EvalSymlinks(root); err == nil {
		root = resolved
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", usageErrorf("%s is outside the repository %s", arg, r.Root)
	}
	return filepath.ToSlash(rel), nil
}

// readSecretArgs parses KEY=VALUE, KEY=@file and KEY=- (stdin, once).
func readSecretArgs(args []string, stdin io.Reader) ([]generator.KV, error) {
	var out []generator.KV
	stdinUsed := false
	for _, a := range args {
		kv, err := generator.ParseKV(a)
		if err != nil {
			return nil, usageErrorf("%q is not KEY=VALUE, KEY=@file or KEY=-", secretKeyOnly(a))
		}
		switch {
		case kv.Value == "-":
			if stdinUsed {
				return nil, usageErrorf("%s=-: only one value can come from stdin", kv.Key)
			}
			stdinUsed = true
			data, err := readCapped(stdin, maxValueSize)
			if err != nil {
				return nil, usageErrorf("reading %s from stdin: %v", kv.Key, err)
			}
			kv.Value = strings.TrimRight(string(data), "\r\n")
		case strings.HasPrefix(kv.Value, "@"):
			file := strings.TrimPrefix(kv.Value, "@")
			data, err := readFileCapped(file, maxValueSize)
			if err != nil {
				var pe *os.PathError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return nil, usageErrorf("%s=@%s: reading the file: %v", kv.Key, strings.TrimPrefix(kv.Value, "@"), err)
			}
			kv.Value = string(data)
		}
		out = append(out, kv)
	}
	if err := secret.ValidateKeys(out); err != nil {
		return nil, &UsageError{Err: err}
	}
	return out, nil
}
