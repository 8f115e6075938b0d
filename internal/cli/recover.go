package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRecoverCmd(streams IO, env Env, runF func(*repoFlags) error) *cobra.Command {
	f := &repoFlags{}
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Finish or undo a write that an interrupted gen left behind",
		Long: `recover finishes or undoes a write that a gen run left half done when it
was killed (or the machine stopped): a write that had reached its commit
point is finished, one that had not is undone, so the tree is the new one
or the old one, never a mix. The journal is the lock file .gen.lock at the
repository root.

Every command that writes does this first on its own; commands that only
read (check, diff, secret get, --dry-run) refuse a half-written tree and
point here. A lock held by a gen that is still running is waited for, and
named if it does not finish.`,
		Example: `  gen recover
  gen recover --repo ~/src/home-ops`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(f)
			}
			root, err := f.root()
			if err != nil {
				return err
			}
			rec, err := env.writer(root, "").Recover()
			if err != nil {
				return err
			}
			if rec == nil {
				fmt.Fprintln(streams.ErrOut, "nothing to recover: no write was interrupted")
				return nil
			}
			fmt.Fprintln(streams.Out, rec)
			for _, p := range rec.Files {
				fmt.Fprintf(streams.Out, "  %s\n", p)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.Repo, "repo", "", "repository root (default: the enclosing git work tree)")
	return cmd
}
