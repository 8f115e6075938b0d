package apps_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/testutil"
	"github.com/gen-gitops/gen/internal/validate"
)

// TestRemoveAppUndoesAddApp adds an app, removes it again, and wants the
// repository back byte for byte: every file add-app wrote is gone, and every
// file it edited (the namespace kustomization, the tunnel's config) is as
// it was. The removal itself must pass the validation the CLI runs and
// leave a tree that Flux builds.
func TestRemoveAppUndoesAddApp(t *testing.T) {
	example := func(t *testing.T) string { return testutil.ExampleRepo(t) }
	cases := []struct {
		name string
		dir  func(t *testing.T) string
		opts apps.AddOptions
		// notes are words the removal's notes must hold.
		notes []string
	}{
		{"tunnel-embedded", example, apps.AddOptions{
			Namespace: "default", Name: "wiki", Mode: apps.ModeAppTemplate, Image: "ghcr.io/example/wiki:2.5", Port: 3000,
			Hosts: []string{"wiki", "wiki.example.org"}, Expose: generator.ExposeTunnel,
		}, []string{"the ingress rules for wiki.${SECRET_DOMAIN}, wiki.${SECRET_DOMAIN_TWO} leave the cloudflared config in HelmRelease cloudflare-tunnel", "DNS records of wiki.${SECRET_DOMAIN_TWO}, wiki.${SECRET_DOMAIN}"}},
		{"tunnel-plain-config", plainTunnelRepo, apps.AddOptions{
			Namespace: "default", Name: "paste", Mode: apps.ModeRaw, Image: "ghcr.io/example/paste:2.1", Port: 8080,
			Hosts: []string{"paste.example.org"}, Expose: generator.ExposeTunnel,
			Persist: []apps.Persist{{Name: "data", Size: "2Gi", Path: "/data"}},
		}, []string{"the ingress rule for paste.${SECRET_DOMAIN_TWO} leaves the cloudflared config \"kubernetes/apps/network/cloudflare-tunnel/app/cloudflared/config.yaml\"", "WARNING: data loss", "PersistentVolumeClaim(s) paste-data"}},
		{"gateway-both-domains", example, apps.AddOptions{
			Namespace: "default", Name: "notes", Mode: apps.ModeAppTemplate, Image: "ghcr.io/example/notes:1.10", Port: 3000,
			Hosts:   []string{"notes", "notes.example.org"},
			Persist: []apps.Persist{{Name: "data", Size: "1Gi", Path: "/data"}},
		}, []string{"of HelmRelease notes (persistence.data)", "DNS records of notes.${SECRET_DOMAIN_TWO}, notes.${SECRET_DOMAIN}"}},
		{"chart-helm-repository", example, apps.AddOptions{
			Namespace: "network", Name: "podinfo", Mode: apps.ModeChart,
			Chart: "https://stefanprodan.github.io/podinfo#podinfo", ChartVersion: "6.7.1",
			DependsOn: []generator.Ref{{Namespace: "cert-manager", Name: "cert-manager"}},
		}, nil},
		{"access", gentest.ChuteRepo, apps.AddOptions{
			Namespace: "default", Name: "notes", Mode: apps.ModeAppTemplate, Image: "ghcr.io/example/notes:1.4", Port: 8080,
			Hosts: []string{"notes"}, Expose: generator.ExposeAccess,
			Access: access.Options{Emails: []string{"me@example.org"}},
		}, []string{"the Chute notes (notes.${SECRET_DOMAIN}) goes with the folder"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gentest.LoadRepo(t, tc.dir(t))
			added, err := apps.Add(r.Model(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			with := gentest.Overlay(r.Files, added)
			r2 := fromFiles(t, with)
			cs, err := apps.Remove(r2.Model(), apps.RemoveOptions{Namespace: tc.opts.Namespace, Name: tc.opts.Name})
			if err != nil {
				t.Fatal(err)
			}
			if want := "Remove " + tc.opts.Namespace + "/" + tc.opts.Name; cs.Title != want {
				t.Fatalf("title %q, want %q", cs.Title, want)
			}
			if err := validate.Changeset(r2, cs); err != nil {
				t.Fatal(err)
			}
			sameFiles(t, r.Files, gentest.Overlay(with, cs))
			checkRemoved(t, r2, cs, tc.opts.Namespace, tc.opts.Name)
			notes := strings.Join(cs.Notes, "\n")
			for _, n := range tc.notes {
				if !strings.Contains(notes, n) {
					t.Errorf("the notes do not say %q:\n%s", n, notes)
				}
			}
			if strings.Contains(notes, "no apps left") {
				t.Errorf("the namespace still has apps, but the notes say:\n%s", notes)
			}
		})
	}
}

// TestRemoveAppLeavesTheNamespace removes the only app of a namespace
// add-app created: the namespace's own files stay, listing no app.
func TestRemoveAppLeavesTheNamespace(t *testing.T) {
	r := gentest.LoadExample(t)
	added, err := apps.Add(r.Model(), apps.AddOptions{
		Namespace: "media", Name: "jellyfin", Mode: apps.ModeAppTemplate, Image: "jellyfin/jellyfin:10.10.3", Port: 8096,
		Hosts: []string{"tv.example.org"},
	})
	if err != nil {
		t.Fatal(err)
	}
	with := gentest.Overlay(r.Files, added)
	r2 := fromFiles(t, with)
	cs, err := apps.Remove(r2.Model(), apps.RemoveOptions{Namespace: "media", Name: "jellyfin"})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Changeset(r2, cs); err != nil {
		t.Fatal(err)
	}
	after := gentest.Overlay(with, cs)
	want := map[string][]byte{}
	for p, d := range r.Files {
		want[p] = d
	}
	want["kubernetes/apps/media/namespace.yaml"] = with["kubernetes/apps/media/namespace.yaml"]
	k, _, err := generator.RemoveResource(with["kubernetes/apps/media/kustomization.yaml"], "./jellyfin/ks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want["kubernetes/apps/media/kustomization.yaml"] = k
	sameFiles(t, want, after)
	if !strings.Contains(string(k), "  - ./namespace.yaml\n") || strings.Contains(string(k), "jellyfin") {
		t.Fatalf("the namespace kustomization is now:\n%s", k)
	}
	if notes := strings.Join(cs.Notes, "\n"); !strings.Contains(notes, "namespace media has no apps left") {
		t.Fatalf("no note on the empty namespace:\n%s", notes)
	}
	checkRemoved(t, r2, cs, "media", "jellyfin")
}

// TestRemoveAppGolden shows whole removals: what goes, what is edited and
// what the user is told, on the example repository (an app add-app exposed
// through the tunnel) and on the anton corpus as it is.
func TestRemoveAppGolden(t *testing.T) {
	t.Run("example-tunnel", func(t *testing.T) {
		r := gentest.LoadExample(t)
		added, err := apps.Add(r.Model(), apps.AddOptions{
			Namespace: "default", Name: "wiki", Mode: apps.ModeAppTemplate, Image: "ghcr.io/example/wiki:2.5", Port: 3000,
			Hosts: []string{"wiki", "wiki.example.org"}, Expose: generator.ExposeTunnel,
		})
		if err != nil {
			t.Fatal(err)
		}
		r2 := fromFiles(t, gentest.Overlay(r.Files, added))
		cs, err := apps.Remove(r2.Model(), apps.RemoveOptions{Namespace: "default", Name: "wiki"})
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Changeset(r2, cs); err != nil {
			t.Fatal(err)
		}
		testutil.GoldenFile(t, filepath.Join("testdata", "removeapp", "example-tunnel.txt"), removalView(t, r2.Files, cs))
	})
	t.Run("anton-homepage", func(t *testing.T) {
		r := loadAnton(t)
		cs, err := apps.Remove(r.Model(), apps.RemoveOptions{Namespace: "default", Name: "homepage"})
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Changeset(r, cs); err != nil {
			t.Fatal(err)
		}
		checkRemoved(t, r, cs, "default", "homepage")
		testutil.GoldenFile(t, filepath.Join("testdata", "removeapp", "anton-homepage.txt"), removalView(t, r.Files, cs))
	})
}

// TestRemoveAppUndoesAddAppOnAnton is the round trip on a real repository:
// its tunnel config embeds Helm template expressions and differs in style
// from the example's.
func TestRemoveAppUndoesAddAppOnAnton(t *testing.T) {
	r := loadAnton(t)
	added, err := apps.Add(r.Model(), apps.AddOptions{
		Namespace: "default", Name: "wiki", Mode: apps.ModeRaw, Image: "ghcr.io/example/wiki:2.5", Port: 3000,
		Hosts: []string{"wiki"}, Expose: generator.ExposeTunnel,
	})
	if err != nil {
		t.Fatal(err)
	}
	edited := 0
	for _, f := range added.Files {
		if _, ok := r.Files[f.Path]; ok {
			edited++
		}
	}
	if edited != 2 {
		t.Fatalf("add-app edited %d existing files, want 2 (the namespace kustomization and the tunnel's HelmRelease): %v", edited, added.Paths())
	}
	with := gentest.Overlay(r.Files, added)
	r2 := fromFiles(t, with)
	cs, err := apps.Remove(r2.Model(), apps.RemoveOptions{Namespace: "default", Name: "wiki"})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Changeset(r2, cs); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, r.Files, gentest.Overlay(with, cs))
}

func TestRemoveAppRefusals(t *testing.T) {
	r := gentest.LoadExample(t)
	withDependent := func(t *testing.T) *repo.Repo {
		added, err := apps.Add(r.Model(), apps.AddOptions{
			Namespace: "default", Name: "api", Mode: apps.ModeRaw, Image: "nginx:1.27",
			DependsOn: []generator.Ref{{Namespace: "default", Name: "echo"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return fromFiles(t, gentest.Overlay(r.Files, added))
	}
	withHelmDependent := func(t *testing.T) *repo.Repo {
		added, err := apps.Add(r.Model(), apps.AddOptions{
			Namespace: "default", Name: "api", Mode: apps.ModeAppTemplate, Image: "nginx:1.27", Port: 80,
		})
		if err != nil {
			t.Fatal(err)
		}
		files := gentest.Overlay(r.Files, added)
		hr := "kubernetes/apps/default/api/app/helmrelease.yaml"
		text := strings.Replace(string(files[hr]), "\nspec:\n", "\nspec:\n  dependsOn:\n    - name: echo\n", 1)
		if text == string(files[hr]) {
			t.Fatalf("%s has no spec:\n%s", hr, files[hr])
		}
		files[hr] = []byte(text)
		return fromFiles(t, files)
	}
	cases := []struct {
		name string
		r    func(t *testing.T) *repo.Repo
		opts apps.RemoveOptions
		want string
	}{
		{"an app whose HelmRelease others depend on", withHelmDependent, apps.RemoveOptions{Namespace: "default", Name: "echo"},
			"default/echo: 1 HelmRelease depends on its HelmRelease: default/api (kubernetes/apps/default/api/app/helmrelease.yaml); remove them first (gen remove-app default/api), or pass --force"},
		{"no such app", nil, apps.RemoveOptions{Namespace: "default", Name: "wiki"},
			"no app default/wiki: the apps in namespace default are echo, whoami"},
		{"no such namespace", nil, apps.RemoveOptions{Namespace: "media", Name: "wiki"},
			`no namespace "media" in the repository (have: cert-manager, default, network)`},
		{"not a DNS-1123 name", nil, apps.RemoveOptions{Namespace: "default", Name: "Echo"},
			`app name "Echo" is not a valid DNS-1123 label`},
		{"a path", nil, apps.RemoveOptions{Namespace: "..", Name: "echo"},
			`namespace ".." must be a plain name, not a path`},
		{"a path in the name", nil, apps.RemoveOptions{Namespace: "default", Name: "echo/../../x"},
			`app name "echo/../../x" must be a plain name, not a path`},
		{"infrastructure others depend on", nil, apps.RemoveOptions{Namespace: "network", Name: "envoy-gateway"},
			"network/envoy-gateway: 3 Flux Kustomizations depend on it: default/echo (kubernetes/apps/default/echo/ks.yaml), default/whoami (kubernetes/apps/default/whoami/ks.yaml), network/cloudflare-tunnel (kubernetes/apps/network/cloudflare-tunnel/ks.yaml); " +
				"remove them first (gen remove-app default/echo, gen remove-app default/whoami, gen remove-app network/cloudflare-tunnel), or pass --force to remove it anyway"},
		{"an app others depend on", withDependent, apps.RemoveOptions{Namespace: "default", Name: "echo"},
			"default/echo: 1 Flux Kustomization depends on it: default/api (kubernetes/apps/default/api/ks.yaml); remove them first (gen remove-app default/api), or pass --force"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rr := r
			if c.r != nil {
				rr = c.r(t)
			}
			cs, err := apps.Remove(rr.Model(), c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v (changes %v), want an error containing %q", err, csPaths(cs), c.want)
			}
		})
	}

	t.Run("--force removes it anyway, with a note", func(t *testing.T) {
		rr := withDependent(t)
		cs, err := apps.Remove(rr.Model(), apps.RemoveOptions{Namespace: "default", Name: "echo", Force: true})
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(cs.Notes, "\n")
		if !strings.Contains(notes, "default/api (kubernetes/apps/default/api/ks.yaml) depends on the app") {
			t.Fatalf("no note on the dependent:\n%s", notes)
		}
		if _, ok := gentest.Overlay(rr.Files, cs)["kubernetes/apps/default/api/ks.yaml"]; !ok {
			t.Fatal("--force removed the dependent too")
		}
	})

	t.Run("dependents on anton", func(t *testing.T) {
		_, err := apps.Remove(loadAnton(t).Model(), apps.RemoveOptions{Namespace: "storage", Name: "seaweedfs-config"})
		var de *apps.DependentsError
		if !errors.As(err, &de) {
			t.Fatalf("got %v, want a DependentsError", err)
		}
		var got []string
		for _, d := range de.Dependents {
			got = append(got, d.App)
		}
		want := []string{"iceberg-demo/trino", "lakehouse/authoritative-writer", "lakehouse/flight-recorder", "lakehouse/spark-history-server", "observability/loki"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("dependents %v, want %v\n%v", got, want, err)
		}
	})

	t.Run("a catch-all that sends traffic to the app", func(t *testing.T) {
		files := map[string][]byte{}
		for p, d := range r.Files {
			files[p] = d
		}
		const hr = "kubernetes/apps/network/cloudflare-tunnel/app/helmrelease.yaml"
		files[hr] = bytes.Replace(files[hr], []byte("- service: http_status:404"), []byte("- service: http://whoami.default.svc.cluster.local:80"), 1)
		_, err := apps.Remove(fromFiles(t, files).Model(), apps.RemoveOptions{Namespace: "default", Name: "whoami"})
		if err == nil || !strings.Contains(err.Error(), "the catch-all rule (the last one) sends every other hostname to http://whoami.default.svc.cluster.local:80") {
			t.Fatalf("got %v", err)
		}
	})
}

func csPaths(cs *generator.Changeset) []string {
	if cs == nil {
		return nil
	}
	return cs.Paths()
}

func fromFiles(t *testing.T, files map[string][]byte) *repo.Repo {
	t.Helper()
	r, err := repo.FromFiles(files, repo.LoadOptions{Domains: gentest.ExampleDomains})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// loadAnton reads the anton corpus as it is.
func loadAnton(t *testing.T) *repo.Repo {
	t.Helper()
	files, err := repo.ReadFiles(os.DirFS(testutil.AntonCorpus(t)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.FromFiles(files, repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameFiles fails unless two snapshots hold the same paths with the same
// bytes.
func sameFiles(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, "missing: "+p)
		case !bytes.Equal(g, w):
			text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
				A: difflib.SplitLines(string(w)), B: difflib.SplitLines(string(g)), FromFile: "want/" + p, ToFile: "got/" + p, Context: 1,
			})
			diffs = append(diffs, "differs: "+p+"\n"+text)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, "left behind: "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("the tree is not the one before add-app:\n%s", strings.Join(diffs, "\n"))
	}
}

// checkRemoved builds the tree after the removal the way Flux does: it
// still builds, the app's Kustomization is gone, and no dependsOn points
// at a Kustomization that is missing now but was there before.
func checkRemoved(t *testing.T, r *repo.Repo, cs *generator.Changeset, ns, name string) {
	t.Helper()
	unresolved := func(files map[string][]byte) (map[string]bool, map[string]bool) {
		all, err := flux.Discover(files, r.RootKustomizations)
		if err != nil {
			t.Fatalf("the tree does not build: %v", err)
		}
		have := map[string]bool{}
		for _, ks := range all {
			have[ks.ID().String()] = true
		}
		missing := map[string]bool{}
		for _, ks := range all {
			for _, d := range ks.DependsOn {
				if !have[d.String()] {
					missing[ks.ID().String()+" -> "+d.String()] = true
				}
			}
		}
		return have, missing
	}
	haveBefore, before := unresolved(r.Files)
	have, after := unresolved(gentest.Overlay(r.Files, cs))
	if !haveBefore[ns+"/"+name] {
		t.Fatalf("%s/%s was not a Flux Kustomization before the removal", ns, name)
	}
	if have[ns+"/"+name] {
		t.Fatalf("%s/%s is still a Flux Kustomization", ns, name)
	}
	for d := range after {
		if !before[d] {
			t.Errorf("the removal left a dangling dependsOn: %s", d)
		}
	}
	if len(haveBefore)-len(have) != 1 {
		t.Errorf("the removal took %d Flux Kustomizations away, want 1", len(haveBefore)-len(have))
	}
}

// removalView is the golden form of a removal: the files that go, a
// diff of the files that change, and the notes.
func removalView(t *testing.T, files map[string][]byte, cs *generator.Changeset) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString("# " + cs.Title + "\n")
	for _, f := range cs.Files {
		if f.Delete {
			b.WriteString("delete " + f.Path + "\n")
		}
	}
	for _, f := range cs.Files {
		if f.Delete {
			continue
		}
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(files[f.Path])), B: difflib.SplitLines(string(f.Content)),
			FromFile: "a/" + f.Path, ToFile: "b/" + f.Path, Context: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(text)
	}
	for _, n := range cs.Notes {
		b.WriteString("note: " + n + "\n")
	}
	return []byte(b.String())
}

// TestRemoveAppWarnsAboutAddressUsers: documents elsewhere that reach one
// of the app's Services by its DNS name are named in a warning; addresses
// of another namespace, or outside the cluster, are not.
func TestRemoveAppWarnsAboutAddressUsers(t *testing.T) {
	r := gentest.LoadExample(t)
	added, err := apps.Add(r.Model(), apps.AddOptions{
		Namespace: "default", Name: "db", Mode: apps.ModeRaw, Image: "docker.io/library/postgres:17.2", Port: 5432,
	})
	if err != nil {
		t.Fatal(err)
	}
	with := gentest.Overlay(r.Files, added)
	with["kubernetes/apps/default/echo/app/db-client.yaml"] = []byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db-client\ndata:\n" +
		"  DATABASE_URL: postgres://echo@db.default.svc.cluster.local:5432/echo\n" +
		"  REPLICAS: \"db-0.db.default.svc:5432,DB.DEFAULT.SVC.\"\n")
	with["kubernetes/apps/default/whoami/app/elsewhere.yaml"] = []byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\ndata:\n" +
		"  OTHER_NAMESPACE: http://db.media.svc.cluster.local\n  PUBLIC: https://db.default.example.org\n  LONGER: http://mydb.default.svc\n")
	r2 := fromFiles(t, with)

	cs, err := apps.Remove(r2.Model(), apps.RemoveOptions{Namespace: "default", Name: "db"})
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	for _, n := range cs.Notes {
		if strings.Contains(n, "reaches the app at") {
			warnings = append(warnings, n)
		}
	}
	want := "WARNING: kubernetes/apps/default/echo/app/db-client.yaml (ConfigMap db-client) reaches the app at db.default.svc; it loses that Service with the app. Point it elsewhere, or keep the app"
	if len(warnings) != 1 || warnings[0] != want {
		t.Fatalf("address warnings %q, want [%q]", warnings, want)
	}

	// Removing the app that holds the reference warns about nothing.
	cs, err = apps.Remove(r2.Model(), apps.RemoveOptions{Namespace: "default", Name: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range cs.Notes {
		if strings.Contains(n, "reaches the app at") {
			t.Errorf("removing echo: %s", n)
		}
	}
}
