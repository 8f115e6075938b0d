package gitops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/gen-gitops/gen/internal/netguard"
	"github.com/gen-gitops/gen/internal/urlredact"
)

// DefaultRemote is the remote --push uses when none is named.
const DefaultRemote = "origin"

// TokenVars are the environment variables a token for HTTPS pushes is read
// from, first set wins.
var TokenVars = []string{"GITHUB_TOKEN", "GIT_TOKEN"}

// PushOptions say where a push goes and how it authenticates.
type PushOptions struct {
	// Remote is the remote's name (DefaultRemote when empty).
	Remote string
	// Branch is the local branch to push to the same name on the remote;
	// the branch HEAD is on when empty.
	Branch string
	// Getenv reads GITHUB_TOKEN, GIT_TOKEN, GIT_USERNAME and SSH_AUTH_SOCK.
	Getenv func(string) string
	// AllowInsecure lets credentials go to a plain http:// remote, in
	// cleartext. Without it gen sends a token only over https or ssh.
	AllowInsecure bool
	// CABundle, when set, holds PEM certificates an https remote's
	// certificate may chain to, besides the system's.
	CABundle []byte
}

// PushTarget is a checked push destination: the remote exists, answers, and
// accepts the credentials gen found. Resolve it before writing anything, so
// a bad remote or token fails while the tree is still untouched.
type PushTarget struct {
	// Remote is the remote's name.
	Remote string
	// URL is the remote's URL with any password removed, for messages.
	URL string
	// Branch is the branch pushed.
	Branch string
	// Auth says how gen authenticates ("token from GITHUB_TOKEN",
	// "ssh-agent", "none").
	Auth string

	auth     transport.AuthMethod
	caBundle []byte
	// secrets are the raw URL and the token, scrubbed from every error.
	secrets []string
}

// PushError is a push that failed after the commit was made: the commit
// stays in the local repository and the message says how to retry.
type PushError struct {
	Target *PushTarget
	Commit plumbing.Hash
	Err    error
}

func (e *PushError) Error() string {
	t := e.Target
	retry := fmt.Sprintf("git push %s %s", t.Remote, t.Branch)
	short := e.Commit.String()
	if len(short) > 12 {
		short = short[:12]
	}
	if isRejection(e.Err) {
		return fmt.Sprintf("the remote %s (%s) rejected the push of %s: %v; commit %s is kept locally: "+
			"bring the branch up to date (git pull --rebase %s %s) and retry with '%s'",
			t.Remote, t.URL, t.Branch, e.Err, short, t.Remote, t.Branch, retry)
	}
	return fmt.Sprintf("pushing %s to %s (%s): %v; commit %s is kept locally: retry with '%s'",
		t.Branch, t.Remote, t.URL, e.Err, short, retry)
}

func (e *PushError) Unwrap() error { return e.Err }

// isRejection tells a refused update (the remote moved, or a hook said no)
// from a transport failure.
func isRejection(err error) bool {
	if errors.Is(err, git.ErrForceNeeded) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"non-fast-forward", "rejected", "pre-receive hook declined", "failed to update ref", "hook declined"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// PushTarget resolves and checks where a push goes: the remote must be
// configured, reachable and accept the credentials (a listing of its
// references is fetched). Nothing is pushed.
func (r *Repo) PushTarget(ctx context.Context, opts PushOptions) (*PushTarget, error) {
	name := opts.Remote
	if name == "" {
		name = DefaultRemote
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	remote, err := r.git.Remote(name)
	if errors.Is(err, git.ErrRemoteNotFound) {
		return nil, fmt.Errorf("--push: the repository has no remote %q (%s); add it with 'git remote add %s <url>', or name another with --remote",
			name, r.remoteNames(), name)
	}
	if err != nil {
		return nil, fmt.Errorf("--push: reading remote %q: %w", name, err)
	}
	urls := remote.Config().URLs
	if len(urls) == 0 {
		return nil, fmt.Errorf("--push: remote %q has no URL; set one with 'git remote set-url %s <url>'", name, name)
	}
	raw := urls[0]
	branch := opts.Branch
	if branch == "" {
		head, err := r.git.Head()
		if err != nil {
			return nil, fmt.Errorf("--push: reading HEAD: %w (make a first commit)", err)
		}
		if !head.Name().IsBranch() {
			return nil, fmt.Errorf("--push: HEAD is detached; check out a branch or pass --branch")
		}
		branch = head.Name().Short()
	}
	if err := ValidateBranch(branch); err != nil {
		return nil, fmt.Errorf("--push: %w", err)
	}
	auth, how, err := authFor(raw, getenv, opts.AllowInsecure)
	if err != nil {
		return nil, err
	}
	t := &PushTarget{Remote: name, URL: urlredact.URL(raw), Branch: branch, Auth: how, auth: auth, caBundle: opts.CABundle,
		secrets: []string{raw}}
	if b, ok := auth.(*githttp.BasicAuth); ok {
		t.secrets = append(t.secrets, b.Password)
	}
	// The remote is the user's choice: gen's network guard lets it through
	// (go-git's HTTP client holds the transport it was built with; the
	// permit keeps that true if it ever reads the default one).
	ctx = netguard.Permit(ctx)
	if _, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth, CABundle: opts.CABundle}); err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return nil, t.explain(err)
	}
	return t, nil
}

