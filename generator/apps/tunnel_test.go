package apps_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/generator/tunnel"
	"github.com/gen-gitops/gen/internal/testutil"
)

func TestAddTunnelRule(t *testing.T) {
	const svc = "http://wiki.default.svc.cluster.local:3000"
	cases := []struct {
		name, in, host, want, err string
	}{
		{
			name: "before the catch-all, in the list's indentation",
			in:   "tunnel: abc\ningress:\n    - hostname: a.example.org\n      service: http://a:80\n    - service: http_status:404\n",
			host: "wiki.example.org",
			want: "tunnel: abc\ningress:\n    - hostname: a.example.org\n      service: http://a:80\n    - hostname: wiki.example.org\n      service: " + svc + "\n    - service: http_status:404\n",
		},
		{
			name: "before a wildcard that would catch it, quoted like the others",
			in:   "ingress:\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: https://envoy\n  - service: http_status:404\n",
			host: "wiki.${SECRET_DOMAIN}",
			want: "ingress:\n  - hostname: \"wiki.${SECRET_DOMAIN}\"\n    service: " + svc + "\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: https://envoy\n  - service: http_status:404\n",
		},
		{
			name: "single quotes, comments kept with the catch-all",
			in:   "ingress:\n- hostname: 'a.example.org'\n  service: http://a:80\n# everything else\n- service: http_status:404\n",
			host: "wiki.example.org",
			want: "ingress:\n- hostname: 'a.example.org'\n  service: http://a:80\n- hostname: 'wiki.example.org'\n  service: " + svc + "\n# everything else\n- service: http_status:404\n",
		},
		{
			name: "already there: unchanged",
			in:   "ingress:\n  - hostname: wiki.example.org\n    service: " + svc + "\n  - service: http_status:404\n",
			host: "wiki.example.org",
			want: "ingress:\n  - hostname: wiki.example.org\n    service: " + svc + "\n  - service: http_status:404\n",
		},
		{
			name: "there, elsewhere",
			in:   "ingress:\n  - hostname: wiki.example.org\n    service: http://other:80\n  - service: http_status:404\n",
			host: "wiki.example.org",
			err:  "already sends wiki.example.org to http://other:80",
		},
		{
			name: "no catch-all",
			in:   "ingress:\n  - hostname: a.example.org\n    service: http://a:80\n",
			host: "wiki.example.org",
			err:  "does not end with a catch-all rule",
		},
		{
			name: "flow list",
			in:   "ingress: [{hostname: a.example.org, service: http://a:80}, {service: http_status:404}]\n",
			host: "wiki.example.org",
			err:  "flow list",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tunnel.AddRule([]byte(c.in), c.host, svc, "the config")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Fatalf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// plainTunnelRepo is the example repository with the tunnel's config moved
// out of the HelmRelease into a plain config.yaml read by a
// configMapGenerator, the other layout repositories use.
func plainTunnelRepo(t *testing.T) string {
	t.Helper()
	dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
	app := filepath.Join(dir, "kubernetes/apps/network/cloudflare-tunnel/app")
	hr, err := os.ReadFile(filepath.Join(app, "helmrelease.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(hr)
	i := strings.Index(s, "    configMaps:\n")
	j := strings.Index(s, "    persistence:\n")
	if i < 0 || j < i {
		t.Fatal("the example tunnel HelmRelease changed shape")
	}
	s = s[:i] + s[j:]
	s = strings.Replace(s, "        type: configMap\n        identifier: config\n", "        type: configMap\n        name: cloudflared-config\n", 1)
	mustWrite(t, filepath.Join(app, "helmrelease.yaml"), s)
	mustWrite(t, filepath.Join(app, "cloudflared/config.yaml"), `---
# Every public name arrives here; the first rule that matches wins.
ingress:
  - hostname: "*.${SECRET_DOMAIN}"
    service: https://envoy-external.network.svc.cluster.local
  - hostname: "*.${SECRET_DOMAIN_TWO}"
    service: https://envoy-external.network.svc.cluster.local
  - service: http_status:404
`)
	mustWrite(t, filepath.Join(app, "kustomization.yaml"), `---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./ocirepository.yaml
  - ./helmrelease.yaml
  - ./secret.sops.yaml
  - ./dnsendpoint.yaml
configMapGenerator:
  - name: cloudflared-config
    files:
      - config.yaml=./cloudflared/config.yaml
generatorOptions:
  disableNameSuffixHash: true
`)
	return dir
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := mkdirWrite(p, s); err != nil {
		t.Fatal(err)
	}
}

func TestExposeTunnelGolden(t *testing.T) {
	cases := []struct {
		name string
		dir  func(t *testing.T) string
		opts apps.AddOptions
	}{
		{"embedded-app-template", func(t *testing.T) string { return testutil.ExampleRepo(t) }, apps.AddOptions{
			Namespace: "default", Name: "wiki", Mode: apps.ModeAppTemplate, Image: "ghcr.io/example/wiki:2.5", Port: 3000,
			Hosts: []string{"wiki", "wiki.example.org"}, Expose: generator.ExposeTunnel,
		}},
		{"plain-config-raw", plainTunnelRepo, apps.AddOptions{
			Namespace: "tools", Name: "paste", Mode: apps.ModeRaw, Image: "ghcr.io/example/paste:2.1", Port: 8080,
			Hosts: []string{"paste.example.org"}, Expose: generator.ExposeTunnel,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gentest.LoadRepo(t, tc.dir(t))
			cs, err := apps.Add(r.Model(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			for _, f := range cs.Files {
				got[f.Path] = f.Content
				if strings.HasSuffix(f.Path, ".yaml") && !strings.Contains(f.Path, "cloudflared/") {
					gentest.AssertStrict(t, f.Path, f.Content)
				}
				if strings.Contains(string(f.Content), "kind: HTTPRoute") || strings.Contains(string(f.Content), "route:") {
					t.Fatalf("%s: --expose tunnel wrote a route", f.Path)
				}
			}
			testutil.GoldenTree(t, filepath.Join("testdata", "tunnel", tc.name), got)

			// Written and read again, the same command changes nothing.
			dir := t.TempDir()
			for p, data := range r.Files {
				mustWrite(t, filepath.Join(dir, p), string(data))
			}
			for p, data := range got {
				mustWrite(t, filepath.Join(dir, p), string(data))
			}
			again, err := apps.Add(gentest.LoadRepo(t, dir).Model(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Files) != 0 {
				t.Fatalf("second run wants to change %v", again.Paths())
			}
		})
	}
}

func TestExposeTunnelRefusals(t *testing.T) {
	opts := apps.AddOptions{Namespace: "default", Name: "wiki", Mode: apps.ModeRaw, Image: "nginx:1.27", Hosts: []string{"wiki"}, Expose: generator.ExposeTunnel}

	noCatchAll := testutil.CopyTree(t, testutil.ExampleRepo(t))
	hr := filepath.Join(noCatchAll, "kubernetes/apps/network/cloudflare-tunnel/app/helmrelease.yaml")
	data, _ := os.ReadFile(hr)
	mustWrite(t, hr, strings.Replace(string(data), "              - service: http_status:404\n", "", 1))

	noTunnel := testutil.CopyTree(t, testutil.ExampleRepo(t))
	if err := os.RemoveAll(filepath.Join(noTunnel, "kubernetes/apps/network/cloudflare-tunnel")); err != nil {
		t.Fatal(err)
	}
	nk := filepath.Join(noTunnel, "kubernetes/apps/network/kustomization.yaml")
	data, _ = os.ReadFile(nk)
	mustWrite(t, nk, strings.Replace(string(data), "  - ./cloudflare-tunnel/ks.yaml\n", "", 1))

	taken := testutil.CopyTree(t, testutil.ExampleRepo(t))
	hr = filepath.Join(taken, "kubernetes/apps/network/cloudflare-tunnel/app/helmrelease.yaml")
	data, _ = os.ReadFile(hr)
	mustWrite(t, hr, strings.Replace(string(data), "              - service: http_status:404\n",
		"              - hostname: \"wiki.${SECRET_DOMAIN}\"\n                service: http://old.default.svc.cluster.local:80\n              - service: http_status:404\n", 1))

	for _, c := range []struct {
		dir  string
		opts func(o apps.AddOptions) apps.AddOptions
		want string
	}{
		{noCatchAll, nil, "does not end with a catch-all rule (- service: http_status:404)"},
		{noTunnel, nil, "has no cloudflared config"},
		{taken, nil, "already sends wiki.${SECRET_DOMAIN} to http://old.default.svc.cluster.local:80"},
		{testutil.ExampleRepo(t), func(o apps.AddOptions) apps.AddOptions { o.Hosts = nil; return o }, "--expose tunnel needs --host"},
		{testutil.ExampleRepo(t), func(o apps.AddOptions) apps.AddOptions { o.Expose = "ingress"; return o }, "want gateway, tunnel or access"},
	} {
		o := opts
		if c.opts != nil {
			o = c.opts(o)
		}
		_, err := apps.Add(gentest.LoadRepo(t, c.dir).Model(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}
