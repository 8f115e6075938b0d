package live

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gen-gitops/gen/generator/scratch"
)

// Group and kind of the custom resources gen reads.
var (
	HTTPRouteKind   = schema.GroupKind{Group: "gateway.networking.k8s.io", Kind: "HTTPRoute"}
	DNSEndpointKind = schema.GroupKind{Group: "externaldns.k8s.io", Kind: "DNSEndpoint"}
	// ChuteKind is the chute operator's Chute (access.ChuteGroup): a
	// scratch app behind Cloudflare Access has one instead of a route.
	ChuteKind = schema.GroupKind{Group: "chutes.troubleshat.com", Kind: "Chute"}
)

// generated are the kinds whose objects a controller or the API server
// makes from others: reading them back would duplicate their owners.
var generated = map[schema.GroupKind]bool{
	{Kind: "Pod"}:                                      true,
	{Kind: "Endpoints"}:                                true,
	{Kind: "Event"}:                                    true,
	{Group: "events.k8s.io", Kind: "Event"}:            true,
	{Group: "apps", Kind: "ReplicaSet"}:                true,
	{Group: "apps", Kind: "ControllerRevision"}:        true,
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}: true,
	{Group: "coordination.k8s.io", Kind: "Lease"}:      true,
}

// essential kinds must be readable for a promotion to be trusted.
var essential = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "Deployment"}: true,
	{Kind: "Service"}:                   true,
	HTTPRouteKind:                       true,
	DNSEndpointKind:                     true,
}

// Selection is what ListSelected found.
type Selection struct {
	Objects []*unstructured.Unstructured
	// Notes say what was not read and why (a CRD that is not installed, a
	// kind the user may not list).
	Notes []string
}

// ListSelected lists every object in ns matching the label selector, over
// every namespaced kind the server lists, leaving out what controllers
// generate (Pods, ReplicaSets, EndpointSlices, and anything whose
// controller is another object).
func (c *Client) ListSelected(ctx context.Context, ns, selector string) (*Selection, error) {
	kinds, notes, err := c.Kinds(ctx)
	if err != nil {
		return nil, err
	}
	sel := &Selection{Notes: append([]string(nil), notes...)}
	for _, gk := range []schema.GroupKind{HTTPRouteKind, DNSEndpointKind} {
		if !hasKind(kinds, gk) {
			sel.Notes = append(sel.Notes, fmt.Sprintf("the cluster has no %s CRD (%s): none read", gk.Kind, gk.Group))
		}
	}
	var todo []Kind
	for _, k := range kinds {
		if k.can("list") && !generated[k.GVK().GroupKind()] {
			todo = append(todo, k)
		}
	}
	type result struct {
		items []*unstructured.Unstructured
		note  string
		err   error
	}
	results := make([]result, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, k := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			list, err := c.dyn.Resource(k.GVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				if apierrors.IsForbidden(err) && !essential[k.GVK().GroupKind()] {
					results[i].note = fmt.Sprintf("could not list %s in %q: forbidden", k, ns)
					return
				}
				if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
					return
				}
				results[i].err = c.wrap(err, fmt.Sprintf("listing %s in namespace %q", k, ns))
				return
			}
			for j := range list.Items {
				o := &list.Items[j]
				if controlled(o) {
					continue
				}
				o.SetAPIVersion(k.GVR.GroupVersion().String())
				o.SetKind(k.Kind)
				results[i].items = append(results[i].items, o)
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if r.note != "" {
			sel.Notes = append(sel.Notes, r.note)
		}
		sel.Objects = append(sel.Objects, r.items...)
	}
	SortObjects(sel.Objects)
	return sel, nil
}

// Get reads one object by kind and name; (nil, nil) when it does not exist.
func (c *Client) Get(ctx context.Context, gk schema.GroupKind, ns, name string) (*unstructured.Unstructured, error) {
	k, ok, err := c.KindOf(ctx, gk.Group, gk.Kind)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("reading %s %s/%s: the cluster does not serve that kind", gk.Kind, ns, name)
	}
	o, err := c.dyn.Resource(k.GVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.wrap(err, fmt.Sprintf("reading %s %s/%s", gk.Kind, ns, name))
	}
	o.SetAPIVersion(k.GVR.GroupVersion().String())
	o.SetKind(k.Kind)
	return o, nil
}