// explain turns a transport error from the check into one that says what
// to do.
func (t *PushTarget) explain(err error) error {
	err = trimmed{err, t.secrets}
	switch {
	case t.auth != nil && (errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)):
		return fmt.Errorf("--push: %s (%s) refused the credentials (%s); check that the token is valid and may push to the repository: %w",
			t.Remote, t.URL, t.Auth, err)
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return fmt.Errorf("--push: %s (%s) asks for credentials and gen has %s; set GITHUB_TOKEN or GIT_TOKEN to a token that may push: %w",
			t.Remote, t.URL, t.Auth, err)
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("--push: %s (%s) refused the credentials (%s): %w", t.Remote, t.URL, t.Auth, err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("--push: no repository at %s (remote %s); check the URL with 'git remote -v': %w", t.URL, t.Remote, err)
	}
	return fmt.Errorf("--push: cannot reach %s (%s): %w", t.Remote, t.URL, err)
}

// Push pushes the target branch to the branch of the same name on the
// remote. commit is the commit just made, named in the error when the push
// fails (the commit stays local either way).
func (r *Repo) Push(ctx context.Context, t *PushTarget, commit plumbing.Hash) error {
	ref := plumbing.NewBranchReferenceName(t.Branch)
	spec := config.RefSpec(ref.String() + ":" + ref.String())
	err := r.git.PushContext(netguard.Permit(ctx), &git.PushOptions{
		RemoteName: t.Remote,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       t.auth,
		CABundle:   t.caBundle,
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return &PushError{Target: t, Commit: commit, Err: trimmed{err, t.secrets}}
}

// trimmed drops the trailing newline go-git's transport errors carry, and
// any credential they quote.
type trimmed struct {
	error
	secrets []string
}

func (e trimmed) Error() string {
	return urlredact.Text(strings.TrimSpace(e.error.Error()), e.secrets...)
}
func (e trimmed) Unwrap() error { return e.error }

// authFor picks credentials by the remote URL's scheme: a token for HTTPS,
// the ssh-agent for SSH, none for local paths and git://. A credential
// never goes to a plain http:// remote unless allowInsecure is set: it
// would cross the network in cleartext.
func authFor(raw string, getenv func(string) string, allowInsecure bool) (transport.AuthMethod, string, error) {
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, "", fmt.Errorf("--push: remote URL %q does not parse: %s", urlredact.URL(raw), urlredact.Text(err.Error(), raw))
	}
	switch ep.Protocol {
	case "http", "https":
		insecure := func(what string) error {
			return fmt.Errorf("--push: the remote %s is plain http, and gen sends %s only over https or ssh, never in cleartext; "+
				"use an https:// or ssh remote ('git remote set-url'), or pass --allow-insecure-remote to send it anyway",
				urlredact.URL(raw), what)
		}
		for _, v := range TokenVars {
			token := getenv(v)
			if token == "" {
				continue
			}
			if ep.Protocol == "http" && !allowInsecure {
				return nil, "", insecure("the token from " + v)
			}
			user := ep.User
			if user == "" {
				user = getenv("GIT_USERNAME")
			}
			if user == "" {
				// Forges accept any user name with a token; GitHub
				// documents this one for app and workflow tokens.
				user = "x-access-token"
			}
			return &githttp.BasicAuth{Username: user, Password: token}, "a token from " + v, nil
		}
		if ep.Password != "" {
			if ep.Protocol == "http" && !allowInsecure {
				return nil, "", insecure("the password in the remote URL")
			}
			return nil, "the password in the remote URL", nil
		}
		return nil, "no token (GITHUB_TOKEN and GIT_TOKEN are unset)", nil
	case "ssh":
		if getenv("SSH_AUTH_SOCK") == "" {
			return nil, "", fmt.Errorf("--push: the remote is SSH (%s) and no ssh-agent is running (SSH_AUTH_SOCK is unset); "+
				"start one and 'ssh-add' your key, or use an HTTPS remote with GITHUB_TOKEN", urlredact.URL(raw))
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		auth, err := gitssh.NewSSHAgentAuth(user)
		if err != nil {
			return nil, "", fmt.Errorf("--push: connecting to the ssh-agent: %w", err)
		}
		return auth, "ssh-agent", nil
	}
	return nil, "none", nil
}

// ValidateBranch checks a branch name with git's reference rules (go-git's
// implementation) before anything is written: a name git refuses would
// otherwise fail after the files are in place. It takes the short name; a
// full reference ("refs/heads/x") is refused, since gen would make a
// branch literally called refs/heads/x.
func ValidateBranch(name string) error {
	if short, ok := strings.CutPrefix(name, "refs/heads/"); ok {
		return fmt.Errorf("%q: give the short branch name (%q), not the full reference", name, short)
	}
	if strings.HasPrefix(name, "refs/") {
		return fmt.Errorf("%q: give a branch name, not a reference", name)
	}
	if name == "HEAD" || strings.HasPrefix(name, "-") {
		return fmt.Errorf("%q is not a valid branch name: it may not be HEAD or start with -", name)
	}
	if err := plumbing.NewBranchReferenceName(name).Validate(); err != nil {
		return fmt.Errorf("%q is not a valid branch name: git forbids spaces, control characters, ~ ^ : ? * [ \\, \"..\", \"@{\", "+
			"a leading or trailing \"/\" or \".\", \"//\", and a name ending in .lock", name)
	}
	return nil
}

func (r *Repo) remoteNames() string {
	remotes, err := r.git.Remotes()
	if err != nil || len(remotes) == 0 {
		return "it has none"
	}
	var names []string
	for _, rm := range remotes {
		names = append(names, rm.Config().Name)
	}
	return "it has " + strings.Join(names, ", ")
}
