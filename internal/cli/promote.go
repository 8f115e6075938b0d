package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/promote"
	"github.com/gen-gitops/gen/generator/scratch"
	"github.com/gen-gitops/gen/internal/live"
	"github.com/gen-gitops/gen/internal/secrets"
)

// promoteModes is the --mode flag's enum.
var promoteModes = newEnum(promote.ModeHelm, promote.ModeRaw)

type promoteFlags struct {
	writeFlags
	kubeFlags
	File     string
	Selector string
	Mode     promote.Mode
	To       string
	Name     string
	Expose   generator.Expose
	Strict   bool
	// AllowEmails, AllowDomains and ChuteConfig are --expose access's.
	AllowEmails  []string
	AllowDomains []string
	ChuteConfig  string
}

// promoteOptions is what promote runs with: promote's options as the
// flags give them, where to read the objects from, and the write flags.
type promoteOptions struct {
	IO      IO
	Env     Env
	Write   writeFlags
	Kube    kubeFlags
	Promote promote.Options
	Strict  bool
}

func newPromoteCmd(streams IO, env Env, runF func(context.Context, *promoteOptions) error) *cobra.Command {
	f := &promoteFlags{}
	cmd := &cobra.Command{
		Use:   "promote [<namespace>/]<app>",
		Short: "Turn a scratch app into a Flux app of the repository",
		Long: `promote reads a scratch app from the cluster (or, with -f, from a manifest:
the file you applied, or what 'kubectl get -o yaml' printed) and writes a
Flux app that runs the same thing. It collects the objects labelled
scratch.app=<app> (or --selector) plus the ConfigMaps, Secrets and PVCs
their pods reference, and cleans them of what the server added.

--mode helm (default) turns the Deployment into an app-template HelmRelease
whose values reproduce the pod (image, command, args, env, envFrom, ports,
resources, probes, security contexts, volumes and mounts, replicas,
strategy), the Service into service: values and the HTTPRoute into route:
values. Whatever app-template cannot express stays a manifest beside it and
is listed. --mode raw writes the cleaned manifests.

Literal hostnames become the repository's ${SECRET_DOMAIN*} variables; a
DNSEndpoint is kept only for secondary domains; Secrets are written
encrypted by .sops.yaml and never printed. The change goes through the same
validation, --dry-run diff, all-or-nothing write and --commit as add-app.
Afterwards gen prints the command that deletes the scratch objects, which
must run before Flux applies the new app.

--expose chooses how the hostnames of the scratch HTTPRoutes reach the
promoted app, as add-app's flag does:
  gateway  (default) the routes carry over
  tunnel   a cloudflared ingress rule per hostname, straight to the Service
           the route names (under its new name) on the route's port, and
           the tunnel's DNSEndpoint; the route and the scratch DNS records
           are not written
  access   a Chute for the route's single hostname, with --allow-email,
           --allow-domain and --chute-config as in add-app
A route with several backends, a backend that is not a Service of the app,
filters, or rules that serve only some paths cannot become a tunnel rule or
a Chute: use --expose gateway. A scratch app that already has a Chute (see
'gen scratch new --expose access') keeps it: the Chute is written as
chute.yaml, its hostname a variable, its Service renamed with the app, and
ks.yaml waits for the Kustomization that declares its ChuteConfig.

With CLOUDFLARE_API_TOKEN set, the hostnames whose records external-dns
will publish are checked with Cloudflare first (see 'gen preflight'): a
record external-dns does not own is a warning, or with --strict an error
and nothing is written. The records of a live scratch app are owned by
external-dns, so they pass. A Chute's name is published by its operator
and is not checked.`,
		Example: `  # from the cluster, as an app-template HelmRelease in namespace default
  gen promote hello --dry-run

  # from what kubectl printed, as plain manifests, renamed, into namespace tools
  kubectl get -n scratch deploy,svc,httproute,dnsendpoint -l scratch.app=paste -o yaml > paste.yaml
  gen promote paste -f paste.yaml --mode raw --to tools --name pastebin --commit

  # straight from the Cloudflare tunnel to the Service, no gateway; refuse
  # to write if Cloudflare holds a record external-dns would not replace
  CLOUDFLARE_API_TOKEN=... gen promote wiki --expose tunnel --strict

  # behind Cloudflare Access, through the chute operator
  gen promote notes --expose access --allow-email me@example.org --allow-domain family.example.org`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(args[0])
			if err != nil {
				return err
			}
			if err := f.check(); err != nil {
				return err
			}
			f.command = cmd.CommandPath()
			o := &promoteOptions{IO: streams, Env: env, Write: f.writeFlags, Kube: f.kubeFlags, Promote: opts, Strict: f.Strict}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return promoteRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	f.writeFlags.register(cmd)
	f.kubeFlags.register(fl)
	fl.StringVarP(&f.File, "file", "f", "", "read the objects from this manifest (- for stdin) instead of the cluster")
	fl.StringVarP(&f.Selector, "selector", "l", "", "label selector of the app's objects (default scratch.app=<app>)")
	enumVar(cmd, &f.Mode, "mode", promote.ModeHelm, promoteModes, "helm (app-template HelmRelease) or raw (plain manifests)")
	fl.StringVar(&f.To, "to", "default", "namespace of the Flux app in the repository")
	fl.StringVar(&f.Name, "name", "", "name of the Flux app (default: the scratch app's)")
	enumVar(cmd, &f.Expose, "expose", generator.ExposeGateway, exposes, "how the routes' hostnames reach the app: gateway (the HTTPRoutes carry over), tunnel (cloudflared ingress rules to the Services) or access (a Chute: tunnel + Cloudflare Access)")
	fl.StringArrayVar(&f.AllowEmails, "allow-email", nil, "with --expose access: an email address the Access login admits (repeatable)")
	fl.StringArrayVar(&f.AllowDomains, "allow-domain", nil, "with --expose access: an email domain whose every address is admitted (repeatable)")
	fl.StringVar(&f.ChuteConfig, "chute-config", "", "with --expose access: the ChuteConfig to use (default: the repository's only one)")
	fl.BoolVar(&f.Strict, "strict", false, "fail, writing nothing, when the Cloudflare pre-flight finds a conflicting DNS record or cannot run (needs CLOUDFLARE_API_TOKEN)")
	return cmd
}

// promoteRun checks the options, reads the objects, and writes the app.
func promoteRun(ctx context.Context, o *promoteOptions) error {
	opts := o.Promote
	// The options are checked before the cluster is asked: promote.Generate
	// checks them again, but only once the objects are read.
	check := opts
	check.Default()
	if err := check.Validate(); err != nil {
		return &UsageError{Err: err}
	}
	r, err := o.Write.load(o.IO, o.Env)
	if err != nil {
		return err
	}
	objs, notes, err := readPromoted(ctx, o.Env, o.IO.In, o.Kube, opts)
	if err != nil {
		return err
	}
	opts.Objects = objs
	ids, _ := o.Env.identities()
	if s, err := secrets.NewSealer(r, ids); err == nil {
		opts.Sealer = s
	}
	pr, err := promote.Generate(r.Model(), opts)
	if err != nil {
		return err
	}
	if err := preflightHosts(ctx, o.IO, o.Env, r, pr.Hosts, o.Strict); err != nil {
		return err
	}
	cs := pr.Changeset
	cs.Notes = append(notes, cs.Notes...)
	for _, k := range pr.KeptRaw {
		cs.Note("kept as a manifest: %s", k)
	}
	if o.Write.Output == outputJSON {
		cs.Note("before Flux applies it, delete the scratch objects: %s (%s)", pr.Teardown, strings.Join(pr.Reasons, "; "))
	}
	if err := runChangeset(ctx, o.IO, o.Env, &o.Write, r, cs); err != nil {
		return err
	}
	if o.Write.Output != outputJSON {
		printHandoff(o.IO, opts, pr, o.Write.DryRun)
	}
	return nil
}

// options turns the argument and flags into promote options; errors are
// usage errors. promoteRun checks the options themselves.
func (f *promoteFlags) options(arg string) (promote.Options, error) {
	ns, app := scratch.DefaultNamespace, arg
	if a, b, ok := strings.Cut(arg, "/"); ok {
		ns, app = a, b
	}
	if ns == "" || app == "" || strings.Contains(app, "/") {
		return promote.Options{}, usageErrorf("%q: want <app> or <namespace>/<app>, e.g. scratch/hello", arg)
	}
	opts := promote.Options{
		SourceNamespace: ns, App: app, Selector: f.Selector, Mode: f.Mode,
		Namespace: f.To, Name: f.Name, FromFile: f.File, Expose: f.Expose,
		Access: access.Options{Emails: f.AllowEmails, EmailDomains: f.AllowDomains, Config: f.ChuteConfig},
	}
	if f.File != "" && (f.Kubeconfig != "" || f.Context != "") {
		return opts, usageErrorf("-f reads a manifest, --kubeconfig and --context a cluster: pick one")
	}
	return opts, nil
}

// readPromoted gets the app's objects from the manifest (opts.FromFile)
// or the cluster.
func readPromoted(ctx context.Context, env Env, in io.Reader, kube kubeFlags, opts promote.Options) ([]*unstructured.Unstructured, []string, error) {
	if file := opts.FromFile; file != "" {
		var data []byte
		var err error
		if file == "-" {
			data, err = readCapped(in, maxManifestSize)
		} else {
			data, err = readFileCapped(file, maxManifestSize)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading -f %q: %w", file, err)
		}
		objs, err := live.ReadManifest(file, data)
		return objs, nil, err
	}
	c, err := kube.connect(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	if err := c.CheckNamespace(ctx, opts.SourceNamespace); err != nil {
		return nil, nil, err
	}
	selector := opts.Selector
	if selector == "" {
		selector = scratch.SelectorFor(opts.App)
	}
	sel, err := c.ListSelected(ctx, opts.SourceNamespace, selector)
	if err != nil {
		return nil, nil, err
	}
	objs := sel.Objects
	have := map[string]bool{}
	for _, o := range objs {
		have[o.GetKind()+"/"+o.GetName()] = true
	}
	for _, ref := range promote.References(objs) {
		if have[ref.Kind+"/"+ref.Name] {
			continue
		}
		o, err := c.Get(ctx, ref.GroupKind(), opts.SourceNamespace, ref.Name)
		if err != nil {
			return nil, nil, err
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs, sel.Notes, nil
}

// printHandoff tells the user what to do once the files are written.
func printHandoff(streams IO, opts promote.Options, pr *promote.Promotion, dryRun bool) {
	when := "Before Flux applies it"
	if dryRun {
		when = "Once written, and before Flux applies it"
	}
	fmt.Fprintf(streams.ErrOut, "\n%s, delete the scratch app:\n  %s\n", when, pr.Teardown)
	if opts.Selector == "" || opts.Selector == scratch.SelectorFor(opts.App) {
		fmt.Fprintf(streams.ErrOut, "  (or: gen scratch rm %s -n %s)\n", opts.App, opts.SourceNamespace)
	}
	fmt.Fprintln(streams.ErrOut, "because:")
	for _, r := range pr.Reasons {
		fmt.Fprintf(streams.ErrOut, "  - %s\n", r)
	}
}
