package domains_test

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/domains"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/secrets"
	"github.com/gen-gitops/gen/internal/testutil"
)

// The seven files every onboarding touches, by what they are (the paths
// differ between repositories).
func wantSevenFiles(t *testing.T, cs *generator.Changeset) {
	t.Helper()
	if len(cs.Files) != 7 {
		t.Fatalf("changed %d files, want the seven: %v", len(cs.Files), cs.Paths())
	}
}

func TestOnboardDomainGolden(t *testing.T) {
	cases := []struct {
		name    string
		fixture func(testing.TB) gentest.Fixture
		domain  string
		wantVar string
		// full golden files, or (for the corpus) only the changed lines
		diffOnly bool
	}{
		{"example", gentest.ExampleFixture, "example.net", "SECRET_DOMAIN_THREE", false},
		{"single-domain", gentest.StockFixture, "example.net", "SECRET_DOMAIN_TWO", false},
		{"anton", gentest.AntonFixture, "delta.example", "SECRET_DOMAIN_FOUR", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fixture(t)
			cs, err := domains.Onboard(f.Repo.Model(), domains.OnboardOptions{Domain: tc.domain, Store: f.Store(t)})
			if err != nil {
				t.Fatal(err)
			}
			wantSevenFiles(t, cs)
			if !strings.Contains(cs.Title, tc.wantVar) {
				t.Fatalf("title %q does not name %s", cs.Title, tc.wantVar)
			}
			got := goldenView(t, f, cs)
			dir := filepath.Join("testdata", "onboard", tc.name)
			if tc.diffOnly {
				testutil.GoldenFile(t, dir+".diff", []byte(changedLines(t, f, cs)))
			} else {
				testutil.GoldenTree(t, dir, got)
			}
			after := gentest.Overlay(f.Repo.Files, cs)
			checkFluxBuilds(t, f.Repo, after, cs.Paths(), tc.wantVar)
			checkTunnel(t, after, tc.wantVar)
			checkClusterSecrets(t, f, after, tc.wantVar, tc.domain)
			checkRerunAndOffboard(t, f, after, tc.domain, tc.wantVar)
		})
	}
}

// goldenView shows each changed file; encrypted ones decrypted, since
// their ciphertext differs on every run.
func goldenView(t *testing.T, f gentest.Fixture, cs *generator.Changeset) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, fc := range cs.Files {
		out[fc.Path] = fc.Content
		if fc.Sensitive {
			out[fc.Path] = gentest.DecryptedView(t, f, fc.Content)
		}
	}
	return out
}

// changedLines is a unified diff without context of every changed file:
// the golden form for the corpus, whose files are not copied into this
// repository.
func changedLines(t *testing.T, f gentest.Fixture, cs *generator.Changeset) string {
	t.Helper()
	var b strings.Builder
	for _, fc := range cs.Files {
		a, c := f.Repo.Files[fc.Path], fc.Content
		if fc.Sensitive {
			a, c = gentest.DecryptedView(t, f, a), gentest.DecryptedView(t, f, c)
		}
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(a)), B: difflib.SplitLines(string(c)),
			FromFile: "a/" + fc.Path, ToFile: "b/" + fc.Path, Context: 0,
		})
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(text)
	}
	return b.String()
}

// checkFluxBuilds builds every Flux Kustomization the change affects the
// way Flux does, and checks the new variable reaches the output.
func checkFluxBuilds(t *testing.T, r *repo.Repo, files map[string][]byte, changed []string, v string) {
	t.Helper()
	all, err := flux.Discover(files, r.RootKustomizations)
	if err != nil {
		t.Fatalf("Discover after the change: %v", err)
	}
	affected := flux.Affected(all, files, changed)
	if len(affected) == 0 {
		t.Fatal("no Kustomization is affected by the change")
	}
	placeholder := flux.Placeholder(v)
	seen := 0
	for _, ks := range affected {
		if ks.External {
			continue
		}
		rd, err := flux.Render(files, ks, flux.RenderOptions{})
		if err != nil {
			t.Errorf("%s does not build: %v", ks, err)
			continue
		}
		for _, fd := range rd.Findings {
			if fd.Severity == flux.SeverityError {
				t.Errorf("%s", fd)
			}
		}
		for _, o := range rd.Objects {
			if bytes.Contains(o.YAML(), []byte(placeholder)) {
				seen++
			}
		}
	}
	if seen < 5 {
		t.Errorf("only %d rendered objects carry %s's value; substitution does not find the new variable", seen, v)
	}
}

