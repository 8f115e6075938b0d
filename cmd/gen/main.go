// Command gen writes and checks Flux GitOps repositories.
package main

import (
	"os"

	"github.com/gen-gitops/gen/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
