// Package textdiff writes unified diffs of texts, as git and patch read
// them.
package textdiff

import (
	udiff "github.com/aymanbagabas/go-udiff"
)

// context is the number of unchanged lines around each change.
const context = 3

// Unified returns the unified diff of a and b with three lines of context,
// under the headers from and to; "" when the texts are equal. A text that
// does not end in a newline gets the "\ No newline at end of file" line.
func Unified(a, b, from, to string) (string, error) {
	if a == b {
		return "", nil
	}
	return udiff.ToUnified(from, to, a, udiff.Lines(a, b), context)
}
