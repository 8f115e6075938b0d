package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/scratch"
	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/live"
	"github.com/gen-gitops/gen/internal/repo"
)

// kubeFlags choose the cluster, as kubectl's flags of the same names do.
type kubeFlags struct {
	Kubeconfig string
	Context    string
}

func (f *kubeFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	fs.StringVar(&f.Context, "context", "", "kubeconfig context (default: the current context)")
}

func (f *kubeFlags) connect(ctx context.Context, env Env) (*live.Client, error) {
	return live.Connect(ctx, live.Options{Kubeconfig: f.Kubeconfig, Context: f.Context, Getenv: env.Getenv})
}

func newScratchCmd(streams IO, env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scratch",
		Short: "Run quick experiments outside Flux: new, ls, rm",
		Long: `Scratch apps are experiments kubectl applies straight into the scratch
namespace, outside Flux: a Deployment, a Service, an HTTPRoute on the
external gateway and, for a domain the gateway does not publish, a
DNSEndpoint. Every object carries the label scratch.app=<app>, which is how
they are listed, removed, and promoted into the repository with
'gen promote'.`,
		Example: `  gen scratch new hello --image ghcr.io/traefik/whoami:v1.11.0 --host hello.example.com | kubectl apply --server-side -f -
  gen scratch ls --audit
  gen scratch rm hello`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newScratchNewCmd(streams, env, nil), newScratchLsCmd(streams, env, nil), newScratchRmCmd(streams, env, nil))
	return cmd
}

type scratchNewFlags struct {
	repoFlags
	Image         string
	Port          optionalInt
	Hosts         []string
	AllowWildcard bool
	Gateway       string
	Namespace     string
	Out           string
	Expose        generator.Expose
	AllowEmails   []string
	AllowDomains  []string
	ChuteConfig   string
	Strict        bool
}

// scratchNewOptions is what scratch new runs with: the generator's
// options as the flags give them (scratch.Generate completes and
// validates them).
type scratchNewOptions struct {
	IO      IO
	Env     Env
	Repo    repoFlags
	Scratch scratch.Options
	// Out is the file to write, "" or "-" for stdout.
	Out    string
	Strict bool
}

