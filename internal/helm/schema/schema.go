// Package schema validates Helm values against a chart's
// values.schema.json the way Helm v4 does (the same JSON Schema library,
// the same base URL, the same walk through subcharts and the same
// messages), with one difference that matters on a pull request: Helm
// fetches remote $ref documents with its own HTTP client and reads file://
// references from the local disk, while here remote documents come from a
// Documents set fetched beforehand under gen's host policy (Prefetch), and
// local references are never followed.
//
// app-template publishes its schema as a single $ref to a
// raw.githubusercontent.com document, itself a web of relative $refs.
// Prefetch follows that web through the fetcher it is given, within a
// budget of documents and bytes; Validate then compiles and validates with
// no I/O at all. A schema whose documents are missing is not validated:
// Validate says which documents were missing, so the caller can report
// that the check was skipped and why.
package schema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// baseURL is where Helm places a chart's schema, so relative references
// resolve the same way.
const baseURL = "file:///values.schema.json"

// Documents are remote schema documents by absolute URL (no fragment).
type Documents map[string][]byte

// Validate checks values (the chart's defaults already coalesced in, as
// Helm does before validating) against the chart's schema and every
// subchart's, and returns Helm's error when they do not meet them.
// skipped lists the documents a schema needed that were not in docs
// (remote URLs not fetched, file:// references never followed); such a
// schema is not checked.
func Validate(ch *chart.Chart, values map[string]any, docs Documents) (skipped []string, err error) {
	v := validator{docs: docs, missing: map[string]bool{}}
	var sb strings.Builder
	v.chart(ch, values, &sb)
	for u := range v.missing {
		skipped = append(skipped, u)
	}
	sort.Strings(skipped)
	if sb.Len() > 0 {
		return skipped, fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s", sb.String())
	}
	return skipped, nil
}

type validator struct {
	docs    Documents
	missing map[string]bool
}

// chart validates one chart and recurses into its dependencies with their
// part of the values, writing failures in Helm's format.
func (v *validator) chart(ch *chart.Chart, values map[string]any, sb *strings.Builder) {
	if ch.Schema != nil {
		if err := v.single(values, ch.Schema); err != nil {
			fmt.Fprintf(sb, "%s:\n", ch.Name())
			sb.WriteString(err.Error())
		}
	}
	for _, sub := range ch.Dependencies() {
		raw, ok := values[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		subValues, ok := raw.(map[string]any)
		if !ok {
			fmt.Fprintf(sb, "%s:\ninvalid type for values: expected object (map), got %T\n", sub.Name(), raw)
			continue
		}
		var inner strings.Builder
		v.chart(sub, subValues, &inner)
		sb.WriteString(inner.String())
	}
}

// single validates values against one schema document.
func (v *validator) single(values map[string]any, schemaJSON []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unable to validate schema: %s", r)
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return err
	}
	missing := map[string]bool{}
	c := jsonschema.NewCompiler()
	c.UseLoader(mapLoader{docs: v.docs, missing: missing})
	if err := c.AddResource(baseURL, doc); err != nil {
		return err
	}
	sch, err := c.Compile(baseURL)
	if len(missing) > 0 {
		for u := range missing {
			v.missing[u] = true
		}
		return nil
	}
	if err != nil {
		return err
	}
	if err := sch.Validate(values); err != nil {
		return validationError(err)
	}
	return nil
}

// validationError words a failed validation as Helm does.
func validationError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "jsonschema validation failed with '"+baseURL+"#'\n")
	return errors.New(msg + "\n")
}

// mapLoader serves remote documents from memory and records what it was
// asked for and did not have.
type mapLoader struct {
	docs    Documents
	missing map[string]bool
}

func (l mapLoader) Load(raw string) (any, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https":
		data, ok := l.docs[raw]
		if !ok {
			l.missing[raw] = true
			return nil, fmt.Errorf("schema document %s was not fetched", raw)
		}
		return jsonschema.UnmarshalJSON(bytes.NewReader(data))
	case "urn":
		// Helm answers an unresolved urn: with a schema that accepts
		// everything.
		return true, nil
	case "file":
		l.missing[raw] = true
		return nil, fmt.Errorf("local schema reference %s is not followed", raw)
	default:
		l.missing[raw] = true
		return nil, fmt.Errorf("schema reference %s has an unsupported scheme", raw)
	}
}

// Fetcher reads one remote document.
type Fetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, error)
}

// Limits bound how much of a schema web Prefetch reads.
type Limits struct {
	// Documents is the most documents fetched for one chart.
	Documents int
	// Bytes is the most bytes fetched for one chart, all documents
	// together.
	Bytes int64
}

// DefaultLimits hold app-template's schema web (a few dozen documents of a
// few KB each) with room to spare.
func DefaultLimits() Limits { return Limits{Documents: 200, Bytes: 8 << 20} }

// Failure is a document Prefetch could not read.
type Failure struct {
	URL string
	Err error
}

// BudgetError says a schema web went over its Limits.
type BudgetError struct {
	Budget string
	Limit  int64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("schema references are over the %s budget (%d)", e.Budget, e.Limit)
}

// Prefetch reads, through f, every remote document the given schemas
// refer to, following references from document to document as the
// validator will. Documents already in have are not fetched again. What
// cannot be read is listed in failures; the schemas are then validated
// without it (Validate skips them).
func Prefetch(ctx context.Context, schemas [][]byte, have Documents, f Fetcher, limits Limits) (Documents, []Failure) {
	if limits.Documents <= 0 {
		limits.Documents = DefaultLimits().Documents
	}
	if limits.Bytes <= 0 {
		limits.Bytes = DefaultLimits().Bytes
	}
	p := &prefetcher{ctx: ctx, f: f, limits: limits, docs: Documents{}, have: have, failed: map[string]error{}}
	for _, s := range schemas {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s))
		if err != nil {
			continue // Validate reports it as Helm does
		}
		c := jsonschema.NewCompiler()
		c.UseLoader(p)
		if err := c.AddResource(baseURL, doc); err != nil {
			continue
		}
		_, _ = c.Compile(baseURL)
	}
	var failures []Failure
	for u, err := range p.failed {
		failures = append(failures, Failure{URL: u, Err: err})
	}
	sort.Slice(failures, func(i, j int) bool { return failures[i].URL < failures[j].URL })
	return p.docs, failures
}

type prefetcher struct {
	ctx    context.Context
	f      Fetcher
	limits Limits
	docs   Documents
	have   Documents
	failed map[string]error
	bytes  int64
}

func (p *prefetcher) Load(raw string) (any, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "urn" {
		return true, nil
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("local schema reference %s is not followed", raw)
	}
	if data, ok := p.docs[raw]; ok {
		return jsonschema.UnmarshalJSON(bytes.NewReader(data))
	}
	if err, ok := p.failed[raw]; ok {
		return nil, err
	}
	data, ok := p.have[raw]
	if !ok {
		if len(p.docs) >= p.limits.Documents {
			err := &BudgetError{Budget: "documents", Limit: int64(p.limits.Documents)}
			p.failed[raw] = err
			return nil, err
		}
		data, err = p.f.Fetch(p.ctx, raw)
		if err != nil {
			p.failed[raw] = err
			return nil, err
		}
	}
	p.bytes += int64(len(data))
	if p.bytes > p.limits.Bytes {
		err := &BudgetError{Budget: "bytes", Limit: p.limits.Bytes}
		p.failed[raw] = err
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		err = fmt.Errorf("reading schema document %s: %w", raw, err)
		p.failed[raw] = err
		return nil, err
	}
	p.docs[raw] = data
	return doc, nil
}
