package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/domains"
	"github.com/gen-gitops/gen/internal/repo"
)

// componentList is the --skip flag: components by name, comma-separated or
// repeated; a bad name fails at parse time with the valid ones.
type componentList []domains.Component

func (c *componentList) String() string {
	var s []string
	for _, x := range *c {
		s = append(s, string(x))
	}
	return strings.Join(s, ",")
}

func (c *componentList) Type() string { return "components" }

func (c *componentList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		comp, err := domains.ParseComponent(part)
		if err != nil {
			return err
		}
		*c = append(*c, comp)
	}
	return nil
}

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
	Skip     componentList
}

func newOnboardDomainCmd(streams IO, env Env) *cobra.Command {
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
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if _, err := domains.Normalize(args[0]); err != nil {
				return &UsageError{Err: err}
			}
			if f.Var != "" && !repo.IsDomainVar(f.Var) {
				return usageErrorf("--var %q: want SECRET_DOMAIN or SECRET_DOMAIN_<SUFFIX> in capitals, e.g. SECRET_DOMAIN_FOUR", f.Var)
			}
			r, err := f.load(streams, env)
			if err != nil {
				return err
			}
			cs, err := domains.Onboard(r.Model(), domains.OnboardOptions{
				Domain: args[0], Var: f.Var, Gateways: f.Gateways, Skip: f.Skip, Store: newSopsStore(r, env),
			})
			if err != nil {
				return err
			}
			return runDomainChangeset(cmd, streams, env, &f.writeFlags, r, cs)
		},
	}
	fl := cmd.Flags()
	f.writeFlags.register(fl)
	fl.StringVar(&f.Var, "var", "", "the cluster-secrets variable for the domain (default: the next of SECRET_DOMAIN_TWO, _THREE, ...)")
	fl.StringSliceVar(&f.Gateways, "gateways", nil, "the Gateways that serve the domain, comma-separated (default: every Gateway with an HTTPS listener)")
	fl.Var(&f.Skip, "skip", "leave a component alone, comma-separated: "+componentNames())
	_ = cmd.RegisterFlagCompletionFunc("skip", componentCompletion)
	return cmd
}

func newOffboardDomainCmd(streams IO, env Env) *cobra.Command {
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
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if _, err := domains.Normalize(args[0]); err != nil {
				return &UsageError{Err: err}
			}
			r, err := f.load(streams, env)
			if err != nil {
				return err
			}
			cs, err := domains.Offboard(r.Model(), domains.OffboardOptions{
				Domain: args[0], Var: f.Var, Skip: f.Skip, Store: newSopsStore(r, env),
			})
			if err != nil {
				return err
			}
			return runDomainChangeset(cmd, streams, env, &f.writeFlags, r, cs)
		},
	}
	fl := cmd.Flags()
	f.writeFlags.register(fl)
	fl.StringVar(&f.Var, "var", "", "the domain's cluster-secrets variable, when it cannot be decrypted")
	fl.Var(&f.Skip, "skip", "leave a component alone, comma-separated: "+componentNames())
	_ = cmd.RegisterFlagCompletionFunc("skip", componentCompletion)
	return cmd
}

func componentCompletion(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var s []string
	for _, c := range domains.Components() {
		s = append(s, string(c))
	}
	return s, cobra.ShellCompDirectiveNoFileComp
}

// runDomainChangeset says "already onboarded" for an empty change, and
// otherwise hands over to runChangeset.
func runDomainChangeset(cmd *cobra.Command, streams IO, env Env, f *writeFlags, r *repo.Repo, cs *generator.Changeset) error {
	if len(cs.Files) == 0 && f.Output == outputText {
		for _, n := range cs.Notes {
			fmt.Fprintln(streams.ErrOut, n)
		}
		if len(cs.Notes) == 0 {
			fmt.Fprintf(streams.ErrOut, "%s: nothing to change\n", cs.Title)
		}
		return nil
	}
	return runChangeset(cmd, streams, env, f, r, cs)
}
