package schema

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
)

// ExternalDNSGroupVersion is the API group and version of external-dns's
// DNSEndpoint custom resource.
var ExternalDNSGroupVersion = k8sschema.GroupVersion{Group: "externaldns.k8s.io", Version: "v1alpha1"}

// DNSEndpoint is external-dns's DNSEndpoint custom resource
// (externaldns.k8s.io/v1alpha1), written from the fields its CRD documents.
// It lets a DNSEndpoint be decoded strictly without importing external-dns.
type DNSEndpoint struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DNSEndpointSpec   `json:"spec,omitempty"`
	Status DNSEndpointStatus `json:"status,omitempty"`
}

// DNSEndpointSpec is the desired state of a DNSEndpoint: the records to publish.
type DNSEndpointSpec struct {
	Endpoints []*Endpoint `json:"endpoints,omitempty"`
}

// Endpoint is one DNS record set of a DNSEndpoint.
type Endpoint struct {
	// DNSName is the hostname of the record.
	DNSName string `json:"dnsName,omitempty"`
	// Targets are the record's values (addresses, hostnames, text).
	Targets []string `json:"targets,omitempty"`
	// RecordType is the DNS record type, e.g. A, AAAA, CNAME, TXT.
	RecordType string `json:"recordType,omitempty"`
	// SetIdentifier distinguishes records of the same name and type.
	SetIdentifier string `json:"setIdentifier,omitempty"`
	// RecordTTL is the record's TTL in seconds.
	RecordTTL int64 `json:"recordTTL,omitempty"`
	// Labels are stored with the record by external-dns's registry.
	Labels map[string]string `json:"labels,omitempty"`
	// ProviderSpecific holds provider-specific settings, e.g. Cloudflare proxying.
	ProviderSpecific []ProviderSpecificProperty `json:"providerSpecific,omitempty"`
}

// ProviderSpecificProperty is one provider-specific setting of an Endpoint.
type ProviderSpecificProperty struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// DNSEndpointStatus is the observed state of a DNSEndpoint.
type DNSEndpointStatus struct {
	// ObservedGeneration is the generation external-dns last processed.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// DNSEndpointList is a list of DNSEndpoints.
type DNSEndpointList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []DNSEndpoint `json:"items"`
}

// DeepCopyInto copies e into out.
func (e *Endpoint) DeepCopyInto(out *Endpoint) {
	*out = *e
	if e.Targets != nil {
		out.Targets = append([]string(nil), e.Targets...)
	}
	if e.Labels != nil {
		out.Labels = make(map[string]string, len(e.Labels))
		for k, v := range e.Labels {
			out.Labels[k] = v
		}
	}
	if e.ProviderSpecific != nil {
		out.ProviderSpecific = append([]ProviderSpecificProperty(nil), e.ProviderSpecific...)
	}
}

// DeepCopy returns a deep copy of e.
func (e *Endpoint) DeepCopy() *Endpoint {
	if e == nil {
		return nil
	}
	out := new(Endpoint)
	e.DeepCopyInto(out)
	return out
}

// DeepCopyInto copies d into out.
func (d *DNSEndpoint) DeepCopyInto(out *DNSEndpoint) {
	*out = *d
	out.TypeMeta = d.TypeMeta
	d.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if d.Spec.Endpoints != nil {
		out.Spec.Endpoints = make([]*Endpoint, len(d.Spec.Endpoints))
		for i, ep := range d.Spec.Endpoints {
			out.Spec.Endpoints[i] = ep.DeepCopy()
		}
	}
	out.Status = d.Status
}

// DeepCopy returns a deep copy of d.
func (d *DNSEndpoint) DeepCopy() *DNSEndpoint {
	if d == nil {
		return nil
	}
	out := new(DNSEndpoint)
	d.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (d *DNSEndpoint) DeepCopyObject() runtime.Object {
	if c := d.DeepCopy(); c != nil {
		return c
	}
	return nil
}

// DeepCopyInto copies l into out.
func (l *DNSEndpointList) DeepCopyInto(out *DNSEndpointList) {
	*out = *l
	out.TypeMeta = l.TypeMeta
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	if l.Items != nil {
		out.Items = make([]DNSEndpoint, len(l.Items))
		for i := range l.Items {
			l.Items[i].DeepCopyInto(&out.Items[i])
		}
	}
}

// DeepCopy returns a deep copy of l.
func (l *DNSEndpointList) DeepCopy() *DNSEndpointList {
	if l == nil {
		return nil
	}
	out := new(DNSEndpointList)
	l.DeepCopyInto(out)
	return out
}

// DeepCopyObject implements runtime.Object.
func (l *DNSEndpointList) DeepCopyObject() runtime.Object {
	if c := l.DeepCopy(); c != nil {
		return c
	}
	return nil
}

// addExternalDNSTypes registers DNSEndpoint and DNSEndpointList.
func addExternalDNSTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(ExternalDNSGroupVersion, &DNSEndpoint{}, &DNSEndpointList{})
	metav1.AddToGroupVersion(s, ExternalDNSGroupVersion)
	return nil
}
