package cloudflare_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gen-gitops/gen/internal/cloudflare"
	"github.com/gen-gitops/gen/internal/cloudflare/cftest"
	"github.com/gen-gitops/gen/internal/netguard"
)

const token = "test-token"

func zone() cftest.Zone {
	return cftest.Zone{ID: "zone-org", Name: "example.org", Records: []cftest.Record{
		{ID: "1", Type: "CNAME", Name: "external.example.org", Content: "7b56e8fd-0abc-4e14-9447-5d848c2394b7.cfargotunnel.com", Proxied: true},
		{ID: "2", Type: "CNAME", Name: "echo.example.org", Content: "external.example.org", Proxied: true},
		{ID: "3", Type: "TXT", Name: "k8s.cname-echo.example.org", Content: `"heritage=external-dns,external-dns/owner=home,external-dns/resource=httproute/default/echo"`},
		{ID: "4", Type: "A", Name: "old.example.org", Content: "203.0.113.7"},
		{ID: "5", Type: "CNAME", Name: "wiki.example.org", Content: "external.example.org"},
		{ID: "6", Type: "CNAME", Name: "shop.example.org", Content: "shop.elsewhere.net"},
		{ID: "7", Type: "TXT", Name: "k8s.shop.example.org", Content: `"heritage=external-dns,external-dns/owner=lab"`},
	}}
}

func client(s *cftest.Server, retries int) *cloudflare.Client {
	return cloudflare.New(cloudflare.Options{Token: token, BaseURL: s.URL, MaxRetries: retries})
}

func TestVerifyToken(t *testing.T) {
	s := cftest.New(t, token)
	if err := client(s, -1).VerifyToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	for status, want := range map[string]string{"expired": "expired on 2026-01-01", "disabled": "CLOUDFLARE_API_TOKEN is disabled"} {
		s.TokenStatus = status
		err := client(s, -1).VerifyToken(context.Background())
		var te *cloudflare.TokenError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", status, err)
		}
	}
	s.TokenStatus = "active"
	err := cloudflare.New(cloudflare.Options{Token: "wrong", BaseURL: s.URL, MaxRetries: -1}).VerifyToken(context.Background())
	var te *cloudflare.TokenError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "not a valid API token") {
		t.Fatalf("wrong token: %v", err)
	}
	var ae *cloudflare.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Errors[0].Code != 1000 {
		t.Fatalf("the envelope's error is kept: %#v", err)
	}
}

func TestZoneFor(t *testing.T) {
	s := cftest.New(t, token, zone(), cftest.Zone{ID: "zone-sub", Name: "lab.example.org"})
	c := client(s, -1)
	for host, want := range map[string]string{"a.b.example.org": "example.org", "app.lab.example.org": "lab.example.org", "EXAMPLE.org.": "example.org"} {
		z, err := c.ZoneFor(context.Background(), host)
		if err != nil || z.Name != want {
			t.Errorf("%s: %+v, %v", host, z, err)
		}
	}
	_, err := c.ZoneFor(context.Background(), "app.example.net")
	if !errors.Is(err, cloudflare.ErrNoZone) || !strings.Contains(err.Error(), "Zone > Zone > Read") {
		t.Fatalf("unknown zone: %v", err)
	}
	s.ZoneReadForbidden = true
	_, err = c.ZoneFor(context.Background(), "app.example.org")
	var te *cloudflare.TokenError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "give it the permission Zone > Zone > Read") {
		t.Fatalf("forbidden: %v", err)
	}
}

func TestRecordsPaginates(t *testing.T) {
	z := zone()
	for i := range 5 {
		z.Records = append(z.Records, cftest.Record{ID: "rr" + string(rune('a'+i)), Type: "A", Name: "multi.example.org", Content: "192.0.2." + string(rune('1'+i))})
	}
	s := cftest.New(t, token, z)
	s.PerPageMax = 2
	got, err := client(s, -1).Records(context.Background(), cloudflare.Zone{ID: "zone-org", Name: "example.org"}, "multi.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d records, want 5 across 3 pages: %v", len(got), got)
	}
	var pages []string
	for _, r := range s.Requests() {
		if strings.Contains(r, "dns_records") {
			pages = append(pages, r)
		}
	}
	if len(pages) != 3 || !strings.Contains(pages[2], "page=3") || !strings.Contains(pages[0], "name.exact=multi.example.org") {
		t.Fatalf("requests: %v", pages)
	}
}

