package promote

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/distribution/reference"
	"github.com/gen-gitops/gen/generator/internal/yamlnode"
	"github.com/gen-gitops/gen/generator/scratch"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// The mapping below follows app-template 4.x (the bjw-s common library):
//   - a container's name is its identifier; containers and initContainers
//     are ordered by a topological sort on dependsOn that takes names in
//     alphabetical order, so dependsOn chains keep any other order;
//   - env given as a map is rendered sorted by name, as a list in order;
//   - a probe with custom: true renders its spec as is;
//   - volumes come from persistence items, named by their identifier and
//     rendered sorted; advancedMounts mount one into chosen containers;
//   - a Deployment's strategy defaults to Recreate, replicas to 1;
//   - a controller's pod options (controllers.<id>.pod) are rendered as
//     the pod spec fields of the same name; enableServiceLinks defaults to
//     false;
//   - env values, probe specs, persistence names, hostnames, affinity and
//     topologySpreadConstraints, labels and annotations go through Helm's
//     tpl, so a literal "{{" is escaped.
// Only fields the chart's values schema accepts are used; anything else
// keeps the object a plain manifest, with the reason in the output.

// podOptions are the pod spec fields app-template sets from pod options.
var podOptions = map[string]bool{
	"affinity": true, "automountServiceAccountToken": true, "dnsConfig": true, "dnsPolicy": true,
	"enableServiceLinks": true, "hostAliases": true, "hostIPC": true, "hostNetwork": true, "hostPID": true,
	"hostUsers": true, "hostname": true, "imagePullSecrets": true, "nodeSelector": true, "priorityClassName": true,
	"runtimeClassName": true, "schedulerName": true, "securityContext": true, "shareProcessNamespace": true,
	"terminationGracePeriodSeconds": true, "tolerations": true, "topologySpreadConstraints": true, "resources": true,
}

// tplPodOptions go through Helm's tpl.
var tplPodOptions = map[string]bool{"affinity": true, "topologySpreadConstraints": true}

// containerFields are the container fields app-template renders.
var containerFields = map[string]bool{
	"name": true, "image": true, "imagePullPolicy": true, "command": true, "args": true, "workingDir": true,
	"env": true, "envFrom": true, "ports": true, "livenessProbe": true, "readinessProbe": true, "startupProbe": true,
	"resources": true, "securityContext": true, "lifecycle": true, "terminationMessagePath": true,
	"terminationMessagePolicy": true, "restartPolicy": true, "stdin": true, "tty": true, "volumeMounts": true,
}

// controllerPlan is one Deployment mapped to an app-template controller.
type controllerPlan struct {
	dep *unstructured.Unstructured
	id  string
	// name is the Deployment name app-template renders.
	name string
	// template labels of the scratch pods, to match Service selectors.
	podLabels map[string]string
	values    *yaml.Node
	volumes   map[string]map[string]any
	// mounts: volume → container → mounts
	mounts map[string]map[string][]any
	// containers lists every container identifier (init and regular).
	containers []string
}

// persistItem is one persistence value, shared by controllers.
type persistItem struct {
	volume map[string]any
	// mounts: controller → container → mounts
	mounts map[string]map[string][]any
}

// helm maps Deployments, Services and HTTPRoutes to app-template values
// (in helm mode). Objects it cannot express stay in p.deployments,
// p.services and p.routes for raw(), which writes them as manifests.
func (p *promoter) helm() error {
	if p.o.Mode != ModeHelm {
		return nil
	}
	p.helmControllers = map[string]*controllerPlan{}
	if len(p.deployments) == 0 {
		p.keptRaw = append(p.keptRaw, "no Deployment: app-template has nothing to render, every object stays a plain manifest")
		p.cs.Note("no Deployment in the scratch app: wrote plain manifests only")
		return nil
	}
	ids := p.identifiers(p.deployments, p.o.Name)
	var plans []*controllerPlan
	var rawDeps []*unstructured.Unstructured
	for i, d := range p.deployments {
		plan := &controllerPlan{dep: d, id: ids[i]}
		plan.name = renderedName(p.o.Name, plan.id, len(p.deployments))
		if problems := p.mapController(plan); len(problems) > 0 {
			p.keptRaw = append(p.keptRaw, fmt.Sprintf("Deployment/%s: app-template cannot express %s", d.GetName(), strings.Join(problems, ", ")))
			rawDeps = append(rawDeps, d)
			continue
		}
		plans = append(plans, plan)
	}
	persistence, conflicts := mergePersistence(plans)
	if len(conflicts) > 0 {
		// Two controllers mount different volumes under one name: keep
		// the later ones as manifests.
		var keep []*controllerPlan
		for _, pl := range plans {
			if conflicts[pl.id] != "" {
				p.keptRaw = append(p.keptRaw, fmt.Sprintf("Deployment/%s: %s", pl.dep.GetName(), conflicts[pl.id]))
				rawDeps = append(rawDeps, pl.dep)
				continue
			}
			keep = append(keep, pl)
		}
		plans = keep
		persistence, _ = mergePersistence(plans)
	}
	p.deployments = rawDeps
	if len(plans) == 0 {
		return nil
	}
	values := yamlnode.NewMap()
	ctrls := yamlnode.NewMap()
	for _, pl := range plans {
		ctrls.Set(pl.id, pl.values)
		p.helmControllers[pl.dep.GetName()] = pl
		if pl.dep.GetName() != pl.name {
			p.cs.Note("Deployment %s is rendered by app-template as %s", pl.dep.GetName(), pl.name)
		}
	}
	values.Set("controllers", ctrls.Node)
	if svc := p.helmServices(plans); svc != nil {
		values.Set("service", svc)
	}
	if rt := p.helmRoutes(); rt != nil {
		values.Set("route", rt)
	}
	if len(persistence) > 0 {
		values.Set("persistence", persistenceNode(persistence, len(plans) == 1, plans))
	}
	p.values = values.Node
	if err := p.app.Render("ocirepository.yaml", "ocirepository.yaml", map[string]any{
		"SchemaHeaders": p.style.SchemaHeaders, "Name": p.o.Name, "URL": p.style.AppTemplateURL, "Version": p.style.AppTemplateVersion,
	}); err != nil {
		return err
	}
	if err := p.app.Render("helmrelease.yaml", "helmrelease.yaml", map[string]any{
		"SchemaHeaders": p.style.SchemaHeaders, "Name": p.o.Name, "ChartSpec": nil, "Values": p.values,
	}); err != nil {
		return err
	}
	if v, err := semver.NewVersion(p.style.AppTemplateVersion); err != nil || v.Major() != 4 {
		p.cs.Note("the values follow app-template 4.x; this repository pins %s: check them against that version", p.style.AppTemplateVersion)
	}
	return nil
}

