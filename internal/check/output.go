package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Format is an output format of a report.
type Format string

// Formats.
const (
	// FormatText is for people at a terminal.
	FormatText Format = "text"
	// FormatJSON is the Report as JSON.
	FormatJSON Format = "json"
	// FormatGitHub is GitHub Actions workflow commands: an annotation per
	// finding, on the file and line.
	FormatGitHub Format = "github"
	// FormatMarkdown is a table for a pull request comment.
	FormatMarkdown Format = "markdown"
)

// Formats lists the formats, for flag help.
var Formats = []Format{FormatText, FormatJSON, FormatGitHub, FormatMarkdown}

// WriteOptions adjust Write.
type WriteOptions struct {
	// Color turns on ANSI colours in FormatText.
	Color bool
}

// Write writes the report in a format.
func Write(w io.Writer, rep *Report, format Format, opts WriteOptions) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case FormatGitHub:
		return writeGitHub(w, rep)
	case FormatMarkdown:
		_, err := io.WriteString(w, Markdown(rep))
		return err
	}
	return writeText(w, rep, opts.Color)
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

func writeText(w io.Writer, rep *Report, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	b.WriteString(paint(ansiDim, clustersLine(rep)))
	b.WriteString("\n")
	for _, f := range rep.Findings {
		if loc := f.Location(); loc != "" {
			b.WriteString(paint(ansiBold, loc))
			b.WriteString(": ")
		}
		sev := string(f.Severity)
		switch f.Severity {
		case SeverityError:
			sev = paint(ansiRed+ansiBold, sev)
		case SeverityWarning:
			sev = paint(ansiYellow+ansiBold, sev)
		default:
			sev = paint(ansiCyan, sev)
		}
		fmt.Fprintf(&b, "%s %s ", sev, paint(ansiDim, "["+f.Rule+"]"))
		if f.Object != "" {
			b.WriteString(f.Object)
			b.WriteString(": ")
		}
		b.WriteString(f.Message)
		b.WriteString("\n")
		if f.Fix != "" && f.Severity != SeverityInfo {
			b.WriteString(paint(ansiDim, "    fix: "+f.Fix))
			b.WriteString("\n")
		}
	}
	if len(rep.Findings) > 0 {
		b.WriteString("\n")
	}
	b.WriteString(summaryLine(rep))
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// clustersLine says which clusters and roots the check found, and why:
// one line for one cluster, a line for each after the first when there are
// several.
func clustersLine(rep *Report) string {
	describe := func(c ClusterInfo) string {
		s := "roots " + strings.Join(c.Roots, ", ")
		if len(c.Roots) == 1 {
			s = "root " + c.Roots[0]
		}
		if c.AppsDir != "" {
			s += ", apps in " + c.AppsDir
		}
		return s + " (" + c.Why + ")"
	}
	switch len(rep.Clusters) {
	case 0:
		return "gen check: no cluster found"
	case 1:
		c := rep.Clusters[0]
		if c.Name == "" || c.Name == "default" {
			return "gen check: " + describe(c)
		}
		return "gen check: cluster " + c.Name + ": " + describe(c)
	}
	names := make([]string, len(rep.Clusters))
	for i, c := range rep.Clusters {
		names[i] = c.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "gen check: %d clusters: %s", len(rep.Clusters), strings.Join(names, ", "))
	for _, c := range rep.Clusters {
		fmt.Fprintf(&b, "\n  %s: %s", c.Name, describe(c))
	}
	return b.String()
}

// summaryLine says what was checked and what was found.
func summaryLine(rep *Report) string {
	s := rep.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "gen check: %d files, %d of %d Flux Kustomizations built", s.Files, s.Built, s.Kustomizations)
	if s.NotBuilt > 0 {
		fmt.Fprintf(&b, " (%d from other sources)", s.NotBuilt)
	}
	fmt.Fprintf(&b, ", %d objects: %s, %s", s.Objects, plural(s.Errors, "error"), plural(s.Warnings, "warning"))
	if s.Infos > 0 {
		fmt.Fprintf(&b, ", %s", plural(s.Infos, "note"))
	}
	if s.Ignored > 0 {
		fmt.Fprintf(&b, " (%d ignored by gen:ignore)", s.Ignored)
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// writeGitHub writes one workflow command per finding: ::error, ::warning
// or ::notice, with the file and line when known, so that GitHub shows it
// on the pull request's diff.
func writeGitHub(w io.Writer, rep *Report) error {
	var b strings.Builder
	for _, f := range rep.Findings {
		cmd := "notice"
		switch f.Severity {
		case SeverityError:
			cmd = "error"
		case SeverityWarning:
			cmd = "warning"
		}
		var props []string
		if f.File != "" {
			props = append(props, "file="+escapeProperty(f.File))
			if f.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", f.Line))
			}
		}
		props = append(props, "title="+escapeProperty("gen check: "+f.Rule))
		msg := f.Message
		if f.Object != "" {
			msg = f.Object + ": " + msg
		}
		if f.Fix != "" && f.Severity != SeverityInfo {
			msg += "\nfix: " + f.Fix
		}
		fmt.Fprintf(&b, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg))
	}
	b.WriteString(summaryLine(rep))
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeData escapes a workflow command's message.
func escapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	s = escapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// Markdown renders the report as a section of a pull request comment.
func Markdown(rep *Report) string {
	var b strings.Builder
	s := rep.Summary
	b.WriteString("### gen check\n\n")
	status := "✅ passed"
	if rep.Failed() {
		status = "❌ failed"
	}
	fmt.Fprintf(&b, "%s: %s, %s", status, plural(s.Errors, "error"), plural(s.Warnings, "warning"))
	if s.Infos > 0 {
		fmt.Fprintf(&b, ", %s", plural(s.Infos, "note"))
	}
	fmt.Fprintf(&b, " in %d of %d Flux Kustomizations built", s.Built, s.Kustomizations)
	if s.NotBuilt > 0 {
		fmt.Fprintf(&b, " (%d from other sources)", s.NotBuilt)
	}
	fmt.Fprintf(&b, ", %d objects.\n", s.Objects)
	if len(rep.Findings) == 0 {
		return b.String()
	}
	b.WriteString("\n| | Rule | Where | Problem | Fix |\n|---|---|---|---|---|\n")
	for _, f := range rep.Findings {
		icon := "ℹ️"
		switch f.Severity {
		case SeverityError:
			icon = "❌"
		case SeverityWarning:
			icon = "⚠️"
		}
		where := ""
		if loc := f.Location(); loc != "" {
			where = "`" + mdCode(loc) + "`"
		}
		msg := f.Message
		if f.Object != "" {
			msg = f.Object + ": " + msg
		}
		fix := f.Fix
		if f.Severity == SeverityInfo {
			fix = ""
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", icon, f.Rule, where, mdCell(msg), mdCell(fix))
	}
	return b.String()
}

// mdCell makes text safe in a table cell: no line breaks, no column
// separators, no HTML.
func mdCell(s string) string {
	r := strings.NewReplacer("\r", " ", "\n", " ", "|", "\\|", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "|", "\\|", "\n", " ").Replace(s)
}
