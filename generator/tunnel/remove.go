package tunnel

import (
	"fmt"
	"net"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator/internal/yamledit"
)

// ServiceMatcher reports whether a cloudflared rule's service sends
// traffic to a given in-cluster Service.
type ServiceMatcher func(service string) bool

// tunnelSchemes are the cloudflared origin schemes that name a host and a
// port (unix sockets, http_status and hello_world do not).
var tunnelSchemes = map[string]bool{"http": true, "https": true, "tcp": true, "ssh": true, "rdp": true, "smb": true}

// MatchServices returns a ServiceMatcher for the Services names in
// namespace, written as a cloudflared origin: scheme://<svc>.<ns>.svc.cluster.local,
// <svc>.<ns>.svc or <svc>.<ns>, with or without a port.
func MatchServices(namespace string, names ...string) ServiceMatcher {
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	namespace = strings.ToLower(namespace)
	return func(service string) bool {
		svc, ns, ok := serviceHost(service)
		return ok && ns == namespace && want[svc]
	}
}

// serviceHost splits a cloudflared origin URL into the Service and the
// namespace it names; ok is false for anything that is not an in-cluster
// Service address.
func serviceHost(service string) (svc, ns string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(service), "://")
	if !found || !tunnelSchemes[strings.ToLower(scheme)] {
		return "", "", false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	host := rest
	if h, _, err := net.SplitHostPort(rest); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, suffix := range []string{".svc.cluster.local", ".svc"} {
		if h, cut := strings.CutSuffix(host, suffix); cut {
			host = h
			break
		}
	}
	parts := strings.Split(host, ".")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// RemoveRules removes every ingress rule of a cloudflared config whose
// service match accepts, the inverse of AddRule: the rule's lines go,
// with the comment lines just above it at the list's indentation (they
// describe the rule), and every other byte stays. It returns the new text
// and the hostnames of the removed rules; a config without such a rule
// comes back unchanged. The catch-all stays last: a catch-all that sends
// traffic to the Service is refused, as is a flow-style list that holds a
// matching rule. what names the config in messages.
func RemoveRules(text []byte, match ServiceMatcher, what string) ([]byte, []string, error) {
	var removed []string
	for {
		docs, err := yamledit.ParseStream(text)
		if err != nil {
			return nil, nil, fmt.Errorf("%s does not parse as YAML: %v", what, err)
		}
		di, seq, idx := -1, (*yaml.Node)(nil), []int(nil)
		for i, d := range docs {
			if !isTunnelConfig(d) {
				continue
			}
			s := yamledit.MapGet(d, "ingress")
			for k, r := range s.Content {
				if match(yamledit.ScalarOf(yamledit.MapGet(r, "service"))) {
					idx = append(idx, k)
				}
			}
			if len(idx) > 0 {
				di, seq = i, s
				break
			}
		}
		if di < 0 {
			return text, removed, nil
		}
		var hosts []string
		for _, k := range idx {
			h := hostnameOf(seq.Content[k])
			if h == "" {
				h = "(a rule without a hostname)"
			}
			hosts = append(hosts, h)
		}
		if yamledit.IsFlow(seq) {
			return nil, nil, fmt.Errorf("%s writes ingress as a flow list; gen edits block lists only: remove the rules for %s by hand", what, strings.Join(hosts, ", "))
		}
		last := len(seq.Content) - 1
		if k := idx[len(idx)-1]; k == last && hostnameOf(seq.Content[k]) == "" {
			return nil, nil, fmt.Errorf("%s: the catch-all rule (the last one) sends every other hostname to %s; point it elsewhere by hand (- service: http_status:404) first",
				what, yamledit.ScalarOf(yamledit.MapGet(seq.Content[k], "service")))
		}
		lines := yamledit.SplitLines(text)
		type span struct{ start, end int }
		spans := make([]span, len(idx))
		for n, k := range idx {
			start, end, err := yamledit.BlockItemRange(lines, seq, k)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", what, err)
			}
			for start > 0 && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") && yamledit.IndentOf(lines[start-1]) == seq.Column-1 {
				start--
			}
			spans[n] = span{start, end}
		}
		for n := len(spans) - 1; n >= 0; n-- {
			lines = yamledit.RemoveLines(lines, spans[n].start, spans[n].end)
		}
		out := yamledit.JoinLines(lines)
		drop := map[int]bool{}
		for _, k := range idx {
			drop[k] = true
		}
		err = yamledit.VerifyEdit(what, text, out, yamledit.EditList(di, []yamledit.PathKey{"ingress"}, func(list []any) []any {
			var kept []any
			for k, r := range list {
				if !drop[k] {
					kept = append(kept, r)
				}
			}
			return kept
		}))
		if err != nil {
			return nil, nil, err
		}
		removed = append(removed, hosts...)
		text = out
	}
}
