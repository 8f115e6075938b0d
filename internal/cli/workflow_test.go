package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/internal/testutil"
)

// TestExampleWorkflow keeps the add-app workflows of examples/workflows
// honest: every gen flag they pass exists, and every field they read from
// --output json is one gen writes.
func TestExampleWorkflow(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testutil.ModuleRoot(t), "examples", "workflows", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no example workflows")
	}
	root := NewRootCmd(IO{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Env{Getenv: func(string) string { return "" }})
	addApp, _, err := root.Find([]string{"add-app"})
	if err != nil {
		t.Fatal(err)
	}
	jsonFields := map[string]bool{}
	rt := reflect.TypeOf(result{})
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		jsonFields[name] = true
	}
	flagRe := regexp.MustCompile(`(?:^|\s|\()(--[a-z][a-z-]*)`)
	fieldRe := regexp.MustCompile(`jq -r '?\.([a-zA-Z]+)`)
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "add-app") {
			continue
		}
		var wf struct {
			On   map[string]any `yaml:"on"`
			Jobs map[string]struct {
				Steps []struct {
					Name string `yaml:"name"`
					Run  string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if _, ok := wf.On["workflow_dispatch"]; !ok {
			t.Errorf("%s: no workflow_dispatch trigger", file)
		}
		checked := 0
		for _, job := range wf.Jobs {
			for _, step := range job.Steps {
				if !strings.Contains(step.Run, "add-app") || strings.Contains(step.Run, "go install") {
					continue
				}
				checked++
				for _, m := range flagRe.FindAllStringSubmatch(step.Run, -1) {
					name := strings.TrimPrefix(m[1], "--")
					if addApp.Flags().Lookup(name) == nil {
						t.Errorf("%s: step %q passes %s, which add-app does not know", file, step.Name, m[1])
					}
				}
				for _, m := range fieldRe.FindAllStringSubmatch(step.Run, -1) {
					if !jsonFields[m[1]] {
						t.Errorf("%s: step %q reads .%s, which --output json does not write", file, step.Name, m[1])
					}
				}
			}
		}
		if checked == 0 {
			t.Errorf("%s: no step runs gen", file)
		}
	}
}
