package checktest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Canary is what the answering attacker server sends: a test looks for it
// in what gen prints.
const Canary = "canary-5d1e0c"

// Attackers are loopback servers standing in for an attacker's, for the
// placeholders of the corpus: one that answers every request with an
// object holding Canary, one that accepts connections and never answers.
// They count the connections they accept and the requests they receive (a
// client may reuse a connection): a run of gen check or gen diff must
// leave the count at zero.
type Attackers struct {
	// Attacker and Silent are the servers' host:port.
	Attacker, Silent string

	accepted atomic.Int64
	mu       sync.Mutex
	held     []net.Conn
}

// StartAttackers starts both servers, stopped when the test ends.
func StartAttackers(t testing.TB) *Attackers {
	t.Helper()
	a := &Attackers{}
	answering, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.accepted.Add(1)
			fmt.Fprintf(w, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  fetched: %s\n", Canary, Canary)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				a.accepted.Add(1)
			}
		},
	}
	go srv.Serve(answering)
	t.Cleanup(func() { srv.Close() })

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			a.accepted.Add(1)
			a.mu.Lock()
			a.held = append(a.held, c)
			a.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		silent.Close()
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, c := range a.held {
			c.Close()
		}
	})
	a.Attacker, a.Silent = answering.Addr().String(), silent.Addr().String()
	return a
}

// Reached counts the connections both servers accepted and the requests
// the answering one received.
func (a *Attackers) Reached() int64 { return a.accepted.Load() }

// FakeGit puts a program named git first on PATH for the rest of the test
// (kustomize clones a git address by running git), which records its
// arguments and fails. ran returns what it was run with, one line a run.
func FakeGit(t *testing.T) (ran func() []string) {
	t.Helper()
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "git-runs")
	script := "#!/bin/sh\necho \"$*\" >> '" + log + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() []string {
		data, err := os.ReadFile(log)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
}
