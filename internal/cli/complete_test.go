package cli

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/testutil"
)

// complete runs gen's hidden completion command, as a shell does, and
// returns the candidates it prints.
func complete(t *testing.T, env Env, args ...string) []string {
	t.Helper()
	var out strings.Builder
	if code := Run(append([]string{"__complete"}, args...), IO{In: strings.NewReader(""), Out: &out, ErrOut: io.Discard}, env); code != ExitOK {
		t.Fatalf("__complete %v: exit %d", args, code)
	}
	var got []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			got = append(got, l)
		}
	}
	return got
}

// TestPositionalCompletion: apps, namespaces and domains complete from
// the repository the command would read.
func TestPositionalCompletion(t *testing.T) {
	repo := testutil.ExampleRepo(t)
	key := filepath.Join(repo, "example-age.key")
	withKey := Env{Getenv: func(k string) string {
		if k == "SOPS_AGE_KEY_FILE" {
			return key
		}
		return ""
	}}
	cases := []struct {
		name string
		env  Env
		args []string
		want []string
	}{
		{"apps", noEnv, []string{"remove-app", "--repo", repo, "default/"}, []string{"default/echo", "default/whoami"}},
		{"secret set, first argument", noEnv, []string{"secret", "set", "--repo", repo, "net"},
			[]string{"network/cloudflare-dns", "network/cloudflare-tunnel", "network/envoy-gateway"}},
		{"secret set, later arguments", noEnv, []string{"secret", "set", "--repo", repo, "default/echo", ""}, nil},
		{"namespaces for a new app", noEnv, []string{"add-app", "--repo", repo, "de"}, []string{"default/"}},
		{"after the slash, the name is new", noEnv, []string{"add-app", "--repo", repo, "default/"}, nil},
		{"secondary domains, with the key", withKey, []string{"offboard-domain", "--repo", repo, ""}, []string{"example.org"}},
		{"domains without the key or --domain", noEnv, []string{"offboard-domain", "--repo", repo, ""}, nil},
		{"no repository", noEnv, []string{"remove-app", "--repo", t.TempDir(), ""}, nil},
		{"an enum flag", noEnv, []string{"add-app", "--expose", ""}, []string{"gateway", "tunnel", "access"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := complete(t, c.env, c.args...); !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
