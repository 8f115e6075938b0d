// Package netguard keeps gen off the network except where gen itself
// decides to go there.
//
// gen talks to the network in a few places of its own: a git remote the
// user pushes to, the Cloudflare API, a cluster's API server. The libraries
// it builds on can go there on their own, led by what a repository names:
// kustomize fetches any http(s) file reference with a plain http.Client
// (so through http.DefaultTransport), before it looks at the file system
// it was given, and clones any git address by running the git program.
// gen check and gen diff read untrusted pull requests, so neither door may
// open for them, whatever field of whatever kustomization names a URL.
//
// Install closes the first door for the whole process: http.DefaultTransport
// becomes a Guard, which refuses every request whose context carries no
// permit. gen's own call sites ask with Permit (a context) or Permitted (a
// transport). ForbidPrograms closes the second door for a command that runs
// no program: with PATH empty, no program is found by name.
//
// The guard sees what goes through http.DefaultTransport when a request is
// made. A client that copied the transport before Install (go-git's
// default HTTP client does, at package initialisation) or that builds its
// own (client-go with TLS settings) is not guarded; those are the clients
// of gen's own call sites.
package netguard

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
)

// permitKey marks a context whose requests may use the network.
type permitKey struct{}

// Permit returns a context whose HTTP requests the guard lets through. Only
// a call site that reaches a server the user chose (a git remote, the
// Cloudflare API, a cluster) asks for it; nothing a repository names may.
func Permit(ctx context.Context) context.Context {
	return context.WithValue(ctx, permitKey{}, true)
}

// Permitted reports whether ctx carries a permit.
func Permitted(ctx context.Context) bool {
	ok, _ := ctx.Value(permitKey{}).(bool)
	return ok
}

// Through returns a transport that sends every request through next
// (http.DefaultTransport when nil) with a permit: the transport of a client
// gen builds for one of its own call sites.
func Through(next http.RoundTripper) http.RoundTripper {
	return permittedTransport{next: next}
}

type permittedTransport struct{ next http.RoundTripper }

func (t permittedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(req.WithContext(Permit(req.Context())))
}

// RefusedError is a request the guard did not let through.
type RefusedError struct {
	// URL is the address asked for, without a password.
	URL string
}

// Error names the URL and says why.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused to fetch %s: gen does not fetch what a repository names; keep the file in the repository", e.URL)
}

// Guard is the transport Install puts in place of http.DefaultTransport.
type Guard struct {
	next http.RoundTripper

	mu      sync.Mutex
	refused []string
}

// RoundTrip sends a permitted request on, and refuses any other before a
// connection is made or a name looked up.
func (g *Guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if Permitted(req.Context()) {
		return g.next.RoundTrip(req)
	}
	if req.Body != nil {
		// A RoundTripper closes the body, even on an error.
		req.Body.Close()
	}
	u := req.URL.Redacted()
	g.mu.Lock()
	g.refused = append(g.refused, u)
	g.mu.Unlock()
	return nil, &RefusedError{URL: u}
}

// Refused returns the URLs refused so far, in order.
func (g *Guard) Refused() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.refused...)
}

// installMu serialises Install.
var installMu sync.Mutex

// Install makes http.DefaultTransport a Guard wrapping the transport it
// was, and returns it. It is idempotent: once installed, the same Guard is
// returned. gen's entry point calls it before any command runs.
func Install() *Guard {
	installMu.Lock()
	defer installMu.Unlock()
	if g, ok := http.DefaultTransport.(*Guard); ok {
		return g
	}
	g := &Guard{next: http.DefaultTransport}
	http.DefaultTransport = g
	return g
}

// ForbidPrograms empties PATH, so that no program can be found by name,
// and returns a function that puts it back. kustomize clones a git address
// by running "git" found on PATH; a command that runs no program (gen check,
// gen diff) calls this first, so that nothing a repository names can make
// it run one. PATH is the process's: the caller must not run anything that
// needs it until it restores it.
func ForbidPrograms() (restore func()) {
	old, had := os.LookupEnv("PATH")
	os.Setenv("PATH", "")
	return func() {
		if had {
			os.Setenv("PATH", old)
		} else {
			os.Unsetenv("PATH")
		}
	}
}
