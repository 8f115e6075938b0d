package fetch

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
)

// Policy is the set of hosts gen may fetch charts and schema documents
// from. Its zero value allows nothing.
//
// A check on a pull request builds it from the hosts the base revision's
// sources already name (HostsOf) and the hosts .gen.yaml allows: a URL
// that only the pull request introduces is refused, so a hostile change
// cannot make the runner reach an address of its choosing.
//
// An entry is a host name or address, with or without a port. Without a
// port it allows the scheme's default ports (443 and 80); with one, that
// port only.
type Policy struct {
	hosts map[string]bool // "host" (default ports) or "host:port"
}

// NewPolicy builds a policy from host entries: "ghcr.io",
// "registry.example.org:5000", or URLs ("oci://ghcr.io/org/charts",
// "https://charts.example.org/stable"), whose host is taken.
func NewPolicy(entries ...string) (Policy, error) {
	p := Policy{hosts: map[string]bool{}}
	for _, e := range entries {
		host, port, err := parseEntry(e)
		if err != nil {
			return Policy{}, err
		}
		if port == "" {
			p.hosts[host] = true
		} else {
			p.hosts[net.JoinHostPort(host, port)] = true
		}
	}
	return p, nil
}

func parseEntry(e string) (host, port string, err error) {
	e = strings.TrimSpace(e)
	if e == "" {
		return "", "", fmt.Errorf("empty host in the fetch policy")
	}
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil || u.Host == "" {
			return "", "", fmt.Errorf("host %q in the fetch policy is not a URL with a host", e)
		}
		e = u.Host
	}
	if strings.ContainsAny(e, "/@?# ") {
		return "", "", fmt.Errorf("host %q in the fetch policy is not a host name (want host or host:port)", e)
	}
	h, p, err := net.SplitHostPort(e)
	if err != nil {
		// No port.
		h, p = strings.Trim(e, "[]"), ""
	}
	if h == "" || strings.Contains(h, "*") {
		return "", "", fmt.Errorf("host %q in the fetch policy is not a host name (wildcards are not allowed)", e)
	}
	return strings.ToLower(h), p, nil
}

// Allows says whether a request to u may be made.
func (p Policy) Allows(u *url.URL) bool {
	if u == nil || (u.Scheme != "https" && u.Scheme != "http") {
		return false
	}
	return p.allowsHostPort(strings.ToLower(u.Hostname()), u.Port(), u.Scheme)
}

func (p Policy) allowsHostPort(host, port, scheme string) bool {
	if host == "" {
		return false
	}
	if port != "" && p.hosts[net.JoinHostPort(host, port)] {
		return true
	}
	if !p.hosts[host] {
		return false
	}
	switch port {
	case "":
		return true
	case "443":
		return scheme == "https" || scheme == ""
	case "80":
		return scheme == "http" || scheme == ""
	}
	return false
}

// allowsAddr checks a dial address (host:port) again, below HTTP.
func (p Policy) allowsAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return p.allowsHostPort(strings.ToLower(host), port, "")
}

// Hosts lists the policy's entries, sorted.
func (p Policy) Hosts() []string {
	out := make([]string, 0, len(p.hosts))
	for h := range p.hosts {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// HostError is a request the policy refused.
type HostError struct {
	Host string
}

func (e *HostError) Error() string {
	return fmt.Sprintf("host %s is not one gen fetches from: the base revision's sources do not use it and .gen.yaml does not allow it", e.Host)
}