func newScratchNewCmd(streams IO, env Env, runF func(context.Context, *scratchNewOptions) error) *cobra.Command {
	f := &scratchNewFlags{}
	cmd := &cobra.Command{
		Use:   "new <app>",
		Short: "Print the manifest of a scratch app, ready for kubectl apply",
		Long: `new writes the scratch pattern's manifest for one app: the scratch
Namespace (Flux's prune disabled), a Deployment, a Service, an HTTPRoute
to envoy-external (network, https) for each --host and, for hostnames on a
domain the gateway does not publish, a DNSEndpoint to external.<domain>.
Hostnames are literal: kubectl applies the file, nothing substitutes
variables. Inside a repository its domains and gateways are used, so
--host hello means hello on the primary domain.

--expose access puts the experiment behind Cloudflare Access instead: a
Chute (the chute operator's resource, labelled like the rest) for the one
--host replaces the HTTPRoute and the DNSEndpoint, admitting --allow-email
addresses and --allow-domain domains, with the repository's ChuteConfig or
--chute-config. 'gen promote' carries the Chute over. --expose tunnel is
refused: tunnel rules live in the repository's cloudflared config, which
only Flux applies; promote the app with 'gen promote <app> --expose tunnel'.

With CLOUDFLARE_API_TOKEN set, the hostnames the route publishes are
checked with Cloudflare first (see 'gen preflight'): a record external-dns
does not own is a warning, or with --strict an error, and nothing is
printed or written.`,
		Example: `  gen scratch new hello --image ghcr.io/traefik/whoami:v1.11.0 --host hello | kubectl apply --server-side -f -
  gen scratch new paste --image ghcr.io/example/paste:2.1 --port 8080 --host paste.example.org -o paste.yaml

  # behind Cloudflare Access: only these people get through
  gen scratch new notes --image ghcr.io/example/notes:1.4 --port 8080 --host notes \
    --expose access --allow-email me@example.org --allow-domain family.example.org

  # refuse a hostname whose DNS record external-dns would not replace
  CLOUDFLARE_API_TOKEN=... gen scratch new hello --image ghcr.io/traefik/whoami:v1.11.0 --host hello --strict`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPortFlag(f.Port); err != nil {
				return err
			}
			opts := &scratchNewOptions{IO: streams, Env: env, Repo: f.repoFlags, Out: f.Out, Strict: f.Strict,
				Scratch: scratch.Options{
					Name: args[0], Image: f.Image, Port: f.Port.v, Hosts: f.Hosts, AllowWildcard: f.AllowWildcard, Gateway: f.Gateway, Namespace: f.Namespace,
					Expose: f.Expose,
					Access: access.Options{Emails: f.AllowEmails, EmailDomains: f.AllowDomains, Config: f.ChuteConfig},
				}}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return scratchNewRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	f.repoFlags.register(fl)
	fl.StringVar(&f.Image, "image", "", "container image, e.g. ghcr.io/org/app:1.2.3")
	fl.Var(&f.Port, "port", "container and service port (default 80)")
	fl.StringArrayVar(&f.Hosts, "host", nil, "hostname to route (repeatable); inside a repository a bare name is on the primary domain")
	fl.BoolVar(&f.AllowWildcard, "allow-wildcard", false, "let a --host be a wildcard (*.example.org), which sends every name under the domain to this app")
	enumVar(cmd, &f.Gateway, "gateway", "external", gateways, "gateway the route attaches to: external or internal")
	fl.StringVarP(&f.Namespace, "namespace", "n", scratch.DefaultNamespace, "namespace of scratch apps")
	fl.StringVarP(&f.Out, "out", "o", "", "write the manifest to this file instead of stdout")
	// tunnel parses, so that scratch.Generate can say where it belongs.
	enumVar(cmd, &f.Expose, "expose", generator.ExposeGateway, exposes, "how --host reaches the app: gateway (HTTPRoute) or access (a Chute: tunnel + Cloudflare Access); tunnel is for 'gen promote'")
	fl.StringArrayVar(&f.AllowEmails, "allow-email", nil, "with --expose access: an email address the Access login admits (repeatable)")
	fl.StringArrayVar(&f.AllowDomains, "allow-domain", nil, "with --expose access: an email domain whose every address is admitted (repeatable)")
	fl.StringVar(&f.ChuteConfig, "chute-config", "", "with --expose access: the ChuteConfig to use (default: the repository's only one)")
	fl.BoolVar(&f.Strict, "strict", false, "fail, printing nothing, when the Cloudflare pre-flight finds a conflicting DNS record or cannot run (needs CLOUDFLARE_API_TOKEN)")
	return cmd
}

// scratchNewRun reads the repository when there is one, and prints or
// writes the manifest.
func scratchNewRun(ctx context.Context, o *scratchNewOptions) error {
	r, err := o.Repo.loadOptional(o.Env)
	if err != nil {
		return err
	}
	m, err := scratch.Generate(r.Model(), o.Scratch)
	if err != nil {
		return err
	}
	if err := preflightHosts(ctx, o.IO, o.Env, r, m.Published, o.Strict); err != nil {
		return err
	}
	for _, n := range m.Notes {
		fmt.Fprintf(o.IO.ErrOut, "note: %s\n", n)
	}
	if o.Out == "" || o.Out == "-" {
		_, err := o.IO.Out.Write(m.YAML)
		return err
	}
	if err := os.WriteFile(o.Out, m.YAML, 0o644); err != nil {
		return fmt.Errorf("writing %q: %w", o.Out, err)
	}
	fmt.Fprintf(o.IO.ErrOut, "wrote %s; apply it with: kubectl apply --server-side -f %s\n", o.Out, o.Out)
	return nil
}

// loadOptional loads the repository when there is one: an explicit --repo
// must load; the enclosing folder may simply not be a Flux repository.
func (f *repoFlags) loadOptional(env Env) (*repo.Repo, error) {
	r, err := f.load(env)
	if err == nil {
		return r, nil
	}
	var usage *UsageError
	var interrupted *apply.InterruptedError
	if f.Repo != "" || errors.As(err, &usage) || errors.As(err, &interrupted) || errors.Is(err, apply.ErrLocked) {
		return nil, err
	}
	if len(f.Domains) > 0 {
		return nil, fmt.Errorf("--domain needs a repository: %w", err)
	}
	return nil, nil
}

// scratchLsFlags are scratch ls's flags, and what it runs with.
type scratchLsFlags struct {
	kubeFlags
	Namespace     string
	AllNamespaces bool
	Audit         bool
	Output        outputFormat
}

func newScratchLsCmd(streams IO, env Env, runF func(*scratchLsFlags) error) *cobra.Command {
	f := &scratchLsFlags{}
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List scratch apps with their images, hostnames and age",
		Long: `ls lists the scratch apps of a cluster, found by their scratch.app label:
image, hostnames and age. --audit adds every HTTPRoute and DNSEndpoint of
the cluster that no Flux object manages (no kustomize.toolkit.fluxcd.io/*
or helm.toolkit.fluxcd.io/* labels): the routes and DNS records people
forget.`,
		Example: `  gen scratch ls
  gen scratch ls --audit --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(f)
			}
			ctx := cmd.Context()
			c, err := f.connect(ctx, env)
			if err != nil {
				return err
			}
			ns := f.Namespace
			if f.AllNamespaces {
				ns = ""
			}
			apps, notes, err := c.ScratchApps(ctx, ns)
			if err != nil {
				return err
			}
			var unmanaged []live.Unmanaged
			if f.Audit {
				var more []string
				unmanaged, more, err = c.Audit(ctx)
				if err != nil {
					return err
				}
				notes = append(notes, more...)
			}
			return printScratchLs(streams, f, apps, unmanaged, notes, time.Now())
		},
	}
	fl := cmd.Flags()
	f.kubeFlags.register(fl)
	fl.StringVarP(&f.Namespace, "namespace", "n", scratch.DefaultNamespace, "namespace of scratch apps")
	fl.BoolVarP(&f.AllNamespaces, "all-namespaces", "A", false, "list scratch apps of every namespace")
	fl.BoolVar(&f.Audit, "audit", false, "also list every HTTPRoute and DNSEndpoint no Flux object manages")
	enumVar(cmd, &f.Output, "output", outputText, outputs, "what to print: text or json")
	return cmd
}

func printScratchLs(streams IO, f *scratchLsFlags, apps []live.ScratchApp, unmanaged []live.Unmanaged, notes []string, now time.Time) error {
	if f.Output == outputJSON {
		out := map[string]any{"apps": apps}
		if f.Audit {
			if unmanaged == nil {
				unmanaged = []live.Unmanaged{}
			}
			out["unmanaged"] = unmanaged
		}
		if len(notes) > 0 {
			out["notes"] = notes
		}
		return writeJSON(streams, out)
	}
	for _, n := range notes {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", n)
	}
	if len(apps) == 0 {
		where := "namespace " + f.Namespace
		if f.AllNamespaces {
			where = "any namespace"
		}
		fmt.Fprintf(streams.ErrOut, "no scratch apps in %s\n", where)
	} else {
		tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMESPACE\tAPP\tIMAGE\tHOSTS\tAGE")
		for _, a := range apps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Namespace, a.Name, orNone(a.Images), orNone(a.Hosts), sinceCreated(a.Created, now))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if !f.Audit {
		return nil
	}
	if len(unmanaged) == 0 {
		fmt.Fprintln(streams.ErrOut, "audit: every HTTPRoute and DNSEndpoint is managed by Flux")
		return nil
	}
	fmt.Fprintf(streams.Out, "\nnot managed by Flux (%d):\n", len(unmanaged))
	tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tKIND\tNAME\tHOSTS\tSCRATCH APP")
	for _, u := range unmanaged {
		app := u.ScratchApp
		if app == "" {
			app = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Namespace, u.Kind, u.Name, orNone(u.Hosts), app)
	}
	return tw.Flush()
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "-"
	}
	return strings.Join(list, ",")
}

// sinceCreated is an object's age as kubectl's AGE column prints it
// (45s, 7m30s, 5h, 3d4h), "-" when unknown.
func sinceCreated(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
}

// scratchRmFlags are scratch rm's flags; with the app, what it runs with.
type scratchRmFlags struct {
	kubeFlags
	Namespace string
	Yes       bool
}

func newScratchRmCmd(streams IO, env Env, runF func(f *scratchRmFlags, app string) error) *cobra.Command {
	f := &scratchRmFlags{}
	cmd := &cobra.Command{
		Use:   "rm <app>",
		Short: "Delete a scratch app's objects, after showing them",
		Long: `rm deletes what 'kubectl delete -n scratch all,httproute,dnsendpoint -l
scratch.app=<app>' deletes: the app's workloads, Services, HTTPRoutes and
DNSEndpoints (their Pods and ReplicaSets go with them), and its Chutes
('scratch new --expose access'). It lists them first and asks; --yes skips
the question, for scripts. ConfigMaps, Secrets and PersistentVolumeClaims
with the label are listed and kept.`,
		Example: `  gen scratch rm hello
  gen scratch rm hello --yes`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			app := args[0]
			if runF != nil {
				return runF(f, app)
			}
			// Checked before the cluster is asked: the name makes a label
			// selector.
			o := scratch.Options{Name: app, Image: "x", Namespace: f.Namespace}
			o.Default()
			if err := o.Validate(); err != nil {
				return &UsageError{Err: err}
			}
			ctx := cmd.Context()
			c, err := f.connect(ctx, env)
			if err != nil {
				return err
			}
			if err := c.CheckNamespace(ctx, f.Namespace); err != nil {
				return err
			}
			del, kept, err := c.ScratchObjects(ctx, f.Namespace, app)
			if err != nil {
				return err
			}
			if len(del) == 0 {
				return fmt.Errorf("no scratch app %q in namespace %s: nothing has the label %s", app, f.Namespace, scratch.SelectorFor(app))
			}
			fmt.Fprintf(streams.ErrOut, "scratch app %s in namespace %s:\n", app, f.Namespace)
			for _, o := range del {
				fmt.Fprintf(streams.ErrOut, "  delete %s/%s\n", o.GetKind(), o.GetName())
			}
			for _, o := range kept {
				fmt.Fprintf(streams.ErrOut, "  keep   %s/%s (not in kubectl's \"all\"; delete it yourself if it is no longer needed)\n", o.GetKind(), o.GetName())
			}
			if !f.Yes {
				fmt.Fprintf(streams.ErrOut, "delete %d %s? [y/N] ", len(del), plural(len(del), "object", "objects"))
				line, err := bufio.NewReader(streams.In).ReadString('\n')
				answer := strings.ToLower(strings.TrimSpace(line))
				if answer != "y" && answer != "yes" {
					if err != nil {
						fmt.Fprintln(streams.ErrOut)
						return fmt.Errorf("not confirmed (no answer on stdin); pass --yes to delete without asking")
					}
					return fmt.Errorf("not confirmed; nothing was deleted")
				}
			}
			if err := c.Delete(ctx, del); err != nil {
				return err
			}
			for _, o := range del {
				fmt.Fprintf(streams.Out, "deleted %s/%s\n", o.GetKind(), o.GetName())
			}
			return nil
		},
	}
	fl := cmd.Flags()
	f.kubeFlags.register(fl)
	fl.StringVarP(&f.Namespace, "namespace", "n", scratch.DefaultNamespace, "namespace of scratch apps")
	fl.BoolVarP(&f.Yes, "yes", "y", false, "delete without asking")
	return cmd
}
