package cli

//go:generate go run ./gendocs ../../docs/cmd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// WriteDocs writes the Markdown reference of every command into dir, one
// file per command (gen_add-app.md, ...), from the commands' own help.
// Files of dir that no command writes any more are removed, so the folder
// is exactly the reference. docs/cmd is made this way (make docs); a test
// fails when it is stale.
func WriteDocs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := docsRoot()
	if err := doc.GenMarkdownTree(root, dir); err != nil {
		return fmt.Errorf("writing the command reference: %w", err)
	}
	want := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c != root {
			return
		}
		want[strings.ReplaceAll(c.CommandPath(), " ", "_")+".md"] = true
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	old, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if !want[filepath.Base(p)] {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// docsRoot is the command tree as the reference shows it: no environment
// reaches it, and no page carries a date.
func docsRoot() *cobra.Command {
	root := NewRootCmd(IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, Env{Getenv: func(string) string { return "" }})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return root
}
