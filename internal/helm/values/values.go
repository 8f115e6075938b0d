// Package values composes a HelmRelease's values as helm-controller does,
// with Flux's own code (fluxcd/pkg/chartutil): each valuesFrom reference in
// order (a ConfigMap's or Secret's valuesKey, merged whole or, with
// targetPath, set at a path after everything else), then spec.values.
// The chart's defaults come last, inside Helm.
//
// The ConfigMaps and Secrets are the ones the repository renders, given
// by the caller; nothing is read from a cluster. A Secret kept
// SOPS-encrypted in the repository is never decrypted: a value it would
// set at a targetPath becomes the placeholder Placeholder, and a whole
// values document it would merge is left out; both are reported as
// Notes.
package values

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	fluxchartutil "github.com/fluxcd/pkg/chartutil"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Placeholder stands for a value held in a SOPS-encrypted Secret. It
// keeps the ENC[...] form, so output redaction treats it as the secret it
// stands for.
const Placeholder = "ENC[gen:sops-encrypted]"

// Resources are the ConfigMaps and Secrets of a rendered repository.
type Resources struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
	// encrypted lists, per Secret, the keys whose values are SOPS
	// ciphertext.
	encrypted map[string]map[string]bool
}

// NewResources returns an empty set.
func NewResources() *Resources {
	return &Resources{
		configMaps: map[string]*corev1.ConfigMap{},
		secrets:    map[string]*corev1.Secret{},
		encrypted:  map[string]map[string]bool{},
	}
}

// Add adds a rendered object, given as decoded YAML (map form). Objects
// other than ConfigMaps and Secrets are ignored. A Secret's data is read
// as the API server would store it (stringData over base64 data); an
// entry holding SOPS ciphertext ("ENC[...]", as it stands or
// base64-encoded) is marked encrypted.
func (r *Resources) Add(obj map[string]any) error {
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	if apiVersion != "v1" || (kind != "ConfigMap" && kind != "Secret") {
		return nil
	}
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	if name == "" {
		return fmt.Errorf("%s without a name", kind)
	}
	key := namespace + "/" + name
	om := metav1.ObjectMeta{Name: name, Namespace: namespace}
	switch kind {
	case "ConfigMap":
		cm := &corev1.ConfigMap{ObjectMeta: om, Data: map[string]string{}}
		for k, v := range stringMap(obj["data"]) {
			cm.Data[k] = v
		}
		r.configMaps[key] = cm
	case "Secret":
		s := &corev1.Secret{ObjectMeta: om, Data: map[string][]byte{}}
		enc := map[string]bool{}
		for k, v := range stringMap(obj["data"]) {
			if isCiphertext(v) {
				enc[k] = true
				continue
			}
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return fmt.Errorf("secret %s: data.%s is not base64", key, k)
			}
			// gen's render base64-encodes the ciphertext of an encrypted
			// Secret's data so that the object decodes.
			if isCiphertext(string(b)) {
				enc[k] = true
				continue
			}
			s.Data[k] = b
		}
		for k, v := range stringMap(obj["stringData"]) {
			if isCiphertext(v) {
				enc[k] = true
				delete(s.Data, k)
				continue
			}
			delete(enc, k)
			s.Data[k] = []byte(v)
		}
		r.secrets[key] = s
		if len(enc) > 0 {
			r.encrypted[key] = enc
		}
	}
	return nil
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, val := range m {
		switch s := val.(type) {
		case string:
			out[k] = s
		case nil:
			out[k] = ""
		default:
			out[k] = fmt.Sprint(s)
		}
	}
	return out
}

// isCiphertext says whether a value is a SOPS-encrypted leaf.
func isCiphertext(v string) bool {
	return strings.HasPrefix(strings.TrimSpace(v), "ENC[")
}

// Note says something gen did to values that the reader should know.
type Note struct {
	// Ref is the valuesFrom entry concerned.
	Ref helmv2.ValuesReference
	Msg string
}

// Compose returns the values helm-controller would give Helm for hr.
func Compose(ctx context.Context, hr *helmv2.HelmRelease, res *Resources) (map[string]any, []Note, error) {
	if res == nil {
		res = NewResources()
	}
	var notes []Note
	view := &reader{configMaps: res.configMaps, secrets: map[string]*corev1.Secret{}}
	for k, s := range res.secrets {
		view.secrets[k] = s
	}
	for _, ref := range hr.Spec.ValuesFrom {
		if ref.Kind != "Secret" {
			continue
		}
		key := hr.Namespace + "/" + ref.Name
		enc := res.encrypted[key]
		vk := ref.GetValuesKey()
		if !enc[vk] {
			continue
		}
		// Copy the Secret and give the encrypted key a stand-in, so that
		// Flux's own merge runs unchanged.
		s := view.secrets[key].DeepCopy()
		if ref.TargetPath != "" {
			s.Data[vk] = []byte(Placeholder)
			notes = append(notes, Note{Ref: ref, Msg: fmt.Sprintf("%s of Secret %s is SOPS-encrypted: %s is set to a placeholder", vk, ref.Name, ref.TargetPath)})
		} else {
			s.Data[vk] = []byte("{}")
			notes = append(notes, Note{Ref: ref, Msg: fmt.Sprintf("%s of Secret %s is SOPS-encrypted: its values are left out", vk, ref.Name)})
		}
		view.secrets[key] = s
	}
	vals, err := fluxchartutil.ChartValuesFromReferences(ctx, logr.Discard(), view, hr.Namespace, hr.GetValues(), hr.Spec.ValuesFrom...)
	if err != nil {
		return nil, notes, err
	}
	sort.SliceStable(notes, func(i, j int) bool { return notes[i].Ref.Name < notes[j].Ref.Name })
	return vals, notes, nil
}

// reader answers Flux's Get calls from the repository's objects; it is
// the only method the values code uses.
type reader struct {
	client.Client // nil: any other call is a programming error
	configMaps    map[string]*corev1.ConfigMap
	secrets       map[string]*corev1.Secret
}

func (r *reader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		cm, ok := r.configMaps[key.Namespace+"/"+key.Name]
		if !ok {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, key.Name)
		}
		cm.DeepCopyInto(o)
		return nil
	case *corev1.Secret:
		s, ok := r.secrets[key.Namespace+"/"+key.Name]
		if !ok {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, key.Name)
		}
		s.DeepCopyInto(o)
		return nil
	default:
		return errors.New("values can only come from ConfigMaps and Secrets")
	}
}
