package promote_test

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gen-gitops/gen/generator/internal/gentest"
	"github.com/gen-gitops/gen/generator/promote"
)

// untidyDeployment has what the helm mapping notes and refuses, several of
// each kind, each set held in a map: volumes no container mounts, pod
// template metadata app-template cannot carry, and env references with
// fields the chart drops.
const untidyDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec:
  selector: {matchLabels: {scratch.app: solo}}
  template:
    metadata: {labels: {scratch.app: solo}, name: pod, generateName: pod-, finalizers: [x/y]}
    spec:
      volumes:
        - {name: tmp, emptyDir: {}}
        - {name: cache, emptyDir: {}}
        - {name: data, emptyDir: {}}
        - {name: logs, emptyDir: {}}
      containers:
        - name: app
          image: ghcr.io/example/solo:1.0
          env:
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: s, key: k, optional: true}, configMapKeyRef: {name: c, key: k, optional: true}}
`

// TestPromoteNotesAreStable promotes the same objects many times: the
// notes and what is kept raw, with its reasons, come out the same every
// time, in sorted order. Built from maps in iteration order they did not.
func TestPromoteNotesAreStable(t *testing.T) {
	r := gentest.LoadExample(t).Model()
	var first *promote.Promotion
	for i := range 40 {
		objs := []*unstructured.Unstructured{obj(t, untidyDeployment)}
		pr, err := promote.Generate(r, promote.Options{App: "solo", Objects: objs})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = pr
			continue
		}
		if !slices.Equal(pr.Changeset.Notes, first.Changeset.Notes) {
			t.Fatalf("run %d: the notes changed:\n%s\nwere:\n%s", i, strings.Join(pr.Changeset.Notes, "\n"), strings.Join(first.Changeset.Notes, "\n"))
		}
		if !slices.Equal(pr.KeptRaw, first.KeptRaw) {
			t.Fatalf("run %d: kept raw changed:\n%s\nwas:\n%s", i, strings.Join(pr.KeptRaw, "\n"), strings.Join(first.KeptRaw, "\n"))
		}
	}
	var unmounted []string
	for _, n := range first.Changeset.Notes {
		if rest, ok := strings.CutPrefix(n, "Deployment solo: volume "); ok {
			unmounted = append(unmounted, strings.Fields(rest)[0])
		}
	}
	if want := []string{"cache", "data", "logs", "tmp"}; !slices.Equal(unmounted, want) {
		t.Errorf("notes on unmounted volumes name %v, want %v", unmounted, want)
	}
	kept := strings.Join(first.KeptRaw, "\n")
	for _, want := range []string{
		"spec.template.metadata.finalizers, spec.template.metadata.generateName, spec.template.metadata.name",
		"container app: env TOKEN: valueFrom.configMapKeyRef.optional, container app: env TOKEN: valueFrom.secretKeyRef.optional",
	} {
		if !strings.Contains(kept, want) {
			t.Errorf("kept raw does not list, in order, %q:\n%s", want, kept)
		}
	}
}

// TestPromoteLeavesTheDeploymentAlone: mapping a Deployment to values
// changes nothing in it. One on the host network without a dnsPolicy gets
// dnsPolicy ClusterFirst in its values (the chart would pick another), and
// when something else keeps it a manifest, the manifest is the Deployment
// as it was.
func TestPromoteLeavesTheDeploymentAlone(t *testing.T) {
	r := gentest.LoadExample(t).Model()
	dep := `apiVersion: apps/v1
kind: Deployment
metadata: {name: solo, namespace: scratch, labels: {scratch.app: solo}}
spec:
  selector: {matchLabels: {scratch.app: solo}}
  template:
    metadata: {labels: {scratch.app: solo}}
    spec:
      hostNetwork: true
      containers: [{name: app, image: "ghcr.io/example/solo:1.0"}]
`
	pr, err := promote.Generate(r, promote.Options{App: "solo", Objects: []*unstructured.Unstructured{obj(t, dep)}})
	if err != nil {
		t.Fatal(err)
	}
	hr := string(promotionFiles(pr)["kubernetes/apps/default/solo/app/helmrelease.yaml"])
	if !strings.Contains(hr, "dnsPolicy: ClusterFirst") {
		t.Errorf("the values do not keep Kubernetes' DNS policy:\n%s", hr)
	}
	kept := strings.Replace(dep, "      hostNetwork: true\n", "      hostNetwork: true\n      shareProcessNamespace: true\n      overhead: {cpu: 10m}\n", 1)
	in := obj(t, kept)
	before := in.DeepCopy()
	pr, err = promote.Generate(r, promote.Options{App: "solo", Objects: []*unstructured.Unstructured{in}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(pr.KeptRaw, "\n"), "Deployment/solo: app-template cannot express pod field overhead") {
		t.Fatalf("the Deployment was not kept raw: %v", pr.KeptRaw)
	}
	manifest := string(promotionFiles(pr)["kubernetes/apps/default/solo/app/deployment.yaml"])
	if strings.Contains(manifest, "dnsPolicy") {
		t.Errorf("the manifest kept raw gained a dnsPolicy:\n%s", manifest)
	}
	if in.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["dnsPolicy"] != nil || !equalObjects(in, before) {
		t.Errorf("the Deployment given to promote was changed")
	}
}

func equalObjects(a, b *unstructured.Unstructured) bool {
	ja, _ := a.MarshalJSON()
	jb, _ := b.MarshalJSON()
	return string(ja) == string(jb)
}

// TestPromoteChecksTheChartMajor: the values follow app-template 4.x; a
// repository that pins another major version is told to check them.
func TestPromoteChecksTheChartMajor(t *testing.T) {
	for version, warned := range map[string]bool{"4.6.2": false, "v4.0.0": false, "4": false, "3.7.3": true, "v5.0.0-beta.1": true, "latest": true} {
		r := gentest.LoadExample(t).Model()
		r.Config.AppTemplateVersion = version
		pr, err := promote.Generate(r, promote.Options{App: "solo", Objects: []*unstructured.Unstructured{obj(t, bareDeployment)}})
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(pr.Changeset.Notes, "\n")
		if got := strings.Contains(notes, "the values follow app-template 4.x; this repository pins "+version); got != warned {
			t.Errorf("pinned %s: warned %v, want %v:\n%s", version, got, warned, notes)
		}
	}
}
