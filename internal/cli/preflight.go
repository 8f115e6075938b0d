package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/internal/cloudflare"
	"github.com/gen-gitops/gen/internal/repo"
)

// Environment variables of the pre-flight check.
const (
	// TokenEnv holds the Cloudflare API token; the check runs only when it
	// is set.
	TokenEnv = "CLOUDFLARE_API_TOKEN"
	// BaseURLEnv overrides the API's URL (the name the client library
	// uses).
	BaseURLEnv = "CLOUDFLARE_BASE_URL"
)

// preflightTimeout bounds one whole check.
const preflightTimeout = 60 * time.Second

// preflightFlags are preflight's flags; with the hostnames, what it runs
// with.
type preflightFlags struct {
	repoFlags
	Target string
	Output outputFormat
}

func newPreflightCmd(streams IO, env Env, runF func(f *preflightFlags, hosts []string) error) *cobra.Command {
	f := &preflightFlags{}
	cmd := &cobra.Command{
		Use:   "preflight <hostname>...",
		Short: "Ask Cloudflare whether a hostname's DNS record would black-hole a new app",
		Long: `preflight asks the Cloudflare API (token from CLOUDFLARE_API_TOKEN; the
zone is found by name) for the DNS records of each hostname and reports:

  free      no record yet: external-dns will create it
  owned     a CNAME to external.<domain> with external-dns's ownership TXT record
  conflict  anything else: what the name points at, whether external-dns owns
            it, and the dashboard step that fixes it

external-dns never replaces a record it does not own and says so only at
debug level, so a stale record silently keeps a new app unreachable
(Cloudflare error 1033, HTTP 530). add-app runs this check by itself when
CLOUDFLARE_API_TOKEN is set, and warns (fails with --strict).

A hostname may be a full name, or a name on the repository's primary domain
when gen can read the domains (see add-app --host). The token needs
Zone > Zone > Read and Zone > DNS > Read; gen says which one is missing.
Exit codes: 0 no conflict, 1 a conflict or an API error, 2 usage.`,
		Example: `  # Before exposing an app
  CLOUDFLARE_API_TOKEN=... gen preflight hello.example.org wiki.example.org

  # Names on the primary domain, read from the repository
  gen preflight hello wiki --output json`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(f, args)
			}
			return runPreflightCmd(cmd.Context(), streams, env, f, args)
		},
	}
	fl := cmd.Flags()
	f.repoFlags.register(fl)
	fl.StringVar(&f.Target, "target", "", "the name records must point at (default external.<domain>)")
	enumVar(cmd, &f.Output, "output", outputText, outputs, "what to print: text or json")
	return cmd
}

