package urlredact_test

import (
	"strings"
	"testing"

	"github.com/gen-gitops/gen/internal/urlredact"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		secret   string // must not survive
	}{
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git", ""},
		{"https://bot:hunter2@github.com/org/repo.git", "https://bot:REDACTED@github.com/org/repo.git", "hunter2"},
		// Go's parser rejects these two; they are printed all the same.
		{"https://user:pw%zz@github.com/org/repo.git", "https://user:REDACTED@github.com/org/repo.git", "pw%zz"},
		{"https://user:p w@github.com/org/repo.git", "https://user:REDACTED@github.com/org/repo.git", "p w"},
		{"https://user:p@ss@github.com/org/repo.git", "https://user:REDACTED@github.com/org/repo.git", "p@ss"},
		{"https://u:se cret@host/a@b?token=abc", "https://u:REDACTED@host/a@b?REDACTED", "se cret"},
		{"user:pw@host.example:org/repo.git", "user:REDACTED@host.example:org/repo.git", "pw"},
		{"user:p/w@host.example:org/repo.git", "user:REDACTED@host.example:org/repo.git", "p/w"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git", ""},
		{"ssh://git:pw@github.com/org/repo.git", "ssh://git:REDACTED@github.com/org/repo.git", ":pw@"},
		{"https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/org/repo", "https://REDACTED@github.com/org/repo", "ghp_"},
		{"https://x-access-token@github.com/org/repo", "https://x-access-token@github.com/org/repo", ""},
		{"https://charts.example.com/index.yaml?access_token=abc123&page=2", "https://charts.example.com/index.yaml?access_token=REDACTED&page=2", "abc123"},
		{"oci://ghcr.io/org/charts/app", "oci://ghcr.io/org/charts/app", ""},
		{"/srv/git/repo.git", "/srv/git/repo.git", ""},
		{"../relative/repo", "../relative/repo", ""},
		{"", "", ""},
	} {
		got := urlredact.URL(tc.in)
		if got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if tc.secret != "" && strings.Contains(got, tc.secret) {
			t.Errorf("URL(%q) = %q still holds %q", tc.in, got, tc.secret)
		}
	}
}

func TestText(t *testing.T) {
	raw := "https://user:pw%zz@github.com/org/repo.git"
	msg := `parse "` + raw + `": invalid URL escape "%zz"; token s3cret-token refused`
	got := urlredact.Text(msg, raw, "s3cret-token", "")
	for _, leak := range []string{"pw%zz", "s3cret-token"} {
		if strings.Contains(got, leak) {
			t.Errorf("Text left %q in %q", leak, got)
		}
	}
	if !strings.Contains(got, "https://user:REDACTED@github.com/org/repo.git") {
		t.Errorf("Text lost the redacted URL: %q", got)
	}
}

func TestHasCredentials(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://charts.example.com#mychart":          false,
		"oci://ghcr.io/org/charts/app":                false,
		"https://host/a%2Fb/c":                        false,
		"git@github.com:org/repo.git":                 false,
		"https://u:p@charts.example.com#mychart":      true,
		"oci://u:p w@ghcr.io/org/app":                 true,
		"https://charts.example.com/?token=x#mychart": true,
		"user:pw@host:org/repo.git":                   true,
	} {
		if got := urlredact.HasCredentials(raw); got != want {
			t.Errorf("HasCredentials(%q) = %v, want %v", raw, got, want)
		}
	}
}