// identifiers names controllers (or services, routes): the app name for a
// single object, else each name without the "<app>-" prefix.
func (p *promoter) identifiers(objs []*unstructured.Unstructured, single string) []string {
	if len(objs) == 1 {
		return []string{single}
	}
	out := make([]string, len(objs))
	seen := map[string]bool{}
	for i, o := range objs {
		id := strings.TrimPrefix(o.GetName(), p.o.App+"-")
		if id == "" || o.GetName() == p.o.App {
			id = single
		}
		for seen[id] {
			id += "-" + strconv.Itoa(i)
		}
		seen[id] = true
		out[i] = id
	}
	return out
}

// renderedName is the name app-template gives an object: the release's
// for a single one, else release-identifier.
func renderedName(release, id string, count int) string {
	if count <= 1 || id == release || strings.HasSuffix(release, "-"+id) {
		return release
	}
	return release + "-" + id
}

// mapController builds controllers.<id> for a Deployment and returns what
// it cannot express. It reads the Deployment and changes nothing in it;
// each part of the values comes from one step below, in the order the
// values list them.
func (p *promoter) mapController(pl *controllerPlan) []string {
	d := pl.dep.Object
	spec, _ := d["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	podSpec, _ := tmpl["spec"].(map[string]any)
	tmeta, _ := tmpl["metadata"].(map[string]any)
	pl.podLabels = stringMap(tmeta["labels"])
	ctrl := yamlnode.NewMap()
	problems := deploymentSpecProblems(spec)
	controllerCounts(ctrl, spec)
	problems = append(problems, controllerStrategy(ctrl, spec)...)
	controllerMetadata(ctrl, d)
	if sa, ok := podSpec["serviceAccountName"].(string); ok && sa != "" {
		ctrl.Set("serviceAccount", yamlnode.MapOf("name", yamlnode.Str(sa)))
	}
	pod, podProblems := p.podValues(tmeta, podSpec)
	problems = append(problems, podProblems...)
	if len(pod.Content) > 0 {
		ctrl.Set("pod", pod)
	}
	pl.volumes = podVolumes(podSpec)
	pl.mounts = map[string]map[string][]any{}
	problems = append(problems, p.mapContainers(pl, ctrl, podSpec)...)
	p.dropUnmounted(pl)
	pl.values = ctrl.Node
	return problems
}

// deploymentSpecProblems lists the Deployment spec fields a controller
// cannot carry.
func deploymentSpecProblems(spec map[string]any) []string {
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(spec)) {
		switch k {
		case "replicas", "strategy", "selector", "template", "revisionHistoryLimit":
		default:
			problems = append(problems, "spec."+k)
		}
	}
	return problems
}

// controllerCounts sets replicas and revisionHistoryLimit, as given.
func controllerCounts(ctrl yamlnode.Map, spec map[string]any) {
	if r, ok := spec["replicas"]; ok {
		ctrl.Set("replicas", valueNode(r))
	}
	if rhl, ok := spec["revisionHistoryLimit"]; ok {
		ctrl.Set("revisionHistoryLimit", valueNode(rhl))
	}
}

