package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Completion of positional arguments from the repository model: the
// repository is read as the command would read it (--repo, --domain), and
// a repository that does not load completes nothing.

type completeFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// completeApps completes <namespace>/<app> with the repository's apps.
func completeApps(env Env, f *repoFlags) completeFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		r, err := f.load(env)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, ns := range r.Model().Namespaces {
			for _, app := range ns.Apps {
				if id := ns.Name + "/" + app.Name; strings.HasPrefix(id, toComplete) {
					out = append(out, id)
				}
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNamespaceSlash completes the <namespace>/ of a new app's
// <namespace>/<app>: the name after the slash is the user's.
func completeNamespaceSlash(env Env, f *repoFlags) completeFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 || strings.Contains(toComplete, "/") {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		r, err := f.load(env)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for name := range r.Model().Namespaces {
			if strings.HasPrefix(name, toComplete) {
				out = append(out, name+"/")
			}
		}
		slices.Sort(out)
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// completeDomains completes the secondary domains the repository serves
// (their values, known from --domain, .gen.yaml or a decrypted
// cluster-secrets); the primary one is never offboarded.
func completeDomains(env Env, f *repoFlags) completeFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		r, err := f.load(env)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, d := range r.Model().Domains {
			if !d.Primary && d.Value != "" && strings.HasPrefix(d.Value, toComplete) {
				out = append(out, d.Value)
			}
		}
		slices.Sort(out)
		return slices.Compact(out), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFirst completes the first argument with c, and the others not
// at all (they are KEY=VALUE pairs or a key).
func completeFirst(c completeFunc) completeFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c(cmd, args, toComplete)
	}
}
