package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/domains"
	"github.com/gen-gitops/gen/internal/repo"
)

// components is the --skip flag's enum: a bad name fails at parse time
// with the valid ones (domains.ParseComponent also takes the aliases
// external-dns and cloudflared).
var components = enum[domains.Component]{allowed: domains.Components(), parse: domains.ParseComponent}

func componentNames() string {
	var s []string
	for _, c := range domains.Components() {
		s = append(s, string(c))
	}
	return strings.Join(s, ", ")
}

type domainFlags struct {
	writeFlags
	Var      string
	Gateways []string
	Skip     []domains.Component
}

// domainOptions is what onboard-domain and offboard-domain run with: the
// domain, and the flags as given (the generator validates them).
type domainOptions struct {
	IO     IO
	Env    Env
	Write  writeFlags
	Domain string
	Var    string
	// Gateways is onboard-domain's only.
	Gateways []string
	Skip     []domains.Component
}

func (f *domainFlags) options(cmd *cobra.Command, streams IO, env Env, domain string) (*domainOptions, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	f.command = cmd.CommandPath()
	return &domainOptions{IO: streams, Env: env, Write: f.writeFlags, Domain: domain, Var: f.Var, Gateways: f.Gateways, Skip: f.Skip}, nil
}

func newOnboardDomainCmd(streams IO, env Env, runF func(context.Context, *domainOptions) error) *cobra.Command {
	f := &domainFlags{}
	cmd := &cobra.Command{
		Use:   "onboard-domain <domain>",
		Short: "Bring a DNS domain into the cluster: the seven-file change in one go",
		Long: `onboard-domain makes every change a new domain needs, as one changeset:

  cluster-secrets     a new variable (SECRET_DOMAIN_TWO, _THREE, ... or --var)
                      holding the domain, edited in place with SOPS
  cloudflare-dns      the variable in external-dns's domainFilters
  cert-manager        the variable in the DNS-01 solver's dnsZones
  envoy-gateway       a Certificate for the apex and the wildcard, and its
                      secret in the https listener's certificateRefs of every
                      gateway (or --gateways)
  cloudflare-tunnel   apex and wildcard ingress rules before the catch-all
                      (in a plain cloudflared config.yaml or embedded in the
                      HelmRelease), and the external.<domain> CNAME in the
                      tunnel's DNSEndpoint

Files are found by content, not by fixed paths. Every edit keeps the file's
comments, key order and style; new entries copy the entries of the domains
already there. Running it again for the same domain changes nothing.

Editing cluster-secrets needs the age key (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE or
~/.config/sops/age/keys.txt). --skip leaves a component out (one of:
` + componentNames() + `).`,
		Example: `  # Preview the whole change; encrypted values are never shown
  gen onboard-domain example.net --dry-run

  # Write it and commit on a branch
  gen onboard-domain example.net --commit --branch onboard-example-net

  # Only on the external gateway, under a chosen variable
  gen onboard-domain example.net --var SECRET_DOMAIN_FOUR --gateways envoy-external

  # A repository without a Cloudflare tunnel
  gen onboard-domain example.net --skip cloudflare-tunnel`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(cmd, streams, env, args[0])
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return onboardRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	f.writeFlags.register(cmd)
	fl.StringVar(&f.Var, "var", "", "the cluster-secrets variable for the domain (default: the next of SECRET_DOMAIN_TWO, _THREE, ...)")
	fl.StringSliceVar(&f.Gateways, "gateways", nil, "the Gateways that serve the domain, comma-separated (default: every Gateway with an HTTPS listener)")
	enumSliceVar(cmd, &f.Skip, "skip", "components", components, "leave a component alone, comma-separated: "+componentNames())
	return cmd
}

// onboardRun loads the repository and writes the domain's change.
func onboardRun(ctx context.Context, o *domainOptions) error {
	r, err := o.Write.load(o.IO, o.Env)
	if err != nil {
		return err
	}
	cs, err := domains.Onboard(r.Model(), domains.OnboardOptions{
		Domain: o.Domain, Var: o.Var, Gateways: o.Gateways, Skip: o.Skip, Store: newSopsStore(r, o.Env),
	})
	if err != nil {
		return err
	}
	return runDomainChangeset(ctx, o, r, cs)
}

func newOffboardDomainCmd(streams IO, env Env, runF func(context.Context, *domainOptions) error) *cobra.Command {
	f := &domainFlags{}
	cmd := &cobra.Command{
		Use:   "offboard-domain <domain>",
		Short: "Remove a DNS domain: undo exactly what onboard-domain added",
		Long: `offboard-domain removes what onboard-domain adds for a domain: its variable
from cluster-secrets, its entries in domainFilters and dnsZones, its
Certificate and certificateRefs, its tunnel ingress rules and its DNSEndpoint
record. It refuses while any app still uses the domain's variable, and lists
those apps. The primary domain (SECRET_DOMAIN) is never offboarded.

The domain's variable is found by decrypting cluster-secrets with the age key;
--var names it, and --skip leaves a component alone (one of:
` + componentNames() + `).`,
		Example: `  gen offboard-domain example.net --dry-run
  gen offboard-domain example.net --commit`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeDomains(env, &f.repoFlags),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(cmd, streams, env, args[0])
			if err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return offboardRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	f.writeFlags.register(cmd)
	fl.StringVar(&f.Var, "var", "", "the domain's cluster-secrets variable, when it cannot be decrypted")
	enumSliceVar(cmd, &f.Skip, "skip", "components", components, "leave a component alone, comma-separated: "+componentNames())
	return cmd
}

// offboardRun loads the repository and writes the removal.
func offboardRun(ctx context.Context, o *domainOptions) error {
	r, err := o.Write.load(o.IO, o.Env)
	if err != nil {
		return err
	}
	cs, err := domains.Offboard(r.Model(), domains.OffboardOptions{
		Domain: o.Domain, Var: o.Var, Skip: o.Skip, Store: newSopsStore(r, o.Env),
	})
	if err != nil {
		return err
	}
	return runDomainChangeset(ctx, o, r, cs)
}

// runDomainChangeset says "already onboarded" for an empty change, and
// otherwise hands over to runChangeset.
func runDomainChangeset(ctx context.Context, o *domainOptions, r *repo.Repo, cs *generator.Changeset) error {
	if len(cs.Files) == 0 && o.Write.Output == outputText {
		for _, n := range cs.Notes {
			fmt.Fprintln(o.IO.ErrOut, n)
		}
		if len(cs.Notes) == 0 {
			fmt.Fprintf(o.IO.ErrOut, "%s: nothing to change\n", cs.Title)
		}
		return nil
	}
	return runChangeset(ctx, o.IO, o.Env, &o.Write, r, cs)
}
