package schema

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// fetcher serves documents from a map and counts what it is asked.
type fetcher struct {
	docs  map[string]string
	asked []string
}

func (f *fetcher) Fetch(_ context.Context, url string) ([]byte, error) {
	f.asked = append(f.asked, url)
	d, ok := f.docs[url]
	if !ok {
		return nil, errors.New("404")
	}
	return []byte(d), nil
}

func TestPrefetchFollowsRelativeReferences(t *testing.T) {
	f := &fetcher{docs: map[string]string{
		"https://schemas.example.org/app/root.json":       `{"properties": {"a": {"$ref": "parts/a.json"}, "b": {"$ref": "#/$defs/b"}}, "$defs": {"b": {"type": "string"}}}`,
		"https://schemas.example.org/app/parts/a.json":    `{"$ref": "../common/int.json#/$defs/int"}`,
		"https://schemas.example.org/app/common/int.json": `{"$defs": {"int": {"type": "integer"}}}`,
	}}
	top := []byte(`{"$ref": "https://schemas.example.org/app/root.json"}`)
	docs, failures := Prefetch(context.Background(), [][]byte{top}, nil, f, Limits{})
	if len(failures) != 0 {
		t.Fatalf("failures: %v", failures)
	}
	if len(docs) != 3 || len(f.asked) != 3 {
		t.Errorf("fetched %v, kept %d", f.asked, len(docs))
	}

	ch := &chart.Chart{Metadata: &chart.Metadata{Name: "app", Version: "1.0.0", APIVersion: "v2"}, Schema: top}
	if skipped, err := Validate(ch, map[string]any{"a": float64(1), "b": "x"}, docs); err != nil || len(skipped) != 0 {
		t.Errorf("valid values: %v %v", skipped, err)
	}
	_, err := Validate(ch, map[string]any{"a": "one"}, docs)
	if err == nil || !strings.Contains(err.Error(), "app:") || !strings.Contains(err.Error(), "/a") {
		t.Errorf("invalid values: %v", err)
	}
}

func TestPrefetchNeverReadsLocalReferences(t *testing.T) {
	f := &fetcher{docs: map[string]string{}}
	Prefetch(context.Background(), [][]byte{[]byte(`{"$ref": "file:///etc/passwd"}`), []byte(`{"$ref": "defs.json"}`)}, nil, f, Limits{})
	if len(f.asked) != 0 {
		t.Errorf("asked the fetcher for %v", f.asked)
	}
	ch := &chart.Chart{Metadata: &chart.Metadata{Name: "app", Version: "1.0.0", APIVersion: "v2"}, Schema: []byte(`{"$ref": "defs.json"}`)}
	skipped, err := Validate(ch, map[string]any{}, nil)
	if err != nil || strings.Join(skipped, ",") != "file:///defs.json" {
		t.Errorf("skipped %v, err %v", skipped, err)
	}
}

func TestPrefetchBudgets(t *testing.T) {
	// Every document refers to two new ones.
	f := &fetcher{docs: map[string]string{}}
	for i := 0; i < 200; i++ {
		f.docs[fmt.Sprintf("https://s.example.org/d%d.json", i)] = fmt.Sprintf(`{"allOf": [{"$ref": "d%d.json"}, {"$ref": "d%d.json"}]}`, 2*i+1, 2*i+2)
	}
	top := []byte(`{"$ref": "https://s.example.org/d0.json"}`)
	_, failures := Prefetch(context.Background(), [][]byte{top}, nil, f, Limits{Documents: 10})
	if len(f.asked) != 10 {
		t.Errorf("asked for %d documents with a budget of 10", len(f.asked))
	}
	var be *BudgetError
	if len(failures) == 0 || !errors.As(failures[0].Err, &be) || be.Budget != "documents" {
		t.Errorf("failures: %v", failures)
	}

	f.asked = nil
	big := &fetcher{docs: map[string]string{"https://s.example.org/big.json": `{"description": "` + strings.Repeat("x", 4096) + `"}`}}
	_, failures = Prefetch(context.Background(), [][]byte{[]byte(`{"$ref": "https://s.example.org/big.json"}`)}, nil, big, Limits{Bytes: 1024})
	if len(failures) != 1 || !errors.As(failures[0].Err, &be) || be.Budget != "bytes" {
		t.Errorf("bytes budget: %v", failures)
	}
}

func TestValidateSubcharts(t *testing.T) {
	sub := &chart.Chart{Metadata: &chart.Metadata{Name: "db", Version: "1.0.0", APIVersion: "v2"}, Schema: []byte(`{"properties": {"port": {"type": "integer"}}}`)}
	top := &chart.Chart{Metadata: &chart.Metadata{Name: "app", Version: "1.0.0", APIVersion: "v2"}}
	top.AddDependency(sub)
	_, err := Validate(top, map[string]any{"db": map[string]any{"port": "five"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "db:") {
		t.Errorf("subchart values: %v", err)
	}
	_, err = Validate(top, map[string]any{"db": "not a map"}, nil)
	if err == nil || !strings.Contains(err.Error(), "invalid type for values: expected object (map), got string") {
		t.Errorf("subchart values of the wrong type: %v", err)
	}
}
