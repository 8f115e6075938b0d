// Package tunnel finds and edits a repository's cloudflared configuration:
// a config.yaml, or a YAML document held in a string of the tunnel's
// HelmRelease values. Its ingress rules send hostnames to Services; the
// catch-all rule stays last. Edits keep the file's comments and style (see
// internal/yamledit) and an embedded config stays in its block string.
package tunnel

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/generator"
	"github.com/gen-gitops/gen/generator/internal/yamledit"
	"github.com/gen-gitops/gen/internal/repo"
)

// topLevelIngress finds the ingress: key of a cloudflared config.
var topLevelIngress = regexp.MustCompile(`(?m)^ingress:`)

// Config is one cloudflared configuration of a repository.
type Config struct {
	// File holds it.
	File string
	// What names it in messages.
	What string
	// doc is its document in File, or the HelmRelease's that holds it;
	// path leads from that document's root to the string that holds it
	// (nil for a plain config file).
	doc  int
	path []yamledit.PathKey
}

// Configs finds every cloudflared configuration of the working copy by
// content: a string in a HelmRelease's values, or a document with no kind,
// that holds an `ingress:` list. A string that mentions ingress rules but
// does not parse is an error.
func Configs(w *generator.WorkingCopy) ([]Config, error) {
	var out []Config
	var firstErr error
	w.EachDoc("HelmRelease", "helm.toolkit.fluxcd.io", func(f string, i int, d *yaml.Node) {
		var walk func(n *yaml.Node, p []yamledit.PathKey)
		walk = func(n *yaml.Node, p []yamledit.PathKey) {
			switch n.Kind {
			case yaml.MappingNode:
				for k := 0; k+1 < len(n.Content); k += 2 {
					walk(n.Content[k+1], append(append([]yamledit.PathKey(nil), p...), n.Content[k].Value))
				}
			case yaml.SequenceNode:
				for k, c := range n.Content {
					walk(c, append(append([]yamledit.PathKey(nil), p...), k))
				}
			case yaml.ScalarNode:
				if !topLevelIngress.MatchString(n.Value) {
					return
				}
				what := fmt.Sprintf("the cloudflared config in HelmRelease %s (%s)", yamledit.ObjectName(d), pathString(p))
				docs, err := yamledit.ParseStream([]byte(n.Value))
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("%s in %q does not parse as YAML: %v; fix it before onboarding", what, f, err)
					}
					return
				}
				for _, inner := range docs {
					if isTunnelConfig(inner) {
						out = append(out, Config{File: f, What: what, doc: i, path: p})
						return
					}
				}
			}
		}
		if values := yamledit.NodeAt(d, "spec", "values"); values != nil {
			walk(values, []yamledit.PathKey{"spec", "values"})
		}
	})
	for _, f := range w.YAMLFiles() {
		data := w.Read(f)
		if !topLevelIngress.Match(data) || !strings.Contains(string(data), "service:") {
			continue
		}
		docs, err := yamledit.ParseStream(data)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%q looks like a cloudflared config (a top-level ingress: list) but does not parse as YAML: %v; fix it before onboarding", f, err)
			}
			continue
		}
		for i, d := range docs {
			if isTunnelConfig(d) {
				out = append(out, Config{File: f, What: "the cloudflared config", doc: i})
			}
		}
	}
	return out, firstErr
}

