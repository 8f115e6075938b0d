package cli

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/apps"
)

type addAppFlags struct {
	writeFlags
	Raw           bool
	Image         string
	Port          optionalInt
	Env           []string
	Replicas      optionalInt
	CPU           string
	Memory        string
	Probe         string
	Persist       []string
	Chart         string
	ChartVersion  string
	Values        string
	Hosts         []string
	AllowWildcard bool
	Gateway       string
	DependsOn     []string
	Secrets       []string
	Force         bool
	ImagePolicy   string
	ImageExtract  string
	Expose        generator.Expose
	Strict        bool
	AllowEmails   []string
	AllowDomains  []string
	ChuteConfig   string

	// ImageAutomation is --image-automation: false leaves the
	// ImageUpdateAutomation to the user.
	ImageAutomation bool
}

// The enums of the flags several commands share.
var (
	exposes  = newEnum(generator.Exposes()...)
	gateways = newEnum("external", "internal")
)

// addAppOptions is what add-app runs with: the generator's options, as
// the flags give them (apps.Add completes and validates them), and the
// write flags.
type addAppOptions struct {
	IO     IO
	Env    Env
	Write  writeFlags
	App    apps.AddOptions
	Strict bool
}

func newAddAppCmd(streams IO, env Env, runF func(context.Context, *addAppOptions) error) *cobra.Command {
	f := &addAppFlags{}
	cmd := &cobra.Command{
		Use:   "add-app <namespace>/<app>",
		Short: "Scaffold a complete Flux app: ks.yaml, app/, route, DNS, secrets, registration",
		Long: `add-app writes a complete Flux app into kubernetes/apps/<namespace>/<app>:
the Flux Kustomization (ks.yaml) with the dependsOn the app's resources
need, app/kustomization.yaml, the workload, an HTTPRoute (app-template
route: values in Helm mode) for each --host, a DNSEndpoint when a hostname
is on a secondary domain, an encrypted secret.sops.yaml for --secret, and
the line in the namespace kustomization without which Flux never deploys
the app. A new namespace gets its namespace.yaml and kustomization.

Modes:
  --image              app-template HelmRelease (OCIRepository + chartRef)
  --chart oci://...    any chart from an OCI registry (OCIRepository)
  --chart https://r#c  any chart from a Helm repository (HelmRepository)
  --raw --image        plain Deployment and Service manifests

Hostnames: --host name puts name on the primary domain (${SECRET_DOMAIN});
a full hostname is mapped to the variable of the onboarded domain it ends
with. Without the age key gen cannot read which domain each variable
holds: pass --domain SECRET_DOMAIN=example.com or set SOPS_AGE_KEY_FILE.

Image automation: --image-policy adds an ImageRepository and an
ImagePolicy, marks the tag, and writes an ImageUpdateAutomation for the
app's folder unless one in the app's namespace already covers it. It reuses
the GitRepository and author of the repository's other automations, or else
pushes through the GitRepository the cluster syncs from, whose credentials
then need write access. --image-automation=false leaves it out.

The change is validated by building it the way Flux does before anything
is written. Running the same command twice changes nothing.`,
		Example: `  # Preview an app-template app on the primary domain
  gen add-app default/whoami --image ghcr.io/traefik/whoami:v1.11.0 --port 80 --host whoami --dry-run

  # A raw Deployment on a secondary domain, committed on a new branch
  gen add-app tools/pastebin --raw --image ghcr.io/example/paste:2.1 --port 8080 \
    --host paste.example.org --commit --branch add-pastebin

  # Any Helm chart, with values and a secret read from stdin
  printf '%s' "$TOKEN" | gen add-app monitoring/grafana --chart oci://ghcr.io/grafana/helm-charts/grafana \
    --chart-version 8.5.0 --values grafana-values.yaml --secret GF_SECURITY_ADMIN_PASSWORD=-

  # In CI: commit on a new branch, push it (token from GITHUB_TOKEN), and write
  # the pull request's body
  gen add-app default/whoami --image ghcr.io/traefik/whoami:v1.11.0 --host whoami \
    --commit --branch add-whoami --push --pr-body "$RUNNER_TEMP/pr.md"

  # Straight from the Cloudflare tunnel to the Service, no gateway
  gen add-app default/wiki --image ghcr.io/example/wiki:2.5 --port 3000 --host wiki --expose tunnel

  # Behind Cloudflare Access (email one-time PINs), through the chute operator
  gen add-app default/notes --image ghcr.io/example/notes:1.4 --port 8080 --host notes \
    --expose access --allow-email me@example.org --allow-domain family.example.org

  # Follow new releases: Flux's image automation rewrites the marked tag
  gen add-app default/whoami --image ghcr.io/traefik/whoami:v1.11.0 --image-policy 'semver:>=1.11.0'
  gen add-app default/site --image ghcr.io/me/site:main-abc1234-1718000000 \
    --image-policy 'regex:^main-[a-f0-9]+-(?P<ts>[0-9]+)$' --image-policy-extract '$ts'

  # The same, for a repository that keeps its own ImageUpdateAutomation
  gen add-app default/whoami --image ghcr.io/traefik/whoami:v1.11.0 --image-policy 'semver:>=1.11.0' \
    --image-automation=false

  # Persistent storage, probes and resources
  gen add-app media/jellyfin --image jellyfin/jellyfin:10.10.3 --port 8096 --host jellyfin \
    --persist config=10Gi:/config --probe /health --cpu 500m --memory 2Gi`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNamespaceSlash(env, &f.repoFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := f.options(args[0], streams.In)
			if err != nil {
				return err
			}
			if err := checkPortFlag(f.Port); err != nil {
				return err
			}
			if err := f.check(); err != nil {
				return err
			}
			f.command = cmd.CommandPath()
			opts := &addAppOptions{IO: streams, Env: env, Write: f.writeFlags, App: app, Strict: f.Strict}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return addAppRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	f.writeFlags.register(cmd)
	fl.BoolVar(&f.Raw, "raw", false, "write plain Deployment and Service manifests instead of a HelmRelease")
	fl.StringVar(&f.Image, "image", "", "container image, e.g. ghcr.io/org/app:1.2.3")
	fl.Var(&f.Port, "port", "container and service port (default 80)")
	fl.StringArrayVar(&f.Env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	fl.Var(&f.Replicas, "replicas", "number of replicas")
	fl.StringVar(&f.CPU, "cpu", "", "CPU request, e.g. 100m")
	fl.StringVar(&f.Memory, "memory", "", "memory request and limit, e.g. 256Mi")
	fl.StringVar(&f.Probe, "probe", "", "liveness and readiness probe: an HTTP path (/healthz) or tcp")
	fl.StringArrayVar(&f.Persist, "persist", nil, "persistent volume NAME=SIZE:/path (repeatable), e.g. data=1Gi:/data")
	fl.StringVar(&f.Chart, "chart", "", "a chart instead of app-template: oci://registry/path/chart or https://repo#chart")
	fl.StringVar(&f.ChartVersion, "chart-version", "", "with --chart: the chart version to pin")
	fl.StringVar(&f.Values, "values", "", "with --chart: a YAML file of HelmRelease values")
	fl.StringArrayVar(&f.Hosts, "host", nil, "expose on a hostname: a name on the primary domain or a full hostname (repeatable)")
	fl.BoolVar(&f.AllowWildcard, "allow-wildcard", false, "let a --host be a wildcard (*.example.org), which sends every name under the domain to this app")
	enumVar(cmd, &f.Gateway, "gateway", "external", gateways, "gateway the route attaches to: external or internal")
	fl.StringArrayVar(&f.DependsOn, "depends-on", nil, "extra dependency <namespace>/<kustomization> (repeatable)")
	fl.StringArrayVar(&f.Secrets, "secret", nil, "secret KEY=VALUE, KEY=@file or KEY=- for stdin (repeatable); written encrypted")
	fl.BoolVar(&f.Force, "force", false, "replace an existing app whose files differ")
	fl.BoolVar(&f.Strict, "strict", false, "fail, writing nothing, when the Cloudflare pre-flight finds a conflicting DNS record or cannot run (needs CLOUDFLARE_API_TOKEN)")
	enumVar(cmd, &f.Expose, "expose", generator.ExposeGateway, exposes, "how --host reaches the app: gateway (HTTPRoute), tunnel (a cloudflared ingress rule to the Service) or access (a Chute: tunnel + Cloudflare Access)")
	fl.StringArrayVar(&f.AllowEmails, "allow-email", nil, "with --expose access: an email address the Access login admits (repeatable)")
	fl.StringArrayVar(&f.AllowDomains, "allow-domain", nil, "with --expose access: an email domain whose every address is admitted (repeatable)")
	fl.StringVar(&f.ChuteConfig, "chute-config", "", "with --expose access: the ChuteConfig to use (default: the repository's only one)")
	fl.StringVar(&f.ImagePolicy, "image-policy", "", "follow new tags with Flux image automation: semver:<range> (semver:>=1.0.0) or regex:<pattern>")
	fl.BoolVar(&f.ImageAutomation, "image-automation", true, "with --image-policy: write an ImageUpdateAutomation for the app unless one covers it (false: you run your own)")
	fl.StringVar(&f.ImageExtract, "image-policy-extract", "", "with --image-policy regex:...: the group to order tags by, numerically ($ts for (?P<ts>...), or $1)")
	return cmd
}

// addAppRun loads the repository, runs apps.Add and the pre-flight, and
// writes.
func addAppRun(ctx context.Context, o *addAppOptions) error {
	r, err := o.Write.load(o.IO, o.Env)
	if err != nil {
		return err
	}
	opts := o.App
	if len(opts.Secrets) > 0 {
		if opts.Sealer, err = o.Env.sealer(r); err != nil {
			return err
		}
	}
	cs, err := apps.Add(r.Model(), opts)
	if err != nil {
		return existsErr(o.IO, r, err)
	}
	if err := preflightAddApp(ctx, o.IO, o.Env, r, opts, o.Strict); err != nil {
		return err
	}
	return runChangeset(ctx, o.IO, o.Env, &o.Write, r, cs)
}

// options turns flags into generator options; every flag error is a usage
// error (exit 2). The options are completed and validated by apps.Add.
func (f *addAppFlags) options(arg string, stdin io.Reader) (apps.AddOptions, error) {
	ns, name, err := splitApp(arg)
	if err != nil {
		return apps.AddOptions{}, err
	}
	o := apps.AddOptions{
		Namespace: ns, Name: name, Image: f.Image, Port: f.Port.v, Replicas: f.Replicas.ptr(),
		CPU: f.CPU, Memory: f.Memory, Chart: f.Chart, ChartVersion: f.ChartVersion,
		Hosts: f.Hosts, AllowWildcard: f.AllowWildcard, Gateway: f.Gateway, Force: f.Force, Expose: f.Expose,
		Access: access.Options{Emails: f.AllowEmails, EmailDomains: f.AllowDomains, Config: f.ChuteConfig},
	}
	o.SkipImageAutomation = !f.ImageAutomation
	switch {
	case f.Chart != "" && f.Raw:
		return o, usageErrorf("--raw and --chart do not go together")
	case f.Chart != "":
		o.Mode = apps.ModeChart
	case f.Raw:
		o.Mode = apps.ModeRaw
	default:
		o.Mode = apps.ModeAppTemplate
	}
	if f.Values != "" {
		if f.Chart == "" {
			return o, usageErrorf("--values goes with --chart; app-template values come from the other flags")
		}
		data, err := readFileCapped(f.Values, maxValueSize)
		if err != nil {
			return o, usageErrorf("--values: %v", err)
		}
		o.Values = data
	}
	for _, e := range f.Env {
		kv, err := generator.ParseKV(e)
		if err != nil {
			return o, usageErrorf("--env %v", err)
		}
		o.Env = append(o.Env, kv)
	}
	if len(f.Secrets) > 0 {
		secrets, err := readSecretArgs(f.Secrets, stdin)
		if err != nil {
			return o, err
		}
		o.Secrets = secrets
	}
	for _, p := range f.Persist {
		v, err := apps.ParsePersist(p)
		if err != nil {
			return o, usageErrorf("%v", err)
		}
		o.Persist = append(o.Persist, v)
	}
	if f.Probe != "" {
		p, err := apps.ParseProbe(f.Probe)
		if err != nil {
			return o, usageErrorf("%v", err)
		}
		o.Probe = p
	}
	for _, d := range f.DependsOn {
		ref, err := generator.ParseRef(d)
		if err != nil {
			return o, usageErrorf("--depends-on %v", err)
		}
		o.DependsOn = append(o.DependsOn, ref)
	}
	if f.ImagePolicy != "" {
		p, err := apps.ParseImagePolicy(f.ImagePolicy, f.ImageExtract)
		if err != nil {
			return o, &UsageError{Err: err}
		}
		o.ImagePolicy = p
	} else if f.ImageExtract != "" {
		return o, usageErrorf("--image-policy-extract needs --image-policy regex:<pattern>")
	}
	return o, nil
}

// secretKeyOnly keeps a malformed --secret's value out of error messages.
func secretKeyOnly(s string) string {
	k, _, _ := strings.Cut(s, "=")
	return k + "=…"
}
