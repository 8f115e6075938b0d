package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/gen-gitops/gen/generator"
)

// writePRBody writes gen's summary of a change as Markdown to path (no-op
// when path is empty): the title, the files, the notes and the diff, with
// every secret value already redacted by the diff. A CI job hands it to
// the pull request it opens.
func writePRBody(path string, cs *generator.Changeset, diff string) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(prBody(cs, diff)), 0o644); err != nil {
		return fmt.Errorf("writing --pr-body %q: %w", path, err)
	}
	return nil
}

// prBody renders the summary. Its layout is stable so bots can match on it.
func prBody(cs *generator.Changeset, diff string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", cs.Title)
	if len(cs.Files) == 0 {
		b.WriteString("Nothing to change: the repository already has it.\n")
		return b.String()
	}
	b.WriteString("Written by gen; the change was built the way Flux builds it before it was written.\n\n")
	b.WriteString("| file | change |\n|---|---|\n")
	for _, fc := range cs.Files {
		what := "written"
		if fc.Delete {
			what = "deleted"
		} else if fc.Sensitive {
			what = "written (SOPS-encrypted)"
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", fc.Path, what)
	}
	if len(cs.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range cs.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if diff != "" {
		fence := "```"
		for strings.Contains(diff, fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "\n<details>\n<summary>Diff (secret values redacted)</summary>\n\n%sdiff\n%s", fence, diff)
		if !strings.HasSuffix(diff, "\n") {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s\n\n</details>\n", fence)
	}
	return b.String()
}