// controllerStrategy sets the update strategy, spelled out: the chart's
// default (Recreate) is not Kubernetes' (RollingUpdate). A rolling update
// bound of 0 cannot be carried: the chart drops a zero, and Kubernetes
// would then default it to 25%.
func controllerStrategy(ctrl yamlnode.Map, spec map[string]any) []string {
	var problems []string
	st, _ := spec["strategy"].(map[string]any)
	typ, _ := st["type"].(string)
	if typ == "" {
		typ = "RollingUpdate"
	}
	ctrl.Set("strategy", yamlnode.Str(typ))
	ru, ok := st["rollingUpdate"].(map[string]any)
	if !ok || typ != "RollingUpdate" {
		return nil
	}
	r := yamlnode.NewMap()
	for _, pair := range [][2]string{{"maxUnavailable", "unavailable"}, {"maxSurge", "surge"}} {
		if v, ok := ru[pair[0]]; ok {
			if equalScalar(v, int64(0)) {
				problems = append(problems, "strategy.rollingUpdate."+pair[0]+": 0")
				continue
			}
			r.Set(pair[1], valueNode(v))
		}
	}
	if len(r.Node.Content) > 0 {
		ctrl.Set("rollingUpdate", r.Node)
	}
	return problems
}

// controllerMetadata sets the Deployment's own labels and annotations.
func controllerMetadata(ctrl yamlnode.Map, d map[string]any) {
	md, ok := d["metadata"].(map[string]any)
	if !ok {
		return
	}
	if l := stringMap(md["labels"]); len(l) > 0 {
		ctrl.Set("labels", tplSafe(yamlnode.StringMap(l)))
	}
	if a := stringMap(md["annotations"]); len(a) > 0 {
		ctrl.Set("annotations", tplSafe(yamlnode.StringMap(a)))
	}
}

// podValues builds controllers.<id>.pod: the pod template's labels (less
// the scratch label) and annotations, and the pod spec fields app-template
// renders from pod options. It notes when the pods relied on Kubernetes
// turning service links on, which the chart turns off.
func (p *promoter) podValues(tmeta, podSpec map[string]any) (*yaml.Node, []string) {
	var problems []string
	pod := yamlnode.NewMap()
	podLabels := stringMap(tmeta["labels"])
	delete(podLabels, scratch.Label)
	if len(podLabels) > 0 {
		pod.Set("labels", tplSafe(yamlnode.StringMap(podLabels)))
	}
	if ann := stringMap(tmeta["annotations"]); len(ann) > 0 {
		pod.Set("annotations", tplSafe(yamlnode.StringMap(ann)))
	}
	for _, k := range slices.Sorted(maps.Keys(tmeta)) {
		if k != "labels" && k != "annotations" {
			problems = append(problems, "spec.template.metadata."+k)
		}
	}
	if _, ok := podSpec["enableServiceLinks"]; !ok {
		p.serviceLinks = true
	}
	fields := podSpec
	if hn, _ := podSpec["hostNetwork"].(bool); hn {
		if _, ok := podSpec["dnsPolicy"]; !ok {
			// The chart turns hostNetwork's DNS to ClusterFirstWithHostNet
			// unless told; Kubernetes keeps ClusterFirst.
			fields = maps.Clone(podSpec)
			fields["dnsPolicy"] = "ClusterFirst"
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		v := fields[k]
		switch {
		case k == "containers" || k == "initContainers" || k == "volumes" || k == "serviceAccountName":
		case k == "serviceAccount":
			// the deprecated twin of serviceAccountName
		case k == "terminationGracePeriodSeconds" && equalScalar(v, int64(0)):
			problems = append(problems, "terminationGracePeriodSeconds: 0")
		case podOptions[k]:
			n := valueNode(v)
			if tplPodOptions[k] {
				n = tplSafe(n)
			}
			pod.Set(k, n)
		default:
			problems = append(problems, "pod field "+k)
		}
	}
	return pod.Node, problems
}

// podVolumes returns the pod's volumes by name, each without its name.
func podVolumes(podSpec map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, v := range listMaps(podSpec["volumes"]) {
		vol := maps.Clone(v)
		delete(vol, "name")
		out[str0(v["name"])] = vol
	}
	return out
}

// mapContainers sets initContainers and containers, each by name, and
// records their volume mounts in pl. The chart orders containers by name,
// so a list that is not sorted gets dependsOn links that keep its order.
func (p *promoter) mapContainers(pl *controllerPlan, ctrl yamlnode.Map, podSpec map[string]any) []string {
	var problems []string
	for _, field := range []string{"initContainers", "containers"} {
		list := listMaps(podSpec[field])
		if len(list) == 0 {
			continue
		}
		cs := yamlnode.NewMap()
		names := make([]string, len(list))
		for i, c := range list {
			names[i] = str0(c["name"])
		}
		ordered := slices.IsSorted(names)
		for i, c := range list {
			node, probs := p.mapContainer(pl, c)
			problems = append(problems, probs...)
			if !ordered && i > 0 {
				node.Content = append(node.Content, yamlnode.Str("dependsOn"), yamlnode.Str(names[i-1]))
			}
			cs.Set(names[i], node)
			pl.containers = append(pl.containers, names[i])
		}
		ctrl.Set(field, cs.Node)
	}
	return problems
}

// dropUnmounted leaves out the volumes no container mounts, with a note
// for each, by name: app-template declares a volume only with a mount.
func (p *promoter) dropUnmounted(pl *controllerPlan) {
	for _, name := range slices.Sorted(maps.Keys(pl.volumes)) {
		if len(pl.mounts[name]) == 0 {
			p.cs.Note("Deployment %s: volume %s is mounted by no container; app-template cannot declare it alone, so it was left out", pl.dep.GetName(), name)
			delete(pl.volumes, name)
		}
	}
}

// mapContainer builds one container's values; volume mounts go to pl.
func (p *promoter) mapContainer(pl *controllerPlan, c map[string]any) (*yaml.Node, []string) {
	var problems []string
	name := str0(c["name"])
	where := "container " + name + ": "
	n := yamlnode.NewMap()
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if !containerFields[k] {
			problems = append(problems, where+k)
		}
	}
	img := str0(c["image"])
	repoName, tag, err := imageParts(img)
	if err != nil {
		problems = append(problems, where+"image "+img)
	}
	image := yamlnode.NewMap()
	image.Set("repository", yamlnode.Str(repoName))
	image.Set("tag", yamlnode.Str(tplEscape(tag)))
	if pp, ok := c["imagePullPolicy"].(string); ok {
		image.Set("pullPolicy", yamlnode.Str(pp))
	}
	n.Set("image", image.Node)
	for _, k := range []string{"command", "args", "workingDir"} {
		if v, ok := c[k]; ok {
			n.Set(k, valueNode(v))
		}
	}
	if env := listMaps(c["env"]); len(env) > 0 {
		node, probs := envNode(env)
		for _, pr := range probs {
			problems = append(problems, where+pr)
		}
		n.Set("env", node)
	}
	if ef := listMaps(c["envFrom"]); len(ef) > 0 {
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range ef {
			item := yamlnode.NewMap()
			for _, k := range slices.Sorted(maps.Keys(e)) {
				switch k {
				case "configMapRef", "secretRef":
					ref, _ := e[k].(map[string]any)
					for _, rk := range slices.Sorted(maps.Keys(ref)) {
						if rk != "name" {
							problems = append(problems, where+"envFrom."+k+"."+rk)
						}
					}
					item.Set(k, yamlnode.MapOf("name", yamlnode.Str(tplEscape(str0(ref["name"])))))
				case "prefix":
					item.Set("prefix", valueNode(e[k]))
				default:
					problems = append(problems, where+"envFrom."+k)
				}
			}
			list.Content = append(list.Content, item.Node)
		}
		n.Set("envFrom", list)
	}
	if v, ok := c["ports"]; ok {
		n.Set("ports", valueNode(v))
	}
	probes := yamlnode.NewMap()
	for _, pr := range []string{"liveness", "readiness", "startup"} {
		if spec, ok := c[pr+"Probe"]; ok {
			probes.Set(pr, yamlnode.MapOf("enabled", yamlnode.Bool(true), "custom", yamlnode.Bool(true), "spec", tplSafe(valueNode(spec))))
		}
	}
	if len(probes.Node.Content) > 0 {
		n.Set("probes", probes.Node)
	}
	for _, k := range []string{"resources", "securityContext", "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "restartPolicy", "stdin", "tty"} {
		if v, ok := c[k]; ok {
			n.Set(k, valueNode(v))
		}
	}
	for _, m := range listMaps(c["volumeMounts"]) {
		vol := str0(m["name"])
		mount := map[string]any{}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			switch k {
			case "name":
			case "mountPath":
				mount["path"] = m[k]
			case "subPath", "subPathExpr", "mountPropagation":
				mount[k] = m[k]
			case "readOnly":
				if b, _ := m[k].(bool); b {
					mount[k] = true
				}
			default:
				problems = append(problems, where+"volumeMounts."+k)
			}
		}
		if pl.mounts[vol] == nil {
			pl.mounts[vol] = map[string][]any{}
		}
		pl.mounts[vol][name] = append(pl.mounts[vol][name], mount)
	}
	return n.Node, problems
}

