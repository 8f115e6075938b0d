package gitops

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// Init makes dir a new git work tree whose first branch is branch, and
// opens it. A folder that already holds a repository is refused.
func Init(dir, branch string) (*Repo, error) {
	ref := plumbing.NewBranchReferenceName(branch)
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("--branch %q is not a valid branch name", branch)
	}
	if _, err := git.PlainOpen(dir); err == nil {
		return nil, fmt.Errorf("%q is already a git repository", dir)
	}
	_, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: ref},
	})
	if err != nil {
		return nil, fmt.Errorf("git init %q: %w", dir, err)
	}
	return Open(dir)
}

// GlobalAuthor reads user.name and user.email from the user's and the
// system's git config, for a repository that does not exist yet.
func GlobalAuthor() (Author, error) {
	var a Author
	cfg, err := config.LoadConfig(config.GlobalScope)
	if err == nil {
		a.Name, a.Email = cfg.User.Name, cfg.User.Email
	}
	if a.Name == "" || a.Email == "" {
		if sys, err := config.LoadConfig(config.SystemScope); err == nil {
			if a.Name == "" {
				a.Name = sys.User.Name
			}
			if a.Email == "" {
				a.Email = sys.User.Email
			}
		}
	}
	if a.Name == "" || a.Email == "" {
		return Author{}, errors.New("no commit author: set git config --global user.name and user.email, or pass --author \"Name <email>\"")
	}
	return a, nil
}
