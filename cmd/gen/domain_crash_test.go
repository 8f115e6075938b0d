package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/apply"
	"github.com/gen-gitops/gen/internal/cli"
	"github.com/gen-gitops/gen/internal/testutil"
)

// onboarded are the seven files `gen onboard-domain example.net` writes in
// the example repository.
var onboarded = []string{
	"kubernetes/apps/cert-manager/cert-manager/app/clusterissuer.yaml",
	"kubernetes/apps/network/cloudflare-dns/app/helmrelease.yaml",
	"kubernetes/apps/network/cloudflare-tunnel/app/dnsendpoint.yaml",
	"kubernetes/apps/network/cloudflare-tunnel/app/helmrelease.yaml",
	"kubernetes/apps/network/envoy-gateway/app/certificate.yaml",
	"kubernetes/apps/network/envoy-gateway/app/envoy.yaml",
	"kubernetes/components/sops/cluster-secrets.sops.yaml",
}

// TestOnboardDomainCrashAtEveryStep kills `gen onboard-domain` after each
// filesystem step of its write and shows that, once the next run has
// recovered, the seven files are all old or all new, never a mix, and
// nothing else changed.
func TestOnboardDomainCrashAtEveryStep(t *testing.T) {
	if dir := os.Getenv("GEN_ONBOARD_CHILD"); dir != "" {
		os.Exit(cli.Run([]string{"onboard-domain", "example.net", "--repo", dir},
			cli.IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: os.Stderr}, crashEnv(os.Getenv("GEN_CRASH_AFTER"))))
	}
	if testing.Short() {
		t.Skip("runs gen once per write step")
	}
	home := t.TempDir()
	run := func(dir string, step int) (crashed bool) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestOnboardDomainCrashAtEveryStep$")
		cmd.Env = append(os.Environ(), "GEN_ONBOARD_CHILD="+dir, "SOPS_AGE_KEY_FILE="+testutil.ExampleAgeKey(t),
			"SOPS_AGE_KEY=", "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
		if step > 0 {
			cmd.Env = append(cmd.Env, fmt.Sprintf("GEN_CRASH_AFTER=%d", step))
		}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 137 {
			return true
		}
		if err != nil {
			t.Fatalf("step %d: gen failed: %v\n%s", step, err, out)
		}
		return false
	}
	old := readFiles(t, testutil.ExampleRepo(t))
	done := testutil.CopyTree(t, testutil.ExampleRepo(t))
	run(done, 0)
	want := readFiles(t, done)
	sawOld, sawNew := false, false
	for step := 1; step < 80; step++ {
		dir := testutil.CopyTree(t, testutil.ExampleRepo(t))
		crashed := run(dir, step)
		if _, err := apply.NewWriter(dir).Recover(); err != nil {
			t.Fatalf("step %d: recover: %v", step, err)
		}
		got := readFiles(t, dir)
		states := map[string]bool{}
		for _, p := range onboarded {
			switch {
			case bytes.Equal(got[p], old[p]):
				states["old"] = true
			case bytes.Equal(got[p], want[p]) || (strings.HasSuffix(p, ".sops.yaml") && bytes.Contains(got[p], []byte("  SECRET_DOMAIN_THREE: ENC["))):
				states["new"] = true
			default:
				t.Fatalf("step %d: %s is neither the old nor the new file", step, p)
			}
		}
		if len(states) != 1 {
			t.Fatalf("step %d: the tree mixes old and new files", step)
		}
		sawOld, sawNew = sawOld || states["old"], sawNew || states["new"]
		for p := range got {
			if _, ok := old[p]; !ok {
				t.Fatalf("step %d: %s was left behind", step, p)
			}
		}
		for p, data := range old {
			if !isOnboarded(p) && !bytes.Equal(got[p], data) {
				t.Fatalf("step %d: %s changed", step, p)
			}
		}
		if !crashed {
			if !sawOld || !sawNew {
				t.Fatalf("crash points never gave both outcomes (old %v, new %v)", sawOld, sawNew)
			}
			return
		}
	}
	t.Fatal("gen never finished writing within 80 steps")
}

// crashEnv is the process environment with gen's writes stopped, as a
// kill would stop them, after n filesystem steps (none when n is empty):
// the crash tests run gen in a child process with it.
func crashEnv(n string) cli.Env {
	env := cli.ProcessEnv()
	limit, err := strconv.Atoi(n)
	if err != nil || limit <= 0 {
		return env
	}
	env.AfterWriteStep = func(step int) {
		if step >= limit {
			os.Exit(137)
		}
	}
	return env
}

func isOnboarded(p string) bool {
	for _, o := range onboarded {
		if o == p {
			return true
		}
	}
	return false
}

func readFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