// envNode writes env as a map (the chart sorts it by name) unless the
// order matters (a $(VAR) reference to another variable) or a name
// repeats; then as a list, which the chart keeps in order.
func envNode(env []map[string]any) (*yaml.Node, []string) {
	var problems []string
	names := map[string]bool{}
	asList := false
	order := make([]string, 0, len(env))
	for _, e := range env {
		name := str0(e["name"])
		if names[name] {
			asList = true
		}
		names[name] = true
		order = append(order, name)
		if strings.Contains(str0(e["value"]), "$(") {
			asList = true
		}
		vf, _ := e["valueFrom"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(vf)) {
			switch k {
			case "configMapKeyRef", "secretKeyRef":
				ref, _ := vf[k].(map[string]any)
				for _, rk := range slices.Sorted(maps.Keys(ref)) {
					if rk != "name" && rk != "key" {
						problems = append(problems, "env "+name+": valueFrom."+k+"."+rk)
					}
				}
			case "fieldRef", "resourceFieldRef":
			default:
				problems = append(problems, "env "+name+": valueFrom."+k)
			}
		}
	}
	if asList && slices.IsSorted(order) && len(names) == len(order) {
		asList = false
	}
	if asList {
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for _, e := range env {
			item := yamlnode.NewMap()
			item.Set("name", yamlnode.Str(str0(e["name"])))
			if vf, ok := e["valueFrom"]; ok {
				item.Set("valueFrom", tplSafe(valueNode(vf)))
			} else {
				item.Set("value", yamlnode.Str(tplEscape(str0(e["value"]))))
			}
			list.Content = append(list.Content, item.Node)
		}
		return list, problems
	}
	m := yamlnode.NewMap()
	for _, e := range env {
		if vf, ok := e["valueFrom"]; ok {
			m.Set(str0(e["name"]), yamlnode.MapOf("valueFrom", tplSafe(valueNode(vf))))
		} else {
			m.Set(str0(e["name"]), yamlnode.Str(tplEscape(str0(e["value"]))))
		}
	}
	return m.Node, problems
}

