package diff

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"
)

// Marker starts every comment gen writes, hidden in the rendered
// Markdown: the workflow finds its own comment by it and edits it.
const Marker = "<!-- gen-diff -->"

// DefaultBudget is the most characters a comment takes (GitHub refuses
// comments over 65,536).
const DefaultBudget = 60000

// WriteJSON writes the result as JSON.
func WriteJSON(w io.Writer, r *Result) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := io.WriteString(w, RedactText(b.String()))
	return err
}

// WriteText writes the whole result as text: a summary, then every
// changed object as a unified diff. It is also what the job artifact
// holds.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	b.WriteString(textSummary(r))
	if failed := r.HeadFailures(); len(failed) > 0 {
		fmt.Fprintf(&b, "The head does not render %d Kustomization(s); their objects are not compared:\n", len(failed))
		for _, k := range failed {
			fmt.Fprintf(&b, "  %s: %s\n", k.ID, k.HeadError)
		}
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s\n", f.String())
	}
	if len(r.Images) > 0 {
		b.WriteString("\nImages:\n")
		for _, im := range r.Images {
			fmt.Fprintf(&b, "  %s %s: %s -> %s\n", im.Object, im.Where, orNone(im.From), orNone(im.To))
		}
	}
	for _, k := range r.Kustomizations {
		fmt.Fprintf(&b, "\n=== Kustomization %s%s (%s)\n", kustomizationName(k), changeNote(k.Change), k.Path)
		if k.HeadError != "" {
			fmt.Fprintf(&b, "head does not render: %s\n", k.HeadError)
		}
		if k.BaseError != "" {
			fmt.Fprintf(&b, "base does not render: %s\n", k.BaseError)
		}
		for _, o := range k.Objects {
			fmt.Fprintf(&b, "\n--- %s (%s)\n", o.ID(), o.Change)
			if o.Chart != nil {
				fmt.Fprintf(&b, "chart %s: %s -> %s\n", o.Chart.Chart, orNone(o.Chart.From), orNone(o.Chart.To))
			}
			b.WriteString(o.ValuesDiff)
			b.WriteString(o.Diff)
		}
	}
	_, err := io.WriteString(w, RedactText(b.String()))
	return err
}

// WriteTextColor is WriteText with ANSI colours when color is set, as gen
// check's text output has them: headers bold, added lines green, removed
// lines red, hunk markers cyan.
func WriteTextColor(w io.Writer, r *Result, color bool) error {
	if !color {
		return WriteText(w, r)
	}
	var b strings.Builder
	if err := WriteText(&b, r); err != nil {
		return err
	}
	_, err := io.WriteString(w, colorize(b.String()))
	return err
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
)

// colorize paints the lines of a text diff by their first characters.
func colorize(text string) string {
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	for _, line := range lines {
		body := strings.TrimSuffix(line, "\n")
		nl := line[len(body):]
		code := ""
		switch {
		case body == "":
		case strings.HasPrefix(body, "=== "), strings.HasPrefix(body, "--- "), strings.HasPrefix(body, "+++ "), strings.HasPrefix(body, "gen diff "):
			code = ansiBold
		case strings.HasPrefix(body, "@@"):
			code = ansiCyan
		case strings.HasPrefix(body, "+"):
			code = ansiGreen
		case strings.HasPrefix(body, "-"):
			code = ansiRed
		}
		if code == "" {
			b.WriteString(line)
			continue
		}
		b.WriteString(code + body + ansiReset + nl)
	}
	return b.String()
}

func textSummary(r *Result) string {
	if len(r.Paths) == 0 {
		return fmt.Sprintf("gen diff %s..%s: no file changed\n", r.Base, r.Head)
	}
	a, c, d := r.counts()
	differ := "differ"
	if len(r.Kustomizations) == 1 {
		differ = "differs"
	}
	s := fmt.Sprintf("gen diff %s..%s: %s changed; %s %s (%s): %s added, %d changed, %d removed\n",
		r.Base, r.Head, count(len(r.Paths), "file"), count(len(r.Kustomizations), "Kustomization"), differ,
		count(r.Rendered, "render"), count(a, "object"), c, d)
	if len(r.Unused) > 0 {
		s += fmt.Sprintf("%s used by no cluster: %s\n", count(len(r.Unused), "changed file"), listSome(r.Unused, 10))
	}
	return s
}

// count says "1 file", "2 files".
func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// listSome joins the first max items and says how many more there are.
func listSome(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
}

