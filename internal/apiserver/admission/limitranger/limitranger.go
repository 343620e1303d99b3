// Package limitranger is the LimitRanger admission plugin, as upstream's: the LimitRanges of a
// namespace give a pod's containers their default requests and limits (type Container's
// defaultRequest and default), recorded in the pod's kubernetes.io/limit-ranger annotation, and
// bound what containers, pods and PersistentVolumeClaims may ask for (min, max and
// maxLimitRequestRatio), refusing the write with upstream's messages, e.g.
//
//	pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2
//
// Pods are checked on create only (their containers' resources cannot change by update); claims
// on create and update.
package limitranger

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	helper "k8s.io/component-helpers/resource"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// Annotation records the defaults the plugin set on a pod.
const Annotation = "kubernetes.io/limit-ranger"

// Plugin is the LimitRanger admission plugin.
type Plugin struct {
	// LimitRanges is the limitranges store.
	LimitRanges *registry.Store
}

func (p *Plugin) applies(a *registry.AdmissionAttributes) (pod *corev1.Pod, pvc *corev1.PersistentVolumeClaim) {
	if a.Subresource != "" || a.Resource.GVK.Group != "" {
		return nil, nil
	}
	switch o := a.Object.(type) {
	case *corev1.Pod:
		if a.Operation == registry.OperationCreate {
			return o, nil
		}
	case *corev1.PersistentVolumeClaim:
		if a.Operation == registry.OperationCreate || a.Operation == registry.OperationUpdate {
			return nil, o
		}
	}
	return nil, nil
}

func (p *Plugin) ranges(ctx context.Context, a *registry.AdmissionAttributes) ([]*corev1.LimitRange, error) {
	l, err := p.LimitRanges.List(ctx, a.Namespace, storage.ListOptions{ResourceVersion: "0"})
	if err == nil && len(l.Items) == 0 {
		// As upstream's live lookup when its informer has none: a LimitRange this server has
		// just stored applies even before the cache has seen it.
		l, err = p.LimitRanges.ListOwnWrites(ctx, a.Namespace)
	}
	if err != nil {
		return nil, apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("unable to %s %v at this time because there was an error enforcing limit ranges", a.Operation, a.Resource.GroupVersionResource()))
	}
	out := make([]*corev1.LimitRange, 0, len(l.Items))
	for _, o := range l.Items {
		out = append(out, o.(*corev1.LimitRange))
	}
	return out, nil
}

// Admit gives a created pod's containers the defaults of the namespace's LimitRanges.
func (p *Plugin) Admit(ctx context.Context, a *registry.AdmissionAttributes) error {
	pod, _ := p.applies(a)
	if pod == nil {
		return nil
	}
	lrs, err := p.ranges(ctx, a)
	if err != nil {
		return err
	}
	for _, lr := range lrs {
		Default(lr, pod)
	}
	return nil
}

// Validate checks the object against the namespace's LimitRanges.
func (p *Plugin) Validate(ctx context.Context, a *registry.AdmissionAttributes) error {
	pod, pvc := p.applies(a)
	if pod == nil && pvc == nil {
		return nil
	}
	lrs, err := p.ranges(ctx, a)
	if err != nil {
		return err
	}
	var errs []error
	for _, lr := range lrs {
		if pod != nil {
			errs = append(errs, ValidatePod(lr, pod)...)
		} else {
			errs = append(errs, ValidateClaim(lr, pvc)...)
		}
	}
	if len(errs) > 0 {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, utilerrors.NewAggregate(errs))
	}
	return nil
}

// Default sets the defaults of lr's Container items on pod's containers that lack them, and
// records what it set in the kubernetes.io/limit-ranger annotation.
func Default(lr *corev1.LimitRange, pod *corev1.Pod) {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		for k, v := range item.DefaultRequest {
			requests[k] = v.DeepCopy()
		}
		for k, v := range item.Default {
			limits[k] = v.DeepCopy()
		}
	}
	var notes []string
	merge := func(c *corev1.Container, kind string) {
		if c.Resources.Limits == nil {
			c.Resources.Limits = corev1.ResourceList{}
		}
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		var setReq, setLim []string
		for k, v := range limits {
			if _, ok := c.Resources.Limits[k]; !ok {
				c.Resources.Limits[k] = v.DeepCopy()
				setLim = append(setLim, string(k))
			}
		}
		for k, v := range requests {
			if _, ok := c.Resources.Requests[k]; !ok {
				c.Resources.Requests[k] = v.DeepCopy()
				setReq = append(setReq, string(k))
			}
		}
		if len(setReq) > 0 {
			sort.Strings(setReq)
			notes = append(notes, strings.Join(setReq, ", ")+fmt.Sprintf(" request for %s %s", kind, c.Name))
		}
		if len(setLim) > 0 {
			sort.Strings(setLim)
			notes = append(notes, strings.Join(setLim, ", ")+fmt.Sprintf(" limit for %s %s", kind, c.Name))
		}
	}
	for i := range pod.Spec.Containers {
		merge(&pod.Spec.Containers[i], "container")
	}
	for i := range pod.Spec.InitContainers {
		merge(&pod.Spec.InitContainers[i], "init container")
	}
	if len(notes) > 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[Annotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
	}
}

