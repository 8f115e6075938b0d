package check

import (
	"fmt"
	"sort"
	"strings"
)

// Finding is one problem, tied to a rule of the catalogue.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// File is the repository file the problem is in, slash-separated.
	File string `json:"file,omitempty"`
	// Line is the 1-based line in File, 0 when not known.
	Line int `json:"line,omitempty"`
	// Object is "Kind namespace/name" of the object concerned.
	Object string `json:"object,omitempty"`
	// Kustomization is "namespace/name" of the Flux Kustomization whose
	// build the problem was found in.
	Kustomization string `json:"kustomization,omitempty"`
	Message       string `json:"message"`
	// Fix is the rule's one-line fix.
	Fix string `json:"fix,omitempty"`
	// Group is set on findings of a rule most of the repository does not
	// follow: "key|summary". The report shows such a group once, with the
	// count, unless Options.Verbose asks for each finding.
	Group string `json:"-"`
	// Findings, on a group's summary, are how many findings it stands for.
	Findings int `json:"findings,omitempty"`
}

// Location returns "file:line", "file" or "".
func (f Finding) Location() string {
	switch {
	case f.File == "":
		return ""
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

// String formats the finding on one line.
func (f Finding) String() string {
	var b strings.Builder
	if loc := f.Location(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s [%s] ", f.Severity, f.Rule)
	if f.Object != "" {
		b.WriteString(f.Object)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// newFinding makes a finding of rule with the rule's severity and fix.
func newFinding(rule, file string, line int, format string, args ...any) Finding {
	r := Rules[rule]
	return Finding{Rule: rule, Severity: r.Severity, File: file, Line: line, Message: fmt.Sprintf(format, args...), Fix: r.Fix}
}

// sortFindings orders findings by file, line, rule and message, and drops
// exact duplicates (the same problem seen through several builds).
func sortFindings(in []Finding) []Finding {
	sort.SliceStable(in, func(i, j int) bool {
		a, b := in[i], in[j]
		if a.File != b.File {
			// Findings without a file go last.
			if a.File == "" || b.File == "" {
				return b.File == ""
			}
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return a.Message < b.Message
	})
	out := in[:0]
	for i, f := range in {
		if i > 0 {
			p := in[i-1]
			if p.Rule == f.Rule && p.File == f.File && p.Line == f.Line && p.Object == f.Object && p.Message == f.Message {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// Summary counts what a check looked at and found.
type Summary struct {
	Files          int `json:"files"`
	Kustomizations int `json:"kustomizations"`
	Built          int `json:"built"`
	NotBuilt       int `json:"notBuilt"`
	Objects        int `json:"objects"`
	Errors         int `json:"errors"`
	Warnings       int `json:"warnings"`
	Infos          int `json:"infos"`
	Ignored        int `json:"ignored"`
}

// Report is the result of a check.
type Report struct {
	// Clusters are the clusters checked, with their roots and why gen
	// took them for clusters.
	Clusters []ClusterInfo `json:"clusters"`
	Findings []Finding     `json:"findings"`
	Summary  Summary       `json:"summary"`
}

// ClusterInfo is one cluster a check covered.
type ClusterInfo struct {
	Name string `json:"name"`
	// Roots are the root files or sync folder its tree starts from.
	Roots []string `json:"roots"`
	// AppsDir is its folder of namespace folders ("" when none was found).
	AppsDir string `json:"appsDir,omitempty"`
	// Why says how gen found it.
	Why string `json:"why"`
	// Kustomizations counts the Flux Kustomizations of its tree.
	Kustomizations int `json:"kustomizations"`
}

// Failed reports whether any finding is an error.
func (r *Report) Failed() bool { return r.Summary.Errors > 0 }

func (r *Report) count() {
	r.Summary.Errors, r.Summary.Warnings, r.Summary.Infos = 0, 0, 0
	for _, f := range r.Findings {
		switch f.Severity {
		case SeverityError:
			r.Summary.Errors++
		case SeverityWarning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
	}
}