// kustomizationName is a Kustomization's id, with its cluster in a
// repository of several.
func kustomizationName(k *KustomizationDiff) string {
	if k.Cluster == "" {
		return k.ID
	}
	return k.Cluster + ": " + k.ID
}

func (r *Result) counts() (added, changed, removed int) {
	for _, k := range r.Kustomizations {
		for _, o := range k.Objects {
			switch o.Change {
			case Added:
				added++
			case Removed:
				removed++
			default:
				changed++
			}
		}
	}
	return
}

func changeNote(c Change) string {
	if c == "" {
		return ""
	}
	return " (" + string(c) + ")"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// MarkdownOptions adjust Markdown.
type MarkdownOptions struct {
	// Budget is the most characters the comment may take; 0 means
	// DefaultBudget.
	Budget int
	// Artifact names where the full diff is, for the note when the
	// comment is cut short.
	Artifact string
}

// Markdown renders the result as a pull request comment: the hidden
// marker, a summary table, the image changes, problems, then one folded
// section per Kustomization with each object's diff. Once the budget is
// spent, the remaining objects are counted in a closing note that points
// at the artifact.
func Markdown(r *Result, opts MarkdownOptions) string {
	budget := opts.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	artifact := opts.Artifact
	if artifact == "" {
		artifact = "the job artifact"
	}
	var b strings.Builder
	b.WriteString(Marker + "\n### gen diff\n\n")
	if len(r.Paths) == 0 {
		fmt.Fprintf(&b, "No file changed between `%s` and `%s`.\n", mdCode(r.Base), mdCode(r.Head))
		return b.String()
	}
	a, c, d := r.counts()
	render := "render"
	if len(r.Kustomizations) == 1 {
		render = "renders"
	}
	fmt.Fprintf(&b, "`%s` → `%s`: %s changed; **%s** %s differently: %s added, %d changed, %d removed.\n\n",
		mdCode(r.Base), mdCode(r.Head), count(len(r.Paths), "file"), count(len(r.Kustomizations), "Kustomization"), render, count(a, "object"), c, d)
	if len(r.Unused) > 0 {
		fmt.Fprintf(&b, "%s used by no cluster: %s.\n\n", count(len(r.Unused), "changed file"), mdCell(listSome(r.Unused, 10)))
	}
	if len(r.Kustomizations) == 0 && len(r.Findings) == 0 {
		b.WriteString("The change does not alter any rendered object.\n")
		return b.String()
	}
	if failed := r.HeadFailures(); len(failed) > 0 {
		at := "At the head"
		if r.Head != "" {
			at = "At `" + mdCode(r.Head) + "`"
		}
		fmt.Fprintf(&b, "❌ **This change breaks the build.** %s, %d Kustomization(s) no longer render, so Flux would stop applying them; their objects are not compared:\n\n", at, len(failed))
		for i, k := range failed {
			if i == 20 {
				fmt.Fprintf(&b, "- … and %d more\n", len(failed)-i)
				break
			}
			fmt.Fprintf(&b, "- `%s`: %s\n", mdCode(k.ID), mdCell(k.HeadError))
		}
		b.WriteString("\n")
	}

	// The summary table takes at most a third of the budget.
	if a+c+d > 0 {
		var t strings.Builder
		t.WriteString("| Change | Kind | Object | Kustomization |\n|---|---|---|---|\n")
		rows, shown := 0, 0
		for _, k := range r.Kustomizations {
			for _, o := range k.Objects {
				rows++
				row := fmt.Sprintf("| %s | %s | %s | %s |\n", changeIcon(o.Change), mdCell(o.Kind), mdCell(objectName(o)), mdCell(kustomizationName(k)))
				if t.Len()+len(row) > budget/3 {
					continue
				}
				t.WriteString(row)
				shown++
			}
		}
		if shown < rows {
			fmt.Fprintf(&t, "| … | %d more | | |\n", rows-shown)
		}
		b.WriteString(t.String())
		b.WriteString("\n")
	}
	if len(r.Images) > 0 {
		b.WriteString("**Images**\n\n| Object | Where | Old | New |\n|---|---|---|---|\n")
		for _, im := range r.Images {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", mdCell(im.Object), mdCode(im.Where), codeOrDash(im.From), codeOrDash(im.To))
		}
		b.WriteString("\n")
	}
	if len(r.Findings) > 0 {
		b.WriteString("**Problems** (the diff may be incomplete here)\n\n")
		for _, f := range r.Findings {
			loc := ""
			if l := f.Location(); l != "" {
				loc = " `" + mdCode(l) + "`"
			}
			fmt.Fprintf(&b, "- %s `%s`%s: %s\n", f.Severity, f.Rule, loc, mdCell(f.Message))
		}
		b.WriteString("\n")
	}

	total := a + c + d
	shown := 0
	// tail is the longest closing note, kept in reserve.
	const tailReserve = 400
	cut := false
	for _, k := range r.Kustomizations {
		var sec strings.Builder
		fmt.Fprintf(&sec, "<details><summary><b>%s</b>%s — %s</summary>\n\n", html.EscapeString(kustomizationName(k)), html.EscapeString(changeNote(k.Change)), html.EscapeString(sectionCounts(k)))
		if k.HeadError != "" {
			fmt.Fprintf(&sec, "❌ **does not render at the head:** %s\n\n", mdCell(k.HeadError))
		}
		if k.BaseError != "" {
			fmt.Fprintf(&sec, "The base did not render: %s\n\n", mdCell(k.BaseError))
		}
		const closing = "</details>\n\n"
		if b.Len()+sec.Len()+len(closing)+tailReserve > budget {
			cut = true
			break
		}
		inSection := 0
		for _, o := range k.Objects {
			block := objectBlock(o)
			if b.Len()+sec.Len()+len(block)+len(closing)+tailReserve > budget {
				cut = true
				break
			}
			sec.WriteString(block)
			inSection++
		}
		if inSection == 0 && len(k.Objects) > 0 {
			cut = true
			break
		}
		shown += inSection
		sec.WriteString(closing)
		b.WriteString(sec.String())
		if cut {
			break
		}
	}
	if cut && shown < total {
		fmt.Fprintf(&b, "**%d more objects** are not shown: the comment is limited to %d characters. The full diff is in %s.\n", total-shown, budget, mdCell(artifact))
	}
	return RedactText(b.String())
}

func sectionCounts(k *KustomizationDiff) string {
	a, c, d := 0, 0, 0
	for _, o := range k.Objects {
		switch o.Change {
		case Added:
			a++
		case Removed:
			d++
		default:
			c++
		}
	}
	var parts []string
	if a > 0 {
		parts = append(parts, fmt.Sprintf("%d added", a))
	}
	if c > 0 {
		parts = append(parts, fmt.Sprintf("%d changed", c))
	}
	if d > 0 {
		parts = append(parts, fmt.Sprintf("%d removed", d))
	}
	if len(parts) == 0 {
		if k.HeadError != "" {
			return "does not render at the head"
		}
		return "no object change"
	}
	return strings.Join(parts, ", ")
}

// objectBlock is one object's part of a section.
func objectBlock(o *ObjectDiff) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s %s** %s", mdCell(o.Kind), mdCell(objectName(o)), o.Change)
	if o.Chart != nil {
		fmt.Fprintf(&b, " · chart %s %s → %s", mdCell(o.Chart.Chart), codeOrDash(o.Chart.From), codeOrDash(o.Chart.To))
	}
	if o.Redacted {
		b.WriteString(" · values redacted")
	}
	b.WriteString("\n\n")
	if o.ValuesDiff != "" {
		b.WriteString("values:\n\n")
		b.WriteString(fence(o.ValuesDiff))
	}
	if o.Diff != "" {
		b.WriteString(fence(o.Diff))
	}
	return b.String()
}

// fence puts text in a diff code block whose fence no line of the text
// can close.
func fence(text string) string {
	n := 3
	for run, i := 0, 0; i < len(text); i++ {
		if text[i] == '`' {
			run++
			if run >= n {
				n = run + 1
			}
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", n)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return f + "diff\n" + text + f + "\n\n"
}

func objectName(o *ObjectDiff) string {
	if o.Namespace == "" {
		return o.Name
	}
	return o.Namespace + "/" + o.Name
}

func changeIcon(c Change) string {
	switch c {
	case Added:
		return "➕ added"
	case Removed:
		return "➖ removed"
	}
	return "✏️ changed"
}

func codeOrDash(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + mdCode(s) + "`"
}

// mdCell makes text safe in a table cell or a line: no line breaks, no
// column separators, no HTML.
func mdCell(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ", "|", "\\|", "<", "&lt;", ">", "&gt;").Replace(s)
	return truncate(s, 500)
}

func mdCode(s string) string {
	return truncate(strings.NewReplacer("`", "'", "|", "\\|", "\n", " ", "\r", " ").Replace(s), 200)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
