package livetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// RenderAppTemplate renders, from HelmRelease values (after Flux's
// substitution), the Deployments, Services and HTTPRoutes the bjw-s
// app-template chart 4.x renders for a release of that name. It is a model
// of the chart, written for these tests from the chart's documented
// behaviour and its templates' observable rules, limited to what gen
// promote writes: deployment controllers, custom probes, and the
// persistence, service and route forms gen uses. Anything outside that
// is an error, so a test can never pass on a guess.
//
// The rules it follows:
//   - names: the release's for a single controller/service/route, else
//     release-identifier;
//   - Deployment: revisionHistoryLimit 3 and replicas 1 unless set,
//     strategy Recreate unless set, rollingUpdate only for RollingUpdate
//     with surge or unavailable;
//   - pod labels app.kubernetes.io/{controller,name,instance}, pod options
//     from controllers.<id>.pod (empty values left out, booleans kept),
//     enableServiceLinks false and automountServiceAccountToken true by
//     default, serviceAccountName "default" unless serviceAccount.name,
//     dnsPolicy ClusterFirst (ClusterFirstWithHostNet with hostNetwork)
//     unless set, hostIPC/hostNetwork/hostPID false by default;
//   - containers named by identifier, ordered by Kahn's algorithm over
//     dependsOn taking ready names alphabetically;
//   - env: a map rendered sorted by name (value, or valueFrom), a list
//     kept in order; envFrom keeps name and prefix;
//   - probes with custom: true render their spec;
//   - volumes from persistence, sorted by identifier, mounted by
//     globalMounts everywhere or advancedMounts where listed;
//   - Service ports sorted by name, targetPort defaulting to port,
//     protocol TCP unless UDP; selector controller/name/instance;
//   - HTTPRoute parentRefs and backendRefs with their defaults spelled
//     out, hostnames through tpl.
func RenderAppTemplate(release string, values map[string]any) ([]*unstructured.Unstructured, error) {
	m := &model{release: release, values: values}
	return m.render()
}

type model struct {
	release string
	values  map[string]any
}

func (m *model) render() ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	ctrls, _ := m.values["controllers"].(map[string]any)
	ids := keys(ctrls)
	for _, id := range ids {
		c, _ := ctrls[id].(map[string]any)
		if t, ok := c["type"]; ok && t != "deployment" {
			return nil, fmt.Errorf("controller %s: type %v is outside the model", id, t)
		}
		d, err := m.deployment(id, c, len(ids))
		if err != nil {
			return nil, fmt.Errorf("controller %s: %w", id, err)
		}
		out = append(out, d)
	}
	svcs, _ := m.values["service"].(map[string]any)
	for _, id := range keys(svcs) {
		s, err := m.service(id, svcs[id].(map[string]any), len(svcs), ids)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", id, err)
		}
		out = append(out, s)
	}
	routes, _ := m.values["route"].(map[string]any)
	for _, id := range keys(routes) {
		r, err := m.route(id, routes[id].(map[string]any), len(routes), svcs)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", id, err)
		}
		out = append(out, r)
	}
	for k := range m.values {
		switch k {
		case "controllers", "service", "route", "persistence":
		default:
			return nil, fmt.Errorf("values key %s is outside the model", k)
		}
	}
	return out, nil
}

func name(release, id string, count int) string {
	if count <= 1 || id == release || strings.HasSuffix(release, "-"+id) {
		return release
	}
	return release + "-" + id
}

// tpl evaluates the two template actions gen writes: the release name and
// an escaped "{{".
func (m *model) tpl(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "{{ .Release.Name }}"):
			b.WriteString(m.release)
			s = rest[len("{{ .Release.Name }}"):]
		case strings.HasPrefix(rest, `{{ "{{" }}`):
			b.WriteString("{{")
			s = rest[len(`{{ "{{" }}`):]
		default:
			return "", fmt.Errorf("template action in %q is outside the model", s)
		}
	}
}

// tplAll evaluates every string of v.
func (m *model) tplAll(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return m.tpl(x)
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			t, err := m.tplAll(val)
			if err != nil {
				return nil, err
			}
			out[k] = t
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			t, err := m.tplAll(val)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	}
	return v, nil
}

func (m *model) selectorLabels() map[string]any {
	return map[string]any{"app.kubernetes.io/name": m.release, "app.kubernetes.io/instance": m.release}
}

var podOptionKeys = []string{
	"affinity", "automountServiceAccountToken", "dnsConfig", "dnsPolicy", "enableServiceLinks", "hostAliases",
	"hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname", "imagePullSecrets", "nodeSelector",
	"priorityClassName", "resources", "restartPolicy", "runtimeClassName", "schedulerName", "securityContext",
	"shareProcessNamespace", "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints",
}