// imageParts splits an image reference into the chart's repository and
// tag, so that "repository:tag" is the reference as written. An image
// without a tag gets "latest", which names the same image.
func imageParts(img string) (string, string, error) {
	named, err := reference.ParseNormalizedNamed(img)
	if err != nil {
		return img, "latest", err
	}
	repoPart, digest, _ := strings.Cut(img, "@")
	tag := ""
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
		repoPart = strings.TrimSuffix(repoPart, ":"+tag)
	}
	switch {
	case tag != "" && digest != "":
		return repoPart, tag + "@" + digest, nil
	case tag != "":
		return repoPart, tag, nil
	case digest != "":
		// "repo@sha256" + ":" + "<hex>" renders the reference as written.
		algo, hex, _ := strings.Cut(digest, ":")
		return repoPart + "@" + algo, hex, nil
	}
	return repoPart, "latest", nil
}

// persistenceValue maps a pod volume to a persistence item (without its
// mounts): the typed forms where they render the same volume, the custom
// type with the volume spec otherwise.
func persistenceValue(vol map[string]any) *yaml.Node {
	n := yamlnode.NewMap()
	custom := func() *yaml.Node {
		c := yamlnode.NewMap()
		c.Set("type", yamlnode.Str("custom"))
		c.Set("volumeSpec", valueNode(vol))
		return c.Node
	}
	if len(vol) != 1 {
		return custom()
	}
	only := func(m map[string]any, allowed ...string) bool {
		for k := range m {
			if !slices.Contains(allowed, k) {
				return false
			}
		}
		return true
	}
	switch {
	case vol["persistentVolumeClaim"] != nil:
		m, _ := vol["persistentVolumeClaim"].(map[string]any)
		if !only(m, "claimName") {
			return custom()
		}
		n.Set("type", yamlnode.Str("persistentVolumeClaim"))
		n.Set("existingClaim", yamlnode.Str(str0(m["claimName"])))
	case vol["configMap"] != nil, vol["secret"] != nil:
		kind, nameKey := "configMap", "name"
		m, _ := vol["configMap"].(map[string]any)
		if m == nil {
			kind, nameKey = "secret", "secretName"
			m, _ = vol["secret"].(map[string]any)
		}
		if !only(m, nameKey, "defaultMode", "items") || (m["defaultMode"] != nil && equalScalar(m["defaultMode"], int64(0))) {
			return custom()
		}
		for _, it := range listMaps(m["items"]) {
			if !only(it, "key", "path", "mode") {
				return custom()
			}
		}
		n.Set("type", yamlnode.Str(kind))
		n.Set("name", yamlnode.Str(tplEscape(str0(m[nameKey]))))
		if dm, ok := m["defaultMode"]; ok {
			n.Set("defaultMode", valueNode(dm))
		}
		if it, ok := m["items"]; ok {
			n.Set("items", valueNode(it))
		}
	case vol["emptyDir"] != nil:
		m, _ := vol["emptyDir"].(map[string]any)
		if !only(m, "medium", "sizeLimit") || m["medium"] == "" {
			return custom()
		}
		n.Set("type", yamlnode.Str("emptyDir"))
		for _, k := range []string{"medium", "sizeLimit"} {
			if v, ok := m[k]; ok {
				n.Set(k, valueNode(v))
			}
		}
	case vol["hostPath"] != nil:
		m, _ := vol["hostPath"].(map[string]any)
		if !only(m, "path", "type") {
			return custom()
		}
		n.Set("type", yamlnode.Str("hostPath"))
		n.Set("hostPath", valueNode(m["path"]))
		if t, ok := m["type"]; ok {
			n.Set("hostPathType", valueNode(t))
		}
	case vol["nfs"] != nil:
		m, _ := vol["nfs"].(map[string]any)
		if !only(m, "server", "path") {
			return custom()
		}
		n.Set("type", yamlnode.Str("nfs"))
		n.Set("server", valueNode(m["server"]))
		n.Set("path", valueNode(m["path"]))
	default:
		return custom()
	}
	return n.Node
}

// mergePersistence gathers the volumes of every controller into
// persistence items. A controller whose volume differs from another's of
// the same name is reported in conflicts.
func mergePersistence(plans []*controllerPlan) (map[string]*persistItem, map[string]string) {
	items := map[string]*persistItem{}
	conflicts := map[string]string{}
	for _, pl := range plans {
		for _, name := range slices.Sorted(maps.Keys(pl.volumes)) {
			vol := pl.volumes[name]
			it, ok := items[name]
			if !ok {
				it = &persistItem{volume: vol, mounts: map[string]map[string][]any{}}
				items[name] = it
			} else if !reflect.DeepEqual(it.volume, vol) {
				conflicts[pl.id] = fmt.Sprintf("its volume %s differs from another Deployment's volume of that name, and app-template names volumes once", name)
				continue
			}
			it.mounts[pl.id] = pl.mounts[name]
		}
	}
	return items, conflicts
}