// controlled reports whether another object is o's controller.
func controlled(o *unstructured.Unstructured) bool {
	for _, ref := range o.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}

func hasKind(kinds []Kind, gk schema.GroupKind) bool {
	for _, k := range kinds {
		if k.GVK().GroupKind() == gk {
			return true
		}
	}
	return false
}

// SortObjects orders objects by namespace, kind and name, so output never
// depends on the order the server or a file gave them in.
func SortObjects(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		if a.GetKind() != b.GetKind() {
			return a.GetKind() < b.GetKind()
		}
		return a.GetName() < b.GetName()
	})
}

// listKind lists one kind in ns ("" for all namespaces) with a selector;
// ok is false when the server does not serve the kind.
func (c *Client) listKind(ctx context.Context, gk schema.GroupKind, ns, selector string) ([]*unstructured.Unstructured, bool, error) {
	k, ok, err := c.KindOf(ctx, gk.Group, gk.Kind)
	if err != nil || !ok {
		return nil, ok, err
	}
	where := "all namespaces"
	if ns != "" {
		where = fmt.Sprintf("namespace %q", ns)
	}
	list, err := c.dyn.Resource(k.GVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, true, c.wrap(err, fmt.Sprintf("listing %s in %s", k, where))
	}
	out := make([]*unstructured.Unstructured, 0, len(list.Items))
	for i := range list.Items {
		o := &list.Items[i]
		o.SetAPIVersion(k.GVR.GroupVersion().String())
		o.SetKind(k.Kind)
		out = append(out, o)
	}
	return out, true, nil
}

// ScratchObjects lists what `kubectl delete -n NS all,httproute,dnsendpoint
// -l scratch.app=APP` deletes, and the app's Chutes (an exposure, like its
// routes): objects of the kinds in kubectl's "all"
// category plus HTTPRoutes and DNSEndpoints, leaving out those a controller
// owns (garbage collection removes them with their owner). Kept lists the
// app's other labelled objects (ConfigMaps, Secrets, PVCs...), which that
// command leaves alone.
func (c *Client) ScratchObjects(ctx context.Context, ns, app string) (del, kept []*unstructured.Unstructured, err error) {
	sel, err := c.ListSelected(ctx, ns, scratch.SelectorFor(app))
	if err != nil {
		return nil, nil, err
	}
	kinds, _, _ := c.Kinds(ctx)
	inAll := map[schema.GroupKind]bool{HTTPRouteKind: true, DNSEndpointKind: true, ChuteKind: true}
	for _, k := range kinds {
		if slices.Contains(k.Categories, "all") {
			inAll[k.GVK().GroupKind()] = true
		}
	}
	for _, o := range sel.Objects {
		if inAll[o.GroupVersionKind().GroupKind()] {
			del = append(del, o)
		} else {
			kept = append(kept, o)
		}
	}
	return del, kept, nil
}

// Delete deletes objects, letting garbage collection remove what they own.
// It stops at the first failure and says which objects were deleted.
func (c *Client) Delete(ctx context.Context, objs []*unstructured.Unstructured) error {
	policy := metav1.DeletePropagationBackground
	var done []string
	for _, o := range objs {
		k, ok, err := c.KindOf(ctx, o.GroupVersionKind().Group, o.GetKind())
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("deleting %s %s/%s: the cluster does not serve that kind", o.GetKind(), o.GetNamespace(), o.GetName())
		}
		err = c.dyn.Resource(k.GVR).Namespace(o.GetNamespace()).Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy})
		if err != nil && !apierrors.IsNotFound(err) {
			msg := fmt.Sprintf("deleting %s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
			if len(done) > 0 {
				msg += " (already deleted: " + strings.Join(done, ", ") + ")"
			}
			return c.wrap(err, msg)
		}
		done = append(done, o.GetKind()+"/"+o.GetName())
	}
	return nil
}
