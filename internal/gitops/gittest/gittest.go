// Package gittest runs a real git server on loopback for tests: the git
// binary's smart-HTTP backend (git http-backend) behind Go's CGI handler,
// with HTTP basic authentication like a forge, over plain HTTP or HTTPS.
// Pushes and fetches go through the same code a hosted repository runs.
// The server records every password it is sent, so a test can show that
// a credential never reached it.
package gittest

import (
	"crypto/subtle"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Server is a git smart-HTTP server holding bare repositories under Root.
type Server struct {
	// URL is the server's base URL; a repository is URL + "/" + name.
	URL string
	// Root holds the bare repositories.
	Root string
	// User and Password are the only credentials accepted.
	User, Password string
	// CAFile is, for an HTTPS server, a PEM file of the certificate its
	// clients must trust (SSL_CERT_FILE for gen, GIT_SSL_CAINFO for git);
	// CA holds the same PEM.
	CAFile string
	CA     []byte

	mu       sync.Mutex
	received []string
}

// Received returns every password the server was sent, in order, right
// or wrong.
func (s *Server) Received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.received...)
}

// NewServer starts a plain HTTP server that accepts user:password and
// stops it when the test ends. It skips the test when git or git
// http-backend is missing (and fails it in CI, where they must be
// installed).
func NewServer(t testing.TB, user, password string) *Server {
	t.Helper()
	return newServer(t, user, password, false)
}

// NewTLSServer is NewServer over HTTPS, with a certificate for 127.0.0.1
// that clients trust through CAFile or CA.
func NewTLSServer(t testing.TB, user, password string) *Server {
	t.Helper()
	return newServer(t, user, password, true)
}

func newServer(t testing.TB, user, password string, useTLS bool) *Server {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		missing(t, "git is not installed")
	}
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		missing(t, "git --exec-path: "+err.Error())
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		missing(t, "git http-backend is not installed: "+err.Error())
	}
	s := &Server{Root: t.TempDir(), User: user, Password: password}
	h := &cgi.Handler{
		Path: backend,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + s.Root,
		},
		InheritEnv: []string{"PATH"},
		// The backend's complaints reach the client as HTTP errors.
		Stderr: io.Discard,
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if ok {
			s.mu.Lock()
			s.received = append(s.received, p)
			s.mu.Unlock()
		}
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.User)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(s.Password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	if useTLS {
		srv.StartTLS()
		s.CA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		s.CAFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(s.CAFile, s.CA, 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// NewBare creates an empty bare repository called name (e.g. "home-ops.git")
// that accepts pushes (http.receivepack: the server has already checked the
// credentials), and returns its URL.
func (s *Server) NewBare(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(s.Root, name)
	Git(t, "", "init", "-q", "--bare", "-b", "main", dir)
	Git(t, dir, "config", "http.receivepack", "true")
	return s.URL + "/" + name
}

// Dir returns the folder of the bare repository name.
func (s *Server) Dir(name string) string { return filepath.Join(s.Root, name) }

// Git runs the git binary in dir and returns its trimmed output, failing
// the test on error. System and user configuration are ignored.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}
