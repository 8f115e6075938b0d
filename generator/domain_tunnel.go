package generator

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gen-gitops/gen/internal/repo"
)

// topLevelIngress finds the ingress: key of a cloudflared config.
var topLevelIngress = regexp.MustCompile(`(?m)^ingress:`)

// tunnelConfig is a cloudflared configuration: a plain config.yaml file
// (Path nil), or a YAML document held in a string of a HelmRelease's values
// (Path leads from the document root to that string).
type tunnelConfig struct {
	File string
	Doc  int
	Path []pathKey
	What string
}

// tunnelConfigs finds every cloudflared configuration by content: a string
// in a HelmRelease's values, or a document with no kind, that holds an
// `ingress:` list. A string that mentions ingress rules but does not parse
// is an error.
func (e *domainEdit) tunnelConfigs() ([]tunnelConfig, error) {
	var out []tunnelConfig
	var firstErr error
	e.eachDoc("HelmRelease", "helm.toolkit.fluxcd.io", func(f string, i int, d *yaml.Node) {
		var walk func(n *yaml.Node, p []pathKey)
		walk = func(n *yaml.Node, p []pathKey) {
			switch n.Kind {
			case yaml.MappingNode:
				for k := 0; k+1 < len(n.Content); k += 2 {
					walk(n.Content[k+1], append(append([]pathKey(nil), p...), n.Content[k].Value))
				}
			case yaml.SequenceNode:
				for k, c := range n.Content {
					walk(c, append(append([]pathKey(nil), p...), k))
				}
			case yaml.ScalarNode:
				if !topLevelIngress.MatchString(n.Value) {
					return
				}
				what := fmt.Sprintf("the cloudflared config in HelmRelease %s (%s)", objName(d), pathString(p))
				docs, err := parseStream([]byte(n.Value))
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("%s in %q does not parse as YAML: %v; fix it before onboarding", what, f, err)
					}
					return
				}
				for _, inner := range docs {
					if isTunnelConfig(inner) {
						out = append(out, tunnelConfig{File: f, Doc: i, Path: p, What: what})
						return
					}
				}
			}
		}
		if values := nodeAt(d, "spec", "values"); values != nil {
			walk(values, []pathKey{"spec", "values"})
		}
	})
	for _, f := range e.yamlFiles() {
		data := e.read(f)
		if !topLevelIngress.Match(data) || !strings.Contains(string(data), "service:") {
			continue
		}
		docs, err := parseStream(data)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%q looks like a cloudflared config (a top-level ingress: list) but does not parse as YAML: %v; fix it before onboarding", f, err)
			}
			continue
		}
		for i, d := range docs {
			if isTunnelConfig(d) {
				out = append(out, tunnelConfig{File: f, Doc: i, What: "the cloudflared config"})
			}
		}
	}
	return out, firstErr
}

func pathString(p []pathKey) string {
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
	if d == nil || d.Kind != yaml.MappingNode || mapGet(d, "kind") != nil || mapGet(d, "apiVersion") != nil {
		return false
	}
	ing := mapGet(d, "ingress")
	if ing == nil || ing.Kind != yaml.SequenceNode {
		return false
	}
	for _, r := range ing.Content {
		if mapGet(r, "service") != nil {
			return true
		}
	}
	return len(ing.Content) == 0
}

func (e *domainEdit) addTunnelRules() error {
	return e.editTunnelConfigs(func(text []byte, what string) ([]byte, error) {
		return addIngressRules(text, e.v, what)
	})
}

func (e *domainEdit) removeTunnelRules() error {
	return e.editTunnelConfigs(func(text []byte, what string) ([]byte, error) {
		return removeIngressRules(text, e.v, what)
	})
}

// editTunnelConfigs applies edit to every cloudflared config; an embedded
// one is taken out of its string, edited, and written back into the same
// block scalar at the same indentation.
func (e *domainEdit) editTunnelConfigs(edit func(text []byte, what string) ([]byte, error)) error {
	configs, err := e.tunnelConfigs()
	if err != nil {
		return err
	}
	for _, c := range configs {
		data, docs, err := e.docsOf(c.File)
		if err != nil {
			return err
		}
		if c.Path == nil {
			out, err := edit(data, fmt.Sprintf("%s %q", c.What, c.File))
			if err != nil {
				return err
			}
			e.write(c.File, out)
			continue
		}
		n := nodeByPath(docs[c.Doc], c.Path)
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
		err = verifyEdit(c.File, data, out, func(docs []any) ([]any, error) {
			nd, err := setPath(docs[c.Doc], c.Path, want)
			if err != nil {
				return nil, err
			}
			out := append([]any(nil), docs...)
			out[c.Doc] = nd
			return out, nil
		})
		if err != nil {
			return err
		}
		e.write(c.File, out)
	}
	return nil
}