// persistenceNode writes the persistence values: globalMounts when a
// single controller mounts the volume the same way in every container,
// advancedMounts otherwise.
func persistenceNode(items map[string]*persistItem, single bool, plans []*controllerPlan) *yaml.Node {
	out := yamlnode.NewMap()
	for _, name := range slices.Sorted(maps.Keys(items)) {
		it := items[name]
		n := persistenceValue(it.volume)
		var global []any
		if single {
			pl := plans[0]
			mounts := it.mounts[pl.id]
			same := len(mounts) == len(pl.containers)
			for _, c := range pl.containers {
				if !same || !reflect.DeepEqual(mounts[c], mounts[pl.containers[0]]) {
					same = false
					break
				}
			}
			if same {
				global = mounts[pl.containers[0]]
			}
		}
		if global != nil {
			n.Content = append(n.Content, yamlnode.Str("globalMounts"), mountsNode(global))
		} else {
			adv := yamlnode.NewMap()
			for _, ctrl := range slices.Sorted(maps.Keys(it.mounts)) {
				cm := yamlnode.NewMap()
				for _, c := range slices.Sorted(maps.Keys(it.mounts[ctrl])) {
					cm.Set(c, mountsNode(it.mounts[ctrl][c]))
				}
				adv.Set(ctrl, cm.Node)
			}
			n.Content = append(n.Content, yamlnode.Str("advancedMounts"), adv.Node)
		}
		out.Set(name, n)
	}
	return out.Node
}

func mountsNode(mounts []any) *yaml.Node {
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, m := range mounts {
		mm := m.(map[string]any)
		item := yamlnode.NewMap()
		for _, k := range []string{"path", "subPath", "subPathExpr", "readOnly", "mountPropagation"} {
			if v, ok := mm[k]; ok {
				item.Set(k, valueNode(v))
			}
		}
		list.Content = append(list.Content, item.Node)
	}
	return list
}

// serviceFields are the Service spec fields app-template renders.
var serviceFields = map[string]bool{
	"type": true, "ports": true, "selector": true, "clusterIP": true, "loadBalancerIP": true, "loadBalancerSourceRanges": true,
	"loadBalancerClass": true, "internalTrafficPolicy": true, "externalTrafficPolicy": true, "allocateLoadBalancerNodePorts": true,
	"sessionAffinity": true, "sessionAffinityConfig": true, "externalIPs": true, "publishNotReadyAddresses": true,
	"ipFamilyPolicy": true, "ipFamilies": true,
}

// helmServices maps the Services that select exactly one app-template
// controller; the others stay manifests, their selectors pointed at the
// chart's pod labels when they selected promoted pods.
func (p *promoter) helmServices(plans []*controllerPlan) *yaml.Node {
	type svcPlan struct {
		obj  *unstructured.Unstructured
		ctrl *controllerPlan
	}
	var mapped []svcPlan
	var raw []*unstructured.Unstructured
	for _, s := range p.services {
		spec, _ := s.Object["spec"].(map[string]any)
		sel := stringMap(spec["selector"])
		var hits []*controllerPlan
		if len(sel) > 0 {
			for _, pl := range plans {
				if labels.SelectorFromSet(sel).Matches(labels.Set(pl.podLabels)) {
					hits = append(hits, pl)
				}
			}
		}
		rawDepHit := false
		for _, d := range p.deployments {
			tl := stringMap(nested(d.Object, "spec", "template", "metadata", "labels"))
			if len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(tl)) {
				rawDepHit = true
			}
		}
		var problems []string
		for _, k := range slices.Sorted(maps.Keys(spec)) {
			if !serviceFields[k] {
				problems = append(problems, "spec."+k)
			}
		}
		if t, _ := spec["type"].(string); t == "ExternalName" {
			problems = append(problems, "type ExternalName")
		}
		for _, port := range listMaps(spec["ports"]) {
			if pr, _ := port["protocol"].(string); pr != "" && pr != "UDP" {
				problems = append(problems, "protocol "+pr)
			}
		}
		switch {
		case len(hits) == 1 && !rawDepHit && len(problems) == 0:
			mapped = append(mapped, svcPlan{obj: s, ctrl: hits[0]})
		default:
			why := ""
			switch {
			case len(problems) > 0:
				why = "app-template cannot express " + strings.Join(problems, ", ")
			case len(hits) > 1:
				why = "it selects the pods of several Deployments"
			case rawDepHit && len(hits) > 0:
				why = "it selects pods of a Deployment kept as a manifest"
			case rawDepHit:
				why = "it selects the pods of a Deployment kept as a manifest"
			default:
				why = "it selects no promoted pods"
			}
			p.keptRaw = append(p.keptRaw, fmt.Sprintf("Service/%s: %s", s.GetName(), why))
			if len(hits) > 0 && !rawDepHit {
				// Point it at the pods app-template labels.
				newSel := map[string]any{"app.kubernetes.io/name": p.o.Name, "app.kubernetes.io/instance": p.o.Name}
				if len(hits) == 1 {
					newSel["app.kubernetes.io/controller"] = hits[0].id
				}
				spec["selector"] = newSel
			}
			raw = append(raw, s)
		}
	}
	p.services = raw
	if len(mapped) == 0 {
		return nil
	}
	objs := make([]*unstructured.Unstructured, len(mapped))
	for i, m := range mapped {
		objs[i] = m.obj
	}
	ids := p.identifiers(objs, "app")
	out := yamlnode.NewMap()
	for i, m := range mapped {
		spec, _ := m.obj.Object["spec"].(map[string]any)
		n := yamlnode.NewMap()
		if len(plans) > 1 {
			n.Set("controller", yamlnode.Str(m.ctrl.id))
		}
		if md, ok := m.obj.Object["metadata"].(map[string]any); ok {
			if l := stringMap(md["labels"]); len(l) > 0 {
				n.Set("labels", tplSafe(yamlnode.StringMap(l)))
			}
			if a := stringMap(md["annotations"]); len(a) > 0 {
				n.Set("annotations", tplSafe(yamlnode.StringMap(a)))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(spec)) {
			if k == "ports" || k == "selector" {
				continue
			}
			n.Set(k, valueNode(spec[k]))
		}
		ports := yamlnode.NewMap()
		for _, port := range listMaps(spec["ports"]) {
			name := str0(port["name"])
			if name == "" {
				name = "http"
			}
			pn := yamlnode.NewMap()
			pn.Set("port", valueNode(port["port"]))
			for _, k := range []string{"targetPort", "protocol", "appProtocol"} {
				if v, ok := port[k]; ok {
					pn.Set(k, valueNode(v))
				}
			}
			ports.Set(name, pn.Node)
		}
		n.Set("ports", ports.Node)
		out.Set(ids[i], n.Node)
		newName := renderedName(p.o.Name, ids[i], len(mapped))
		p.renamed[m.obj.GetName()] = newName
		p.serviceIDs[m.obj.GetName()] = ids[i]
		if newName != m.obj.GetName() {
			p.cs.Note("Service %s is rendered by app-template as %s: whatever reached it by name must follow", m.obj.GetName(), newName)
		}
	}
	return out.Node
}

