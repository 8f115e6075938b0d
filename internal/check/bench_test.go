package check

import (
	"bytes"
	"errors"
	"io"
	"path"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/internal/synth"
	"github.com/gen-gitops/gen/internal/testutil"
)

// BenchmarkCheckAnton reads and checks the anton corpus, as gen check does
// (process start aside).
func BenchmarkCheckAnton(b *testing.B) {
	dir := testutil.AntonCorpus(b)
	for b.Loop() {
		snap, err := ReadDir(dir, DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(snap, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorAnton reads the anton corpus and parses every YAML file
// once, on one core: what any check must at least do.
func BenchmarkFloorAnton(b *testing.B) {
	dir := testutil.AntonCorpus(b)
	for b.Loop() {
		snap, err := ReadDir(dir, DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		for p, data := range snap.Files {
			if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
				continue
			}
			dec := yaml.NewDecoder(bytes.NewReader(data))
			for {
				var n yaml.Node
				if err := dec.Decode(&n); err != nil {
					if !errors.Is(err, io.EOF) {
						b.Fatal(err)
					}
					break
				}
			}
		}
	}
}

// BenchmarkCheckSynthetic500 checks a synthetic repository of 500 apps
// (internal/synth), as gen check does (process start aside).
func BenchmarkCheckSynthetic500(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "repo")
	if err := synth.Generate(filepath.Join(testutil.ModuleRoot(b), "examples", "home-ops"), dir, synth.Options{Apps: 500}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		snap, err := ReadDir(dir, DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		rep, err := Run(snap, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Failed() {
			b.Fatalf("%d errors", rep.Summary.Errors)
		}
	}
}