// replaceBlockScalar writes value into the literal block scalar n of data,
// indented as its current content is.
func replaceBlockScalar(data []byte, n *yaml.Node, value string) ([]byte, error) {
	if n.Style&yaml.LiteralStyle == 0 {
		return nil, fmt.Errorf("the config is not a literal block string (|); gen edits it only in that form")
	}
	lines := splitLines(data)
	hl := n.Line - 1
	if hl >= len(lines) {
		return nil, fmt.Errorf("line %d: out of range", n.Line)
	}
	hdr := lines[hl]
	col := offsetOf([]byte(hdr), 1, n.Column)
	header := strings.TrimSpace(hdr[col:])
	if i := strings.Index(header, " #"); i >= 0 {
		header = header[:i]
	}
	if !strings.HasPrefix(header, "|") || strings.ContainsAny(header, "0123456789") {
		return nil, fmt.Errorf("line %d: block header %q: gen edits only | blocks without an indentation digit", n.Line, header)
	}
	parent := indentOf(hdr)
	start := hl + 1
	ci := -1
	for l := start; l < len(lines); l++ {
		if strings.TrimSpace(lines[l]) == "" {
			continue
		}
		if indentOf(lines[l]) > parent {
			ci = indentOf(lines[l])
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
		if indentOf(lines[l]) < ci {
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
	return joinLines(out), nil
}

// ingressOf finds the ingress list of a cloudflared config.
func ingressOf(text []byte, what string) (int, *yaml.Node, error) {
	docs, err := parseStream(text)
	if err != nil {
		return 0, nil, fmt.Errorf("%s does not parse as YAML: %v", what, err)
	}
	for i, d := range docs {
		if !isTunnelConfig(d) {
			continue
		}
		seq := mapGet(d, "ingress")
		if isFlow(seq) {
			return 0, nil, fmt.Errorf("%s writes ingress as a flow list; gen edits block lists only: add the rules by hand or --skip cloudflare-tunnel", what)
		}
		return i, seq, nil
	}
	return 0, nil, fmt.Errorf("%s has no ingress list", what)
}

// hostnameOf returns a rule's hostname ("" for the catch-all).
func hostnameOf(rule *yaml.Node) string { return scalarOf(mapGet(rule, "hostname")) }

// addIngressRules inserts the apex and wildcard rules for v before the
// catch-all, copied from the rules of another domain variable: its apex and
// wildcard rules when it has both, or its one rule with the hostname
// changed (a stock repository has only the wildcard rule).
func addIngressRules(text []byte, v, what string) ([]byte, error) {
	doc, seq, err := ingressOf(text, what)
	if err != nil {
		return nil, err
	}
	n := len(seq.Content)
	if n == 0 || mapGet(seq.Content[n-1], "hostname") != nil || mapGet(seq.Content[n-1], "service") == nil {
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
		dv := domainVarOf(mapGet(r, "hostname"), repo.IsDomainVar)
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
	lines := splitLines(text)
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
	at, _, err := blockItemRange(lines, seq, n-1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// Comments just above the catch-all belong to it.
	for at > 0 && strings.HasPrefix(strings.TrimSpace(lines[at-1]), "#") && indentOf(lines[at-1]) == seq.Column-1 {
		at--
	}
	out := joinLines(insertLines(lines, at, add))
	err = verifyEdit(what, text, out, editList(doc, []pathKey{"ingress"}, func(list []any) []any {
		res := append([]any(nil), list[:n-1]...)
		for _, m := range news {
			rule, _ := substAny(list[m.src], from, v).(map[string]any)
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
	start, end, err := blockItemRange(lines, seq, i)
	if err != nil {
		return nil, err
	}
	src := append([]string(nil), lines[start:end]...)
	item := seq.Content[i]
	if item.Kind != yaml.MappingNode || item.Anchor != "" {
		return nil, fmt.Errorf("line %d: the rule to copy is not a plain mapping; add the rules by hand", item.Line)
	}
	hn := mapGet(item, "hostname")
	if hn == nil || hn.Anchor != "" || hn.Line-1 < start || hn.Line-1 >= end {
		return nil, fmt.Errorf("line %d: cannot place the hostname of the rule to copy", item.Line)
	}
	li := hn.Line - 1 - start
	line := src[li]
	col := offsetOf([]byte(line), 1, hn.Column)
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
		col := offsetOf([]byte(line), 1, n.Column)
		if !strings.HasPrefix(line[col:], "&"+n.Anchor) {
			anchorErr = fmt.Errorf("line %d: cannot place the anchor &%s", n.Line, n.Anchor)
			return
		}
		vs := col + 1 + len(n.Anchor)
		for vs < len(line) && line[vs] == ' ' {
			vs++
		}
		if refersTo(n.Value, from) {
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
	return cloneLines(src, from, to), nil
}

// scalarTextEnd returns where the one-line scalar starting at off of line
// ends: after its closing quote, or before a comment or the line's end.
func scalarTextEnd(line string, off int) (int, error) {
	if off < len(line) && (line[off] == '"' || line[off] == '\'') {
		end, err := flowEnd([]byte(line), off)
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

// removeIngressRules removes every rule whose hostname refers to v.
func removeIngressRules(text []byte, v, what string) ([]byte, error) {
	for {
		doc, seq, err := ingressOf(text, what)
		if err != nil {
			return nil, err
		}
		idx := -1
		for i, r := range seq.Content {
			if refersTo(hostnameOf(r), v) {
				idx = i
				break
			}
		}
		if idx < 0 {
			return text, nil
		}
		out, err := removeItem(text, seq, idx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		err = verifyEdit(what, text, out, editList(doc, []pathKey{"ingress"}, func(list []any) []any {
			return append(list[:idx:idx], list[idx+1:]...)
		}))
		if err != nil {
			return nil, err
		}
		text = out
	}
}