// routeFields and ruleFields are what app-template's route values accept.
var (
	ruleFields    = map[string]bool{"backendRefs": true, "matches": true, "filters": true, "timeouts": true, "sessionPersistence": true}
	backendFields = map[string]bool{"group": true, "kind": true, "name": true, "namespace": true, "port": true, "weight": true}
	parentFields  = map[string]bool{"group": true, "kind": true, "name": true, "namespace": true, "port": true, "sectionName": true}
)

// helmRoutes maps HTTPRoutes to route values; the others stay manifests.
func (p *promoter) helmRoutes() *yaml.Node {
	var mapped []*unstructured.Unstructured
	var raw []*unstructured.Unstructured
	for _, rt := range p.routes {
		spec, _ := rt.Object["spec"].(map[string]any)
		var problems []string
		for _, k := range slices.Sorted(maps.Keys(spec)) {
			if k != "parentRefs" && k != "hostnames" && k != "rules" {
				problems = append(problems, "spec."+k)
			}
		}
		for _, pr := range listMaps(spec["parentRefs"]) {
			for _, k := range slices.Sorted(maps.Keys(pr)) {
				if !parentFields[k] {
					problems = append(problems, "parentRefs."+k)
				}
			}
		}
		for _, rule := range listMaps(spec["rules"]) {
			for _, k := range slices.Sorted(maps.Keys(rule)) {
				if !ruleFields[k] {
					problems = append(problems, "rules."+k)
				}
			}
			for _, m := range listMaps(rule["matches"]) {
				for _, k := range slices.Sorted(maps.Keys(m)) {
					if k != "path" {
						problems = append(problems, "rules.matches."+k)
					}
				}
			}
			for _, b := range listMaps(rule["backendRefs"]) {
				for _, k := range slices.Sorted(maps.Keys(b)) {
					if !backendFields[k] {
						problems = append(problems, "rules.backendRefs."+k)
					}
				}
			}
		}
		if len(problems) > 0 {
			p.keptRaw = append(p.keptRaw, fmt.Sprintf("HTTPRoute/%s: app-template cannot express %s", rt.GetName(), strings.Join(uniqueStrings(problems), ", ")))
			raw = append(raw, rt)
			continue
		}
		mapped = append(mapped, rt)
	}
	p.routes = raw
	if len(mapped) == 0 {
		return nil
	}
	ids := p.identifiers(mapped, "app")
	out := yamlnode.NewMap()
	for i, rt := range mapped {
		spec, _ := rt.Object["spec"].(map[string]any)
		n := yamlnode.NewMap()
		if md, ok := rt.Object["metadata"].(map[string]any); ok {
			if l := stringMap(md["labels"]); len(l) > 0 {
				n.Set("labels", tplSafe(yamlnode.StringMap(l)))
			}
			if a := stringMap(md["annotations"]); len(a) > 0 {
				n.Set("annotations", tplSafe(yamlnode.StringMap(a)))
			}
		}
		if hs, ok := spec["hostnames"].([]any); ok {
			list := &yaml.Node{Kind: yaml.SequenceNode}
			for _, h := range hs {
				list.Content = append(list.Content, yamlnode.Quoted(p.hostTemplate(str0(h), true)))
				p.noteSecondary(str0(h), spec)
			}
			n.Set("hostnames", list)
		}
		parents := &yaml.Node{Kind: yaml.SequenceNode}
		for _, pr := range listMaps(spec["parentRefs"]) {
			if _, ok := pr["namespace"]; !ok {
				pr["namespace"] = p.o.SourceNamespace
			}
			parents.Content = append(parents.Content, orderedNode(pr, []string{"name", "namespace", "sectionName", "port", "group", "kind"}))
		}
		n.Set("parentRefs", parents)
		rules := &yaml.Node{Kind: yaml.SequenceNode}
		for _, rule := range listMaps(spec["rules"]) {
			rn := yamlnode.NewMap()
			backends := &yaml.Node{Kind: yaml.SequenceNode}
			for _, b := range listMaps(rule["backendRefs"]) {
				bn := yamlnode.NewMap()
				name := str0(b["name"])
				kind, _ := b["kind"].(string)
				ns, _ := b["namespace"].(string)
				if ns == p.o.SourceNamespace {
					ns = ""
				}
				if id, ok := p.serviceIDs[name]; ok && (kind == "" || kind == "Service") && ns == "" && b["group"] == nil {
					bn.Set("identifier", yamlnode.Str(id))
				} else {
					for _, k := range []string{"group", "kind"} {
						if v, ok := b[k]; ok {
							bn.Set(k, valueNode(v))
						}
					}
					bn.Set("name", yamlnode.Str(tplEscape(name)))
					if ns != "" {
						bn.Set("namespace", yamlnode.Str(ns))
					}
				}
				for _, k := range []string{"port", "weight"} {
					if v, ok := b[k]; ok {
						bn.Set(k, valueNode(v))
					}
				}
				backends.Content = append(backends.Content, bn.Node)
			}
			rn.Set("backendRefs", backends)
			for _, k := range []string{"matches", "filters", "timeouts", "sessionPersistence"} {
				if v, ok := rule[k]; ok {
					rn.Set(k, valueNode(v))
				}
			}
			rules.Content = append(rules.Content, rn.Node)
		}
		n.Set("rules", rules)
		out.Set(ids[i], n.Node)
		p.hasRoute = true
	}
	return out.Node
}

