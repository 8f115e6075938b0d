package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gen-gitops/gen/internal/helm/helmtest"
	"github.com/gen-gitops/gen/internal/helm/schema"
)

// TestMain lets this test binary serve as its own render worker, as gen's
// binary does.
func TestMain(m *testing.M) {
	if IsWorker() {
		os.Exit(ServeWorker(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func newSandbox(t *testing.T, l Limits) *Sandbox {
	t.Helper()
	s, err := NewSandbox(SandboxOptions{Limits: l, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSandboxRendersAsInProcess(t *testing.T) {
	s := newSandbox(t, Limits{})
	req := &Request{
		Release: release("whoami", "default"),
		Values:  helmtest.AppValues("ghcr.io/traefik/whoami", "v1.11.0", "whoami.example.org"),
		Chart:   Chart{Archive: helmtest.Package("app-chart", helmtest.AppChart("1.2.0", helmtest.AppChartOptions{}))},
	}
	want, err := Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]*Result, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.Render(context.Background(), req)
		}()
	}
	wg.Wait()
	wantJSON, _ := json.Marshal(want)
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("render %d: %v", i, errs[i])
		}
		got, _ := json.Marshal(results[i])
		if string(got) != string(wantJSON) {
			t.Errorf("render %d in a worker differs from the same render in process", i)
		}
	}

	// An error comes back as the same staged error.
	files := helmtest.SimpleChart("broken", "0.1.0")
	files["templates/broken.yaml"] = `{{ fail "broken on purpose" }}`
	_, err = s.Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("broken", files)}})
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Stage != StageTemplate || !strings.Contains(err.Error(), "broken on purpose") {
		t.Errorf("want the template error from the worker, got %v", err)
	}
}

// exponential is a template that includes the next level twice, levels
// deep: Helm's nesting limit never trips, and it runs for 2^levels calls.
func exponential(levels int) string {
	var b strings.Builder
	for i := 0; i < levels; i++ {
		fmt.Fprintf(&b, "{{- define \"l%d\" -}}{{ include \"l%d\" . }}{{ include \"l%d\" . }}{{- end -}}\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "{{- define \"l%d\" -}}x{{- end -}}\n", levels)
	b.WriteString("value: {{ include \"l0\" . | len }}\n")
	return b.String()
}

func TestSandboxStopsARecursingTemplate(t *testing.T) {
	s := newSandbox(t, Limits{Time: 2 * time.Second})
	files := helmtest.SimpleChart("bomb", "0.1.0")
	files["templates/bomb.yaml"] = exponential(60)
	_, err := s.Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("bomb", files)}})
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Stage != StageBudget || !strings.Contains(err.Error(), "longer than 2s") {
		t.Fatalf("want the time budget, got %v", err)
	}
	// The sandbox goes on with a fresh worker.
	if _, err := s.Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))}}); err != nil {
		t.Fatalf("after a stopped render: %v", err)
	}
}

func TestSandboxStopsAMemoryBomb(t *testing.T) {
	s := newSandbox(t, Limits{Memory: 256 << 20})
	for name, tpl := range map[string]string{
		// One allocation of 2 GB, refused by the kernel at once.
		"one huge string": `value: {{ repeat 2000000000 "x" | len }}`,
		// Many smaller ones, caught by the heap watchdog.
		"growing list": `{{- $l := list -}}{{- range until 4000 -}}{{- $l = append $l (repeat 200000 "y") -}}{{- end -}}value: {{ len $l }}`,
	} {
		t.Run(name, func(t *testing.T) {
			if raceEnabled && name == "one huge string" {
				t.Skip("race builds have no address-space ceiling")
			}
			files := helmtest.SimpleChart("bomb", "0.1.0")
			files["templates/bomb.yaml"] = tpl
			_, err := s.Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("bomb", files)}})
			var rerr *Error
			if !errors.As(err, &rerr) || rerr.Stage != StageBudget || !strings.Contains(err.Error(), "memory") {
				t.Fatalf("want the memory budget, got %v", err)
			}
		})
	}
}

func TestSandboxOutputBudget(t *testing.T) {
	s := newSandbox(t, Limits{Output: 256 << 10})
	files := helmtest.SimpleChart("big", "0.1.0")
	files["templates/big.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  x: {{ repeat 1000000 \"x\" | quote }}\n"
	_, err := s.Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("big", files)}})
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Stage != StageBudget || !strings.Contains(err.Error(), "output") {
		t.Fatalf("want the output budget, got %v", err)
	}
}

// TestSandboxStopsASchemaBomb validates against a schema whose every level
// applies the next one twice: validation work doubles per level.
func TestSandboxStopsASchemaBomb(t *testing.T) {
	const levels = 60
	var defs []string
	for i := 0; i < levels; i++ {
		defs = append(defs, fmt.Sprintf(`"d%d": {"allOf": [{"$ref": "#/$defs/d%d"}, {"$ref": "#/$defs/d%d"}]}`, i, i+1, i+1))
	}
	defs = append(defs, fmt.Sprintf(`"d%d": {"type": "object"}`, levels))
	bomb := fmt.Sprintf(`{"$ref": "#/$defs/d0", "$defs": {%s}}`, strings.Join(defs, ", "))

	s := newSandbox(t, Limits{Time: 2 * time.Second})
	files := helmtest.AppChart("1.0.0", helmtest.AppChartOptions{Schema: bomb})
	_, err := s.Render(context.Background(), &Request{
		Release: release("web", "apps"),
		Chart:   Chart{Archive: helmtest.Package("app-chart", files)},
		Schemas: schema.Documents{},
	})
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Stage != StageBudget {
		t.Fatalf("want the time budget, got %v", err)
	}
}

// TestSandboxWithoutPATH: check and diff empty PATH so that nothing a
// repository names can run a program; the worker is started by its
// absolute path and still runs.
func TestSandboxWithoutPATH(t *testing.T) {
	t.Setenv("PATH", "")
	s := newSandbox(t, Limits{})
	if _, err := s.Render(context.Background(), &Request{Release: release("web", "apps"), Chart: Chart{Archive: helmtest.Package("simple", helmtest.SimpleChart("simple", "0.1.0"))}}); err != nil {
		t.Fatal(err)
	}
}
