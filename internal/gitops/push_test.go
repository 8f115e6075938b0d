package gitops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gen-gitops/gen/internal/gitops"
	"github.com/gen-gitops/gen/internal/gitops/gittest"
)

var author = gitops.Author{Name: "Gen Test", Email: "gen@example.com"}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// workRepo makes a work tree with one commit on main and origin set to url.
func workRepo(t *testing.T, url string) string {
	t.Helper()
	dir := t.TempDir()
	gittest.Git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, dir, "README.md", "seed\n")
	gittest.Git(t, dir, "add", "-A")
	gittest.Git(t, dir, "commit", "-q", "-m", "seed")
	if url != "" {
		gittest.Git(t, dir, "remote", "add", "origin", url)
	}
	return dir
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func commit(t *testing.T, g *gitops.Repo, dir, name, content, branch string) plumbing.Hash {
	t.Helper()
	writeFile(t, dir, name, content)
	h, err := g.Commit(gitops.CommitOptions{Paths: []string{name}, Message: "add " + name, Author: author, Branch: branch})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func open(t *testing.T, dir string) *gitops.Repo {
	t.Helper()
	g, err := gitops.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestPushHTTPSWithToken pushes over HTTPS with a token: a token goes
// only over https (or ssh).
func TestPushHTTPSWithToken(t *testing.T) {
	srv := gittest.NewTLSServer(t, "x-access-token", "s3cret")
	url := srv.NewBare(t, "home-ops.git")
	dir := workRepo(t, url)
	g := open(t, dir)
	// The first push of main, then a new branch with a commit on it.
	for _, branch := range []string{"", "add-hello"} {
		target, err := g.PushTarget(context.Background(), gitops.PushOptions{Branch: branch, Getenv: env(map[string]string{"GITHUB_TOKEN": "s3cret"}), CABundle: srv.CA})
		if err != nil {
			t.Fatal(err)
		}
		if target.Auth != "a token from GITHUB_TOKEN" {
			t.Fatalf("auth = %q", target.Auth)
		}
		var h plumbing.Hash
		if branch == "" {
			h = plumbing.NewHash(gittest.Git(t, dir, "rev-parse", "HEAD"))
			if target.Branch != "main" {
				t.Fatalf("branch = %q, want main (HEAD)", target.Branch)
			}
		} else {
			h = commit(t, g, dir, "hello.yaml", "hello: world\n", branch)
		}
		if err := g.Push(context.Background(), target, h); err != nil {
			t.Fatal(err)
		}
		want := "main"
		if branch != "" {
			want = branch
		}
		if got := gittest.Git(t, srv.Dir("home-ops.git"), "rev-parse", want); got != h.String() {
			t.Fatalf("remote %s = %s, want %s", want, got, h)
		}
	}
	// Pushing again changes nothing and is not an error.
	target, err := g.PushTarget(context.Background(), gitops.PushOptions{Getenv: env(map[string]string{"GIT_TOKEN": "s3cret"}), CABundle: srv.CA})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Push(context.Background(), target, plumbing.ZeroHash); err != nil {
		t.Fatalf("second push: %v", err)
	}
}

func TestPushTargetRefusals(t *testing.T) {
	srv := gittest.NewTLSServer(t, "x-access-token", "s3cret")
	url := srv.NewBare(t, "home-ops.git")
	cases := []struct {
		name   string
		remote string // URL of origin; "" for none
		opts   gitops.PushOptions
		want   []string
	}{
		{"wrong token", url, gitops.PushOptions{Getenv: env(map[string]string{"GITHUB_TOKEN": "wrong"})},
			[]string{"refused the credentials", "a token from GITHUB_TOKEN"}},
		{"no token", url, gitops.PushOptions{},
			[]string{"asks for credentials", "set GITHUB_TOKEN or GIT_TOKEN"}},
		{"no such remote", "", gitops.PushOptions{},
			[]string{`no remote "origin"`, "git remote add origin <url>"}},
		{"other remote name", url, gitops.PushOptions{Remote: "upstream"},
			[]string{`no remote "upstream"`, "it has origin"}},
		{"no repository there", srv.URL + "/missing.git", gitops.PushOptions{Getenv: env(map[string]string{"GITHUB_TOKEN": "s3cret"})},
			[]string{"missing.git"}},
		{"unreachable", "http://127.0.0.1:1/x.git", gitops.PushOptions{},
			[]string{"cannot reach origin"}},
		{"ssh without agent", "git@github.com:example/home-ops.git", gitops.PushOptions{},
			[]string{"no ssh-agent is running", "SSH_AUTH_SOCK"}},
		{"bad branch", url, gitops.PushOptions{Branch: "a..b", Getenv: env(map[string]string{"GITHUB_TOKEN": "s3cret"})},
			[]string{"not a valid branch name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := open(t, workRepo(t, c.remote))
			c.opts.CABundle = srv.CA
			_, err := g.PushTarget(context.Background(), c.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestRejectedPushKeepsTheCommit(t *testing.T) {
	srv := gittest.NewTLSServer(t, "bot", "s3cret")
	url := srv.NewBare(t, "home-ops.git")
	vars := env(map[string]string{"GIT_TOKEN": "s3cret", "GIT_USERNAME": "bot"})

	// Someone else pushes main first.
	other := workRepo(t, url)
	og := open(t, other)
	commit(t, og, other, "theirs.yaml", "a: 1\n", "")
	target, err := og.PushTarget(context.Background(), gitops.PushOptions{Getenv: vars, CABundle: srv.CA})
	if err != nil {
		t.Fatal(err)
	}
	if err := og.Push(context.Background(), target, plumbing.ZeroHash); err != nil {
		t.Fatal(err)
	}

	dir := workRepo(t, url)
	g := open(t, dir)
	target, err = g.PushTarget(context.Background(), gitops.PushOptions{Getenv: vars, CABundle: srv.CA})
	if err != nil {
		t.Fatal(err)
	}
	h := commit(t, g, dir, "mine.yaml", "b: 2\n", "")
	err = g.Push(context.Background(), target, h)
	var pe *gitops.PushError
	if !errors.As(err, &pe) {
		t.Fatalf("want a PushError, got %v", err)
	}
	for _, w := range []string{"rejected the push of main", "non-fast-forward", "kept locally", "git pull --rebase origin main", "git push origin main", h.String()[:12]} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if got := gittest.Git(t, dir, "rev-parse", "HEAD"); got != h.String() {
		t.Fatalf("local HEAD moved to %s", got)
	}

	// A server-side hook that says no is a rejection too.
	hook := filepath.Join(srv.Dir("home-ops.git"), "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'branch is protected' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	target, err = g.PushTarget(context.Background(), gitops.PushOptions{Branch: "feature", Getenv: vars, CABundle: srv.CA})
	if err != nil {
		t.Fatal(err)
	}
	h = commit(t, g, dir, "feature.yaml", "c: 3\n", "feature")
	err = g.Push(context.Background(), target, h)
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "rejected the push of feature") {
		t.Fatalf("hook refusal: %v", err)
	}
	if strings.Contains(gittest.Git(t, srv.Dir("home-ops.git"), "branch"), "feature") {
		t.Fatal("the refused branch reached the remote")
	}
}

func TestPushToLocalPath(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "remote.git")
	gittest.Git(t, "", "init", "-q", "--bare", "-b", "main", bare)
	dir := workRepo(t, bare)
	g := open(t, dir)
	target, err := g.PushTarget(context.Background(), gitops.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if target.Auth != "none" {
		t.Fatalf("auth = %q", target.Auth)
	}
	h := commit(t, g, dir, "a.yaml", "a: 1\n", "")
	if err := g.Push(context.Background(), target, h); err != nil {
		t.Fatal(err)
	}
	if got := gittest.Git(t, bare, "rev-parse", "main"); got != h.String() {
		t.Fatalf("remote main = %s, want %s", got, h)
	}
}

func TestPushTargetRedactsURLPassword(t *testing.T) {
	g := open(t, workRepo(t, "https://bot:hunter2@127.0.0.1:1/x.git"))
	_, err := g.PushTarget(context.Background(), gitops.PushOptions{})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "REDACTED") {
		t.Fatalf("error: %v", err)
	}
}

// TestPushSSHWithAgent pushes over SSH to a real git server on loopback,
// authenticating with the keys of an ssh-agent (SSH_AUTH_SOCK).
func TestPushSSHWithAgent(t *testing.T) {
	srv := gittest.NewSSHServer(t)
	url := srv.NewBare(t, "home-ops.git")
	sock, key := gittest.StartAgent(t)
	// go-git's agent and known_hosts lookups read the process environment.
	t.Setenv("SSH_AUTH_SOCK", sock)
	t.Setenv("SSH_KNOWN_HOSTS", srv.KnownHosts(t))
	vars := env(map[string]string{"SSH_AUTH_SOCK": sock})

	dir := workRepo(t, url)
	g := open(t, dir)
	// The agent's key is not authorized yet: refused before anything else.
	if _, err := g.PushTarget(context.Background(), gitops.PushOptions{Getenv: vars}); err == nil || !strings.Contains(err.Error(), "cannot reach origin") {
		t.Fatalf("unauthorized key: %v", err)
	}
	srv.Authorize(key)
	target, err := g.PushTarget(context.Background(), gitops.PushOptions{Branch: "add-hello", Getenv: vars})
	if err != nil {
		t.Fatal(err)
	}
	if target.Auth != "ssh-agent" {
		t.Fatalf("auth = %q", target.Auth)
	}
	h := commit(t, g, dir, "hello.yaml", "hello: world\n", "add-hello")
	if err := g.Push(context.Background(), target, h); err != nil {
		t.Fatal(err)
	}
	if got := gittest.Git(t, filepath.Join(srv.Root, "home-ops.git"), "rev-parse", "add-hello"); got != h.String() {
		t.Fatalf("remote add-hello = %s, want %s", got, h)
	}
}

// TestTokenNeverGoesOverHTTP: with a token in the environment, a plain
// http:// remote is refused before gen connects, and the server never
// receives the token; --allow-insecure-remote (AllowInsecure) sends it,
// which shows the server would have seen it.
func TestTokenNeverGoesOverHTTP(t *testing.T) {
	srv := gittest.NewServer(t, "x-access-token", "s3cret")
	url := srv.NewBare(t, "home-ops.git")
	vars := env(map[string]string{"GITHUB_TOKEN": "s3cret"})
	dir := workRepo(t, url)
	g := open(t, dir)
	_, err := g.PushTarget(context.Background(), gitops.PushOptions{Getenv: vars})
	if err == nil {
		t.Fatal("a token was offered to a plain http remote")
	}
	for _, w := range []string{"plain http", "GITHUB_TOKEN", "--allow-insecure-remote", srv.URL} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	// A password written in the remote URL is a credential too.
	pwDir := workRepo(t, strings.Replace(url, "http://", "http://x-access-token:s3cret@", 1))
	if _, err := open(t, pwDir).PushTarget(context.Background(), gitops.PushOptions{}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a password in an http remote URL: %v", err)
	}
	if got := srv.Received(); len(got) != 0 {
		t.Fatalf("the http server received credentials: %q", got)
	}

	target, err := g.PushTarget(context.Background(), gitops.PushOptions{Getenv: vars, AllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Push(context.Background(), target, plumbing.NewHash(gittest.Git(t, dir, "rev-parse", "HEAD"))); err != nil {
		t.Fatal(err)
	}
	if got := srv.Received(); len(got) == 0 || got[len(got)-1] != "s3cret" {
		t.Fatalf("with AllowInsecure the server should have received the token, got %q", got)
	}
}

// TestRemoteURLsAreRedacted: URLs that Go's parser rejects, and scp-style
// addresses, reach messages without their password.
func TestRemoteURLsAreRedacted(t *testing.T) {
	for _, remote := range []string{
		"https://bot:pw%zz-hunter2@127.0.0.1:1/x.git",
		"https://bot:pw hunter2@127.0.0.1:1/x.git",
		"bot:hunter2@127.0.0.1:org/repo.git",
		"ssh://bot:hunter2@127.0.0.1:1/org/repo.git",
	} {
		g := open(t, workRepo(t, remote))
		_, err := g.PushTarget(context.Background(), gitops.PushOptions{Getenv: env(map[string]string{"GITHUB_TOKEN": "tok-hunter3"})})
		if err == nil {
			t.Fatalf("%s: no error", remote)
		}
		if strings.Contains(err.Error(), "hunter") {
			t.Errorf("%s: the error leaks a credential: %v", remote, err)
		}
		if !strings.Contains(err.Error(), "REDACTED") {
			t.Errorf("%s: the error does not show the redacted URL: %v", remote, err)
		}
	}
}