// noteSecondary remembers a route hostname on a secondary domain, which
// needs a DNSEndpoint.
func (p *promoter) noteSecondary(h string, spec map[string]any) {
	host, ok := p.hosts[h]
	if !ok || host.Domain.Primary {
		return
	}
	gw := ""
	for _, pr := range listMaps(spec["parentRefs"]) {
		if gw == "" {
			gw = str0(pr["name"])
		}
	}
	p.secondary = append(p.secondary, routeHost{host: host, gateway: gw})
}

func uniqueStrings(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		out[k], _ = x.(string)
	}
	return out
}

// tplEscape keeps a literal "{{" through Helm's tpl.
func tplEscape(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

// tplSafe escapes every string scalar of a node for Helm's tpl.
func tplSafe(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		n.Value = tplEscape(n.Value)
	}
	for _, c := range n.Content {
		tplSafe(c)
	}
	return n
}

// valueNode converts an unstructured value into a YAML node, keys in the
// order a person reads them (see keyRank), strings typed as strings.
func valueNode(v any) *yaml.Node {
	switch x := v.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		sort.SliceStable(keys, func(i, j int) bool { return keyRank(keys[i]) < keyRank(keys[j]) })
		m := yamlnode.NewMap()
		for _, k := range keys {
			m.Set(k, valueNode(x[k]))
		}
		return m.Node
	case []any:
		s := &yaml.Node{Kind: yaml.SequenceNode}
		for _, it := range x {
			s.Content = append(s.Content, valueNode(it))
		}
		return s
	case string:
		return yamlnode.Text(x)
	case bool:
		return yamlnode.Bool(x)
	case int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(x, 10)}
	case int:
		return yamlnode.Int(x)
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(x, 'g', -1, 64)}
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	return yamlnode.Str(fmt.Sprint(v))
}

// keyRank puts identifying keys first; the rest stay alphabetical.
func keyRank(k string) int {
	switch k {
	case "apiVersion":
		return 0
	case "kind":
		return 1
	case "metadata":
		return 2
	case "name":
		return 3
	case "namespace":
		return 4
	case "image":
		return 5
	case "spec":
		return 6
	case "type":
		return 7
	case "parentRefs":
		// an HTTPRoute reads gateway, hostnames, rules
		return 8
	case "hostnames":
		return 9
	}
	return 100
}

// orderedNode writes m with the given keys first, in that order.
func orderedNode(m map[string]any, first []string) *yaml.Node {
	n := yamlnode.NewMap()
	for _, k := range first {
		if v, ok := m[k]; ok {
			n.Set(k, valueNode(v))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(first, k) {
			n.Set(k, valueNode(m[k]))
		}
	}
	return n.Node
}
