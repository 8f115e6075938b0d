package main

import (
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gen-gitops/gen/internal/gitops/gittest"
	"github.com/gen-gitops/gen/internal/testutil"
)

// TestPushScripts runs the stories in testdata/push against a real git
// server on loopback (git http-backend behind basic auth). Each script gets
// the example repository at $WORK/home-ops and an empty bare repository on
// the server: $GIT_URL (no credentials), $GIT_AUTHED_URL (with the token
// for the git CLI), $GIT_DIR_REMOTE (its folder) and $GIT_TOKEN_OK (the
// token the server accepts).
func TestPushScripts(t *testing.T) {
	const user, token = "x-access-token", "s3cret-token"
	srv := gittest.NewServer(t, user, token)
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
			name := filepath.Base(env.WorkDir) + ".git"
			dir := srv.Dir(name)
			for _, args := range [][]string{
				{"init", "-q", "--bare", "-b", "main", dir},
				{"-C", dir, "config", "http.receivepack", "true"},
			} {
				if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
					return fmt.Errorf("git %v: %v\n%s", args, err, out)
				}
			}
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
		},
	})
}
