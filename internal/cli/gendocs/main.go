// Command gendocs writes gen's command reference (docs/cmd) from the
// commands' help: go run ./internal/cli/gendocs docs/cmd, or make docs.
package main

import (
	"fmt"
	"os"

	"github.com/gen-gitops/gen/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs <dir>")
		os.Exit(2)
	}
	if err := cli.WriteDocs(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}
