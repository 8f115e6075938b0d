package main

import (
	"io"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/cli"
	"github.com/gen-gitops/gen/internal/testutil"
)

// BenchmarkAddAppDryRunAnton times the whole add-app command on a copy of
// the anton corpus: load and model the repository, generate, validate the
// way Flux builds, and print the diff.
func BenchmarkAddAppDryRunAnton(b *testing.B) {
	dir := testutil.CopyTree(b, testutil.AntonCorpus(b))
	args := []string{"add-app", "default/hello", "--repo", dir, "--image", "ghcr.io/traefik/whoami:v1.11.0",
		"--port", "80", "--host", "hello", "--dry-run"}
	var errOut strings.Builder
	if code := cli.Main(args, strings.NewReader(""), io.Discard, &errOut); code != 0 {
		b.Fatalf("exit %d: %s", code, errOut.String())
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := cli.Main(args, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