// ValidatePod checks pod's containers (Container items) and its totals (Pod items) against lr.
func ValidatePod(lr *corev1.LimitRange, pod *corev1.Pod) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, item := range lr.Spec.Limits {
		t := string(item.Type)
		var subjects []struct{ req, lim corev1.ResourceList }
		switch item.Type {
		case corev1.LimitTypeContainer:
			for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
				for _, c := range cs {
					subjects = append(subjects, struct{ req, lim corev1.ResourceList }{c.Resources.Requests, c.Resources.Limits})
				}
			}
		case corev1.LimitTypePod:
			subjects = append(subjects, struct{ req, lim corev1.ResourceList }{
				helper.PodRequests(pod, helper.PodResourcesOptions{}), helper.PodLimits(pod, helper.PodResourcesOptions{})})
		default:
			continue
		}
		for _, s := range subjects {
			for _, k := range sortedNames(item.Min) {
				add(minConstraint(t, string(k), item.Min[k], s.req, s.lim))
			}
			for _, k := range sortedNames(item.Max) {
				add(maxConstraint(t, string(k), item.Max[k], s.req, s.lim))
			}
			for _, k := range sortedNames(item.MaxLimitRequestRatio) {
				add(ratioConstraint(t, string(k), item.MaxLimitRequestRatio[k], s.req, s.lim))
			}
		}
	}
	return errs
}

// ValidateClaim checks a claim's storage request against lr's PersistentVolumeClaim items.
func ValidateClaim(lr *corev1.LimitRange, pvc *corev1.PersistentVolumeClaim) []error {
	var errs []error
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypePersistentVolumeClaim {
			continue
		}
		t := string(item.Type)
		for _, k := range sortedNames(item.Min) {
			if err := minConstraint(t, string(k), item.Min[k], pvc.Spec.Resources.Requests, corev1.ResourceList{}); err != nil {
				errs = append(errs, err)
			}
		}
		for _, k := range sortedNames(item.Max) {
			if err := maxRequestConstraint(t, string(k), item.Max[k], pvc.Spec.Resources.Requests); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

func sortedNames(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// values returns request, limit and enforced at a common precision (milli-units unless that
// would overflow), as upstream compares them.
func values(req, lim, enforced resource.Quantity) (int64, int64, int64) {
	r, l, e := req.Value(), lim.Value(), enforced.Value()
	if r <= resource.MaxMilliValue && l <= resource.MaxMilliValue && e <= resource.MaxMilliValue {
		return req.MilliValue(), lim.MilliValue(), enforced.MilliValue()
	}
	return r, l, e
}

func minConstraint(t, name string, enforced resource.Quantity, request, limit corev1.ResourceList) error {
	req, reqOK := request[corev1.ResourceName(name)]
	lim, limOK := limit[corev1.ResourceName(name)]
	r, l, e := values(req, lim, enforced)
	if !reqOK {
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", name, t, enforced.String())
	}
	if r < e {
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", name, t, enforced.String(), req.String())
	}
	if limOK && l < e {
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", name, t, enforced.String(), lim.String())
	}
	return nil
}

func maxRequestConstraint(t, name string, enforced resource.Quantity, request corev1.ResourceList) error {
	req, ok := request[corev1.ResourceName(name)]
	r, _, e := values(req, resource.Quantity{}, enforced)
	if !ok {
		return fmt.Errorf("maximum %s usage per %s is %s.  No request is specified", name, t, enforced.String())
	}
	if r > e {
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, t, enforced.String(), req.String())
	}
	return nil
}

func maxConstraint(t, name string, enforced resource.Quantity, request, limit corev1.ResourceList) error {
	req, reqOK := request[corev1.ResourceName(name)]
	lim, limOK := limit[corev1.ResourceName(name)]
	r, l, e := values(req, lim, enforced)
	if !limOK {
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", name, t, enforced.String())
	}
	if l > e {
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", name, t, enforced.String(), lim.String())
	}
	if reqOK && r > e {
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, t, enforced.String(), req.String())
	}
	return nil
}

func ratioConstraint(t, name string, enforced resource.Quantity, request, limit corev1.ResourceList) error {
	req, reqOK := request[corev1.ResourceName(name)]
	lim, limOK := limit[corev1.ResourceName(name)]
	r, l, _ := values(req, lim, enforced)
	if !reqOK || r == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", name, t, enforced.String())
	}
	if !limOK || l == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", name, t, enforced.String())
	}
	observed := float64(l) / float64(r)
	shown := observed
	max := float64(enforced.Value())
	if enforced.Value() <= resource.MaxMilliValue {
		observed *= 1000
		max = float64(enforced.MilliValue())
	}
	if observed > max {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", name, t, enforced.String(), shown)
	}
	return nil
}
