package scratch_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/access"
	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/generator/scratch"
	"github.com/gen-gitops/gen/internal/repo"
	"github.com/gen-gitops/gen/internal/schema"
	"github.com/gen-gitops/gen/internal/testutil"
)

func TestScratchGolden(t *testing.T) {
	chute := gentest.LoadCRD(t, "Chute")
	cases := []struct {
		name   string
		inRepo bool
		opts   scratch.Options
		dir    func(t *testing.T) string
	}{
		{"primary-and-secondary", true, scratch.Options{Name: "hello", Image: "ghcr.io/traefik/whoami:v1.11.0", Hosts: []string{"hello", "hello.example.org"}}, nil},
		{"no-host", true, scratch.Options{Name: "worker", Image: "ghcr.io/example/worker:0.1", Port: 8080}, nil},
		{"outside-a-repository", false, scratch.Options{Name: "paste", Image: "ghcr.io/example/paste:2.1", Port: 8080, Hosts: []string{"paste.example.net"}, Namespace: "lab"}, nil},
		// The Chute replaces the HTTPRoute and the DNSEndpoint; the
		// repository's only ChuteConfig is used.
		{"access", true, scratch.Options{Name: "gated", Image: "ghcr.io/example/gated:1.0", Port: 8080, Hosts: []string{"gated.example.org"},
			Expose: generator.ExposeAccess, Access: access.Options{Emails: []string{"Me@Example.org"}, EmailDomains: []string{"family.example.org"}}}, gentest.ChuteRepo},
		{"access-outside-a-repository", false, scratch.Options{Name: "gated", Image: "ghcr.io/example/gated:1.0", Hosts: []string{"gated.example.net"},
			Expose: generator.ExposeAccess, Access: access.Options{EmailDomains: []string{"example.net"}, Config: "home"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r *repo.Repo
			switch {
			case tc.dir != nil:
				r = gentest.LoadRepo(t, tc.dir(t))
			case tc.inRepo:
				r = gentest.LoadExample(t)
			}
			m, err := scratch.Generate(r.Model(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, doc := range repo.SplitDocuments(m.YAML) {
				if strings.Contains(string(doc), "kind: Chute\n") {
					if p := chute.Validate(t, doc); len(p) > 0 {
						t.Fatalf("the CRD refuses the Chute: %v\n%s", p, doc)
					}
					if _, err := access.DecodeChute(doc); err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(string(doc), "scratch.app: "+tc.opts.Name) {
						t.Errorf("the Chute lacks the scratch label:\n%s", doc)
					}
					continue
				}
				known, err := schema.DecodeYAML(doc)
				if err != nil || !known {
					t.Fatalf("document %d (known %v): %v", i+1, known, err)
				}
				if i > 0 && !strings.Contains(string(doc), "scratch.app: "+tc.opts.Name) {
					t.Errorf("document %d lacks the scratch label:\n%s", i+1, doc)
				}
			}
			if strings.Contains(string(m.YAML), "${") {
				t.Errorf("a scratch manifest holds literal hostnames only:\n%s", m.YAML)
			}
			out := append([]byte{}, m.YAML...)
			for _, n := range m.Notes {
				out = append(out, []byte("# note: "+n+"\n")...)
			}
			testutil.GoldenFile(t, filepath.Join("testdata", "scratch", tc.name+".yaml"), out)
		})
	}
}

func TestScratchBadInput(t *testing.T) {
	r := gentest.LoadExample(t)
	cases := []struct {
		name string
		r    *repo.Repo
		opts scratch.Options
		want string
	}{
		{"no image", r, scratch.Options{Name: "x"}, "--image is required"},
		{"bad image", r, scratch.Options{Name: "x", Image: "Not An Image"}, "does not parse"},
		{"bad name", r, scratch.Options{Name: "X_1", Image: "nginx"}, "not a valid DNS-1123 label"},
		{"bad port", r, scratch.Options{Name: "x", Image: "nginx", Port: 70000}, "out of range"},
		{"bad gateway", r, scratch.Options{Name: "x", Image: "nginx", Gateway: "public"}, "want external or internal"},
		{"unknown domain", r, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x.example.net"}}, "gen onboard-domain example.net"},
		{"short host outside a repository", nil, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x"}}, "give the full hostname"},
		{"tunnel", r, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x"}, Expose: generator.ExposeTunnel},
			"a tunnel rule lives in the repository's cloudflared config, which Flux applies, not kubectl; try the app through the gateway or --expose access, then promote it with 'gen promote x --expose tunnel'"},
		{"access without a list", r, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x"}, Expose: generator.ExposeAccess}, "needs --allow-email or --allow-domain"},
		{"access with two hosts", r, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x", "y"}, Expose: generator.ExposeAccess,
			Access: access.Options{Emails: []string{"me@example.org"}}}, "takes one --host"},
		{"access with a bad email", r, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x"}, Expose: generator.ExposeAccess,
			Access: access.Options{Emails: []string{"me@"}}}, `--allow-email "me@" is not an email address`},
		{"access without a ChuteConfig", r, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x"}, Expose: generator.ExposeAccess,
			Access: access.Options{Emails: []string{"me@example.org"}}}, "declares no ChuteConfig"},
		{"access outside a repository without --chute-config", nil, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x.example.net"}, Expose: generator.ExposeAccess,
			Access: access.Options{Emails: []string{"me@example.org"}}}, "pass --chute-config NAME"},
		{"allow lists without access", r, scratch.Options{Name: "x", Image: "nginx", Hosts: []string{"x"},
			Access: access.Options{Emails: []string{"me@example.org"}}}, "go with --expose access"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scratch.Generate(tc.r.Model(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
