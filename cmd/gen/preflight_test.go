package main

import (
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gen-gitops/gen/internal/cloudflare/cftest"
	"github.com/gen-gitops/gen/internal/testutil"
)

// cloudflareZones is what the Cloudflare stand-in holds for the example
// repository's two domains.
func cloudflareZones() []cftest.Zone {
	return []cftest.Zone{
		{ID: "zone-com", Name: "example.com", Records: []cftest.Record{
			{ID: "c1", Type: "CNAME", Name: "external.example.com", Content: "7b56e8fd-0abc-4e14-9447-5d848c2394b7.cfargotunnel.com", Proxied: true},
			{ID: "c2", Type: "CNAME", Name: "echo.example.com", Content: "external.example.com", Proxied: true},
			{ID: "c3", Type: "TXT", Name: "k8s.cname-echo.example.com", Content: `"heritage=external-dns,external-dns/owner=home,external-dns/resource=httproute/default/echo"`},
			{ID: "c4", Type: "A", Name: "stale.example.com", Content: "203.0.113.7"},
			// A live scratch app's record: external-dns published it for
			// the scratch HTTPRoute, and owns it.
			{ID: "c5", Type: "CNAME", Name: "live.example.com", Content: "external.example.com", Proxied: true},
			{ID: "c6", Type: "TXT", Name: "k8s.cname-live.example.com", Content: `"heritage=external-dns,external-dns/owner=home,external-dns/resource=httproute/scratch/live"`},
		}},
		{ID: "zone-org", Name: "example.org", Records: []cftest.Record{
			{ID: "o1", Type: "CNAME", Name: "old.example.org", Content: "7b56e8fd-0abc-4e14-9447-5d848c2394b7.cfargotunnel.com", Proxied: true},
		}},
	}
}

// TestPreflightScripts runs the stories in testdata/preflight against
// Cloudflare stand-ins on loopback: $CLOUDFLARE_BASE_URL answers normally,
// $CF_FLAKY_URL rate-limits and fails before it answers, and
// $CF_NODNS_URL refuses to list DNS records (a token without DNS read).
// The token they accept is $CF_TOKEN.
func TestPreflightScripts(t *testing.T) {
	const token = "cf-test-token"
	example := testutil.ExampleRepo(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/preflight",
		Setup: func(env *testscript.Env) error {
			if err := copyDir(example, filepath.Join(env.WorkDir, "home-ops")); err != nil {
				return err
			}
			ok := cftest.New(t, token, cloudflareZones()...)
			flaky := cftest.New(t, token, cloudflareZones()...)
			flaky.RateLimited = 2
			zs := cloudflareZones()
			for i := range zs {
				zs[i].DNSForbidden = true
			}
			nodns := cftest.New(t, token, zs...)
			home := filepath.Join(env.WorkDir, ".home")
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(example, "example-age.key"))
			env.Setenv("CLOUDFLARE_API_TOKEN", "")
			env.Setenv("CLOUDFLARE_BASE_URL", ok.URL)
			env.Setenv("CF_FLAKY_URL", flaky.URL)
			env.Setenv("CF_NODNS_URL", nodns.URL)
			env.Setenv("CF_TOKEN", token)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"snapshot":  cmdSnapshot,
			"unchanged": cmdUnchanged,
		},
	})
}
