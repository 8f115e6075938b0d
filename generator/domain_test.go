package generator_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
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
		fixture func(testing.TB) fixture
		domain  string
		wantVar string
		// full golden files, or (for the corpus) only the changed lines
		diffOnly bool
	}{
		{"example", exampleFixture, "example.net", "SECRET_DOMAIN_THREE", false},
		{"single-domain", stockFixture, "example.net", "SECRET_DOMAIN_TWO", false},
		{"anton", antonFixture, "delta.example", "SECRET_DOMAIN_FOUR", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fixture(t)
			cs, err := generator.OnboardDomain(f.r, generator.OnboardDomainOptions{Domain: tc.domain, Store: f.store(t)})
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
			after := overlay(f.r.Files, cs)
			checkFluxBuilds(t, f.r, after, cs.Paths(), tc.wantVar)
			checkTunnel(t, after, tc.wantVar)
			checkClusterSecrets(t, f, after, tc.wantVar, tc.domain)
			checkRerunAndOffboard(t, f, after, tc.domain, tc.wantVar)
		})
	}
}

// goldenView shows each changed file; encrypted ones decrypted, since
// their ciphertext differs on every run.
func goldenView(t *testing.T, f fixture, cs *generator.Changeset) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, fc := range cs.Files {
		out[fc.Path] = fc.Content
		if fc.Sensitive {
			out[fc.Path] = decryptedView(t, f, fc.Content)
		}
	}
	return out
}

func decryptedView(t *testing.T, f fixture, data []byte) []byte {
	t.Helper()
	values, err := secrets.Values(data, f.ids)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var meta struct {
		Metadata struct{ Name string } `yaml:"metadata"`
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "# Secret %s, decrypted by the test; keys in file order: %s\n", meta.Metadata.Name, keyOrder(data))
	for _, k := range sortedKeys(values) {
		fmt.Fprintf(&b, "%s: %q\n", k, values[k])
	}
	return []byte(b.String())
}

// changedLines is a unified diff without context of every changed file:
// the golden form for the corpus, whose files are not copied into this
// repository.
func changedLines(t *testing.T, f fixture, cs *generator.Changeset) string {
	t.Helper()
	var b strings.Builder
	for _, fc := range cs.Files {
		a, c := f.r.Files[fc.Path], fc.Content
		if fc.Sensitive {
			a, c = decryptedView(t, f, a), decryptedView(t, f, c)
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
func checkClusterSecrets(t *testing.T, f fixture, files map[string][]byte, v, domain string) {
	t.Helper()
	p := f.r.ClusterSecretsFile
	before, err := secrets.Values(f.r.Files[p], f.ids)
	if err != nil {
		t.Fatal(err)
	}
	got := sopsDecrypt(t, f.keyFile, p, files[p])
	want := map[string]string{v: domain}
	for k, val := range before {
		want[k] = val
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sops --decrypt gives %v, want %v", got, want)
	}
	// The values gen did not touch keep their ciphertext.
	for _, k := range sortedKeys(before) {
		line := encryptedLine(f.r.Files[p], k)
		if line == "" || !bytes.Contains(files[p], []byte(line)) {
			t.Errorf("the ciphertext of %s changed", k)
		}
	}
}

func encryptedLine(data []byte, key string) string {
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), key+": ENC[") {
			return l
		}
	}
	return ""
}

// checkRerunAndOffboard runs onboarding again (nothing to do) and then
// offboarding, which must give back the original files.
func checkRerunAndOffboard(t *testing.T, f fixture, after map[string][]byte, domain, v string) {
	t.Helper()
	r2, err := repo.FromFiles(after, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := generator.OnboardDomain(r2, generator.OnboardDomainOptions{Domain: domain, Store: newTestStore(t, r2, f.ids)})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if len(again.Files) != 0 {
		t.Fatalf("rerun wants to change %v", again.Paths())
	}
	if len(again.Notes) != 1 || !strings.Contains(again.Notes[0], generator.AlreadyOnboarded+" as "+v) {
		t.Fatalf("rerun notes %q, want %q", again.Notes, generator.AlreadyOnboarded)
	}
	off, err := generator.OffboardDomain(r2, generator.OffboardDomainOptions{Domain: domain, Store: newTestStore(t, r2, f.ids)})
	if err != nil {
		t.Fatalf("offboard: %v", err)
	}
	if len(off.Files) != 7 {
		t.Fatalf("offboarding changed %v, want the seven files", off.Paths())
	}
	restored := overlay(after, off)
	var differ []string
	for p, data := range f.r.Files {
		if p == f.r.ClusterSecretsFile {
			continue
		}
		if !bytes.Equal(restored[p], data) {
			differ = append(differ, p)
		}
	}
	for p := range restored {
		if _, ok := f.r.Files[p]; !ok {
			differ = append(differ, p+" (added)")
		}
	}
	sort.Strings(differ)
	if len(differ) > 0 {
		t.Fatalf("offboarding did not restore %v", differ)
	}
	before, _ := secrets.Values(f.r.Files[f.r.ClusterSecretsFile], f.ids)
	now, err := secrets.Values(restored[f.r.ClusterSecretsFile], f.ids)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, now) {
		t.Fatalf("cluster-secrets after offboarding holds %v, want %v", now, before)
	}
	if !bytes.Equal(keyOrder(restored[f.r.ClusterSecretsFile]), keyOrder(f.r.Files[f.r.ClusterSecretsFile])) {
		t.Fatal("cluster-secrets keys are not in their old order after offboarding")
	}
}

func keyOrder(data []byte) []byte {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if k, _, ok := strings.Cut(strings.TrimSpace(l), ": ENC["); ok && !strings.HasPrefix(k, "mac") {
			out = append(out, k)
		}
	}
	return []byte(strings.Join(out, ","))
}
