package check

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/flux"
	"github.com/gen-gitops/gen/internal/testutil"
)

const (
	echoKS       = "kubernetes/apps/default/echo/ks.yaml"
	echoHR       = "kubernetes/apps/default/echo/app/helmrelease.yaml"
	echoKus      = "kubernetes/apps/default/echo/app/kustomization.yaml"
	whoamiKS     = "kubernetes/apps/default/whoami/ks.yaml"
	whoamiKus    = "kubernetes/apps/default/whoami/app/kustomization.yaml"
	whoamiRoute  = "kubernetes/apps/default/whoami/app/httproute.yaml"
	whoamiDeploy = "kubernetes/apps/default/whoami/app/deployment.yaml"
	defaultKus   = "kubernetes/apps/default/kustomization.yaml"
	envoyFile    = "kubernetes/apps/network/envoy-gateway/app/envoy.yaml"
	rootKS       = "kubernetes/flux/cluster/ks.yaml"
)

// example returns the example repository's files.
func example(t *testing.T) flux.Files {
	t.Helper()
	snap, err := ReadDir(testutil.ExampleRepo(t), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Files
}

// exampleBuilder returns a Builder holding the example repository.
func exampleBuilder(t *testing.T, l Limits) *Builder {
	t.Helper()
	b := NewBuilder(l)
	for p, data := range example(t) {
		if b.Reserve(p, int64(len(data))) {
			b.Add(p, data)
		}
	}
	return b
}

// edit changes the files of a test repository.
type edit func(t *testing.T, f flux.Files)

func set(p, content string) edit {
	return func(t *testing.T, f flux.Files) { f[p] = []byte(content) }
}

func remove(p string) edit {
	return func(t *testing.T, f flux.Files) { delete(f, p) }
}

func replace(p, old, new string) edit {
	return func(t *testing.T, f flux.Files) {
		t.Helper()
		s := string(f[p])
		if !strings.Contains(s, old) {
			t.Fatalf("%s does not hold %q", p, old)
		}
		f[p] = []byte(strings.Replace(s, old, new, 1))
	}
}

// TestEveryRuleFires makes each rule of the catalogue fire on a small
// change to the example repository (or, for the reading limits, on a
// snapshot built for it), at the file and line where the problem is.
func TestEveryRuleFires(t *testing.T) {
	cases := []struct {
		rule  string
		edits []edit
		opts  Options
		snap  func(t *testing.T) *Snapshot
		// file and line the finding must carry ("" and 0: not checked).
		file string
		line int
	}{
		{rule: RuleYAMLSyntax, edits: []edit{set("kubernetes/apps/default/broken.yaml", "a: b\nc: [d\n")}, file: "kubernetes/apps/default/broken.yaml"},
		{rule: RuleBuild, edits: []edit{replace(echoKus, "./helmrelease.yaml", "./nope.yaml")}, file: echoKS},
		{rule: RuleSchema, edits: []edit{replace(whoamiDeploy, "  replicas: 1\n", "  replicas: 1\n  replica: 2\n")}, file: whoamiDeploy, line: 10},
		{rule: RuleSchema, edits: []edit{replace(whoamiDeploy, "  replicas: 1\n", "  replicas: one\n")}, file: whoamiDeploy, line: 9},
		// A custom resource against the CustomResourceDefinition the
		// repository holds: an unknown field and a wrong type.
		{rule: RuleSchema, edits: []edit{
			set("kubernetes/apps/default/whoami/app/crd.yaml", widgetCRD),
			set("kubernetes/apps/default/whoami/app/widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n  colour: red\n"),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./crd.yaml\n  - ./widget.yaml\n"),
		}, file: "kubernetes/apps/default/whoami/app/widget.yaml", line: 7},
		{rule: RuleSchema, edits: []edit{
			set("kubernetes/apps/default/whoami/app/crd.yaml", widgetCRD),
			set("kubernetes/apps/default/whoami/app/widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: large\n  labels: {a: b}\n  parts: [{name: x, count: 2}]\n"),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./crd.yaml\n  - ./widget.yaml\n"),
		}, file: "kubernetes/apps/default/whoami/app/widget.yaml", line: 6},
		{rule: RuleNotBuilt, edits: []edit{replace(whoamiKS, "    name: flux-system\n", "    name: upstream\n")}, file: whoamiKS},
		{rule: RuleRoot, opts: Options{Roots: []string{"kubernetes/flux/nope.yaml"}}},
		{rule: RuleRepoShape, snap: func(t *testing.T) *Snapshot {
			return &Snapshot{Files: flux.Files{"kubernetes/flux/cluster/ks.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")}}
		}},
		{rule: RulePathNotFound, edits: []edit{replace(echoKS, "default/echo/app", "default/echo/nope")}, file: echoKS, line: 10},
		{rule: RulePathEscape, edits: []edit{replace(echoKS, "path: ./kubernetes/apps/default/echo/app", "path: ../../kubernetes/apps/default/echo/app")}, file: echoKS, line: 10},
		{rule: RulePathEscape, edits: []edit{replace(echoKus, "./helmrelease.yaml", "../../../../../../etc/passwd")}, file: echoKus, line: 7},
		{rule: RuleDecryption, edits: []edit{replace(rootKS, "          decryption:\n            provider: sops\n", "")}, file: "kubernetes/apps/network/cloudflare-dns/app/secret.sops.yaml"},
		{rule: RuleSubstituteFrom, edits: []edit{replace(echoKS, "        kind: Secret\n", "        kind: Secret\n      - name: cluster-settings\n        kind: ConfigMap\n")}, file: echoKS},
		{rule: RuleUndefinedVar, edits: []edit{replace(echoHR, "LOG_IGNORE_PATH: /healthz", "LOG_IGNORE_PATH: /${NOPE}")}, file: echoHR, line: 25},
		{rule: RuleUnregisteredApp, edits: []edit{replace(defaultKus, "  - ./echo/ks.yaml\n", "")}, file: echoKS},
		{rule: RuleDisabledApp, edits: []edit{replace(defaultKus, "  - ./echo/ks.yaml\n", "  # - ./echo/ks.yaml  ## off for now\n")}, file: defaultKus, line: 10},
		{rule: RuleChartSource, edits: []edit{replace(echoHR, "  chartRef:\n", "  chart:\n    spec:\n      chart: x\n      sourceRef: {kind: HelmRepository, name: x}\n  chartRef:\n")}, file: echoHR},
		{rule: RuleChartSource, edits: []edit{
			set("kubernetes/apps/default/echo/app/helmrepository.yaml", "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: extra\nspec:\n  url: https://example.com/charts\n  interval: 1h\n"),
			replace(echoKus, "  - ./helmrelease.yaml\n", "  - ./helmrelease.yaml\n  - ./helmrepository.yaml\n"),
		}, file: "kubernetes/apps/default/echo/app/helmrepository.yaml"},
		{rule: RuleChartRef, edits: []edit{replace(echoHR, "    kind: OCIRepository\n    name: echo\n", "    kind: OCIRepository\n    name: ecko\n")}, file: echoHR, line: 8},
		{rule: RuleDependsOnRequired, edits: []edit{replace(whoamiKS, "    - name: cloudflare-dns\n      namespace: network\n", "")}, file: whoamiKS},
		{rule: RuleDependsOnRoute, edits: []edit{replace(echoKS, "  dependsOn:\n    - name: envoy-gateway\n      namespace: network\n", "")}, file: echoKS},
		{rule: RuleDependsOnUnknown, edits: []edit{replace(echoKS, "    - name: envoy-gateway\n", "    - name: envoy-gateway\n      namespace: network\n    - name: nope\n")}, file: echoKS},
		{rule: RuleSecretPlaintext, edits: []edit{
			set("kubernetes/apps/default/whoami/app/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: whoami\nstringData:\n  TOKEN: hunter2\n"),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./secret.yaml\n"),
		}, file: "kubernetes/apps/default/whoami/app/secret.yaml", line: 6},
		{rule: RuleSopsNoRule, edits: []edit{replace(".sops.yaml", `kubernetes/.*\.sops\.ya?ml`, `talos/.*\.sops\.ya?ml`)}, file: "kubernetes/components/sops/cluster-secrets.sops.yaml"},
		{rule: RuleSopsNotEncrypted, edits: []edit{set("kubernetes/apps/default/whoami/app/token.sops.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: token\ndata:\n  a: b\n")}, file: "kubernetes/apps/default/whoami/app/token.sops.yaml"},
		{rule: RuleHostUnknownDomain, opts: Options{Domains: map[string]string{"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}},
			edits: []edit{replace(whoamiRoute, `"whoami.${SECRET_DOMAIN_TWO}"`, `"whoami.example.net"`)}, file: whoamiRoute, line: 12},
		{rule: RuleHostNoDNSEndpoint, edits: []edit{replace(whoamiKus, "  - ./dnsendpoint.yaml\n", "")}, file: whoamiRoute, line: 12},
		{rule: RuleRedirectDNS, edits: []edit{replace(envoyFile, "  annotations:\n    external-dns.alpha.kubernetes.io/controller: none\n", "")}, file: envoyFile},
		{rule: RuleRouteTarget, edits: []edit{replace(whoamiRoute, "  name: whoami\n", "  name: whoami\n  annotations:\n    external-dns.alpha.kubernetes.io/target: external.example.org\n")}, file: whoamiRoute, line: 6},
		{rule: RuleParentRef, edits: []edit{replace(whoamiRoute, "      namespace: network\n", "")}, file: whoamiRoute, line: 8},
		{rule: RuleParentRef, edits: []edit{replace(whoamiRoute, "      sectionName: https\n", "      sectionName: http\n")}, file: whoamiRoute, line: 8},
		// Without a sectionName, a route in the gateway's own namespace
		// also attaches to the plain-HTTP listener, which admits it.
		{rule: RuleParentRef, edits: []edit{
			set("kubernetes/apps/network/envoy-gateway/app/route.yaml", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: status\nspec:\n  hostnames: [\"status.${SECRET_DOMAIN}\"]\n  parentRefs:\n    - name: envoy-external\n  rules:\n    - backendRefs: [{name: status, port: 80}]\n"),
			replace("kubernetes/apps/network/envoy-gateway/app/kustomization.yaml", "resources:\n", "resources:\n  - ./route.yaml\n"),
		}, file: "kubernetes/apps/network/envoy-gateway/app/route.yaml", line: 8},
		{rule: RuleParentRef, edits: []edit{replace(echoHR, "            sectionName: https\n", "            sectionName: http\n")}, file: echoHR},
		{rule: RuleRemote, edits: []edit{replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - https://example.com/evil.yaml\n")}, file: whoamiKus, line: 8},
		{rule: RuleRemote, edits: []edit{replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - github.com/example/repo//deploy?ref=main\n")}, file: whoamiKus},
		{rule: RuleExec, edits: []edit{replace(whoamiKus, "resources:\n", "helmCharts:\n  - name: evil\n    repo: https://example.com\nresources:\n")}, file: whoamiKus},
		{rule: RuleSymlinkEscape, snap: func(t *testing.T) *Snapshot {
			b := exampleBuilder(t, DefaultLimits())
			b.Symlink("kubernetes/apps/default/passwd.yaml", "../../../../../etc/passwd")
			return b.Snapshot()
		}, file: "kubernetes/apps/default/passwd.yaml"},
		{rule: RuleSymlink, snap: func(t *testing.T) *Snapshot {
			b := exampleBuilder(t, DefaultLimits())
			b.Symlink("kubernetes/apps/default/link.yaml", "namespace.yaml")
			return b.Snapshot()
		}, file: "kubernetes/apps/default/link.yaml"},
		{rule: RuleFileTooLarge, snap: func(t *testing.T) *Snapshot {
			l := DefaultLimits()
			l.MaxFileSize = 64 << 10
			b := exampleBuilder(t, l)
			b.Reserve("kubernetes/big.yaml", 64<<10+1)
			return b.Snapshot()
		}, file: "kubernetes/big.yaml"},
		{rule: RuleRepoTooLarge, snap: func(t *testing.T) *Snapshot {
			l := DefaultLimits()
			l.MaxFiles = 1
			b := NewBuilder(l)
			for _, p := range []string{"a.yaml", "b.yaml"} {
				if b.Reserve(p, 1) {
					b.Add(p, []byte("a"))
				}
			}
			return b.Snapshot()
		}},
		{rule: RuleYAMLAliases, edits: []edit{set("kubernetes/apps/default/lol.yaml", billionLaughs(9))}, file: "kubernetes/apps/default/lol.yaml"},
		{rule: RuleYAMLDepth, edits: []edit{set("kubernetes/apps/default/deep.yaml", "a: "+strings.Repeat("[", 300)+strings.Repeat("]", 300)+"\n")}, file: "kubernetes/apps/default/deep.yaml"},
		{rule: RuleTooManyObjects, opts: Options{Limits: func() Limits { l := DefaultLimits(); l.MaxObjects = 5; return l }()}},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.rule] = true
		t.Run(c.rule, func(t *testing.T) {
			var snap *Snapshot
			if c.snap != nil {
				snap = c.snap(t)
			} else {
				files := example(t)
				for _, e := range c.edits {
					e(t, files)
				}
				snap = &Snapshot{Files: files}
			}
			rep, err := Run(snap, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []Finding
			for _, f := range rep.Findings {
				if f.Rule == c.rule {
					got = append(got, f)
				}
			}
			if len(got) == 0 {
				t.Fatalf("rule %s did not fire; findings:\n%s", c.rule, findingList(rep.Findings))
			}
			f := got[0]
			if f.Severity != Rules[c.rule].Severity || f.Message == "" || (f.Fix == "" && f.Severity != SeverityInfo) {
				t.Errorf("finding %+v lacks its severity, message or fix", f)
			}
			if c.file != "" {
				// The first finding in that file.
				for _, g := range got {
					if g.File == c.file {
						f = g
						break
					}
				}
				if f.File != c.file {
					t.Errorf("finding in %q, want %q: %s", f.File, c.file, f)
				}
			}
			if c.line != 0 && f.Line != c.line {
				t.Errorf("finding at line %d, want %d: %s", f.Line, c.line, f)
			}
			if wantFail := Rules[c.rule].Severity == SeverityError; rep.Failed() != wantFail {
				t.Errorf("Failed() = %v with %s", rep.Failed(), findingList(rep.Findings))
			}
		})
	}
	for _, id := range RuleIDs() {
		if !covered[id] {
			t.Errorf("rule %s has no test that makes it fire", id)
		}
	}
}

func findingList(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// billionLaughs returns the classic alias bomb with n levels of ten.
func billionLaughs(n int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i := 1; i <= n; i++ {
		p := "*a" + itoa(i-1)
		b.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [" + strings.Repeat(p+",", 9) + p + "]\n")
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestDisableAndIgnore: --disable drops a rule everywhere; a gen:ignore
// comment drops it on its line (or from the comment lines above).
func TestDisableAndIgnore(t *testing.T) {
	broken := func(t *testing.T) flux.Files {
		f := example(t)
		replace(whoamiRoute, "      namespace: network\n", "")(t, f)
		return f
	}
	rep, _ := Run(&Snapshot{Files: broken(t)}, Options{Disable: []string{RuleParentRef}})
	if len(rep.Findings) != 0 || rep.Failed() {
		t.Errorf("--disable kept %s", findingList(rep.Findings))
	}
	for name, comment := range map[string]edit{
		"same line":  replace(whoamiRoute, "    - name: envoy-external\n", "    - name: envoy-external # gen:ignore parent-ref\n"),
		"line above": replace(whoamiRoute, "    - name: envoy-external\n", "    # gen:ignore route-target-annotation, parent-ref\n    - name: envoy-external\n"),
		"file":       replace(whoamiRoute, "---\n", "---\n# gen:ignore-file parent-ref\n"),
	} {
		t.Run(name, func(t *testing.T) {
			f := broken(t)
			comment(t, f)
			rep, _ := Run(&Snapshot{Files: f}, Options{})
			if len(rep.Findings) != 0 || rep.Summary.Ignored != 1 {
				t.Errorf("ignored %d, kept %s", rep.Summary.Ignored, findingList(rep.Findings))
			}
		})
	}
	f := broken(t)
	replace(whoamiRoute, "    - name: envoy-external\n", "    - name: envoy-external # gen:ignore schema\n")(t, f)
	if rep, _ := Run(&Snapshot{Files: f}, Options{}); len(rep.Findings) != 1 {
		t.Errorf("a comment for another rule silenced %s", findingList(rep.Findings))
	}
	if _, err := Run(&Snapshot{Files: f}, Options{Disable: []string{"nope"}}); err == nil {
		t.Error("an unknown rule id was accepted")
	}
}

// TestReadDirLinks: links are reported and never followed, whether they
// point inside or outside the repository.
func TestReadDirLinks(t *testing.T) {
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(outside, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := filepath.Join(dir, "kubernetes", "apps", "default")
	for name, target := range map[string]string{"abs.yaml": outside, "rel.yaml": "../../../../../etc/hostname", "in.yaml": "namespace.yaml", "dir": "../network"} {
		if err := os.Symlink(target, filepath.Join(ns, name)); err != nil {
			t.Skipf("no symbolic links here: %v", err)
		}
	}
	snap, err := ReadDir(dir, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range snap.Findings {
		got[f.File] = f.Rule
	}
	want := map[string]string{
		"kubernetes/apps/default/abs.yaml": RuleSymlinkEscape,
		"kubernetes/apps/default/rel.yaml": RuleSymlinkEscape,
		"kubernetes/apps/default/in.yaml":  RuleSymlink,
		"kubernetes/apps/default/dir":      RuleSymlink,
	}
	for p, rule := range want {
		if got[p] != rule {
			t.Errorf("%s: rule %q, want %q", p, got[p], rule)
		}
		if _, read := snap.Files[p]; read {
			t.Errorf("%s was read through the link", p)
		}
	}
	for p := range snap.Files {
		if strings.HasPrefix(p, "kubernetes/apps/default/dir/") {
			t.Errorf("%s was read through a linked folder", p)
		}
	}
}

// TestReadDirLimitOrder: when the file limit is reached, the files read
// are the first in the walk's order (each folder by name), the same on
// every run, although reading overlaps the walk.
func TestReadDirLimitOrder(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"c/d.yaml", "b.yaml", "a-b.yaml", "a/x.yaml", "a/y.yaml"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("k: "+p+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := DefaultLimits()
	l.MaxFiles = 2
	for range 20 {
		snap, err := ReadDir(dir, l)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for p, data := range snap.Files {
			if string(data) != "k: "+p+"\n" {
				t.Errorf("%s holds %q", p, data)
			}
			got = append(got, p)
		}
		sort.Strings(got)
		if want := []string{"a/x.yaml", "a/y.yaml"}; !slices.Equal(got, want) {
			t.Fatalf("read %v, want %v", got, want)
		}
		if len(snap.Findings) != 1 || snap.Findings[0].Rule != RuleRepoTooLarge {
			t.Fatalf("findings %v, want one %s", snap.Findings, RuleRepoTooLarge)
		}
	}
}

// TestNotFindings: what real repositories of this lineage do that is not a
// problem stays quiet.
func TestNotFindings(t *testing.T) {
	cases := map[string][]edit{
		// Values filled in by a secret manager's tool before apply.
		"secret references": {
			set("kubernetes/apps/default/whoami/app/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: whoami\nstringData:\n  TOKEN: op://vault/item/token\n  OTHER: 'ref+vault://secret/data/x#y'\n  TEMPLATED: \"${SECRET_DOMAIN}\"\n"),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./secret.yaml\n"),
		},
		// The variables of a source made by an ExternalSecret in the
		// cluster are unknown here, not undefined.
		"external secret source": {
			set("kubernetes/apps/default/whoami/app/externalsecret.yaml", "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: whoami\nspec:\n  target:\n    name: whoami-vars\n  secretStoreRef: {kind: ClusterSecretStore, name: store}\n"),
			set("kubernetes/apps/default/whoami/app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: uses\ndata:\n  id: ${TUNNEL_ID}\n"),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./externalsecret.yaml\n  - ./cm.yaml\n"),
			replace(whoamiKS, "        kind: Secret\n", "        kind: Secret\n      - name: whoami-vars\n        kind: Secret\n"),
		},
		// A route elsewhere than the gateway's namespace without a
		// sectionName: the plain-HTTP listener admits only its own
		// namespace, so the route attaches to HTTPS alone.
		"no sectionName": {replace(whoamiRoute, "      sectionName: https\n", "")},
		// Another HTTPS listener of the gateway (a second port) is as good
		// a place to attach as the one called https.
		"second HTTPS listener": {
			replace("kubernetes/apps/network/envoy-gateway/app/envoy.yaml", "    - name: https\n      protocol: HTTPS\n      port: 443\n",
				"    - name: mcp\n      protocol: HTTPS\n      port: 8090\n      allowedRoutes:\n        namespaces:\n          from: All\n      tls:\n        mode: Terminate\n        certificateRefs:\n          - kind: Secret\n            name: mcp-tls\n"+
					"    - name: https\n      protocol: HTTPS\n      port: 443\n"),
			replace(whoamiRoute, "      sectionName: https\n", "      sectionName: mcp\n"),
		},
		// A custom resource that follows its definition.
		"custom resource": {
			set("kubernetes/apps/default/whoami/app/crd.yaml", widgetCRD),
			set("kubernetes/apps/default/whoami/app/widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n  labels: {a: b}\n  parts: [{name: x, count: 2}]\n  extra: {anything: [1, {b: c}]}\n"),
			replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./crd.yaml\n  - ./widget.yaml\n"),
		},
	}
	for name, edits := range cases {
		t.Run(name, func(t *testing.T) {
			files := example(t)
			for _, e := range edits {
				e(t, files)
			}
			rep, err := Run(&Snapshot{Files: files}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Findings {
				if f.Rule != RuleDependsOnRequired {
					t.Errorf("%s", f)
				}
			}
		})
	}
}

// TestDependsOnConvention: a dependency most Kustomizations that need it
// do not declare is a warning (the repository does not follow that rule);
// where at least as many declare it as lack it, the ones that lack it are
// errors.
func TestDependsOnConvention(t *testing.T) {
	files := example(t)
	replace(whoamiKS, "    - name: cloudflare-dns\n      namespace: network\n", "")(t, files)
	// The tunnel's DNSEndpoint needs cloudflare-dns too, and declares it.
	rep, _ := Run(&Snapshot{Files: files}, Options{})
	if got := severities(rep, RuleDependsOnRequired); got != "error" {
		t.Errorf("with one declaration: %s", got)
	}
	// A copy of whoami, lacking it too: one declares, two lack. Each
	// finding is looked at (--verbose); by default they are one line.
	for p, data := range files {
		if rest, ok := strings.CutPrefix(p, "kubernetes/apps/default/whoami/"); ok {
			files["kubernetes/apps/default/whoami2/"+rest] = []byte(strings.ReplaceAll(string(data), "whoami", "whoami2"))
		}
	}
	replace("kubernetes/apps/default/kustomization.yaml", "  - ./whoami/ks.yaml\n", "  - ./whoami/ks.yaml\n  - ./whoami2/ks.yaml\n")(t, files)
	rep, _ = Run(&Snapshot{Files: files}, Options{Verbose: true})
	if got := severities(rep, RuleDependsOnRequired); got != "warning warning" || rep.Failed() {
		t.Errorf("with one declaration of three: %s, failed %v\n%v", got, rep.Failed(), rep.Findings)
	}
	replace("kubernetes/apps/network/cloudflare-tunnel/ks.yaml", "    - name: cloudflare-dns\n      namespace: network\n", "")(t, files)
	rep, _ = Run(&Snapshot{Files: files}, Options{Verbose: true})
	if got := severities(rep, RuleDependsOnRequired); got != "warning warning warning" || rep.Failed() {
		t.Errorf("with none: %s, failed %v", got, rep.Failed())
	}
}

func severities(rep *Report, rule string) string {
	var out []string
	for _, f := range rep.Findings {
		if f.Rule == rule {
			out = append(out, string(f.Severity))
		}
	}
	return strings.Join(out, " ")
}

// widgetCRD declares a small custom resource for the schema tests.
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
                labels:
                  type: object
                  additionalProperties: {type: string}
                parts:
                  type: array
                  items:
                    type: object
                    properties:
                      name: {type: string}
                      count: {type: integer}
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
`

// TestDisabledAppIsNoError: a commented-out registration is an explicit
// disable, reported as a note; a registration that is simply missing stays
// an error.
func TestDisabledAppIsNoError(t *testing.T) {
	for _, c := range []struct {
		entry string
		want  string
	}{
		{"  # - ./echo/ks.yaml\n", RuleDisabledApp},
		{"  #- echo/ks.yaml # broken upstream\n", RuleDisabledApp},
		{"  # - ./echoes/ks.yaml\n", RuleUnregisteredApp},
		{"", RuleUnregisteredApp},
	} {
		files := example(t)
		replace(defaultKus, "  - ./echo/ks.yaml\n", c.entry)(t, files)
		rep, err := Run(&Snapshot{Files: files}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, f := range rep.Findings {
			if f.Rule == RuleDisabledApp || f.Rule == RuleUnregisteredApp {
				rules = append(rules, f.Rule)
			}
		}
		if !slices.Equal(rules, []string{c.want}) {
			t.Errorf("entry %q: findings %v, want [%s]", c.entry, rules, c.want)
		}
		if rep.Failed() != (c.want == RuleUnregisteredApp) {
			t.Errorf("entry %q: Failed() = %v", c.entry, rep.Failed())
		}
	}
}

// TestRemoteResourceSeverity: kustomize-controller fetches remote bases by
// default, so a remote entry is a warning naming what was not checked; an
// error where the repository turns remote bases off.
func TestRemoteResourceSeverity(t *testing.T) {
	remote := replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - https://example.com/crd.yaml\n")
	files := example(t)
	remote(t, files)
	rep, err := Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := only(t, rep, RuleRemote)
	if f.Severity != SeverityWarning || !strings.Contains(f.Message, "default/whoami") || !strings.Contains(f.Message, "not checked") || rep.Failed() {
		t.Errorf("remote entry with remote bases on: %s (failed %v)", f, rep.Failed())
	}

	files = example(t)
	remote(t, files)
	files["bootstrap/flux-instance/values.yaml"] = []byte("instance:\n  kustomize:\n    patches:\n      - patch: |\n          - op: add\n            path: /spec/template/spec/containers/0/args/-\n            value: --no-remote-bases=true\n        target: {kind: Deployment, name: kustomize-controller}\n")
	rep, err = Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f = only(t, rep, RuleRemote)
	if f.Severity != SeverityError || !strings.Contains(f.Message, "values.yaml:7") || !rep.Failed() {
		t.Errorf("remote entry with remote bases off: %s (failed %v)", f, rep.Failed())
	}
}

// TestRedirectDNSOnlyOnClash: a redirect route's record is left alone
// unless it provably clashes: the same name served elsewhere through a
// gateway of another target, or the redirect attached to two gateways of
// different targets.
func TestRedirectDNSOnlyOnClash(t *testing.T) {
	redirect := func(parents, hosts string) string {
		return "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: old-name\nspec:\n  parentRefs:\n" + parents +
			"  hostnames:\n" + hosts + "  rules:\n    - filters:\n        - type: RequestRedirect\n          requestRedirect:\n            hostname: whoami.example.org\n            statusCode: 301\n"
	}
	ext := "    - name: envoy-external\n      namespace: network\n      sectionName: https\n"
	in := "    - name: envoy-internal\n      namespace: network\n      sectionName: https\n"
	for _, c := range []struct {
		name, route string
		fire        bool
	}{
		{"an old name nothing else serves", redirect(ext, "    - old.${SECRET_DOMAIN}\n"), false},
		{"the name an internal route serves", redirect(ext, "    - whoami.${SECRET_DOMAIN_TWO}\n"), false},
		{"attached to both gateways", redirect(ext+in, "    - old.${SECRET_DOMAIN}\n"), true},
	} {
		files := example(t)
		set("kubernetes/apps/default/whoami/app/redirect.yaml", c.route)(t, files)
		replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./redirect.yaml\n")(t, files)
		rep, err := Run(&Snapshot{Files: files}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		fired := false
		for _, f := range rep.Findings {
			if f.Rule == RuleRedirectDNS && f.File == "kubernetes/apps/default/whoami/app/redirect.yaml" {
				fired = true
			}
		}
		if fired != c.fire {
			t.Errorf("%s: redirect-dns fired %v, want %v:\n%s", c.name, fired, c.fire, findingList(rep.Findings))
		}
	}
	// A clash with another route: the same name served through the
	// internal gateway (another target) while the redirect is external.
	files := example(t)
	replace(whoamiRoute, "    - name: envoy-external\n", "    - name: envoy-internal\n")(t, files)
	set("kubernetes/apps/default/whoami/app/redirect.yaml", redirect(ext, "    - \"whoami.${SECRET_DOMAIN_TWO}\"\n"))(t, files)
	replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./redirect.yaml\n")(t, files)
	rep, err := Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := only(t, rep, RuleRedirectDNS)
	if !strings.Contains(f.Message, "envoy-internal") {
		t.Errorf("clash message does not name the other gateway: %s", f)
	}
}

// only returns the one finding of rule.
func only(t *testing.T, rep *Report, rule string) Finding {
	t.Helper()
	var got []Finding
	for _, f := range rep.Findings {
		if f.Rule == rule {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d findings of %s, want 1:\n%s", len(got), rule, findingList(rep.Findings))
	}
	return got[0]
}

// TestMessagesReadWell: a Kustomization of another source without a path
// says what it builds without a gap, and many chart references to sources
// nothing renders bring a hint that the roots may be wrong.
func TestMessagesReadWell(t *testing.T) {
	files := example(t)
	replace(whoamiKS, "    name: flux-system\n", "    name: upstream\n")(t, files)
	replace(whoamiKS, "  path: ./kubernetes/apps/default/whoami/app\n", "")(t, files)
	rep, err := Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := only(t, rep, RuleNotBuilt)
	if strings.Contains(f.Message, "  ") || !strings.Contains(f.Message, "builds the root from") {
		t.Errorf("not-built message: %q", f.Message)
	}

	var docs strings.Builder
	for i := range danglingHint {
		docs.WriteString("---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: r" + strconv.Itoa(i) +
			"\nspec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: missing\n")
	}
	files = example(t)
	set("kubernetes/apps/default/whoami/app/releases.yaml", docs.String())(t, files)
	replace(whoamiKus, "  - ./service.yaml\n", "  - ./service.yaml\n  - ./releases.yaml\n")(t, files)
	rep, err = Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hint := false
	for _, f := range rep.Findings {
		if f.Rule == RuleRepoShape && strings.Contains(f.Message, "the roots may be wrong") {
			hint = true
		}
	}
	if !hint {
		t.Errorf("no hint about the roots:\n%s", findingList(rep.Findings))
	}
}

// TestUnfollowedRuleOnce: when most Kustomizations that need a dependency
// do not declare it, the repository does not follow that rule: the report
// says so once, with the count, and --verbose lists each.
func TestUnfollowedRuleOnce(t *testing.T) {
	files := example(t)
	var entries strings.Builder
	for _, n := range []string{"whoami2", "whoami3", "whoami4"} {
		for p, data := range files {
			if rest, ok := strings.CutPrefix(p, "kubernetes/apps/default/whoami/"); ok {
				text := strings.ReplaceAll(string(data), "whoami", n)
				if rest == "ks.yaml" {
					text = strings.Replace(text, "  dependsOn:\n    - name: envoy-gateway\n      namespace: network\n    - name: cloudflare-dns\n      namespace: network\n", "", 1)
				}
				files["kubernetes/apps/default/"+n+"/"+rest] = []byte(text)
			}
		}
		entries.WriteString("  - ./" + n + "/ks.yaml\n")
	}
	replace(defaultKus, "  - ./whoami/ks.yaml\n", "  - ./whoami/ks.yaml\n"+entries.String())(t, files)

	rep, err := Run(&Snapshot{Files: files}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var summary []Finding
	for _, f := range rep.Findings {
		if f.Rule == RuleDependsOnRequired && strings.Contains(f.Message, "network/envoy-gateway") {
			summary = append(summary, f)
		}
	}
	if len(summary) != 1 || summary[0].Findings != 3 || summary[0].Severity != SeverityWarning ||
		!strings.Contains(summary[0].Message, "3 Kustomizations need network/envoy-gateway in dependsOn") ||
		!strings.Contains(summary[0].Message, "1 of the 4 that need it do") || !strings.Contains(summary[0].Message, "--verbose") {
		t.Fatalf("want one summary of 3:\n%s", findingList(summary))
	}

	rep, err = Run(&Snapshot{Files: files}, Options{Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var each []string
	for _, f := range rep.Findings {
		if f.Rule == RuleDependsOnRequired && strings.Contains(f.Message, "network/envoy-gateway") {
			each = append(each, f.File)
		}
	}
	want := []string{"kubernetes/apps/default/whoami2/ks.yaml", "kubernetes/apps/default/whoami3/ks.yaml", "kubernetes/apps/default/whoami4/ks.yaml"}
	if !slices.Equal(each, want) {
		t.Errorf("--verbose lists %v, want %v", each, want)
	}
}
