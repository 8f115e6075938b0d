package promote

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/gen-gitops/gen/generator/scratch"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// noiseAnnotations are annotations the API server, kubectl or a controller
// writes; nobody declares them.
var noiseAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
	"deployment.kubernetes.io/desired-replicas",
	"deployment.kubernetes.io/max-replicas",
	"endpoints.kubernetes.io/last-change-trigger-time",
	"control-plane.alpha.kubernetes.io/leader",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
}

// noiseAnnotationPrefixes are prefixes of controller-written annotations.
var noiseAnnotationPrefixes = []string{"pv.kubernetes.io/"}

// Clean returns a copy of a live object without what the server and its
// controllers added: status, managedFields, uid, resourceVersion,
// generation, creationTimestamp, ownerReferences, system finalizers, the
// namespace, the last-applied and revision annotations, allocated
// addresses (clusterIP, clusterIPs, nodeName, volumeName), the scratch
// label, and every field the API server defaulted to the value it already
// had. What is left is what a careful person would have written. The notes
// say what was dropped that someone might have meant (a nodePort).
func Clean(in *unstructured.Unstructured) (*unstructured.Unstructured, []string) {
	o := in.DeepCopy()
	obj := o.Object
	var notes []string
	delete(obj, "status")
	cleanMeta(obj)
	spec, _ := obj["spec"].(map[string]any)
	gk := o.GroupVersionKind().GroupKind()
	switch gk.Group + "/" + gk.Kind {
	case "apps/Deployment":
		cleanDeployment(spec)
	case "apps/StatefulSet":
		cleanStatefulSet(spec)
	case "apps/DaemonSet":
		cleanDaemonSet(spec)
	case "batch/Job":
		cleanJob(spec)
	case "batch/CronJob":
		dropDefaults(spec, map[string]any{"concurrencyPolicy": "Allow", "suspend": false, "successfulJobsHistoryLimit": int64(3), "failedJobsHistoryLimit": int64(1)})
		if jt, ok := spec["jobTemplate"].(map[string]any); ok {
			delete(jt, "metadata")
			if js, ok := jt["spec"].(map[string]any); ok {
				cleanJob(js)
			}
		}
	case "/Pod":
		cleanPod(spec)
	case "/Service":
		notes = append(notes, cleanService(o.GetName(), spec)...)
	case "/PersistentVolumeClaim":
		delete(spec, "volumeName")
		dropDefaults(spec, map[string]any{"volumeMode": "Filesystem"})
	case "/Secret":
		dropDefaults(obj, map[string]any{"type": "Opaque"})
	case "gateway.networking.k8s.io/HTTPRoute", "gateway.networking.k8s.io/GRPCRoute":
		cleanRoute(spec)
	}
	if spec != nil && len(spec) == 0 {
		delete(obj, "spec")
	}
	return o, notes
}

func cleanMeta(obj map[string]any) {
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		return
	}
	for _, k := range []string{"namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
		"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields", "ownerReferences", "generateName"} {
		delete(meta, k)
	}
	if fin, ok := meta["finalizers"].([]any); ok {
		var keep []any
		for _, f := range fin {
			if s, _ := f.(string); !strings.HasPrefix(s, "kubernetes.io/") && !strings.HasPrefix(s, "kubernetes") {
				keep = append(keep, f)
			}
		}
		setOrDelete(meta, "finalizers", keep)
	}
	if labels, ok := meta["labels"].(map[string]any); ok {
		delete(labels, scratch.Label)
		if len(labels) == 0 {
			delete(meta, "labels")
		}
	}
	if ann, ok := meta["annotations"].(map[string]any); ok {
		for _, k := range noiseAnnotations {
			delete(ann, k)
		}
		for k := range ann {
			for _, p := range noiseAnnotationPrefixes {
				if strings.HasPrefix(k, p) {
					delete(ann, k)
				}
			}
		}
		if len(ann) == 0 {
			delete(meta, "annotations")
		}
	}
}

