package schema

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

const helmRelease = `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: echo
  namespace: default
spec:
  chartRef:
    kind: OCIRepository
    name: echo
  interval: 1h
  values:
    anything:
      goes: here
`

const dnsEndpoint = `---
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata:
  name: echo
spec:
  endpoints:
    - dnsName: echo.example.org
      recordType: CNAME
      targets: ["external.example.org"]
      recordTTL: 300
      labels:
        owner: gen
      providerSpecific:
        - name: external-dns.alpha.kubernetes.io/cloudflare-proxied
          value: "true"
status:
  observedGeneration: 1
`

const imageUpdateAutomation = `---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: echo
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: flux@example.org
        name: flux
    push:
      branch: main
  update:
    path: ./kubernetes/apps/default/echo
    strategy: Setters
`

func TestDecodeYAML(t *testing.T) {
	tests := []struct {
		name      string
		doc       string
		known     bool
		wantPath  string // path of the first field error; "" means no error
		wantLine  int
		wantInErr string
	}{
		{name: "valid helmrelease", doc: helmRelease, known: true},
		{name: "valid dnsendpoint", doc: dnsEndpoint, known: true},
		{name: "valid imageupdateautomation", doc: imageUpdateAutomation, known: true},
		{
			name:     "typo in imageupdateautomation update",
			doc:      strings.Replace(imageUpdateAutomation, "strategy: Setters", "stratgy: Setters", 1),
			known:    true,
			wantPath: "spec.update.stratgy",
			wantLine: 24,
		},
		{
			name:     "unknown field in helmrelease spec",
			doc:      strings.Replace(helmRelease, "  interval: 1h\n", "  interval: 1h\n  intervall: 2h\n", 1),
			known:    true,
			wantPath: "spec.intervall",
			wantLine: 12,
		},
		{
			name:      "wrong type in helmrelease spec",
			doc:       strings.Replace(helmRelease, "  interval: 1h\n", "  interval: 1h\n  suspend: \"yes\"\n", 1),
			known:     true,
			wantPath:  "spec.suspend",
			wantLine:  12,
			wantInErr: "wrong type",
		},
		{
			name:     "bad duration in helmrelease",
			doc:      strings.Replace(helmRelease, "interval: 1h", "interval: hourly", 1),
			known:    true,
			wantPath: "spec.interval",
			wantLine: 11,
		},
		{
			name:     "typo in dnsendpoint endpoint",
			doc:      strings.Replace(dnsEndpoint, "recordType: CNAME", "recordtype: CNAME", 1),
			known:    true,
			wantPath: "spec.endpoints[0].recordtype",
			wantLine: 9,
		},
		{
			name:     "wrong type in dnsendpoint list item",
			doc:      strings.Replace(dnsEndpoint, "recordTTL: 300", "recordTTL: five", 1),
			known:    true,
			wantPath: "spec.endpoints[0].recordTTL",
			wantLine: 11,
		},
		{
			name:     "wrong type in the second list item",
			doc:      strings.Replace(dnsEndpoint, `targets: ["external.example.org"]`, `targets: ["external.example.org", {a: b}]`, 1),
			known:    true,
			wantPath: "spec.endpoints[0].targets[1]",
			wantLine: 10,
		},
		{
			name:     "duplicate field",
			doc:      strings.Replace(helmRelease, "  interval: 1h\n", "  interval: 1h\n  interval: 2h\n", 1),
			known:    true,
			wantPath: "spec.interval",
			wantLine: 12,
		},
		{
			name:     "unknown metadata field",
			doc:      strings.Replace(dnsEndpoint, "  name: echo\n", "  name: echo\n  nmespace: default\n", 1),
			known:    true,
			wantPath: "metadata.nmespace",
			wantLine: 6,
		},
		{
			name:  "unknown kind",
			doc:   "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {whatever: 1}\n",
			known: false,
		},
		{
			name: "core kinds",
			doc: `apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {A: b}
`,
			known: true,
		},
		{
			name:     "deployment unknown container field",
			doc:      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app.kubernetes.io/name: d}}\n  template:\n    metadata: {labels: {app.kubernetes.io/name: d}}\n    spec:\n      containers:\n        - name: app\n          image: x\n          imagePullPolice: Always\n",
			known:    true,
			wantPath: "spec.template.spec.containers[0].imagePullPolice",
			wantLine: 12,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			known, err := DecodeYAML([]byte(tt.doc))
			if known != tt.known {
				t.Fatalf("known = %v, want %v (err %v)", known, tt.known, err)
			}
			if tt.wantPath == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one for %s", tt.wantPath)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v carries no *FieldError", err)
			}
			if fe.Path != tt.wantPath || fe.Line != tt.wantLine {
				t.Errorf("first field error at %q line %d, want %q line %d (%v)", fe.Path, fe.Line, tt.wantPath, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantPath) {
				t.Errorf("error %q does not name %s", err, tt.wantPath)
			}
			if tt.wantInErr != "" && !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not say %q", err, tt.wantInErr)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		known    bool
		wantPath string
	}{
		{name: "valid", doc: dnsEndpoint, known: true},
		{name: "typo", doc: strings.Replace(dnsEndpoint, "dnsName:", "dnsname:", 1), known: true, wantPath: "spec.endpoints[0].dnsname"},
		{name: "helm unknown", doc: strings.Replace(helmRelease, "chartRef:", "chartReff:", 1), known: true, wantPath: "spec.chartReff"},
		{name: "unknown kind", doc: "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: x}\n", known: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(tt.doc), &u.Object); err != nil {
				t.Fatal(err)
			}
			known, err := Decode(&u)
			if known != tt.known {
				t.Fatalf("known = %v, want %v", known, tt.known)
			}
			if tt.wantPath == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Path != tt.wantPath {
				t.Fatalf("error %v, want a field error at %s", err, tt.wantPath)
			}
		})
	}
}