func runPreflightCmd(ctx context.Context, streams IO, env Env, f *preflightFlags, args []string) error {
	token := env.Getenv(TokenEnv)
	if token == "" {
		return usageErrorf("set %s to a Cloudflare API token with Zone > Zone > Read and Zone > DNS > Read", TokenEnv)
	}
	// The repository is optional: it knows the domains, the tunnel's
	// name on each and external-dns's TXT prefix.
	var r *repo.Repo
	if loaded, err := f.load(env); err == nil {
		r = loaded
	}
	checks, skipped, err := preflightChecks(r, args, f.Target)
	if err != nil {
		return &UsageError{Err: err}
	}
	for _, s := range skipped {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", s)
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	results, err := cloudflare.Preflight(ctx, cloudflareClient(env), txtPrefix(r), checks)
	if err != nil {
		return err
	}
	if f.Output == outputJSON {
		if err := writeJSON(streams, results); err != nil {
			return err
		}
	} else {
		printPreflight(streams.Out, results)
	}
	if n := conflicts(results); n > 0 {
		return &conflictError{msg: fmt.Sprintf("%d of %d hostname(s) conflict", n, len(results))}
	}
	return nil
}

func cloudflareClient(env Env) *cloudflare.Client {
	return cloudflare.New(cloudflare.Options{Token: env.Getenv(TokenEnv), BaseURL: env.Getenv(BaseURLEnv)})
}

// preflightChecks turns arguments into checks: a name known to the
// repository gets its domain's tunnel name as the target; any other full
// hostname is checked against external.<its zone>.
func preflightChecks(r *repo.Repo, args []string, target string) ([]cloudflare.Check, []string, error) {
	var checks []cloudflare.Check
	var skipped []string
	model := r.Model()
	for _, a := range args {
		if r != nil {
			if h, err := generator.ResolveHost(model, a); err == nil {
				if h.Domain.Value == "" {
					skipped = append(skipped, fmt.Sprintf("%s: the domain behind %s is unknown (pass --domain %s=<domain>); not checked", a, h.Domain.Var, h.Domain.Var))
					continue
				}
				t := target
				if t == "" {
					t = tunnelPrefix(r) + h.Domain.Value
				}
				checks = append(checks, cloudflare.Check{Host: h.Literal(), Target: t})
				continue
			}
		}
		if !strings.Contains(a, ".") || strings.Contains(a, "${") {
			return nil, nil, fmt.Errorf("%q: give a full hostname (gen cannot read the repository's domains here)", a)
		}
		checks = append(checks, cloudflare.Check{Host: a, Target: target})
	}
	return checks, skipped, nil
}

// tunnelPrefix is the name the external gateway's records point at, less
// the domain ("external.").
func tunnelPrefix(r *repo.Repo) string {
	if r != nil {
		if gw, ok := r.Gateway("envoy-external"); ok && gw.Target != "" {
			t := gw.Target
			if i := strings.Index(t, "${"); i > 0 {
				return t[:i]
			}
		}
	}
	return "external."
}

// txtPrefix is external-dns's txtPrefix from the repository ("k8s." when
// it cannot tell).
func txtPrefix(r *repo.Repo) string {
	if r != nil {
		for _, o := range r.Objects() {
			if o.Kind != "HelmRelease" {
				continue
			}
			if p := o.Str("spec", "values", "txtPrefix"); p != "" {
				return p
			}
		}
	}
	return "k8s."
}

func conflicts(results []cloudflare.Result) int {
	n := 0
	for _, r := range results {
		if !r.OK() {
			n++
		}
	}
	return n
}

func printPreflight(w io.Writer, results []cloudflare.Result) {
	for _, r := range results {
		fmt.Fprintf(w, "%-8s %s: %s\n", r.Status, r.Host, r.Message)
		if r.Fix != "" {
			fmt.Fprintf(w, "         fix: %s\n", r.Fix)
		}
	}
}

// conflictError is a pre-flight that ran and found conflicts: exit code 1.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }
func (e *conflictError) ExitCode() int { return ExitFailure }

// preflightAddApp runs the check for the hostnames of a new app. A Chute's
// operator publishes its name itself, so --expose access is not checked.
func preflightAddApp(ctx context.Context, streams IO, env Env, r *repo.Repo, o apps.AddOptions, strict bool) error {
	if o.Expose == generator.ExposeAccess {
		return nil
	}
	return preflightHosts(ctx, streams, env, r, o.Hosts, strict)
}

// preflightHosts is the check every writing command that publishes
// hostnames runs before it writes (hosts as --host takes them), when a
// token is set: conflicts and API errors are warnings on streams.ErrOut,
// or, with strict, an error (then the command writes nothing).
func preflightHosts(ctx context.Context, streams IO, env Env, r *repo.Repo, hosts []string, strict bool) error {
	if len(hosts) == 0 {
		return nil
	}
	if env.Getenv(TokenEnv) == "" {
		if strict {
			return usageErrorf("--strict checks the hostnames with Cloudflare first: set %s", TokenEnv)
		}
		return nil
	}
	checks, skipped, err := preflightChecks(r, hosts, "")
	if err != nil {
		return err
	}
	warn := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if strict {
			return fmt.Errorf("pre-flight (--strict): %s; nothing was written", msg)
		}
		fmt.Fprintf(streams.ErrOut, "warning: pre-flight: %s\n", msg)
		return nil
	}
	for _, s := range skipped {
		if err := warn("%s", s); err != nil {
			return err
		}
	}
	if len(checks) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	results, err := cloudflare.Preflight(ctx, cloudflareClient(env), txtPrefix(r), checks)
	if err != nil {
		return warn("%v", err)
	}
	var bad []string
	for _, res := range results {
		if !res.OK() {
			line := res.Host + ": " + res.Message
			if res.Fix != "" {
				line += "; fix: " + res.Fix
			}
			bad = append(bad, line)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	if strict {
		return fmt.Errorf("pre-flight (--strict): %s; nothing was written", strings.Join(bad, "; "))
	}
	for _, b := range bad {
		fmt.Fprintf(streams.ErrOut, "warning: pre-flight: %s\n", b)
	}
	return nil
}
