package diff

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gen-gitops/gen/internal/check"
	"github.com/gen-gitops/gen/internal/testutil"
)

// gitRepo is a work tree with a git repository, for tests.
type gitRepo struct {
	t   *testing.T
	dir string
	g   *git.Repository
}

// newGitRepo copies src into a new git repository and commits it.
func newGitRepo(t *testing.T, src string) *gitRepo {
	t.Helper()
	dir := testutil.CopyTree(t, src)
	g, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	r := &gitRepo{t: t, dir: dir, g: g}
	r.commit("base")
	return r
}

func (r *gitRepo) commit(msg string) string {
	r.t.Helper()
	wt, err := r.g.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.t.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return h.String()
}

func (r *gitRepo) write(p, content string) {
	r.t.Helper()
	full := filepath.Join(r.dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *gitRepo) edit(p, old, new string) {
	r.t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(p)))
	if err != nil {
		r.t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		r.t.Fatalf("%s does not hold %q", p, old)
	}
	r.write(p, strings.Replace(string(data), old, new, 1))
}

func (r *gitRepo) remove(p string) {
	r.t.Helper()
	if err := os.RemoveAll(filepath.Join(r.dir, filepath.FromSlash(p))); err != nil {
		r.t.Fatal(err)
	}
}

// compare diffs two revisions of r ("" for the work tree).
func (r *gitRepo) compare(base, head string) *Result {
	r.t.Helper()
	repo, err := Open(r.dir)
	if err != nil {
		r.t.Fatal(err)
	}
	l := check.DefaultLimits()
	read := func(rev string) *check.Snapshot {
		if rev == "" {
			s, err := check.ReadDir(r.dir, l)
			if err != nil {
				r.t.Fatal(err)
			}
			return s
		}
		c, err := repo.Resolve(rev)
		if err != nil {
			r.t.Fatal(err)
		}
		s, err := repo.Read(c, l)
		if err != nil {
			r.t.Fatal(err)
		}
		return s
	}
	res, err := Compare(read(base), read(head), Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	res.Base, res.Head = base, head
	return res
}

const (
	echoHR    = "kubernetes/apps/default/echo/app/helmrelease.yaml"
	echoOCI   = "kubernetes/apps/default/echo/app/ocirepository.yaml"
	whoamiDep = "kubernetes/apps/default/whoami/app/deployment.yaml"
	whoamiKus = "kubernetes/apps/default/whoami/app/kustomization.yaml"
	defaultNS = "kubernetes/apps/default/kustomization.yaml"
)

func objectsByID(res *Result) map[string]*ObjectDiff {
	out := map[string]*ObjectDiff{}
	for _, k := range res.Kustomizations {
		for _, o := range k.Objects {
			out[k.ID+" "+o.ID()] = o
		}
	}
	return out
}

func TestNoChange(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	res := r.compare("HEAD", "")
	if len(res.Paths) != 0 || len(res.Kustomizations) != 0 || res.Rendered != 0 {
		t.Errorf("diff of an unchanged tree: %+v", res)
	}
	if md := Markdown(res, MarkdownOptions{}); !strings.HasPrefix(md, Marker) || !strings.Contains(md, "No file changed") {
		t.Errorf("markdown:\n%s", md)
	}
}

// TestObjectChanges: values, chart and image changes, an app added and one
// removed, only what the change reaches rendered.
func TestObjectChanges(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	r.edit(echoHR, `tag: "38"`, `tag: "39"`)
	r.edit(echoHR, "replicas: 1", "replicas: 2")
	r.edit(echoOCI, "tag: 4.6.2", "tag: 4.7.0")
	r.edit(whoamiDep, "whoami:v1.11.0", "whoami:v1.12.0")
	r.commit("change")
	res := r.compare("HEAD~1", "HEAD")
	got := objectsByID(res)
	hr := got["default/echo HelmRelease default/echo"]
	if hr == nil || hr.Change != Changed || !strings.Contains(hr.ValuesDiff, "-    replicas: 1\n+    replicas: 2") || hr.Diff != "" {
		t.Errorf("HelmRelease diff: %+v", hr)
	}
	oci := got["default/echo OCIRepository default/echo"]
	if oci == nil || oci.Chart == nil || oci.Chart.From != "4.6.2" || oci.Chart.To != "4.7.0" {
		t.Errorf("OCIRepository diff: %+v", oci)
	}
	if dep := got["default/whoami Deployment default/whoami"]; dep == nil || !strings.Contains(dep.Diff, "+        image: docker.io/traefik/whoami:v1.12.0") {
		t.Errorf("Deployment diff: %+v", dep)
	}
	if len(got) != 3 {
		t.Errorf("%d objects differ, want 3: %v", len(got), keys(got))
	}
	wantImages := []ImageChange{
		{"Deployment default/whoami", "spec.template.spec.containers[app].image", "docker.io/traefik/whoami:v1.11.0", "docker.io/traefik/whoami:v1.12.0"},
		{"HelmRelease default/echo", "spec.values.controllers.echo.containers.app.image", "ghcr.io/mendhak/http-https-echo:38", "ghcr.io/mendhak/http-https-echo:39"},
	}
	if a, b := jsonOf(res.Images), jsonOf(wantImages); a != b {
		t.Errorf("images\n%s\nwant\n%s", a, b)
	}
	// The root on both sides, and the two apps on both sides.
	if res.Rendered != 6 {
		t.Errorf("%d renders, want 6", res.Rendered)
	}

	// An app removed and one added.
	r.remove("kubernetes/apps/default/echo")
	r.edit(defaultNS, "  - ./echo/ks.yaml\n", "")
	r.write("kubernetes/apps/default/hello/ks.yaml", strings.ReplaceAll(readFile(t, r.dir, "kubernetes/apps/default/whoami/ks.yaml"), "whoami", "hello"))
	r.write("kubernetes/apps/default/hello/app/kustomization.yaml", "resources:\n  - ./cm.yaml\n")
	r.write("kubernetes/apps/default/hello/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  a: b\n")
	r.edit(defaultNS, "  - ./whoami/ks.yaml\n", "  - ./whoami/ks.yaml\n  - ./hello/ks.yaml\n")
	res = r.compare("HEAD", "")
	byK := map[string]*KustomizationDiff{}
	for _, k := range res.Kustomizations {
		byK[k.ID] = k
	}
	if k := byK["default/echo"]; k == nil || k.Change != Removed || len(k.Objects) != 2 || k.Objects[0].Change != Removed {
		t.Errorf("removed app: %+v", k)
	}
	if k := byK["default/hello"]; k == nil || k.Change != Added || len(k.Objects) != 1 || k.Objects[0].Change != Added {
		t.Errorf("added app: %+v", k)
	}
	if k := byK["flux-system/cluster-apps"]; k == nil || len(k.Objects) != 2 {
		t.Errorf("the root should show the Kustomization objects added and removed: %+v", k)
	}
}

func readFile(t *testing.T, dir, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func jsonOf(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

// TestChangeAboveTheApps: a change in the root's patches reaches every
// child Kustomization's object, so every app is rendered and each
// HelmRelease shows the new default.
func TestChangeAboveTheApps(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	r.edit("kubernetes/flux/cluster/ks.yaml", "retries: 3", "retries: 4")
	res := r.compare("HEAD", "")
	got := objectsByID(res)
	for _, id := range []string{"default/echo HelmRelease default/echo", "network/cloudflare-dns HelmRelease network/cloudflare-dns", "cert-manager/cert-manager HelmRelease cert-manager/cert-manager"} {
		if o := got[id]; o == nil || !strings.Contains(o.Diff, "+      retries: 4") {
			t.Errorf("%s: %+v", id, o)
		}
	}
	if _, ok := got["default/whoami Deployment default/whoami"]; ok {
		t.Error("the Deployment did not change")
	}
}

// TestSecretsRedacted: no Secret value, data or stringData entry, and no
// ENC[...] payload reaches any output, and a changed value still shows as
// changed.
func TestSecretsRedacted(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	r.write("kubernetes/apps/default/whoami/app/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: whoami\nstringData:\n  TOKEN: hunter2-old\n  SAME: unchanged-secret\ndata:\n  KEY: c2VjcmV0LWRhdGE=\n")
	r.edit(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./secret.yaml\n")
	r.commit("secret")
	r.edit("kubernetes/apps/default/whoami/app/secret.yaml", "hunter2-old", "hunter2-new")
	// An encrypted value changes too (the file is damaged, which does not
	// matter here: nothing is decrypted).
	r.edit("kubernetes/apps/network/cloudflare-dns/app/secret.sops.yaml", "ENC[AES256_GCM,data:", "ENC[AES256_GCM,data:AAAA")
	// And a plain Secret value feeds substitution into a ConfigMap.
	r.write("kubernetes/apps/default/whoami/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: uses-secret\ndata:\n  token: ${TOKEN:=none}\n")
	r.edit(whoamiKus, "  - ./secret.yaml\n", "  - ./secret.yaml\n  - ./cm.yaml\n")
	res := r.compare("HEAD", "")

	var text, js bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	md := Markdown(res, MarkdownOptions{})
	for name, out := range map[string]string{"text": text.String(), "json": js.String(), "markdown": md} {
		for _, secret := range []string{"hunter2", "unchanged-secret", "c2VjcmV0LWRhdGE", "secret-data", "AES256_GCM,data:"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output shows %q:\n%s", name, secret, out)
			}
		}
		if !strings.Contains(out, RedactedChanged) {
			t.Errorf("%s output does not show that a secret value changed", name)
		}
	}
	got := objectsByID(res)
	sec := got["default/whoami Secret default/whoami"]
	if sec == nil || !sec.Redacted || !strings.Contains(sec.Diff, "-  TOKEN: "+Redacted) || !strings.Contains(sec.Diff, "+  TOKEN: "+RedactedChanged) || strings.Contains(sec.Diff, "SAME") && !strings.Contains(sec.Diff, " SAME: "+Redacted) {
		t.Errorf("Secret diff:\n%+v", sec)
	}
	if cm := got["default/whoami ConfigMap default/uses-secret"]; cm == nil || strings.Contains(cm.Diff, "hunter2") {
		t.Errorf("ConfigMap diff: %+v", cm)
	}
}

// TestSecretsRedactedWhereverTheyHide: a Secret inside a HelmRelease's
// values (an extraObjects entry, and the same as a multi-line string) and
// inside a kind: List is redacted in every output (text, which --full
// writes, markdown and json), added or changed.
func TestSecretsRedactedWhereverTheyHide(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	values := func(pw string) string {
		return "    extraObjects:\n" +
			"      - apiVersion: v1\n        kind: Secret\n        metadata:\n          name: extra\n        stringData:\n          password: " + pw + "-object\n" +
			"    extraManifests: |\n" +
			"      apiVersion: v1\n      kind: Secret\n      metadata:\n        name: extra-text\n      stringData:\n        password: " + pw + "-text\n"
	}
	r.edit(echoHR, "  values:\n", "  values:\n"+values("hunter2-old"))
	r.write("kubernetes/apps/default/whoami/app/list.yaml", "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: listed\n    stringData:\n      token: hunter2-listed\n")
	r.edit(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./list.yaml\n")
	first := r.compare("HEAD", "")
	r.commit("secrets in values")
	r.edit(echoHR, "hunter2-old-object", "hunter2-new-object")
	r.edit(echoHR, "hunter2-old-text", "hunter2-new-text")
	second := r.compare("HEAD", "")

	for name, res := range map[string]*Result{"added": first, "changed": second} {
		if res.Objects() == 0 {
			t.Fatalf("%s: no object differs", name)
		}
		var text, js bytes.Buffer
		if err := WriteText(&text, res); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&js, res); err != nil {
			t.Fatal(err)
		}
		outs := map[string]string{"text": text.String(), "json": js.String(), "markdown": Markdown(res, MarkdownOptions{})}
		for format, out := range outs {
			if strings.Contains(out, "hunter2") {
				t.Errorf("%s, %s output shows a secret value:\n%s", name, format, out)
			}
			if !strings.Contains(out, Redacted) {
				t.Errorf("%s, %s output shows no redaction", name, format)
			}
		}
		if name == "changed" && !strings.Contains(outs["text"], RedactedChanged) {
			t.Errorf("the changed values do not show as changed:\n%s", outs["text"])
		}
	}
}

// TestHeadThatDoesNotRender: when the head no longer renders a
// Kustomization, its objects are not reported removed: the result says
// which Kustomization fails and why, fails, and every output says so.
func TestHeadThatDoesNotRender(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	r.edit(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./missing.yaml\n")
	res := r.compare("HEAD", "")
	if !res.Failed() {
		t.Error("the result does not fail")
	}
	failed := res.HeadFailures()
	if len(failed) != 1 || failed[0].ID != "default/whoami" || !strings.Contains(failed[0].HeadError, "missing.yaml") {
		t.Fatalf("head failures %+v", failed)
	}
	for _, k := range res.Kustomizations {
		for _, o := range k.Objects {
			if o.Change == Removed {
				t.Errorf("%s %s reported removed", k.ID, o.ID())
			}
		}
	}
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "The head does not render 1 Kustomization(s)") || !strings.Contains(text.String(), "default/whoami: ") {
		t.Errorf("text:\n%s", text.String())
	}
	md := Markdown(res, MarkdownOptions{})
	if !strings.Contains(md, "**This change breaks the build.**") || !strings.Contains(md, "- `default/whoami`: ") || !strings.Contains(md, "does not render at the head") || strings.Contains(md, "removed</summary>") {
		t.Errorf("markdown:\n%s", md)
	}

	// A change that renders does not fail.
	r2 := newGitRepo(t, testutil.ExampleRepo(t))
	r2.edit(whoamiDep, "replicas: 1", "replicas: 2")
	if ok := r2.compare("HEAD", ""); ok.Failed() || len(ok.HeadFailures()) > 0 {
		t.Errorf("a change that renders fails: %+v", ok.Findings)
	}
}

// TestMarkdownBudget: a comment never passes its budget; the objects left
// out are counted, and every section is closed.
func TestMarkdownBudget(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	var res strings.Builder
	for i := 0; i < 40; i++ {
		res.WriteString("  - ./cm" + itoa(i) + ".yaml\n")
		r.write("kubernetes/apps/default/whoami/app/cm"+itoa(i)+".yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm"+itoa(i)+"\ndata:\n  body: |\n"+strings.Repeat("    some line of text that takes room\n", 30))
	}
	r.edit(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n"+res.String())
	result := r.compare("HEAD", "")
	if n := result.Objects(); n != 40 {
		t.Fatalf("%d objects, want 40", n)
	}
	for _, budget := range []int{2500, 8000, 20000} {
		md := Markdown(result, MarkdownOptions{Budget: budget, Artifact: "gen-diff.txt"})
		if len(md) > budget {
			t.Errorf("budget %d: %d bytes", budget, len(md))
		}
		if strings.Count(md, "<details>") != strings.Count(md, "</details>") {
			t.Errorf("budget %d: unbalanced sections", budget)
		}
		if !strings.Contains(md, "more objects** are not shown") || !strings.Contains(md, "gen-diff.txt") {
			t.Errorf("budget %d: no closing note:\n%s", budget, md[max(0, len(md)-300):])
		}
		if !strings.HasPrefix(md, Marker+"\n") {
			t.Errorf("budget %d: no marker", budget)
		}
	}
	if md := Markdown(result, MarkdownOptions{}); strings.Contains(md, "more objects") {
		t.Error("the default budget holds 40 small objects")
	}
}

func itoa(i int) string {
	return strings.TrimLeft(string([]byte{byte('0' + i/10), byte('0' + i%10)}), "0")
}

// TestHostileChange: an alias bomb the change adds is left out with a
// finding, in bounded time.
func TestHostileChange(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	bomb := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
	for i := 1; i <= 9; i++ {
		p := "*a" + string(rune('0'+i-1))
		bomb += "  a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" + strings.Repeat(p+",", 9) + p + "]\n"
	}
	r.write("kubernetes/apps/default/whoami/app/lol.yaml", bomb)
	r.edit(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./lol.yaml\n")
	start := time.Now()
	res := r.compare("HEAD", "")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s", d)
	}
	found := false
	for _, f := range res.Findings {
		if f.Rule == check.RuleYAMLAliases && f.File == "kubernetes/apps/default/whoami/app/lol.yaml" {
			found = true
		}
	}
	if !found {
		t.Errorf("no yaml-aliases finding: %+v", res.Findings)
	}
}

// TestSubfolderAndLinks: the repository may be a folder of the git work
// tree; links in git trees are reported, not followed.
func TestSubfolderAndLinks(t *testing.T) {
	top := t.TempDir()
	sub := filepath.Join(top, "clusters", "home")
	if err := os.MkdirAll(filepath.Dir(sub), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(testutil.CopyTree(t, testutil.ExampleRepo(t)), sub); err != nil {
		t.Fatal(err)
	}
	g, err := git.PlainInit(top, false)
	if err != nil {
		t.Fatal(err)
	}
	r := &gitRepo{t: t, dir: top, g: g}
	r.commit("base")
	r.edit("clusters/home/"+whoamiDep, "replicas: 1", "replicas: 2")
	if err := os.Symlink("/etc/passwd", filepath.Join(sub, "kubernetes", "passwd.yaml")); err != nil {
		t.Skip("no symbolic links here")
	}
	r.commit("change")
	repo, err := Open(sub)
	if err != nil {
		t.Fatal(err)
	}
	if repo.Prefix != "clusters/home/" {
		t.Errorf("prefix %q", repo.Prefix)
	}
	read := func(rev string) *check.Snapshot {
		c, err := repo.Resolve(rev)
		if err != nil {
			t.Fatal(err)
		}
		s, err := repo.Read(c, check.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	res, err := Compare(read("HEAD~1"), read("HEAD"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o := objectsByID(res)["default/whoami Deployment default/whoami"]; o == nil {
		t.Errorf("no Deployment change in %+v", res)
	}
	found := false
	for _, f := range res.Findings {
		if f.Rule == check.RuleSymlinkEscape && f.File == "kubernetes/passwd.yaml" {
			found = true
		}
	}
	if !found {
		t.Errorf("no symlink finding: %+v", res.Findings)
	}
}

// TestReadPair: reading two commits together gives what reading each
// gives, with additions, removals and edits of files and folders.
func TestReadPair(t *testing.T) {
	r := newGitRepo(t, testutil.ExampleRepo(t))
	r.edit(whoamiDep, "replicas: 1", "replicas: 2")
	r.remove("kubernetes/apps/default/echo")
	r.write("kubernetes/apps/default/new/app/cm.yaml", "a: b\n")
	r.remove("kubernetes/apps/network/cloudflare-tunnel/app")
	r.write("kubernetes/apps/network/cloudflare-tunnel/app.yaml", "a file beside\n")
	r.commit("change")
	repo, err := Open(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	base, err := repo.Resolve("HEAD~1")
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	l := check.DefaultLimits()
	pb, ph, err := repo.ReadPair(base, head, l)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		commit *object.Commit
		got    *check.Snapshot
	}{"base": {base, pb}, "head": {head, ph}} {
		want, err := repo.Read(c.commit, l)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := jsonOf(c.got.Files), jsonOf(want.Files); a != b {
			t.Errorf("%s: ReadPair and Read differ", name)
		}
	}
}

// TestCompareRevisionsNarrowed: reading only the namespace folders a
// change touches gives the same result as reading everything, and falls
// back to everything when the change reaches further.
func TestCompareRevisionsNarrowed(t *testing.T) {
	cases := []struct {
		name     string
		change   func(r *gitRepo)
		narrowed bool
	}{
		{"one app", func(r *gitRepo) { r.edit(whoamiDep, "replicas: 1", "replicas: 2") }, true},
		{"a new app", func(r *gitRepo) {
			r.write("kubernetes/apps/default/hello/ks.yaml", strings.ReplaceAll(readFile(t, r.dir, "kubernetes/apps/default/whoami/ks.yaml"), "whoami", "hello"))
			r.write("kubernetes/apps/default/hello/app/kustomization.yaml", "resources:\n  - ./cm.yaml\n")
			r.write("kubernetes/apps/default/hello/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\n")
			r.edit(defaultNS, "  - ./whoami/ks.yaml\n", "  - ./whoami/ks.yaml\n  - ./hello/ks.yaml\n")
		}, true},
		{"the component", func(r *gitRepo) {
			r.edit("kubernetes/components/sops/cluster-secrets.sops.yaml", "  TIMEZONE:", "  TZ:")
		}, false},
		{"the root", func(r *gitRepo) { r.edit("kubernetes/flux/cluster/ks.yaml", "retries: 3", "retries: 4") }, false},
		{"an app that builds another folder", func(r *gitRepo) {
			r.edit("kubernetes/apps/default/whoami/ks.yaml", "path: ./kubernetes/apps/default/whoami/app", "path: ./kubernetes/apps/network/cloudflare-tunnel/app")
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newGitRepo(t, testutil.ExampleRepo(t))
			c.change(r)
			r.commit("change")
			repo, err := Open(r.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer repo.Close()
			base, _ := repo.Resolve("HEAD~1")
			head, _ := repo.Resolve("HEAD")
			got, err := repo.CompareRevisions(base, head, Options{})
			if err != nil {
				t.Fatal(err)
			}
			bs, hs, err := repo.ReadPair(base, head, check.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			want, err := Compare(bs, hs, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got.narrowed != c.narrowed {
				t.Errorf("narrowed = %v, want %v", got.narrowed, c.narrowed)
			}
			got.Rendered, want.Rendered = 0, 0
			if a, b := jsonOf(got), jsonOf(want); a != b {
				t.Errorf("results differ:\n%s\nwant\n%s", a, b)
			}
			if got.Objects() == 0 {
				t.Error("no object changed")
			}
		})
	}
}

// TestRootsFromTheModel: without .gen.yaml and without the default root
// file, the roots are the ones the repository model finds, as gen check
// finds them: here a root file kept under kubernetes/clusters/main.
func TestRootsFromTheModel(t *testing.T) {
	src := testutil.CopyTree(t, testutil.ExampleRepo(t))
	root, err := os.ReadFile(filepath.Join(src, "kubernetes", "flux", "cluster", "ks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(src, "kubernetes", "flux")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "kubernetes", "clusters", "main"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "kubernetes", "clusters", "main", "apps.yaml"), root, 0o644); err != nil {
		t.Fatal(err)
	}
	r := newGitRepo(t, src)
	r.edit(whoamiDep, "whoami:v1.11.0", "whoami:v1.12.0")
	r.commit("bump")
	res := r.compare("HEAD~1", "HEAD")
	for _, f := range res.Findings {
		t.Errorf("finding: %s", f)
	}
	if o := objectsByID(res)["default/whoami Deployment default/whoami"]; o == nil || o.Change != Changed {
		t.Fatalf("the Deployment's change was not found: %+v", res.Kustomizations)
	}
}