func TestRetriesRateLimitsAndServerErrors(t *testing.T) {
	s := cftest.New(t, token, zone())
	s.RateLimited, s.Failing = 2, 1
	// Both failure kinds are retried; the 502 waits the library's backoff.
	if err := client(s, 3).VerifyToken(context.Background()); err != nil {
		t.Fatalf("after 429, 429, 502: %v", err)
	}
	if n := len(s.Requests()); n != 4 {
		t.Fatalf("%d requests, want 4", n)
	}

	s2 := cftest.New(t, token, zone())
	s2.RateLimited = 10
	err := client(s2, 2).VerifyToken(context.Background())
	var ae *cloudflare.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.Errors[0].Code != 971 {
		t.Fatalf("retries exhausted: %v", err)
	}
	if n := len(s2.Requests()); n != 3 {
		t.Fatalf("%d requests, want 3 (one try and two retries)", n)
	}
}

func TestCancellation(t *testing.T) {
	s := cftest.New(t, token, zone())
	s.Delay = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := client(s, 3).VerifyToken(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the deadline, got %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("cancellation took %s", time.Since(start))
	}
}

func TestPreflight(t *testing.T) {
	s := cftest.New(t, token, zone())
	checks := []cloudflare.Check{
		{Host: "new.example.org", Target: "external.example.org"},
		{Host: "echo.example.org", Target: "external.example.org"},
		{Host: "old.example.org", Target: "external.example.org"},
		{Host: "wiki.example.org", Target: "external.example.org"},
		{Host: "shop.example.org", Target: "external.example.org"},
	}
	res, err := cloudflare.Preflight(context.Background(), client(s, -1), "k8s.", checks)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status     cloudflare.Status
		owner, msg string
		fix        string
	}{
		{cloudflare.StatusFree, "", "no record yet", ""},
		{cloudflare.StatusOwned, "home", "CNAME external.example.org, owned by external-dns (owner home)", ""},
		{cloudflare.StatusConflict, "", "A 203.0.113.7, not owned by external-dns (no k8s.old.example.org ownership TXT record)", "delete the record (Cloudflare dashboard > example.org > DNS > Records > old.example.org > Delete)"},
		{cloudflare.StatusConflict, "", "CNAME external.example.org, not owned by external-dns", "delete the record"},
		{cloudflare.StatusConflict, "lab", "CNAME shop.elsewhere.net, owned by external-dns owner lab, not pointing at external.example.org", "remove it there"},
	}
	for i, w := range want {
		r := res[i]
		if r.Status != w.status || r.Owner != w.owner || !strings.Contains(r.Message, w.msg) || !strings.Contains(r.Fix, w.fix) || r.Zone != "example.org" {
			t.Errorf("%s: %+v\nwant %+v", checks[i].Host, r, w)
		}
	}

	forbidden := zone()
	forbidden.DNSForbidden = true
	_, err = cloudflare.Preflight(context.Background(), client(cftest.New(t, token, forbidden), -1), "k8s.", checks[:1])
	var te *cloudflare.TokenError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "may not read example.org: give it the permission Zone > DNS > Read") {
		t.Fatalf("no DNS read: %v", err)
	}
}

// TestPassesTheNetworkGuard: with gen's network guard installed, as it is
// in every gen process, the API client is one of the call sites it lets
// through, while a request of its own to the same server is refused.
func TestPassesTheNetworkGuard(t *testing.T) {
	netguard.Install()
	s := cftest.New(t, token)
	if err := client(s, -1).VerifyToken(context.Background()); err != nil {
		t.Fatalf("through the guard: %v", err)
	}
	resp, err := http.Get(s.URL + "/user/tokens/verify")
	if err == nil {
		resp.Body.Close()
	}
	var refused *netguard.RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("a request without a permit: err = %v, want a *netguard.RefusedError", err)
	}
}
