package generator

import (
	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator/internal/yamledit"
)

// The namespace-kustomization editor (kustomization.go) is built on the
// line-splice editor of internal/yamledit; these are the parts it uses,
// under the names it calls them by.

func parseStream(data []byte) ([]*yaml.Node, error) { return yamledit.ParseStream(data) }

func mapGet(m *yaml.Node, key string) *yaml.Node { return yamledit.MapGet(m, key) }

func isFlow(n *yaml.Node) bool { return yamledit.IsFlow(n) }

func splitLines(data []byte) []string { return yamledit.SplitLines(data) }

func joinLines(l []string) []byte { return yamledit.JoinLines(l) }

func removeLines(lines []string, from, to int) []string {
	return yamledit.RemoveLines(lines, from, to)
}

func blockItemRange(lines []string, seq *yaml.Node, i int) (int, int, error) {
	return yamledit.BlockItemRange(lines, seq, i)
}

func verifyEdit(file string, old, new []byte, want func(docs []any) ([]any, error)) error {
	return yamledit.VerifyEdit(file, old, new, want)
}

func indentOf(line string) int { return yamledit.IndentOf(line) }

func insertLines(lines []string, at int, newLines []string) []string {
	return yamledit.InsertLines(lines, at, newLines)
}
