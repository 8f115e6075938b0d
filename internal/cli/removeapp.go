package cli

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/internal/repo"
)

type removeAppFlags struct {
	writeFlags
	Force bool
}

// removeAppOptions is what remove-app runs with.
type removeAppOptions struct {
	IO    IO
	Env   Env
	Write writeFlags
	App   apps.RemoveOptions
}

func newRemoveAppCmd(streams IO, env Env, runF func(context.Context, *removeAppOptions) error) *cobra.Command {
	f := &removeAppFlags{}
	cmd := &cobra.Command{
		Use:   "remove-app <namespace>/<app>",
		Short: "Remove an app: its folder, its line in the namespace kustomization, its tunnel rules",
		Long: `remove-app undoes add-app, as one changeset:

  the app's folder    every file under kubernetes/apps/<namespace>/<app>
                      (ks.yaml and app/), and the folders they leave empty
  its registration    the ./<app>/ks.yaml line of the namespace
                      kustomization.yaml; nothing else in that file changes
  its tunnel rules    every cloudflared ingress rule that sends traffic to a
                      Service of the app (in a plain config.yaml or the config
                      embedded in the tunnel's HelmRelease), with the comments
                      just above it; the catch-all stays last

The app is looked up in the repository, not guessed from its name. Its
namespace stays, even when the app was the last one there: the namespace may
hold more than gen knows of.

gen refuses, writing nothing, while another Flux Kustomization's dependsOn
names the app (it lists them: remove them first, or pass --force), and when
the app does not exist (it lists the apps of the namespace).

Once the change is pushed, Flux prunes the app's objects, and some of that
cannot be brought back by adding the app again: PersistentVolumeClaims go, and
with a Delete reclaim policy their data too; external-dns deletes the DNS
records of the app's routes and DNSEndpoints; a Chute's tunnel and Access
application go. The notes say which apply, and warn about every document
outside the app's folder whose values reach one of its Services by DNS name
(<svc>.<ns>.svc or <svc>.<ns>.svc.cluster.local).`,
		Example: `  # See what would go, and the notes on volumes and DNS records
  gen remove-app default/wiki --dry-run

  # Remove it and commit on a new branch
  gen remove-app default/wiki --commit --branch remove-wiki

  # Remove it although other Kustomizations depend on it
  gen remove-app default/wiki --force`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeApps(env, &f.repoFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, name, err := splitApp(args[0])
			if err != nil {
				return err
			}
			if err := f.check(); err != nil {
				return err
			}
			f.command = cmd.CommandPath()
			opts := &removeAppOptions{IO: streams, Env: env, Write: f.writeFlags,
				App: apps.RemoveOptions{Namespace: ns, Name: name, Force: f.Force}}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return removeAppRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	f.writeFlags.register(cmd)
	fl.BoolVar(&f.Force, "force", false, "remove the app although other Flux Kustomizations (or HelmReleases) depend on it")
	return cmd
}

func removeAppRun(ctx context.Context, o *removeAppOptions) error {
	r, err := o.Write.load(o.IO, o.Env)
	if err != nil {
		return err
	}
	cs, err := apps.Remove(r.Model(), o.App)
	if err != nil {
		return err
	}
	noteUnreadFiles(r, o.App, cs)
	return runChangeset(ctx, o.IO, o.Env, &o.Write, r, cs)
}

// splitApp parses <namespace>/<app>; a malformed argument is a usage
// error (exit 2).
func splitApp(arg string) (ns, name string, err error) {
	ns, name, ok := strings.Cut(arg, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", usageErrorf("%q: want <namespace>/<app>, e.g. default/whoami", arg)
	}
	return ns, name, nil
}

// noteUnreadFiles adds a note for every file in the app's folder on disk
// that the repository model does not hold (gen reads YAML files and what
// lies under kubernetes/, up to 4 MiB each): the changeset cannot delete
// them, so the folder stays with them in it.
func noteUnreadFiles(r *repo.Repo, o apps.RemoveOptions, cs *generator.Changeset) {
	app, ok := r.App(o.Namespace, o.Name)
	if !ok || r.Root == "" {
		return
	}
	root := filepath.Join(r.Root, filepath.FromSlash(app.Dir))
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(r.Root, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if _, held := r.Files[rel]; !held {
			cs.Note("%s stays: gen does not read it, so it is not part of the change; delete it by hand", rel)
		}
		return nil
	})
}
