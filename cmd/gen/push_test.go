package main

import (
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gen-gitops/gen/internal/gitops/gittest"
	"github.com/gen-gitops/gen/internal/testutil"
)

// TestPushScripts runs the stories in testdata/push against real git
// servers on loopback (git http-backend behind basic auth), one over HTTPS
// and one over plain HTTP. Each script gets the example repository at
// $WORK/home-ops and an empty bare repository on each server: $GIT_URL
// (HTTPS, no credentials), $GIT_AUTHED_URL (with the token for the git
// CLI), $GIT_DIR_REMOTE (its folder), $GIT_PLAIN_URL and
// $GIT_PLAIN_DIR_REMOTE (the plain HTTP one) and $GIT_TOKEN_OK (the token
// both accept). gen and git trust the HTTPS server's certificate through
// SSL_CERT_FILE and GIT_SSL_CAINFO. The command "received https|http
// SECRET" checks whether a server was sent SECRET as a password.
func TestPushScripts(t *testing.T) {
	const user, token = "x-access-token", "s3cret-token"
	srv := gittest.NewTLSServer(t, user, token)
	plain := gittest.NewServer(t, user, token)
	example := testutil.ExampleRepo(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/push",
		Setup: func(env *testscript.Env) error {
			if err := copyDir(example, filepath.Join(env.WorkDir, "home-ops")); err != nil {
				return err
			}
			home := filepath.Join(env.WorkDir, ".home")
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("SOPS_AGE_KEY_FILE", "")
			env.Setenv("GITHUB_TOKEN", "")
			env.Setenv("GIT_TOKEN", "")
			env.Setenv("SSH_AUTH_SOCK", "")
			env.Setenv("SSL_CERT_FILE", srv.CAFile)
			env.Setenv("GIT_SSL_CAINFO", srv.CAFile)
			name := filepath.Base(env.WorkDir) + ".git"
			dir := srv.Dir(name)
			for _, d := range []string{dir, plain.Dir(name)} {
				for _, args := range [][]string{
					{"init", "-q", "--bare", "-b", "main", d},
					{"-C", d, "config", "http.receivepack", "true"},
				} {
					if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
						return fmt.Errorf("git %v: %v\n%s", args, err, out)
					}
				}
			}
			env.Setenv("GIT_PLAIN_URL", plain.URL+"/"+name)
			env.Setenv("GIT_PLAIN_DIR_REMOTE", plain.Dir(name))
			u, err := url.Parse(srv.URL + "/" + name)
			if err != nil {
				return err
			}
			env.Setenv("GIT_URL", u.String())
			u.User = url.UserPassword(user, token)
			env.Setenv("GIT_AUTHED_URL", u.String())
			env.Setenv("GIT_DIR_REMOTE", dir)
			env.Setenv("GIT_TOKEN_OK", token)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"snapshot":  cmdSnapshot,
			"unchanged": cmdUnchanged,
			"received": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 || (args[0] != "https" && args[0] != "http") {
					ts.Fatalf("usage: received https|http SECRET")
				}
				s := srv
				if args[0] == "http" {
					s = plain
				}
				got := slices.Contains(s.Received(), args[1])
				if got == neg {
					if neg {
						ts.Fatalf("the %s server received the secret", args[0])
					}
					ts.Fatalf("the %s server never received the secret", args[0])
				}
			},
		},
	})
}
