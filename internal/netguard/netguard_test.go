package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// countingServer is a loopback HTTP server that counts the connections it
// accepts.
func countingServer(t *testing.T, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestGuardRefusesWithoutPermit shows that, once installed, a request made
// the way kustomize makes one (a zero http.Client, so through
// http.DefaultTransport) never reaches the server, and fails with an error
// that names the URL.
func TestGuardRefusesWithoutPermit(t *testing.T) {
	g := Install()
	srv, conns := countingServer(t, "canary")
	before := len(g.Refused())

	url := srv.URL + "/data.txt"
	resp, err := (&http.Client{}).Get(url)
	if err == nil {
		resp.Body.Close()
		t.Fatal("the request went through")
	}
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want a *RefusedError", err)
	}
	if refused.URL != url || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "gen does not fetch what a repository names") {
		t.Errorf("err = %v", err)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the server accepted %d connections", n)
	}
	if got := g.Refused()[before:]; len(got) != 1 || got[0] != url {
		t.Errorf("refused %q, want [%s]", got, url)
	}

	// http.DefaultClient, and a context that only looks like a permit.
	type otherKey struct{}
	ctx := context.WithValue(context.Background(), otherKey{}, true)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil || !errors.As(err, &refused) {
		if resp != nil {
			resp.Body.Close()
		}
		t.Errorf("DefaultClient: err = %v, want a *RefusedError", err)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the server accepted %d connections", n)
	}
}

// TestGuardHidesPasswords keeps a password in a URL out of the error.
func TestGuardHidesPasswords(t *testing.T) {
	Install()
	resp, err := http.Get("http://user:hunter2@127.0.0.1:1/x")
	if err == nil {
		resp.Body.Close()
		t.Fatal("the request went through")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}

// TestPermittedRequestsGoThrough shows gen's own call sites still reach a
// server: with a permitted context, and with a client on Through.
func TestPermittedRequestsGoThrough(t *testing.T) {
	Install()
	srv, conns := countingServer(t, "hello")

	get := func(c *http.Client, ctx context.Context) string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(http.DefaultClient, Permit(context.Background())); got != "hello" {
		t.Errorf("permitted context: got %q", got)
	}
	if got := get(&http.Client{Transport: Through(nil)}, context.Background()); got != "hello" {
		t.Errorf("Through(nil): got %q", got)
	}
	if got := get(&http.Client{Transport: Through(srv.Client().Transport)}, context.Background()); got != "hello" {
		t.Errorf("Through(transport): got %q", got)
	}
	if conns.Load() == 0 {
		t.Error("the server saw no connection")
	}
}

// TestInstallIsIdempotent: a second Install keeps the first guard, so it
// never wraps itself.
func TestInstallIsIdempotent(t *testing.T) {
	a, b := Install(), Install()
	if a != b || http.DefaultTransport != http.RoundTripper(a) {
		t.Error("Install made a second guard")
	}
	if _, wrapped := a.next.(*Guard); wrapped {
		t.Error("the guard wraps a guard")
	}
}

// TestForbidPrograms shows that with PATH emptied no program is found by
// name, the way kustomize looks for git, and that PATH comes back.
func TestForbidPrograms(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "git"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the fake git is not found before: %v", err)
	}
	restore := ForbidPrograms()
	_, err := exec.LookPath("git")
	restore()
	if err == nil {
		t.Error("git was found with programs forbidden")
	}
	if got := os.Getenv("PATH"); got != dir {
		t.Errorf("PATH = %q after restore, want %q", got, dir)
	}

	os.Unsetenv("PATH")
	restore = ForbidPrograms()
	restore()
	if _, set := os.LookupEnv("PATH"); set {
		t.Error("an unset PATH came back set")
	}
}
