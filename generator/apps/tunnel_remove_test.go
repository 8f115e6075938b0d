package apps_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator/tunnel"
	"github.com/gen-gitops/gen/internal/testutil"
)

func TestMatchServices(t *testing.T) {
	match := tunnel.MatchServices("default", "wiki", "wiki-api")
	for service, want := range map[string]bool{
		"http://wiki.default.svc.cluster.local:3000":      true,
		"https://wiki.default.svc.cluster.local":          true,
		"http://wiki.default.svc:80":                      true,
		"http://wiki.default":                             true,
		"http://WIKI.Default.svc.cluster.local./":         true,
		"tcp://wiki-api.default.svc.cluster.local:5432":   true,
		"http://wiki.default.svc.cluster.local:3000/path": true,
		"http://wiki.other.svc.cluster.local:3000":        false,
		"http://wiki-db.default.svc.cluster.local":        false,
		"http://wiki":                                      false,
		"http://wiki.default.example.org":                  false,
		"https://envoy-external.network.svc.cluster.local": false,
		"http_status:404":                                  false,
		"unix:/run/wiki.default.sock":                      false,
		"hello_world":                                      false,
		"":                                                 false,
	} {
		if got := match(service); got != want {
			t.Errorf("%q: got %v, want %v", service, got, want)
		}
	}
}

func TestRemoveTunnelRule(t *testing.T) {
	const svc = "http://wiki.default.svc.cluster.local:3000"
	match := tunnel.MatchServices("default", "wiki")
	cases := []struct {
		name, in, want, err string
		hosts               []string
	}{
		{
			name:  "the rule's lines go, nothing else",
			in:    "tunnel: abc\ningress:\n    - hostname: a.example.org\n      service: http://a:80\n    - hostname: wiki.example.org\n      service: " + svc + "\n    - service: http_status:404\n",
			want:  "tunnel: abc\ningress:\n    - hostname: a.example.org\n      service: http://a:80\n    - service: http_status:404\n",
			hosts: []string{"wiki.example.org"},
		},
		{
			name: "its comments go with it; the others' stay",
			in: "# Every public name arrives here.\ningress:\n  # the wiki, straight to its Service\n  - hostname: \"wiki.${SECRET_DOMAIN}\" # no gateway\n    service: " + svc + "\n    # keep-alive for the editor\n    originRequest:\n      keepAliveTimeout: 2m\n" +
				"  # everything else on the domain\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: https://envoy\n\n  # the catch-all\n  - service: http_status:404\n",
			want:  "# Every public name arrives here.\ningress:\n  # everything else on the domain\n  - hostname: \"*.${SECRET_DOMAIN}\"\n    service: https://envoy\n\n  # the catch-all\n  - service: http_status:404\n",
			hosts: []string{"wiki.${SECRET_DOMAIN}"},
		},
		{
			name: "every rule for the Service, in any of its address forms",
			in: "ingress:\n- hostname: wiki.example.org\n  service: http://wiki.default.svc:3000\n- hostname: '*.example.org'\n  service: https://envoy\n" +
				"- hostname: wiki.example.net\n  service: https://wiki.default\n- hostname: other.example.net\n  service: http://wiki.other.svc.cluster.local:3000\n- service: http_status:404\n",
			want:  "ingress:\n- hostname: '*.example.org'\n  service: https://envoy\n- hostname: other.example.net\n  service: http://wiki.other.svc.cluster.local:3000\n- service: http_status:404\n",
			hosts: []string{"wiki.example.org", "wiki.example.net"},
		},
		{
			name: "no rule for the Service: the same bytes",
			in:   "ingress:\n  - hostname: a.example.org\n    service: http://a:80\n  - service: http_status:404\n",
			want: "ingress:\n  - hostname: a.example.org\n    service: http://a:80\n  - service: http_status:404\n",
		},
		{
			name: "a flow list without a rule for the Service is no concern",
			in:   "ingress: [{hostname: a.example.org, service: http://a:80}, {service: http_status:404}]\n",
			want: "ingress: [{hostname: a.example.org, service: http://a:80}, {service: http_status:404}]\n",
		},
		{
			name: "a flow list with one",
			in:   "ingress: [{hostname: wiki.example.org, service: " + svc + "}, {service: http_status:404}]\n",
			err:  "writes ingress as a flow list; gen edits block lists only: remove the rules for wiki.example.org by hand",
		},
		{
			name: "the catch-all sends everything to the Service",
			in:   "ingress:\n  - hostname: a.example.org\n    service: http://a:80\n  - service: " + svc + "\n",
			err:  "the catch-all rule (the last one) sends every other hostname to " + svc,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, hosts, err := tunnel.RemoveRules([]byte(c.in), match, "the config")
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
			if !reflect.DeepEqual(hosts, c.hosts) {
				t.Fatalf("removed %q, want %q", hosts, c.hosts)
			}
		})
	}
}

// TestRemoveTunnelRuleUndoesAddTunnelRule takes the configs add-app
// --expose tunnel wrote (the golden files, in both styles) and removes the
// app's rules: the config the example repository started with must come
// back byte for byte.
func TestRemoveTunnelRuleUndoesAddTunnelRule(t *testing.T) {
	const hr = "kubernetes/apps/network/cloudflare-tunnel/app/helmrelease.yaml"
	embedded := func(t *testing.T, p string) string {
		t.Helper()
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Spec struct {
				Values struct {
					ConfigMaps struct {
						Config struct {
							Data map[string]string `yaml:"data"`
						} `yaml:"config"`
					} `yaml:"configMaps"`
				} `yaml:"values"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		s := doc.Spec.Values.ConfigMaps.Config.Data["config.yaml"]
		if s == "" {
			t.Fatalf("%s: no embedded config.yaml", p)
		}
		return s + "\n"
	}
	plainAfter, err := os.ReadFile(filepath.Join("testdata", "tunnel", "plain-config-raw", "kubernetes/apps/network/cloudflare-tunnel/app/cloudflared/config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	plainBefore, err := os.ReadFile(filepath.Join(plainTunnelRepo(t), "kubernetes/apps/network/cloudflare-tunnel/app/cloudflared/config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, before, after string
		match               tunnel.ServiceMatcher
		hosts               []string
	}{
		{"embedded", embedded(t, filepath.Join(testutil.ExampleRepo(t), hr)), embedded(t, filepath.Join("testdata", "tunnel", "embedded-app-template", hr)),
			tunnel.MatchServices("default", "wiki"), []string{"wiki.${SECRET_DOMAIN}", "wiki.${SECRET_DOMAIN_TWO}"}},
		{"plain", string(plainBefore), string(plainAfter), tunnel.MatchServices("tools", "paste"), []string{"paste.${SECRET_DOMAIN_TWO}"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.before == c.after {
				t.Fatal("the golden config has no rule to remove")
			}
			got, hosts, err := tunnel.RemoveRules([]byte(c.after), c.match, "the config")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.before {
				t.Fatalf("got\n%s\nwant\n%s", got, c.before)
			}
			if !reflect.DeepEqual(hosts, c.hosts) {
				t.Fatalf("removed %q, want %q", hosts, c.hosts)
			}
		})
	}
}