func (m *model) deployment(id string, c map[string]any, count int) (*unstructured.Unstructured, error) {
	for k := range c {
		switch k {
		case "type", "replicas", "strategy", "rollingUpdate", "revisionHistoryLimit", "labels", "annotations", "serviceAccount", "pod", "containers", "initContainers":
		default:
			return nil, fmt.Errorf("key %s is outside the model", k)
		}
	}
	spec := map[string]any{"revisionHistoryLimit": int64(3), "replicas": int64(1)}
	if v, ok := c["revisionHistoryLimit"]; ok {
		spec["revisionHistoryLimit"] = v
	}
	if v, ok := c["replicas"]; ok {
		spec["replicas"] = v
	}
	strategy, _ := c["strategy"].(string)
	if strategy == "" {
		strategy = "Recreate"
	}
	st := map[string]any{"type": strategy}
	if ru, ok := c["rollingUpdate"].(map[string]any); ok && strategy == "RollingUpdate" {
		r := map[string]any{}
		if v := ru["unavailable"]; truthy(v) {
			r["maxUnavailable"] = v
		}
		if v := ru["surge"]; truthy(v) {
			r["maxSurge"] = v
		}
		if len(r) > 0 {
			st["rollingUpdate"] = r
		}
	}
	spec["strategy"] = st
	sel := m.selectorLabels()
	sel["app.kubernetes.io/controller"] = id
	spec["selector"] = map[string]any{"matchLabels": sel}
	pod, _ := c["pod"].(map[string]any)
	podLabels := m.selectorLabels()
	podLabels["app.kubernetes.io/controller"] = id
	if l, ok := pod["labels"].(map[string]any); ok {
		for k, v := range l {
			podLabels[k] = v
		}
	}
	tmeta := map[string]any{"labels": podLabels}
	if a, ok := pod["annotations"].(map[string]any); ok && len(a) > 0 {
		t, err := m.tplAll(a)
		if err != nil {
			return nil, err
		}
		tmeta["annotations"] = t
	}
	ps := map[string]any{
		"enableServiceLinks": false, "automountServiceAccountToken": true, "serviceAccountName": "default",
		"hostIPC": false, "hostNetwork": false, "hostPID": false, "dnsPolicy": "ClusterFirst",
	}
	if sa, ok := c["serviceAccount"].(map[string]any); ok {
		if n, ok := sa["name"].(string); ok {
			ps["serviceAccountName"] = n
		}
	}
	for k := range pod {
		if k != "labels" && k != "annotations" && !slices.Contains(podOptionKeys, k) {
			return nil, fmt.Errorf("pod option %s is outside the model", k)
		}
	}
	for _, k := range podOptionKeys {
		v, ok := pod[k]
		if !ok {
			continue
		}
		if _, isBool := v.(bool); isBool {
			ps[k] = v
			continue
		}
		if empty(v) {
			continue
		}
		if k == "affinity" || k == "topologySpreadConstraints" {
			t, err := m.tplAll(v)
			if err != nil {
				return nil, err
			}
			v = t
		}
		ps[k] = v
	}
	if ps["hostNetwork"] == true {
		if _, set := pod["dnsPolicy"]; !set || empty(pod["dnsPolicy"]) {
			ps["dnsPolicy"] = "ClusterFirstWithHostNet"
		}
	}
	for _, field := range []string{"initContainers", "containers"} {
		cs, _ := c[field].(map[string]any)
		if len(cs) == 0 {
			continue
		}
		order, err := kahn(cs)
		if err != nil {
			return nil, err
		}
		var list []any
		for _, cid := range order {
			cont, err := m.container(id, cid, cs[cid].(map[string]any))
			if err != nil {
				return nil, fmt.Errorf("container %s: %w", cid, err)
			}
			list = append(list, cont)
		}
		ps[field] = list
	}
	vols, err := m.volumes(id)
	if err != nil {
		return nil, err
	}
	if len(vols) > 0 {
		ps["volumes"] = vols
	}
	spec["template"] = map[string]any{"metadata": tmeta, "spec": ps}
	meta := map[string]any{"name": name(m.release, id, count)}
	if l, ok := c["labels"].(map[string]any); ok {
		meta["labels"] = l
	}
	if a, ok := c["annotations"].(map[string]any); ok {
		meta["annotations"] = a
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec,
	}}, nil
}

