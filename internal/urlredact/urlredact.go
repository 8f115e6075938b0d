// Package urlredact is the one place gen removes credentials from a URL
// before it prints it: a password in the user part, a user part that is a
// token, and query parameters that carry secrets. It handles what Go's
// URL parser rejects too (a bad escape or a space in the password) and
// scp-style git addresses (user:password@host:org/repo.git), because a
// URL that does not parse is still printed in the error that says so.
package urlredact

import (
	"net/url"
	"strings"
)

// Mask replaces every secret.
const Mask = "REDACTED"

// URL returns raw with its credentials replaced by Mask. Anything that is
// no URL comes back unchanged.
func URL(raw string) string {
	out, _ := redact(raw)
	return out
}

// HasCredentials reports whether raw holds anything URL would hide.
func HasCredentials(raw string) bool {
	_, found := redact(raw)
	return found
}

func redact(raw string) (string, bool) {
	if scheme, rest, ok := strings.Cut(raw, "://"); ok && validScheme(scheme) {
		if u, err := url.Parse(raw); err == nil {
			return parsed(u)
		}
		out, found := unparsed(rest)
		return scheme + "://" + out, found
	}
	return scpStyle(raw)
}

// Text returns s with each of secrets (tokens, passwords, raw URLs that
// hold them) replaced: a URL by its redacted form, anything else by Mask.
// Errors from libraries quote URLs and sometimes credentials; they pass
// through Text before they are printed.
func Text(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < 4 {
			// Too short to be a credential worth hiding, and replacing
			// it would mangle the text.
			continue
		}
		repl := Mask
		if strings.Contains(sec, "://") || strings.Contains(sec, "@") {
			repl = URL(sec)
			if repl == sec {
				continue
			}
		}
		s = strings.ReplaceAll(s, sec, repl)
	}
	return s
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func parsed(u *url.URL) (string, bool) {
	found := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mask)
			found = true
		} else if tokenLike(u.User.Username()) {
			u.User = url.User(Mask)
			found = true
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = Mask
			found = true
		} else {
			changed := false
			for k, vs := range q {
				if secretParam(k) {
					for i := range vs {
						vs[i] = Mask
					}
					changed = true
				}
			}
			if changed {
				u.RawQuery = q.Encode()
				found = true
			}
		}
	}
	return u.String(), found
}

// unparsed redacts the part after "scheme://" of a URL Go's parser
// rejects. In doubt more is hidden, never less.
func unparsed(rest string) (string, bool) {
	at := userinfoEnd(rest)
	if at < 0 {
		return maskQuery(rest)
	}
	ui, found := userinfo(rest[:at])
	tail, foundQ := maskQuery(rest[at+1:])
	return ui + "@" + tail, found || foundQ
}

// scpStyle redacts [user[:password]@]host:path.
func scpStyle(s string) (string, bool) {
	at := userinfoEnd(s)
	if at < 0 {
		return s, false
	}
	ui, found := userinfo(s[:at])
	return ui + "@" + s[at+1:], found
}

// userinfoEnd finds the "@" that ends the user part: the last one before
// the first "/" that follows an "@". A password may hold "/", "?", "#"
// and "@" when nobody escaped them; a host holds none of them. -1 when
// there is no "@".
func userinfoEnd(s string) int {
	first := strings.IndexByte(s, '@')
	if first < 0 {
		return -1
	}
	stop := len(s)
	if i := strings.IndexByte(s[first:], '/'); i >= 0 {
		stop = first + i
	}
	return strings.LastIndexByte(s[:stop], '@')
}

// maskQuery hides the query of a URL that does not parse: it is not
// worth the risk.
func maskQuery(s string) (string, bool) {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i+1] + Mask, true
	}
	return s, false
}

// userinfo redacts user[:password].
func userinfo(ui string) (string, bool) {
	user, _, hasPassword := strings.Cut(ui, ":")
	switch {
	case hasPassword:
		return user + ":" + Mask, true
	case tokenLike(user):
		return Mask, true
	}
	return ui, false
}

// tokenLike reports whether a URL's user name is a token: forges accept
// https://<token>@host/... and their tokens have known prefixes, or are
// long random strings.
func tokenLike(user string) bool {
	for _, p := range []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-"} {
		if strings.HasPrefix(user, p) {
			return true
		}
	}
	return len(user) >= 32
}

// secretParam reports whether a query parameter carries a secret.
func secretParam(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"token", "password", "passwd", "secret", "signature", "sig", "auth", "key", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
