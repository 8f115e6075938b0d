// Command synth writes a synthetic repository for benchmarks:
//
//	go run ./internal/synth/cmd/synth -apps 5000 -out /tmp/synth-5000
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gen-gitops/gen/internal/synth"
)

func main() {
	apps := flag.Int("apps", 100, "number of apps")
	per := flag.Int("per-namespace", 100, "apps in one namespace")
	base := flag.String("base", "examples/home-ops", "the example repository to start from")
	out := flag.String("out", "", "folder to write (must not exist or be empty)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "synth: -out is required")
		os.Exit(2)
	}
	if err := synth.Generate(*base, *out, synth.Options{Apps: *apps, PerNamespace: *per}); err != nil {
		fmt.Fprintf(os.Stderr, "synth: %v\n", err)
		os.Exit(1)
	}
}
