// Command yamlfloor is the floor gen check is measured against: read every
// YAML file of a repository and parse each of its documents once, on every
// core, doing nothing else.
//
//	go run ./internal/synth/cmd/yamlfloor DIR
//
// It links only the standard library and yaml.v3 on purpose. Reusing
// gen's own reader (internal/check.ReadDir) would link every package gen
// links, and a Go process initialises all of them before main: about
// 70 ms on this project's machine, which is process start, not reading or
// parsing, and would flatter any ratio taken against the floor.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sync"

	"go.yaml.in/yaml/v3"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: yamlfloor DIR")
		os.Exit(2)
	}
	files, docs, err := floor(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "yamlfloor: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d YAML files, %d YAML documents\n", files, docs)
}

// floor reads and parses every .yaml and .yml file under root (skipping
// .git and node_modules, as gen does) and returns how many files and
// documents it parsed.
func floor(root string) (files, docs int, err error) {
	var names []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == ".git" || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(p); d.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := make(chan string)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			var firstErr error
			for p := range next {
				data, err := os.ReadFile(p)
				if err != nil {
					firstErr = cmp(firstErr, err)
					continue
				}
				dec := yaml.NewDecoder(bytes.NewReader(data))
				for {
					var node yaml.Node
					if err := dec.Decode(&node); err != nil {
						if !errors.Is(err, io.EOF) {
							firstErr = cmp(firstErr, fmt.Errorf("%s: %w", p, err))
						}
						break
					}
					n++
				}
			}
			mu.Lock()
			docs += n
			if err == nil {
				err = firstErr
			}
			mu.Unlock()
		}()
	}
	for _, p := range names {
		next <- p
	}
	close(next)
	wg.Wait()
	return len(names), docs, err
}

// cmp keeps the first error.
func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