func pathString(p []yamledit.PathKey) string {
	var b strings.Builder
	for i, k := range p {
		switch k := k.(type) {
		case string:
			if i > 0 {
				b.WriteByte('.')
			}
			if strings.ContainsAny(k, ".") {
				fmt.Fprintf(&b, "%q", k)
			} else {
				b.WriteString(k)
			}
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}

// isTunnelConfig reports whether a document is a cloudflared config: a
// mapping without apiVersion and kind whose ingress is a list of rules.
func isTunnelConfig(d *yaml.Node) bool {
	if d == nil || d.Kind != yaml.MappingNode || yamledit.MapGet(d, "kind") != nil || yamledit.MapGet(d, "apiVersion") != nil {
		return false
	}
	ing := yamledit.MapGet(d, "ingress")
	if ing == nil || ing.Kind != yaml.SequenceNode {
		return false
	}
	for _, r := range ing.Content {
		if yamledit.MapGet(r, "service") != nil {
			return true
		}
	}
	return len(ing.Content) == 0
}

// Edit applies edit to every cloudflared config of the working copy, and
// writes what it returns there; an embedded config is taken out of its
// string, edited, and written back into the same block scalar at the same
// indentation. what names the config in messages.
func Edit(w *generator.WorkingCopy, edit func(text []byte, what string) ([]byte, error)) error {
	configs, err := Configs(w)
	if err != nil {
		return err
	}
	for _, c := range configs {
		data, docs, err := w.Docs(c.File)
		if err != nil {
			return err
		}
		if c.path == nil {
			out, err := edit(data, fmt.Sprintf("%s %q", c.What, c.File))
			if err != nil {
				return err
			}
			w.Write(c.File, out)
			continue
		}
		n := yamledit.NodeByPath(docs[c.doc], c.path)
		if n == nil || n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s in %q: the string is gone", c.What, c.File)
		}
		inner := n.Value
		if !strings.HasSuffix(inner, "\n") {
			inner += "\n"
		}
		what := fmt.Sprintf("%s in %q", c.What, c.File)
		newInner, err := edit([]byte(inner), what)
		if err != nil {
			return err
		}
		if string(newInner) == inner {
			continue
		}
		out, err := replaceBlockScalar(data, n, string(newInner))
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		trail := n.Value[len(strings.TrimRight(n.Value, "\n")):]
		want := strings.TrimRight(string(newInner), "\n") + trail
		err = yamledit.VerifyEdit(c.File, data, out, func(docs []any) ([]any, error) {
			nd, err := yamledit.SetPath(docs[c.doc], c.path, want)
			if err != nil {
				return nil, err
			}
			out := append([]any(nil), docs...)
			out[c.doc] = nd
			return out, nil
		})
		if err != nil {
			return err
		}
		w.Write(c.File, out)
	}
	return nil
}

// replaceBlockScalar writes value into the literal block scalar n of data,
// indented as its current content is.
func replaceBlockScalar(data []byte, n *yaml.Node, value string) ([]byte, error) {
	if n.Style&yaml.LiteralStyle == 0 {
		return nil, fmt.Errorf("the config is not a literal block string (|); gen edits it only in that form")
	}
	lines := yamledit.SplitLines(data)
	hl := n.Line - 1
	if hl >= len(lines) {
		return nil, fmt.Errorf("line %d: out of range", n.Line)
	}
	hdr := lines[hl]
	col := yamledit.OffsetOf([]byte(hdr), 1, n.Column)
	header := strings.TrimSpace(hdr[col:])
	if i := strings.Index(header, " #"); i >= 0 {
		header = header[:i]
	}
	if !strings.HasPrefix(header, "|") || strings.ContainsAny(header, "0123456789") {
		return nil, fmt.Errorf("line %d: block header %q: gen edits only | blocks without an indentation digit", n.Line, header)
	}
	parent := yamledit.IndentOf(hdr)
	start := hl + 1
	ci := -1
	for l := start; l < len(lines); l++ {
		if strings.TrimSpace(lines[l]) == "" {
			continue
		}
		if yamledit.IndentOf(lines[l]) > parent {
			ci = yamledit.IndentOf(lines[l])
		}
		break
	}
	if ci < 0 {
		return nil, fmt.Errorf("line %d: the block string is empty", n.Line)
	}
	last := start
	for l := start; l < len(lines); l++ {
		if strings.TrimSpace(lines[l]) == "" {
			continue
		}
		if yamledit.IndentOf(lines[l]) < ci {
			break
		}
		last = l + 1
	}
	pad := strings.Repeat(" ", ci)
	var repl []string
	for _, l := range strings.Split(strings.TrimRight(value, "\n"), "\n") {
		if l == "" {
			repl = append(repl, "\n")
		} else {
			repl = append(repl, pad+l+"\n")
		}
	}
	out := append(append(append([]string(nil), lines[:start]...), repl...), lines[last:]...)
	return yamledit.JoinLines(out), nil
}

// ingressOf finds the ingress list of a cloudflared config.
func ingressOf(text []byte, what string) (int, *yaml.Node, error) {
	docs, err := yamledit.ParseStream(text)
	if err != nil {
		return 0, nil, fmt.Errorf("%s does not parse as YAML: %v", what, err)
	}
	for i, d := range docs {
		if !isTunnelConfig(d) {
			continue
		}
		seq := yamledit.MapGet(d, "ingress")
		if yamledit.IsFlow(seq) {
			return 0, nil, fmt.Errorf("%s writes ingress as a flow list; gen edits block lists only: add the rules by hand or --skip cloudflare-tunnel", what)
		}
		return i, seq, nil
	}
	return 0, nil, fmt.Errorf("%s has no ingress list", what)
}

// hostnameOf returns a rule's hostname ("" for the catch-all).
func hostnameOf(rule *yaml.Node) string { return yamledit.ScalarOf(yamledit.MapGet(rule, "hostname")) }

// AddDomainRules inserts the apex and wildcard rules for the domain
// variable v before the catch-all, copied from the rules of another domain variable: its apex and
// wildcard rules when it has both, or its one rule with the hostname
// changed (a stock repository has only the wildcard rule).
func AddDomainRules(text []byte, v, what string) ([]byte, error) {
	doc, seq, err := ingressOf(text, what)
	if err != nil {
		return nil, err
	}
	n := len(seq.Content)
	if n == 0 || yamledit.MapGet(seq.Content[n-1], "hostname") != nil || yamledit.MapGet(seq.Content[n-1], "service") == nil {
		return nil, fmt.Errorf("%s does not end with a catch-all rule (- service: http_status:404): cloudflared refuses such a config, and gen would not know where new rules go; add the catch-all first", what)
	}
	apex, wild := "${"+v+"}", "*.${"+v+"}"
	have := map[string]bool{}
	for _, r := range seq.Content {
		have[hostnameOf(r)] = true
	}
	if have[apex] && have[wild] {
		return text, nil
	}
	type pair struct{ apex, wild int }
	byVar := map[string]*pair{}
	var order []string
	for i, r := range seq.Content[:n-1] {
		h := hostnameOf(r)
		dv := yamledit.DomainVarOf(yamledit.MapGet(r, "hostname"), repo.IsDomainVar)
		if dv == "" {
			continue
		}
		p, ok := byVar[dv]
		if !ok {
			p = &pair{-1, -1}
			byVar[dv] = p
			order = append(order, dv)
		}
		switch h {
		case "${" + dv + "}":
			p.apex = i
		case "*.${" + dv + "}":
			p.wild = i
		}
	}
	from := ""
	for _, want := range []func(p *pair) bool{
		func(p *pair) bool { return p.apex >= 0 && p.wild >= 0 },
		func(p *pair) bool { return p.wild >= 0 },
		func(p *pair) bool { return p.apex >= 0 },
	} {
		for i := len(order) - 1; i >= 0 && from == ""; i-- {
			if want(byVar[order[i]]) {
				from = order[i]
			}
		}
	}
	if from == "" {
		return nil, fmt.Errorf("%s has no rule for a domain variable (hostname \"*.${SECRET_DOMAIN}\") to copy; add the rules for ${%s} by hand or --skip cloudflare-tunnel", what, v)
	}
	tp := byVar[from]
	// The new rules come in the order the copied domain's rules have.
	order2 := []string{apex, wild}
	if tp.apex >= 0 && tp.wild >= 0 && tp.wild < tp.apex {
		order2 = []string{wild, apex}
	}
	var missing []string
	for _, h := range order2 {
		if !have[h] {
			missing = append(missing, h)
		}
	}
	lines := yamledit.SplitLines(text)
	var add []string
	type made struct {
		src  int
		host string
	}
	var news []made
	for _, h := range missing {
		src := tp.wild
		if (h == apex && tp.apex >= 0) || tp.wild < 0 {
			src = tp.apex
		}
		cl, err := cloneRule(lines, seq, src, from, v, h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		add = append(add, cl...)
		news = append(news, made{src, h})
	}
	at, _, err := yamledit.BlockItemRange(lines, seq, n-1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// Comments just above the catch-all belong to it.
	for at > 0 && strings.HasPrefix(strings.TrimSpace(lines[at-1]), "#") && yamledit.IndentOf(lines[at-1]) == seq.Column-1 {
		at--
	}
	out := yamledit.JoinLines(yamledit.InsertLines(lines, at, add))
	err = yamledit.VerifyEdit(what, text, out, yamledit.EditList(doc, []yamledit.PathKey{"ingress"}, func(list []any) []any {
		res := append([]any(nil), list[:n-1]...)
		for _, m := range news {
			rule, _ := yamledit.SubstAny(list[m.src], from, v).(map[string]any)
			if rule != nil {
				rule["hostname"] = m.host
			}
			res = append(res, rule)
		}
		return append(res, list[n-1])
	}))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// cloneRule copies ingress rule i with variable from replaced by to and the
// hostname set to host, in the rule's own style. An anchor in the rule
// becomes an alias in the copy, or is dropped where the value changes.
func cloneRule(lines []string, seq *yaml.Node, i int, from, to, host string) ([]string, error) {
	start, end, err := yamledit.BlockItemRange(lines, seq, i)
	if err != nil {
		return nil, err
	}
	src := append([]string(nil), lines[start:end]...)
	item := seq.Content[i]
	if item.Kind != yaml.MappingNode || item.Anchor != "" {
		return nil, fmt.Errorf("line %d: the rule to copy is not a plain mapping; add the rules by hand", item.Line)
	}
	hn := yamledit.MapGet(item, "hostname")
	if hn == nil || hn.Anchor != "" || hn.Line-1 < start || hn.Line-1 >= end {
		return nil, fmt.Errorf("line %d: cannot place the hostname of the rule to copy", item.Line)
	}
	li := hn.Line - 1 - start
	line := src[li]
	col := yamledit.OffsetOf([]byte(line), 1, hn.Column)
	ve, err := scalarTextEnd(line, col)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", hn.Line, err)
	}
	src[li] = line[:col] + quoteLike(hn.Style, host) + line[ve:]
	var anchorErr error
	var fix func(n *yaml.Node)
	fix = func(n *yaml.Node) {
		for _, c := range n.Content {
			fix(c)
		}
		if n.Anchor == "" || n == hn || anchorErr != nil {
			return
		}
		if n.Kind != yaml.ScalarNode || n.Line-1 < start || n.Line-1 >= end {
			anchorErr = fmt.Errorf("line %d: the rule to copy defines the anchor &%s on a block; add the rules by hand", n.Line, n.Anchor)
			return
		}
		li := n.Line - 1 - start
		line := src[li]
		col := yamledit.OffsetOf([]byte(line), 1, n.Column)
		if !strings.HasPrefix(line[col:], "&"+n.Anchor) {
			anchorErr = fmt.Errorf("line %d: cannot place the anchor &%s", n.Line, n.Anchor)
			return
		}
		vs := col + 1 + len(n.Anchor)
		for vs < len(line) && line[vs] == ' ' {
			vs++
		}
		if yamledit.RefersTo(n.Value, from) {
			src[li] = line[:col] + line[vs:]
			return
		}
		ve, err := scalarTextEnd(line, vs)
		if err != nil {
			anchorErr = fmt.Errorf("line %d: %w", n.Line, err)
			return
		}
		src[li] = line[:col] + "*" + n.Anchor + line[ve:]
	}
	fix(item)
	if anchorErr != nil {
		return nil, anchorErr
	}
	return yamledit.CloneLines(src, from, to), nil
}

// scalarTextEnd returns where the one-line scalar starting at off of line
// ends: after its closing quote, or before a comment or the line's end.
func scalarTextEnd(line string, off int) (int, error) {
	if off < len(line) && (line[off] == '"' || line[off] == '\'') {
		end, err := yamledit.FlowEnd([]byte(line), off)
		if err != nil {
			return 0, fmt.Errorf("a multi-line quoted value; add the rules by hand")
		}
		return end, nil
	}
	end := len(strings.TrimRight(line, "\r\n"))
	if i := strings.Index(line[off:], " #"); i >= 0 && off+i < end {
		end = off + i
	}
	for end > off && line[end-1] == ' ' {
		end--
	}
	return end, nil
}

// quoteLike writes s as a scalar in the given style; a plain scalar that
// would start with an indicator is double-quoted.
func quoteLike(style yaml.Style, s string) string {
	switch {
	case style&yaml.SingleQuotedStyle != 0:
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	case style&yaml.DoubleQuotedStyle != 0 || strings.HasPrefix(s, "*") || strings.HasPrefix(s, "&"):
		return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
	}
	return s
}

// RemoveDomainRules removes every rule whose hostname refers to the
// variable v.
func RemoveDomainRules(text []byte, v, what string) ([]byte, error) {
	for {
		doc, seq, err := ingressOf(text, what)
		if err != nil {
			return nil, err
		}
		idx := -1
		for i, r := range seq.Content {
			if yamledit.RefersTo(hostnameOf(r), v) {
				idx = i
				break
			}
		}
		if idx < 0 {
			return text, nil
		}
		out, err := yamledit.RemoveItem(text, seq, idx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		err = yamledit.VerifyEdit(what, text, out, yamledit.EditList(doc, []yamledit.PathKey{"ingress"}, func(list []any) []any {
			return append(list[:idx:idx], list[idx+1:]...)
		}))
		if err != nil {
			return nil, err
		}
		text = out
	}
}

// ServiceURL is the in-cluster address a tunnel rule sends traffic to.
func ServiceURL(name, namespace string, port int) string {
	return fmt.Sprintf("http://%s.%s.svc.cluster.local:%d", name, namespace, port)
}

// AddRule adds the ingress rule "hostname → service" to a cloudflared
// config, in the file's own style: indented like its rules, the hostname
// quoted like theirs. The rule goes before the first rule that would
// otherwise catch the hostname (a wildcard such as *.${SECRET_DOMAIN}, since
// cloudflared takes the first match), and always before the catch-all,
// which stays last. A config without a catch-all is refused; a rule for the
// hostname that already sends it to service changes nothing, and one that
// sends it elsewhere is an error. what names the config in messages.
func AddRule(text []byte, hostname, service, what string) ([]byte, error) {
	doc, seq, err := ingressOf(text, what)
	if err != nil {
		return nil, err
	}
	n := len(seq.Content)
	if n == 0 || yamledit.MapGet(seq.Content[n-1], "hostname") != nil || yamledit.MapGet(seq.Content[n-1], "service") == nil {
		return nil, fmt.Errorf("%s does not end with a catch-all rule (- service: http_status:404): cloudflared refuses such a config, and gen would not know where the new rule goes; add the catch-all first", what)
	}
	at := n - 1
	style := yaml.Style(0)
	for i, r := range seq.Content[:n-1] {
		hn := yamledit.MapGet(r, "hostname")
		h := yamledit.ScalarOf(hn)
		if h == hostname {
			if got := yamledit.ScalarOf(yamledit.MapGet(r, "service")); got != service {
				return nil, fmt.Errorf("%s already sends %s to %s; remove that rule, or choose another --host", what, hostname, got)
			}
			if p := yamledit.ScalarOf(yamledit.MapGet(r, "path")); p != "" {
				return nil, fmt.Errorf("%s has a rule for %s limited to path %s; add the rule by hand", what, hostname, p)
			}
			return text, nil
		}
		if hn != nil && style == 0 {
			style = hn.Style
		}
		if i < at && hostnameMatches(h, hostname) && yamledit.ScalarOf(yamledit.MapGet(r, "path")) == "" {
			at = i
		}
	}
	lines := yamledit.SplitLines(text)
	start, _, err := yamledit.BlockItemRange(lines, seq, at)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// Comments just above the rule the new one goes before belong to it.
	for start > 0 && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") && yamledit.IndentOf(lines[start-1]) == seq.Column-1 {
		start--
	}
	pad := strings.Repeat(" ", seq.Column-1)
	keyPad := pad + "  "
	if first := seq.Content[0]; first.Kind == yaml.MappingNode && len(first.Content) > 0 {
		keyPad = strings.Repeat(" ", first.Content[0].Column-1)
	}
	rule := []string{
		pad + "-" + keyPad[len(pad)+1:] + "hostname: " + quoteLike(style, hostname) + "\n",
		keyPad + "service: " + service + "\n",
	}
	out := yamledit.JoinLines(yamledit.InsertLines(lines, start, rule))
	err = yamledit.VerifyEdit(what, text, out, yamledit.EditList(doc, []yamledit.PathKey{"ingress"}, func(list []any) []any {
		res := append([]any(nil), list[:at]...)
		res = append(res, map[string]any{"hostname": hostname, "service": service})
		return append(res, list[at:]...)
	}))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// hostnameMatches reports whether an ingress rule's hostname pattern
// catches host: equal, or a "*." wildcard over one or more labels.
func hostnameMatches(pattern, host string) bool {
	if pattern == "" {
		return false
	}
	if pattern == host {
		return true
	}
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+rest)
	}
	return false
}
