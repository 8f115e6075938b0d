package cli

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/flux"
)

// checkFormat is check's --output flag.
type checkFormat check.Format

// checkFormats and colorModes are the enums of check's --output and
// --color.
var (
	checkFormats = newEnum(func() []checkFormat {
		s := make([]checkFormat, len(check.Formats))
		for i, f := range check.Formats {
			s[i] = checkFormat(f)
		}
		return s
	}()...)
	colorModes = newEnum[colorMode]("auto", "always", "never")
)

// colorMode is the --color flag.
type colorMode string

// checkFlags are check's flags, and what it runs with.
type checkFlags struct {
	repoFlags
	Roots     []string
	Disable   []string
	Output    checkFormat
	Color     colorMode
	ListRules bool
	Markdown  string
	Cluster   string
	Verbose   bool
}

// findingsError makes check exit 1 without another message: the report
// already says what failed.
type findingsError struct{}

func (findingsError) Error() string { return "" }
func (findingsError) ExitCode() int { return ExitFailure }

func newCheckCmd(streams IO, env Env, runF func(*checkFlags) error) *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the whole repository the way Flux builds it, against its contract",
		Long: `check builds every Flux Kustomization reachable from the root the way
kustomize-controller does (generated kustomization.yaml, components,
patches, postBuild substitution with the cluster-secrets variables),
decodes every object strictly into its API type, and applies the
repository's contract: app registration, dependsOn, chart sources, secrets
and SOPS rules, hostnames and DNS, gateway references.

It reads the repository only: nothing is executed, nothing is fetched from
the network (remote bases are findings), nothing outside the repository is
read (symbolic links and ../ escapes are findings), and file sizes, YAML
aliases, nesting and object counts are bounded. It is safe to run on an
untrusted pull request.

The first line names the clusters gen found (a FluxInstance's sync folder,
flux bootstrap's gotk-sync.yaml, a root Kustomization no other builds, or
.gen.yaml's roots: and clusters:) and why; each cluster is checked on its
own. A rule most of the repository does not follow is reported once, with
the count; --verbose lists each finding.

Every finding names a rule (gen check --list-rules). Silence one with
--disable RULE, or where it occurs with a comment on its line or the line
above:  # gen:ignore RULE

Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage.`,
		Example: `  # Check the repository in the current git work tree
  gen check

  # In a GitHub Actions job: annotations on the pull request's files
  gen check --output github

  # A PR comment section, without one rule
  gen check --output markdown --disable depends-on-route

  # Annotations and the comment section from one run
  gen check --output github --markdown check.md

  # Every rule with its severity and fix
  gen check --list-rules

  # One cluster of a repository that has several
  gen check --cluster staging`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{runsNoProgram: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(f)
			}
			if f.ListRules {
				return listRules(streams.Out)
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			root, err := f.root()
			if err != nil {
				return err
			}
			// A half-written tree is neither the old nor the new one:
			// findings on it would be wrong.
			if err := env.writer(root, "").CheckReadable(); err != nil {
				return err
			}
			return runCheck(streams, env, root, opts, check.Format(f.Output), f.color(streams.Out, env), f.Markdown)
		},
	}
	fl := cmd.Flags()
	f.repoFlags.register(fl)
	fl.StringArrayVar(&f.Roots, "root", nil, "file holding the root Flux Kustomizations of the cluster to check, or the folder a Flux installation syncs, instead of the clusters found (repeatable)")
	fl.StringVar(&f.Cluster, "cluster", "", "check only this cluster of a repository of several (the names are on the first line of the report)")
	fl.BoolVarP(&f.Verbose, "verbose", "v", false, "list every finding of a rule most of the repository does not follow, instead of one line with the count")
	fl.StringSliceVar(&f.Disable, "disable", nil, "rule id not to report (repeatable, or comma-separated)")
	enumVar(cmd, &f.Output, "output", checkFormat(check.FormatText), checkFormats, "what to print: text, json, github (workflow annotations) or markdown")
	enumVar(cmd, &f.Color, "color", "auto", colorModes, "colour the text output: auto (on a terminal, unless NO_COLOR is set), always or never")
	fl.BoolVar(&f.ListRules, "list-rules", false, "print every rule with its severity and fix, and exit")
	fl.StringVar(&f.Markdown, "markdown", "", "also write the report as Markdown to this file (for a pull request comment)")
	_ = cmd.RegisterFlagCompletionFunc("disable", cobra.FixedCompletions(check.RuleIDs(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (f *checkFlags) options() (check.Options, error) {
	domains, err := f.domains()
	if err != nil {
		return check.Options{}, err
	}
	for _, id := range f.Disable {
		if _, ok := check.Rules[id]; !ok {
			return check.Options{}, usageErrorf("--disable %q: no such rule; see gen check --list-rules", id)
		}
	}
	return check.Options{Roots: f.Roots, Disable: f.Disable, Domains: domains, Cluster: f.Cluster, Verbose: f.Verbose}, nil
}

func (f *checkFlags) color(out io.Writer, env Env) bool {
	return useColor(f.Color, f.Output == checkFormat(check.FormatText), out, env)
}

// useColor resolves a --color flag: always, never, or (auto) on a
// terminal for text output unless NO_COLOR is set or TERM is dumb.
func useColor(mode colorMode, text bool, out io.Writer, env Env) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if !text || env.Getenv("NO_COLOR") != "" || env.Getenv("TERM") == "dumb" {
		return false
	}
	file, ok := out.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// tuneGC trades memory for time in the bot's commands, unless the user
// set GOGC or GOMEMLIMIT: rendering allocates a lot of short-lived YAML,
// and at the default setting the collector takes a quarter of the time.
// The heap may grow to three times what is live, but the collector works
// harder past 768 MiB. Growing it further costs more than it saves: every
// fresh page of heap is a page fault (on anton, GOGC 400 took 15-20% more
// time than 200, most of it in the kernel).
func tuneGC(env Env) {
	if env.Getenv("GOGC") != "" || env.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(200)
	debug.SetMemoryLimit(768 << 20)
}

func runCheck(streams IO, env Env, root string, opts check.Options, format check.Format, color bool, markdown string) error {
	tuneGC(env)
	flux.PreloadSchema()
	snap, err := check.ReadDir(root, check.DefaultLimits())
	if err != nil {
		return err
	}
	rep, err := check.Run(snap, opts)
	if err != nil {
		return &UsageError{Err: err}
	}
	if err := check.Write(streams.Out, rep, format, check.WriteOptions{Color: color}); err != nil {
		return err
	}
	if markdown != "" {
		if err := os.WriteFile(markdown, []byte(check.Markdown(rep)), 0o644); err != nil {
			return fmt.Errorf("--markdown: %w", err)
		}
	}
	if rep.Failed() {
		return findingsError{}
	}
	return nil
}

func listRules(out io.Writer) error {
	var b strings.Builder
	for _, id := range check.RuleIDs() {
		r := check.Rules[id]
		fmt.Fprintf(&b, "%-24s %-8s %s\n%24s %8s fix: %s\n", r.ID, r.Severity, r.Summary, "", "", r.Fix)
	}
	_, err := io.WriteString(out, b.String())
	return err
}