func TestDecodeYAMLRejectsSeveralDocuments(t *testing.T) {
	_, err := DecodeYAML([]byte(dnsEndpoint + dnsEndpoint))
	if err == nil || !strings.Contains(err.Error(), "more than one document") {
		t.Fatalf("err = %v, want a more-than-one-document error", err)
	}
	if _, err := DecodeYAML([]byte("---\n")); err == nil {
		t.Fatal("an empty document decoded without error")
	}
}

func TestKnown(t *testing.T) {
	for _, gvk := range []k8sschema.GroupVersionKind{
		{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"},
		{Group: "helm.toolkit.fluxcd.io", Version: "v2", Kind: "HelmRelease"},
		{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "OCIRepository"},
		{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"},
		{Group: "source.toolkit.fluxcd.io", Version: "v1beta2", Kind: "OCIRepository"},
		{Group: "image.toolkit.fluxcd.io", Version: "v1", Kind: "ImageRepository"},
		{Group: "image.toolkit.fluxcd.io", Version: "v1", Kind: "ImagePolicy"},
		{Group: "image.toolkit.fluxcd.io", Version: "v1", Kind: "ImageUpdateAutomation"},
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"},
		{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"},
		{Group: "gateway.networking.k8s.io", Version: "v1beta1", Kind: "ReferenceGrant"},
		{Group: "gateway.networking.k8s.io", Version: "v1alpha2", Kind: "TCPRoute"},
		{Group: "externaldns.k8s.io", Version: "v1alpha1", Kind: "DNSEndpoint"},
		{Version: "v1", Kind: "Namespace"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "batch", Version: "v1", Kind: "CronJob"},
		{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
		{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
		{Group: "storage.k8s.io", Version: "v1", Kind: "StorageClass"},
	} {
		if !Known(gvk) {
			t.Errorf("Known(%v) = false", gvk)
		}
	}
	if Known(k8sschema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}) {
		t.Error("ServiceMonitor is known")
	}
}

func TestDNSEndpointDeepCopy(t *testing.T) {
	in := &DNSEndpoint{Spec: DNSEndpointSpec{Endpoints: []*Endpoint{{
		DNSName: "a", Targets: []string{"b"}, Labels: map[string]string{"k": "v"},
		ProviderSpecific: []ProviderSpecificProperty{{Name: "n", Value: "v"}},
	}}}}
	out := in.DeepCopyObject().(*DNSEndpoint)
	out.Spec.Endpoints[0].Targets[0] = "changed"
	out.Spec.Endpoints[0].Labels["k"] = "changed"
	out.Spec.Endpoints[0].ProviderSpecific[0].Value = "changed"
	if in.Spec.Endpoints[0].Targets[0] != "b" || in.Spec.Endpoints[0].Labels["k"] != "v" || in.Spec.Endpoints[0].ProviderSpecific[0].Value != "v" {
		t.Fatal("deep copy shares memory with the original")
	}
	list := (&DNSEndpointList{Items: []DNSEndpoint{*in}}).DeepCopyObject().(*DNSEndpointList)
	list.Items[0].Spec.Endpoints[0].DNSName = "changed"
	if in.Spec.Endpoints[0].DNSName != "a" {
		t.Fatal("list deep copy shares memory with the original")
	}
}
