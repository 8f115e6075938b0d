package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasAnExample walks the whole command tree: a command
// without an Example in its help is a defect.
func TestEveryCommandHasAnExample(t *testing.T) {
	root := NewRootCmd(IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, ProcessEnv())
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			n++
			if strings.TrimSpace(sub.Example) == "" {
				t.Errorf("%q has no Example", sub.CommandPath())
			}
			if sub.Short == "" {
				t.Errorf("%q has no Short description", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
	if n < 3 {
		t.Fatalf("walked only %d commands", n)
	}
}
