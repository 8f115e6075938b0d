// Package textdiff writes unified diffs of texts, as git and patch read
// them.
package textdiff

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Unified returns the unified diff of a and b with three lines of context,
// under the headers from and to; "" when the texts are equal. A text that
// does not end in a newline gets the "\ No newline at end of file" line.
func Unified(a, b, from, to string) (string, error) {
	if a == b {
		return "", nil
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(a), B: lines(b), FromFile: from, ToFile: to, Context: 3,
	})
}

// lines splits text into lines that keep their "\n".
func lines(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.SplitAfter(s, "\n")
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	} else {
		out[len(out)-1] += "\n\\ No newline at end of file\n"
	}
	return out
}