// checkTunnel parses every cloudflared config after the change: the
// catch-all is last, and the apex and wildcard rules are before it.
func checkTunnel(t *testing.T, files map[string][]byte, v string) {
	t.Helper()
	lists := ingressLists(t, files)
	if len(lists) == 0 {
		t.Fatal("no cloudflared config found after the change")
	}
	for _, rules := range lists {
		last, _ := rules[len(rules)-1].(map[string]any)
		if _, ok := last["hostname"]; ok || last["service"] == nil {
			t.Fatalf("the last ingress rule is not the catch-all: %v", last)
		}
		found := 0
		for _, r := range rules[:len(rules)-1] {
			m, _ := r.(map[string]any)
			switch m["hostname"] {
			case "${" + v + "}", "*.${" + v + "}":
				found++
				if m["service"] == nil {
					t.Errorf("rule %v has no service", m)
				}
			}
		}
		if found != 2 {
			t.Fatalf("want the apex and wildcard rules for %s before the catch-all, found %d in %v", v, found, rules)
		}
	}
}

// ingressLists finds cloudflared ingress lists: in strings of HelmRelease
// values and in plain documents.
func ingressLists(t *testing.T, files map[string][]byte) [][]any {
	t.Helper()
	var out [][]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		case string:
			if strings.Contains(x, "ingress:") {
				var m map[string]any
				if err := yaml.Unmarshal([]byte(x), &m); err != nil {
					t.Fatalf("an embedded cloudflared config does not parse: %v", err)
				}
				if l, ok := m["ingress"].([]any); ok {
					out = append(out, l)
				}
			}
		}
	}
	for p, data := range files {
		if !strings.HasSuffix(p, ".yaml") || !bytes.Contains(data, []byte("ingress:")) {
			continue
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var m map[string]any
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			switch {
			case m["kind"] == "HelmRelease":
				walk(m["spec"])
			case m["kind"] == nil && m["ingress"] != nil:
				if l, ok := m["ingress"].([]any); ok {
					out = append(out, l)
				}
			}
		}
	}
	return out
}

// checkClusterSecrets decrypts cluster-secrets with the sops CLI: the old
// keys and values plus the new one.
func checkClusterSecrets(t *testing.T, f gentest.Fixture, files map[string][]byte, v, domain string) {
	t.Helper()
	p := f.Repo.ClusterSecretsFile
	before, err := secrets.Values(f.Repo.Files[p], f.IDs)
	if err != nil {
		t.Fatal(err)
	}
	got := gentest.SopsDecrypt(t, f.KeyFile, p, files[p])
	want := map[string]string{v: domain}
	for k, val := range before {
		want[k] = val
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sops --decrypt gives %v, want %v", got, want)
	}
	// The values gen did not touch keep their ciphertext.
	for _, k := range slices.Sorted(maps.Keys(before)) {
		line := gentest.EncryptedLine(f.Repo.Files[p], k)
		if line == "" || !bytes.Contains(files[p], []byte(line)) {
			t.Errorf("the ciphertext of %s changed", k)
		}
	}
}

// checkRerunAndOffboard runs onboarding again (nothing to do) and then
// offboarding, which must give back the original files.
func checkRerunAndOffboard(t *testing.T, f gentest.Fixture, after map[string][]byte, domain, v string) {
	t.Helper()
	r2, err := repo.FromFiles(after, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := domains.Onboard(r2.Model(), domains.OnboardOptions{Domain: domain, Store: gentest.NewStore(t, r2, f.IDs)})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if len(again.Files) != 0 {
		t.Fatalf("rerun wants to change %v", again.Paths())
	}
	if len(again.Notes) != 1 || !strings.Contains(again.Notes[0], domains.AlreadyOnboarded+" as "+v) {
		t.Fatalf("rerun notes %q, want %q", again.Notes, domains.AlreadyOnboarded)
	}
	off, err := domains.Offboard(r2.Model(), domains.OffboardOptions{Domain: domain, Store: gentest.NewStore(t, r2, f.IDs)})
	if err != nil {
		t.Fatalf("offboard: %v", err)
	}
	if len(off.Files) != 7 {
		t.Fatalf("offboarding changed %v, want the seven files", off.Paths())
	}
	restored := gentest.Overlay(after, off)
	var differ []string
	for p, data := range f.Repo.Files {
		if p == f.Repo.ClusterSecretsFile {
			continue
		}
		if !bytes.Equal(restored[p], data) {
			differ = append(differ, p)
		}
	}
	for p := range restored {
		if _, ok := f.Repo.Files[p]; !ok {
			differ = append(differ, p+" (added)")
		}
	}
	sort.Strings(differ)
	if len(differ) > 0 {
		t.Fatalf("offboarding did not restore %v", differ)
	}
	before, _ := secrets.Values(f.Repo.Files[f.Repo.ClusterSecretsFile], f.IDs)
	now, err := secrets.Values(restored[f.Repo.ClusterSecretsFile], f.IDs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, now) {
		t.Fatalf("cluster-secrets after offboarding holds %v, want %v", now, before)
	}
	if !bytes.Equal(gentest.KeyOrder(restored[f.Repo.ClusterSecretsFile]), gentest.KeyOrder(f.Repo.Files[f.Repo.ClusterSecretsFile])) {
		t.Fatal("cluster-secrets keys are not in their old order after offboarding")
	}
}