func cleanDeployment(spec map[string]any) {
	if spec == nil {
		return
	}
	dropDefaults(spec, map[string]any{"replicas": int64(1), "revisionHistoryLimit": int64(10), "progressDeadlineSeconds": int64(600), "minReadySeconds": int64(0)})
	if st, ok := spec["strategy"].(map[string]any); ok {
		if ru, ok := st["rollingUpdate"].(map[string]any); ok {
			dropDefaults(ru, map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"})
			if len(ru) == 0 {
				delete(st, "rollingUpdate")
			}
		}
		if len(st) == 1 && st["type"] == "RollingUpdate" {
			delete(spec, "strategy")
		}
	}
	cleanTemplate(spec)
}

func cleanStatefulSet(spec map[string]any) {
	if spec == nil {
		return
	}
	dropDefaults(spec, map[string]any{"replicas": int64(1), "revisionHistoryLimit": int64(10), "podManagementPolicy": "OrderedReady", "minReadySeconds": int64(0)})
	if st, ok := spec["updateStrategy"].(map[string]any); ok {
		if ru, ok := st["rollingUpdate"].(map[string]any); ok {
			dropDefaults(ru, map[string]any{"partition": int64(0)})
			if len(ru) == 0 {
				delete(st, "rollingUpdate")
			}
		}
		if len(st) == 1 && st["type"] == "RollingUpdate" {
			delete(spec, "updateStrategy")
		}
	}
	if p, ok := spec["persistentVolumeClaimRetentionPolicy"].(map[string]any); ok {
		dropDefaults(p, map[string]any{"whenDeleted": "Retain", "whenScaled": "Retain"})
		if len(p) == 0 {
			delete(spec, "persistentVolumeClaimRetentionPolicy")
		}
	}
	if vcts, ok := spec["volumeClaimTemplates"].([]any); ok {
		for _, v := range vcts {
			if m, ok := v.(map[string]any); ok {
				delete(m, "status")
				delete(m, "apiVersion")
				delete(m, "kind")
				cleanMeta(m)
				if s, ok := m["spec"].(map[string]any); ok {
					dropDefaults(s, map[string]any{"volumeMode": "Filesystem"})
				}
			}
		}
	}
	cleanTemplate(spec)
}

func cleanDaemonSet(spec map[string]any) {
	if spec == nil {
		return
	}
	dropDefaults(spec, map[string]any{"revisionHistoryLimit": int64(10), "minReadySeconds": int64(0)})
	if st, ok := spec["updateStrategy"].(map[string]any); ok {
		if ru, ok := st["rollingUpdate"].(map[string]any); ok {
			dropDefaults(ru, map[string]any{"maxSurge": int64(0), "maxUnavailable": int64(1)})
			if len(ru) == 0 {
				delete(st, "rollingUpdate")
			}
		}
		if len(st) == 1 && st["type"] == "RollingUpdate" {
			delete(spec, "updateStrategy")
		}
	}
	cleanTemplate(spec)
}

// jobLabels are the labels the Job controller generates for its selector.
var jobLabels = []string{"controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name"}

func cleanJob(spec map[string]any) {
	if spec == nil {
		return
	}
	dropDefaults(spec, map[string]any{"backoffLimit": int64(6), "completions": int64(1), "parallelism": int64(1),
		"completionMode": "NonIndexed", "suspend": false, "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": false})
	if manual, _ := spec["manualSelector"].(bool); !manual {
		delete(spec, "selector")
		if tmpl, ok := spec["template"].(map[string]any); ok {
			if meta, ok := tmpl["metadata"].(map[string]any); ok {
				if labels, ok := meta["labels"].(map[string]any); ok {
					for _, l := range jobLabels {
						delete(labels, l)
					}
				}
			}
		}
	}
	cleanTemplate(spec)
}

// cleanTemplate cleans spec.template (a PodTemplateSpec).
func cleanTemplate(spec map[string]any) {
	tmpl, ok := spec["template"].(map[string]any)
	if !ok {
		return
	}
	if meta, ok := tmpl["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
		if labels, ok := meta["labels"].(map[string]any); ok && len(labels) == 0 {
			delete(meta, "labels")
		}
		if ann, ok := meta["annotations"].(map[string]any); ok {
			// kubectl rollout restart's marker, not a declaration.
			delete(ann, "kubectl.kubernetes.io/restartedAt")
			if len(ann) == 0 {
				delete(meta, "annotations")
			}
		}
		if len(meta) == 0 {
			delete(tmpl, "metadata")
		}
	}
	if ps, ok := tmpl["spec"].(map[string]any); ok {
		cleanPodSpec(ps)
	}
}

// cleanPod cleans a bare Pod: what the scheduler and admission added too.
func cleanPod(spec map[string]any) {
	if spec == nil {
		return
	}
	delete(spec, "nodeName")
	if _, ok := spec["priorityClassName"]; !ok {
		dropDefaults(spec, map[string]any{"priority": int64(0)})
	}
	dropDefaults(spec, map[string]any{"preemptionPolicy": "PreemptLowerPriority"})
	// The service account admission plugin mounts the API token.
	var tokenVolumes []string
	if vols, ok := spec["volumes"].([]any); ok {
		var keep []any
		for _, v := range vols {
			m, _ := v.(map[string]any)
			if name, _ := m["name"].(string); strings.HasPrefix(name, "kube-api-access-") {
				tokenVolumes = append(tokenVolumes, name)
				continue
			}
			keep = append(keep, v)
		}
		setOrDelete(spec, "volumes", keep)
	}
	for _, field := range []string{"initContainers", "containers"} {
		for _, c := range listMaps(spec[field]) {
			if mounts, ok := c["volumeMounts"].([]any); ok {
				var keep []any
				for _, m := range mounts {
					mm, _ := m.(map[string]any)
					if name, _ := mm["name"].(string); slices.Contains(tokenVolumes, name) {
						continue
					}
					keep = append(keep, m)
				}
				setOrDelete(c, "volumeMounts", keep)
			}
		}
	}
	// The default-toleration admission plugin adds these two.
	if tols, ok := spec["tolerations"].([]any); ok {
		var keep []any
		for _, t := range tols {
			m, _ := t.(map[string]any)
			key, _ := m["key"].(string)
			if (key == "node.kubernetes.io/not-ready" || key == "node.kubernetes.io/unreachable") &&
				m["operator"] == "Exists" && m["effect"] == "NoExecute" && m["tolerationSeconds"] == int64(300) {
				continue
			}
			keep = append(keep, t)
		}
		setOrDelete(spec, "tolerations", keep)
	}
	cleanPodSpec(spec)
}

func cleanPodSpec(ps map[string]any) {
	dropDefaults(ps, map[string]any{
		"restartPolicy": "Always", "terminationGracePeriodSeconds": int64(30), "dnsPolicy": "ClusterFirst",
		"schedulerName": "default-scheduler", "enableServiceLinks": true, "serviceAccountName": "default",
		"hostNetwork": false, "hostPID": false, "hostIPC": false,
	})
	// serviceAccount is the deprecated copy of serviceAccountName.
	if sa, ok := ps["serviceAccount"]; ok && (ps["serviceAccountName"] == nil || ps["serviceAccountName"] == sa || sa == "default") {
		delete(ps, "serviceAccount")
	}
	dropEmptyMap(ps, "securityContext")
	for _, field := range []string{"initContainers", "containers"} {
		for _, c := range listMaps(ps[field]) {
			cleanContainer(c)
		}
	}
	for _, v := range listMaps(ps["volumes"]) {
		for _, kind := range []string{"configMap", "secret", "projected", "downwardAPI"} {
			if src, ok := v[kind].(map[string]any); ok {
				dropDefaults(src, map[string]any{"defaultMode": int64(0o644)})
				for _, item := range listMaps(src["items"]) {
					cleanFieldRef(item)
				}
				for _, s := range listMaps(src["sources"]) {
					if d, ok := s["downwardAPI"].(map[string]any); ok {
						for _, item := range listMaps(d["items"]) {
							cleanFieldRef(item)
						}
					}
				}
			}
		}
		if hp, ok := v["hostPath"].(map[string]any); ok {
			dropDefaults(hp, map[string]any{"type": ""})
		}
	}
}

func cleanContainer(c map[string]any) {
	dropDefaults(c, map[string]any{"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
	if img, _ := c["image"].(string); img != "" {
		dropDefaults(c, map[string]any{"imagePullPolicy": DefaultPullPolicy(img)})
	}
	for _, p := range listMaps(c["ports"]) {
		dropDefaults(p, map[string]any{"protocol": "TCP"})
	}
	dropEmptyMap(c, "resources")
	dropEmptyMap(c, "securityContext")
	for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		if p, ok := c[probe].(map[string]any); ok {
			dropDefaults(p, map[string]any{"timeoutSeconds": int64(1), "periodSeconds": int64(10), "successThreshold": int64(1), "failureThreshold": int64(3)})
			if h, ok := p["httpGet"].(map[string]any); ok {
				dropDefaults(h, map[string]any{"scheme": "HTTP"})
			}
		}
	}
	if lc, ok := c["lifecycle"].(map[string]any); ok {
		for _, hook := range []string{"postStart", "preStop"} {
			if h, ok := lc[hook].(map[string]any); ok {
				if g, ok := h["httpGet"].(map[string]any); ok {
					dropDefaults(g, map[string]any{"scheme": "HTTP"})
				}
			}
		}
	}
	for _, e := range listMaps(c["env"]) {
		if vf, ok := e["valueFrom"].(map[string]any); ok {
			cleanFieldRef(vf)
		}
	}
}

func cleanFieldRef(m map[string]any) {
	if fr, ok := m["fieldRef"].(map[string]any); ok {
		dropDefaults(fr, map[string]any{"apiVersion": "v1"})
	}
}

func cleanService(name string, spec map[string]any) []string {
	if spec == nil {
		return nil
	}
	var notes []string
	typ, _ := spec["type"].(string)
	if ip, _ := spec["clusterIP"].(string); ip != "None" {
		delete(spec, "clusterIP")
		delete(spec, "clusterIPs")
	} else {
		delete(spec, "clusterIPs")
	}
	if spec["ipFamilyPolicy"] == "SingleStack" || spec["ipFamilyPolicy"] == nil {
		delete(spec, "ipFamilyPolicy")
		delete(spec, "ipFamilies")
	}
	delete(spec, "healthCheckNodePort")
	dropDefaults(spec, map[string]any{"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster", "externalTrafficPolicy": "Cluster"})
	if typ == "LoadBalancer" {
		dropDefaults(spec, map[string]any{"allocateLoadBalancerNodePorts": true})
	}
	for _, p := range listMaps(spec["ports"]) {
		dropDefaults(p, map[string]any{"protocol": "TCP"})
		if reflect.DeepEqual(p["targetPort"], p["port"]) {
			delete(p, "targetPort")
		}
		if np, ok := p["nodePort"]; ok {
			delete(p, "nodePort")
			notes = append(notes, fmt.Sprintf("Service %s: nodePort %v dropped (the cluster allocates one); set it again if clients depend on it", name, np))
		}
	}
	return notes
}

func cleanRoute(spec map[string]any) {
	if spec == nil {
		return
	}
	for _, p := range listMaps(spec["parentRefs"]) {
		dropDefaults(p, map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway"})
	}
	defaultMatch := []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}}
	for _, r := range listMaps(spec["rules"]) {
		if reflect.DeepEqual(r["matches"], defaultMatch) {
			delete(r, "matches")
		}
		for _, b := range listMaps(r["backendRefs"]) {
			dropDefaults(b, map[string]any{"group": "", "kind": "Service", "weight": int64(1)})
		}
	}
}

// DefaultPullPolicy is the imagePullPolicy the API server gives a container
// that sets none: Always for :latest or an untagged image, IfNotPresent
// otherwise.
func DefaultPullPolicy(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "IfNotPresent"
	}
	if _, ok := named.(reference.Digested); ok {
		return "IfNotPresent"
	}
	if t, ok := named.(reference.Tagged); ok && t.Tag() != "latest" {
		return "IfNotPresent"
	}
	return "Always"
}

// dropDefaults deletes the keys of m whose value equals the default.
func dropDefaults(m map[string]any, defaults map[string]any) {
	if m == nil {
		return
	}
	for k, d := range defaults {
		if v, ok := m[k]; ok && equalScalar(v, d) {
			delete(m, k)
		}
	}
}

func equalScalar(a, b any) bool {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case float64:
			return float64(x) == y
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return x == float64(y)
		case float64:
			return x == y
		}
	case int:
		return equalScalar(int64(x), b)
	}
	return reflect.DeepEqual(a, b)
}

func dropEmptyMap(m map[string]any, k string) {
	if v, ok := m[k].(map[string]any); ok && len(v) == 0 {
		delete(m, k)
	}
}

func setOrDelete(m map[string]any, k string, v []any) {
	if len(v) == 0 {
		delete(m, k)
		return
	}
	m[k] = v
}

// maps returns the map items of a list value.
func listMaps(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
