// Package cli holds gen's cobra commands. Each command turns its flags into
// an options value and calls the logic that lives elsewhere; nothing here is
// package-level state.
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/internal/action"
	"github.com/gen-gitops/gen/internal/netguard"
)

// IO carries the streams a command reads and writes.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError marks an error caused by how gen was called: exit code 2.
type UsageError = action.UsageError

// usageErrorf builds a UsageError.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// runsNoProgram is the annotation of a command that never runs a program
// (gen check, gen diff): Main runs it with PATH emptied, so that nothing a
// repository names (kustomize clones a git address by running git) can
// make it run one.
const runsNoProgram = "gen.runs-no-program"

// Version is set at link time with -X.
var Version = "dev"

// NewRootCmd builds the whole command tree.
func NewRootCmd(streams IO, env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "gen",
		Short: "Write and check Flux GitOps repositories",
		Long: `gen writes and checks Flux repositories of the cluster-template shape:
kubernetes/apps/<namespace>/<app>/ks.yaml with an app/ folder beside it,
SOPS-encrypted cluster-secrets, envoy gateways, a Cloudflare tunnel,
external-dns and cert-manager.

Every command that writes validates the result the way Flux builds it, can
show the change as a diff first (--dry-run), writes all files or none, and can
commit exactly what it touched (--commit).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: err}
	})
	root.AddCommand(newVersionCmd(streams), newAddAppCmd(streams, env, nil))
	root.AddCommand(newSecretCmd(streams, env), newOnboardDomainCmd(streams, env, nil), newOffboardDomainCmd(streams, env, nil))
	root.AddCommand(newScratchCmd(streams, env), newPromoteCmd(streams, env, nil))
	root.AddCommand(newInitCmd(streams, env, nil), newCheckCmd(streams, env, nil), newDiffCmd(streams, env, nil))
	root.AddCommand(newPreflightCmd(streams, env, nil))
	root.AddCommand(newRemoveAppCmd(streams, env, nil), newRecoverCmd(streams, env, nil))
	groupCommands(root)
	addCompletionExamples(root)
	return root
}

// commandGroups are the sections of gen --help, and the commands in each;
// the rest (version, completion, help) come last, under cobra's
// "Additional Commands".
var commandGroups = []struct {
	group    cobra.Group
	commands []string
}{
	{cobra.Group{ID: "apps", Title: "Apps:"}, []string{"add-app", "remove-app", "secret"}},
	{cobra.Group{ID: "domains", Title: "Domains:"}, []string{"onboard-domain", "offboard-domain", "preflight"}},
	{cobra.Group{ID: "scratch", Title: "Experiments outside Flux:"}, []string{"scratch", "promote"}},
	{cobra.Group{ID: "bot", Title: "Pull request checks:"}, []string{"check", "diff"}},
	{cobra.Group{ID: "repository", Title: "Repositories:"}, []string{"init", "recover"}},
}

// groupCommands sorts root's commands into commandGroups.
func groupCommands(root *cobra.Command) {
	in := map[string]string{}
	for _, g := range commandGroups {
		root.AddGroup(&g.group)
		for _, c := range g.commands {
			in[c] = g.group.ID
		}
	}
	for _, c := range root.Commands() {
		c.GroupID = in[c.Name()]
	}
}

// addCompletionExamples gives cobra's completion commands the examples
// every gen command carries.
func addCompletionExamples(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = "  source <(gen completion bash)\n  gen completion zsh > \"${fpath[1]}/_gen\"\n  gen completion fish > ~/.config/fish/completions/gen.fish"
		for _, sh := range c.Commands() {
			switch sh.Name() {
			case "bash":
				sh.Example = "  source <(gen completion bash)"
			case "zsh":
				sh.Example = "  gen completion zsh > \"${fpath[1]}/_gen\""
			case "fish":
				sh.Example = "  gen completion fish > ~/.config/fish/completions/gen.fish"
			case "powershell":
				sh.Example = "  gen completion powershell | Out-String | Invoke-Expression"
			}
		}
	}
}

func newVersionCmd(streams IO) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print gen's version",
		Example: "  gen version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(streams.Out, "gen %s\n", Version)
			return err
		},
	}
}

// Main runs gen with args and returns the process exit code. It first
// closes the network to everything but gen's own call sites (see
// netguard): whatever a repository names, no command fetches it.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	netguard.Install()
	return Run(args, IO{In: in, Out: out, ErrOut: errOut}, ProcessEnv())
}

// Run is Main with the streams and the environment given: tests run gen
// with an Env of their own. A usage error ends with where the command's
// help is.
func Run(args []string, streams IO, env Env) int {
	errOut := streams.ErrOut
	root := NewRootCmd(streams, env)
	cmd, err := execute(root, args)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(errOut, "gen: %s\n", msg)
	}
	if code == ExitUsage && cmd != nil {
		fmt.Fprintf(errOut, "see `%s --help`\n", cmd.CommandPath())
	}
	return code
}

// exitCode is the exit code for err: the error's own (check's findings),
// 2 for a usage error, 1 for any other.
func exitCode(err error) int {
	var coder exitCoder
	if errors.As(err, &coder) {
		return coder.ExitCode()
	}
	var usage *UsageError
	var invalid *generator.OptionsError
	if errors.As(err, &usage) || errors.As(err, &invalid) || isCobraUsage(err) {
		return ExitUsage
	}
	return ExitFailure
}

// execute runs the command args name, with PATH emptied for one that runs
// no program, and put back after: tests run commands in their own process.
// It returns the command that ran, or the one that refused its arguments.
func execute(root *cobra.Command, args []string) (*cobra.Command, error) {
	root.SetArgs(args)
	if cmd, _, err := root.Find(args); err == nil && cmd.Annotations[runsNoProgram] == "true" {
		defer netguard.ForbidPrograms()()
	}
	return root.ExecuteC()
}

// exitCoder lets an error choose its exit code (check's findings: 1).
type exitCoder interface {
	error
	ExitCode() int
}

// isCobraUsage recognises cobra's own argument errors, which it returns as
// plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires exactly", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
