package generator_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/apps"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/testutil"
)

func TestResolveHost(t *testing.T) {
	r := gentest.LoadExample(t)
	cases := []struct{ in, want string }{
		{"app", "app.${SECRET_DOMAIN}"},
		{"app.example.com", "app.${SECRET_DOMAIN}"},
		{"App.Example.Org.", "app.${SECRET_DOMAIN_TWO}"},
		{"deep.sub.example.org", "deep.sub.${SECRET_DOMAIN_TWO}"},
		{"example.org", "${SECRET_DOMAIN_TWO}"},
		{"app.${SECRET_DOMAIN_TWO}", "app.${SECRET_DOMAIN_TWO}"},
	}
	for _, tc := range cases {
		h, err := generator.ResolveHost(r.Model(), tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if h.Template() != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, h.Template(), tc.want)
		}
	}
}

func TestResolveHostErrors(t *testing.T) {
	r := gentest.LoadExample(t)
	cases := []struct{ in, wantErr string }{
		{"app.example.net", "gen onboard-domain example.net"},
		{"notexample.com", "on no onboarded domain"},
		{"bad_label", "not a valid DNS label"},
		{"x.${SECRET_DOMAIN_NINE}", "not a domain variable"},
		{"-x.example.com", "not a valid hostname"},
	}
	for _, tc := range cases {
		_, err := generator.ResolveHost(r.Model(), tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: got %v, want an error containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestResolveHostWithoutDomainValues(t *testing.T) {
	r, err := repo.Load(testutil.ExampleRepo(t), repo.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A bare name needs no value ...
	if h, err := generator.ResolveHost(r.Model(), "app"); err != nil || h.Template() != "app.${SECRET_DOMAIN}" {
		t.Fatalf("got %v, %v", h, err)
	}
	// ... a full hostname does, and the error says how to give it.
	_, err = generator.ResolveHost(r.Model(), "app.example.org")
	if err == nil || !strings.Contains(err.Error(), "--domain SECRET_DOMAIN") || !strings.Contains(err.Error(), ".gen.yaml") {
		t.Fatalf("got %v", err)
	}
}

func TestAddAppRejectsBadInput(t *testing.T) {
	base := apps.AddOptions{Namespace: "default", Name: "ok", Mode: apps.ModeAppTemplate, Image: "nginx:1.27", Port: 80}
	cases := []struct {
		name    string
		mutate  func(o *apps.AddOptions)
		wantErr string
	}{
		{"uppercase name", func(o *apps.AddOptions) { o.Name = "Bad" }, "DNS-1123"},
		{"path in name", func(o *apps.AddOptions) { o.Name = "../etc" }, "plain name"},
		{"path in namespace", func(o *apps.AddOptions) { o.Namespace = "a/b" }, "plain name"},
		{"image", func(o *apps.AddOptions) { o.Image = "UPPER/Case::x" }, "does not parse"},
		{"port high", func(o *apps.AddOptions) { o.Port = 70000 }, "out of range"},
		{"port negative", func(o *apps.AddOptions) { o.Port = -1 }, "out of range"},
		{"duplicate env", func(o *apps.AddOptions) {
			o.Env = []generator.KV{{Key: "A", Value: "1"}, {Key: "A", Value: "2"}}
		}, "given twice"},
		{"bad env key", func(o *apps.AddOptions) { o.Env = []generator.KV{{Key: "1A", Value: "1"}} }, "not a valid environment"},
		{"cpu", func(o *apps.AddOptions) { o.CPU = "lots" }, "quantity"},
		{"gateway", func(o *apps.AddOptions) { o.Gateway = "public" }, "external or internal"},
		{"chart without version", func(o *apps.AddOptions) {
			o.Mode, o.Image, o.Chart = apps.ModeChart, "", "oci://ghcr.io/x/y"
		}, "--chart-version"},
		{"chart url", func(o *apps.AddOptions) {
			o.Mode, o.Image, o.Chart, o.ChartVersion = apps.ModeChart, "", "https://charts.example.com", "1.0.0"
		}, "chart name after #"},
		{"host outside domains", func(o *apps.AddOptions) { o.Hosts = []string{"x.example.net"} }, "onboard-domain"},
		{"infrastructure name", func(o *apps.AddOptions) { o.Name = "envoy-gateway" }, "infrastructure app"},
		{"unknown dependency", func(o *apps.AddOptions) {
			o.DependsOn = []generator.Ref{{Namespace: "network", Name: "nope"}}
		}, "no Flux Kustomization"},
		{"secret without sealer", func(o *apps.AddOptions) {
			o.Secrets = []generator.KV{{Key: "A", Value: "b"}}
		}, "SOPS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := gentest.LoadExample(t)
			o := base
			tc.mutate(&o)
			_, err := apps.Add(r.Model(), o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestResolveHostSuggestsTheRegisteredDomain: a hostname on no onboarded
// domain is told to onboard the domain a registrar sells, by the public
// suffix list, not its last two labels (co.uk is nobody's zone).
func TestResolveHostSuggestsTheRegisteredDomain(t *testing.T) {
	r := gentest.LoadExample(t).Model()
	for host, want := range map[string]string{
		"app.example.net":         "'gen onboard-domain example.net'",
		"app.shop.example.co.uk":  "'gen onboard-domain example.co.uk'",
		"www.example.com.au":      "'gen onboard-domain example.com.au'",
		"blog.me.github.io":       "'gen onboard-domain me.github.io'",
		"a.b.c.example.co.nz":     "'gen onboard-domain example.co.nz'",
		"deep.name.example.co.jp": "'gen onboard-domain example.co.jp'",
	} {
		_, err := generator.ResolveHost(r, host)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %s", host, err, want)
		}
	}
}