// kahn orders containers: repeatedly the alphabetically first one whose
// dependsOn are all placed.
func kahn(cs map[string]any) ([]string, error) {
	deps := map[string][]string{}
	for id, v := range cs {
		c, _ := v.(map[string]any)
		switch d := c["dependsOn"].(type) {
		case string:
			deps[id] = []string{d}
		case []any:
			for _, x := range d {
				deps[id] = append(deps[id], fmt.Sprint(x))
			}
		default:
			deps[id] = nil
		}
	}
	var out []string
	placed := map[string]bool{}
	for len(out) < len(cs) {
		next := ""
		for _, id := range keys(cs) {
			if placed[id] {
				continue
			}
			ready := true
			for _, d := range deps[id] {
				if !placed[d] {
					ready = false
				}
			}
			if ready {
				next = id
				break
			}
		}
		if next == "" {
			return nil, fmt.Errorf("dependsOn has a cycle")
		}
		placed[next] = true
		out = append(out, next)
	}
	return out, nil
}

var containerKeys = []string{"image", "command", "args", "workingDir", "env", "envFrom", "ports", "probes", "resources",
	"securityContext", "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "restartPolicy", "stdin", "tty", "dependsOn"}

func (m *model) container(ctrl, id string, c map[string]any) (map[string]any, error) {
	for k := range c {
		if !slices.Contains(containerKeys, k) {
			return nil, fmt.Errorf("key %s is outside the model", k)
		}
	}
	out := map[string]any{"name": id}
	img, _ := c["image"].(map[string]any)
	repo, _ := img["repository"].(string)
	tag, err := m.tpl(fmt.Sprint(img["tag"]))
	if err != nil {
		return nil, err
	}
	if repo == "" || tag == "" {
		return nil, fmt.Errorf("image needs repository and tag")
	}
	out["image"] = repo + ":" + tag
	if pp, ok := img["pullPolicy"]; ok && truthy(pp) {
		out["imagePullPolicy"] = pp
	}
	for _, k := range []string{"command", "args"} {
		switch v := c[k].(type) {
		case string:
			out[k] = []any{v}
		case []any:
			if len(v) > 0 {
				out[k] = v
			}
		}
	}
	for _, k := range []string{"workingDir", "securityContext", "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "ports", "resources", "restartPolicy", "stdin", "tty"} {
		if v, ok := c[k]; ok && truthy(v) {
			out[k] = v
		}
	}
	if env, err := m.env(c["env"]); err != nil {
		return nil, err
	} else if len(env) > 0 {
		out["env"] = env
	}
	if ef, ok := c["envFrom"].([]any); ok && len(ef) > 0 {
		var list []any
		for _, e := range ef {
			em := e.(map[string]any)
			item := map[string]any{}
			for _, k := range []string{"configMapRef", "secretRef"} {
				if r, ok := em[k].(map[string]any); ok {
					n, err := m.tpl(fmt.Sprint(r["name"]))
					if err != nil {
						return nil, err
					}
					item[k] = map[string]any{"name": n}
				}
			}
			for k := range em {
				if k != "configMapRef" && k != "secretRef" && k != "prefix" {
					return nil, fmt.Errorf("envFrom.%s is outside the model", k)
				}
			}
			if p, ok := em["prefix"]; ok && truthy(p) {
				item["prefix"] = p
			}
			list = append(list, item)
		}
		out["envFrom"] = list
	}
	if probes, ok := c["probes"].(map[string]any); ok {
		for _, pn := range keys(probes) {
			p := probes[pn].(map[string]any)
			if p["enabled"] != true {
				continue
			}
			if p["custom"] != true {
				return nil, fmt.Errorf("probe %s: only custom probes are in the model", pn)
			}
			spec, err := m.tplAll(p["spec"])
			if err != nil {
				return nil, err
			}
			out[pn+"Probe"] = spec
		}
	}
	mounts, err := m.mounts(ctrl, id)
	if err != nil {
		return nil, err
	}
	if len(mounts) > 0 {
		out["volumeMounts"] = mounts
	}
	return out, nil
}

func (m *model) env(v any) ([]any, error) {
	switch env := v.(type) {
	case nil:
		return nil, nil
	case []any:
		var out []any
		for _, e := range env {
			em := e.(map[string]any)
			item := map[string]any{"name": em["name"]}
			if val, ok := em["value"]; ok {
				s, err := m.tpl(fmt.Sprint(val))
				if err != nil {
					return nil, err
				}
				item["value"] = s
			} else if vf, ok := em["valueFrom"]; ok {
				t, err := m.tplAll(vf)
				if err != nil {
					return nil, err
				}
				item["valueFrom"] = t
			}
			out = append(out, item)
		}
		return out, nil
	case map[string]any:
		var out []any
		for _, k := range keys(env) {
			item := map[string]any{"name": k}
			switch val := env[k].(type) {
			case map[string]any:
				if vf, ok := val["valueFrom"]; ok {
					t, err := m.tplAll(vf)
					if err != nil {
						return nil, err
					}
					item["valueFrom"] = t
				} else if x, ok := val["value"]; ok {
					s, err := m.tpl(fmt.Sprint(x))
					if err != nil {
						return nil, err
					}
					item["value"] = s
				} else {
					return nil, fmt.Errorf("env %s: form outside the model", k)
				}
			default:
				s, err := m.tpl(fmt.Sprint(val))
				if err != nil {
					return nil, err
				}
				item["value"] = s
			}
			out = append(out, item)
		}
		return out, nil
	}
	return nil, fmt.Errorf("env of type %T is outside the model", v)
}

func (m *model) persistence() map[string]any {
	p, _ := m.values["persistence"].(map[string]any)
	return p
}

func (m *model) mounts(ctrl, container string) ([]any, error) {
	var out []any
	for _, id := range keys(m.persistence()) {
		item := m.persistence()[id].(map[string]any)
		global, _ := item["globalMounts"].([]any)
		adv, _ := item["advancedMounts"].(map[string]any)
		var list []any
		if len(global) == 0 && len(adv) == 0 {
			list = []any{map[string]any{}}
		}
		list = append(list, global...)
		if cm, ok := adv[ctrl].(map[string]any); ok {
			if l, ok := cm[container].([]any); ok {
				list = append(list, l...)
			}
		}
		for _, x := range list {
			mm := x.(map[string]any)
			mount := map[string]any{"name": id, "mountPath": "/" + id}
			if item["type"] == "hostPath" {
				mount["mountPath"] = item["hostPath"]
			}
			if p, ok := mm["path"]; ok && truthy(p) {
				mount["mountPath"] = p
			}
			for _, k := range []string{"subPath", "subPathExpr", "readOnly", "mountPropagation"} {
				if v, ok := mm[k]; ok && truthy(v) {
					mount[k] = v
				}
			}
			out = append(out, mount)
		}
	}
	return out, nil
}

func (m *model) volumes(ctrl string) ([]any, error) {
	var out []any
	for _, id := range keys(m.persistence()) {
		item := m.persistence()[id].(map[string]any)
		global, _ := item["globalMounts"].([]any)
		adv, _ := item["advancedMounts"].(map[string]any)
		here, _ := adv[ctrl].(map[string]any)
		if !(len(global) > 0 || (len(adv) > 0 && len(here) > 0) || (len(global) == 0 && len(adv) == 0)) {
			continue
		}
		vol := map[string]any{"name": id}
		typ, _ := item["type"].(string)
		switch typ {
		case "", "persistentVolumeClaim":
			claim, ok := item["existingClaim"]
			if !ok {
				return nil, fmt.Errorf("persistence %s: only existingClaim is in the model", id)
			}
			vol["persistentVolumeClaim"] = map[string]any{"claimName": claim}
		case "configMap", "secret":
			n, err := m.tpl(fmt.Sprint(item["name"]))
			if err != nil {
				return nil, err
			}
			src := map[string]any{}
			if typ == "configMap" {
				src["name"] = n
			} else {
				src["secretName"] = n
			}
			if v, ok := item["defaultMode"]; ok && truthy(v) {
				src["defaultMode"] = v
			}
			if v, ok := item["items"]; ok && truthy(v) {
				src["items"] = v
			}
			vol[typ] = src
		case "emptyDir":
			src := map[string]any{}
			for _, k := range []string{"medium", "sizeLimit"} {
				if v, ok := item[k]; ok && truthy(v) {
					src[k] = v
				}
			}
			vol["emptyDir"] = src
		case "hostPath":
			src := map[string]any{"path": item["hostPath"]}
			if v, ok := item["hostPathType"]; ok && truthy(v) {
				src["type"] = v
			}
			vol["hostPath"] = src
		case "nfs":
			vol["nfs"] = map[string]any{"server": item["server"], "path": item["path"]}
		case "custom":
			spec, _ := item["volumeSpec"].(map[string]any)
			for k, v := range spec {
				vol[k] = v
			}
			vol["name"] = id
		default:
			return nil, fmt.Errorf("persistence %s: type %s is outside the model", id, typ)
		}
		out = append(out, vol)
	}
	return out, nil
}

func (m *model) service(id string, s map[string]any, count int, ctrls []string) (*unstructured.Unstructured, error) {
	ctrl, _ := s["controller"].(string)
	if ctrl == "" {
		if len(ctrls) != 1 {
			return nil, fmt.Errorf("controller is required with several controllers")
		}
		ctrl = ctrls[0]
	}
	spec := map[string]any{}
	typ, _ := s["type"].(string)
	if typ == "" {
		typ = "ClusterIP"
	}
	spec["type"] = typ
	for k, v := range s {
		switch k {
		case "controller", "type", "ports", "labels", "annotations":
		case "clusterIP":
			if typ == "ClusterIP" && truthy(v) {
				spec[k] = v
			}
		default:
			if truthy(v) || isBool(v) {
				spec[k] = v
			}
		}
	}
	var ports []any
	pm, _ := s["ports"].(map[string]any)
	for _, pn := range keys(pm) {
		p := pm[pn].(map[string]any)
		port := map[string]any{"name": pn, "port": p["port"], "targetPort": p["port"], "protocol": "TCP"}
		if tp, ok := p["targetPort"]; ok && truthy(tp) {
			port["targetPort"] = tp
		}
		if pr, ok := p["protocol"].(string); ok && pr != "" && pr != "HTTP" && pr != "HTTPS" && pr != "TCP" {
			port["protocol"] = pr
		}
		if ap, ok := p["appProtocol"]; ok && truthy(ap) {
			port["appProtocol"] = ap
		}
		ports = append(ports, port)
	}
	spec["ports"] = ports
	sel := m.selectorLabels()
	sel["app.kubernetes.io/controller"] = ctrl
	spec["selector"] = sel
	meta := map[string]any{"name": name(m.release, id, count)}
	if a, ok := s["annotations"].(map[string]any); ok {
		meta["annotations"] = a
	}
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}}, nil
}

