// Command yamlfloor is the floor gen check is measured against: read every
// file of a repository the way gen check reads it, and parse every YAML
// file once, doing nothing else.
//
//	go run ./internal/synth/cmd/yamlfloor DIR
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/internal/check"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: yamlfloor DIR")
		os.Exit(2)
	}
	snap, err := check.ReadDir(os.Args[1], check.DefaultLimits())
	if err != nil {
		fmt.Fprintf(os.Stderr, "yamlfloor: %v\n", err)
		os.Exit(1)
	}
	var names []string
	for p := range snap.Files {
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" {
			names = append(names, p)
		}
	}
	var wg sync.WaitGroup
	next := make(chan string)
	var mu sync.Mutex
	docs := 0
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for p := range next {
				dec := yaml.NewDecoder(bytes.NewReader(snap.Files[p]))
				for {
					var node yaml.Node
					if err := dec.Decode(&node); err != nil {
						if !errors.Is(err, io.EOF) {
							n--
						}
						break
					}
					n++
				}
			}
			mu.Lock()
			docs += n
			mu.Unlock()
		}()
	}
	for _, p := range names {
		next <- p
	}
	close(next)
	wg.Wait()
	fmt.Printf("%d files, %d YAML documents\n", len(snap.Files), docs)
}