func (m *model) route(id string, r map[string]any, count int, svcs map[string]any) (*unstructured.Unstructured, error) {
	spec := map[string]any{}
	var parents []any
	for _, p := range r["parentRefs"].([]any) {
		pm := p.(map[string]any)
		ref := map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": pm["name"], "namespace": pm["namespace"]}
		for _, k := range []string{"group", "kind"} {
			if v, ok := pm[k]; ok && truthy(v) {
				ref[k] = v
			}
		}
		for _, k := range []string{"sectionName", "port"} {
			if v, ok := pm[k]; ok && truthy(v) {
				ref[k] = v
			}
		}
		if ref["namespace"] == nil {
			return nil, fmt.Errorf("parentRef %v has no namespace, which the chart requires", pm["name"])
		}
		parents = append(parents, ref)
	}
	spec["parentRefs"] = parents
	if hs, ok := r["hostnames"].([]any); ok && len(hs) > 0 {
		var out []any
		for _, h := range hs {
			s, err := m.tpl(fmt.Sprint(h))
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		spec["hostnames"] = out
	}
	var rules []any
	for _, ru := range r["rules"].([]any) {
		rm := ru.(map[string]any)
		rule := map[string]any{}
		var backends []any
		for _, b := range rm["backendRefs"].([]any) {
			bm := b.(map[string]any)
			svcName := ""
			if n, ok := bm["name"].(string); ok && n != "" {
				svcName = n
			} else if ident, ok := bm["identifier"].(string); ok {
				if _, ok := svcs[ident]; !ok {
					return nil, fmt.Errorf("no service %s", ident)
				}
				svcName = name(m.release, ident, len(svcs))
			}
			ref := map[string]any{"group": "", "kind": "Service", "name": svcName, "port": bm["port"], "weight": int64(1)}
			for _, k := range []string{"group", "kind", "namespace", "weight"} {
				if v, ok := bm[k]; ok {
					ref[k] = v
				}
			}
			backends = append(backends, ref)
		}
		rule["backendRefs"] = backends
		for _, k := range []string{"matches", "filters", "timeouts", "sessionPersistence"} {
			if v, ok := rm[k]; ok && truthy(v) {
				rule[k] = v
			}
		}
		rules = append(rules, rule)
	}
	spec["rules"] = rules
	meta := map[string]any{"name": name(m.release, id, count)}
	if a, ok := r["annotations"].(map[string]any); ok {
		meta["annotations"] = a
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": meta, "spec": spec,
	}}, nil
}

func keys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// truthy is Go template truth, which the chart's `with` and `if` use.
func truthy(v any) bool { return !empty(v) }

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case int64:
		return x == 0
	case int:
		return x == 0
	case float64:
		return x == 0
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func isBool(v any) bool { _, ok := v.(bool); return ok }
