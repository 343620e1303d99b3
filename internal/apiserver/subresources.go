package apiserver

import (
	"context"
	"errors"
	"fmt"
	authenticationv1 "k8s.io/api/authentication/v1"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

func (s *Server) serveSubresource(w http.ResponseWriter, r *http.Request, req *request) {
	sub := req.ri.Subresource
	switch {
	case sub == "status" && req.res.Status:
		switch req.ri.Verb {
		case "get":
			s.get(w, r, req)
		case "update":
			s.update(w, r, req, "status")
		case "patch":
			s.patch(w, r, req, "status")
		default:
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), req.ri.Verb))
		}
		return
	case sub == "scale" && req.res.Scale != nil:
		s.serveScale(w, r, req)
		return
	case sub == "finalize" && req.res.Plural == "namespaces" && req.ri.Verb == "update":
		s.update(w, r, req, "finalize")
		return
	case sub == "approval" && req.res.Plural == "certificatesigningrequests":
		switch req.ri.Verb {
		case "get":
			s.get(w, r, req)
		case "update":
			s.update(w, r, req, "approval")
		case "patch":
			s.patch(w, r, req, "approval")
		default:
			s.writeError(w, r, apierrors.NewMethodNotSupported(req.res.GroupResource(), req.ri.Verb))
		}
		return
	case sub == "binding" && req.res.Plural == "pods" && req.ri.Verb == "create":
		s.bind(w, r, req)
		return
	case sub == "eviction" && req.res.Plural == "pods" && req.ri.Verb == "create":
		s.evict(w, r, req)
		return
	case sub == "token" && req.res.Plural == "serviceaccounts" && req.res.GVK.Group == "" && s.cfg.TokenRequest != nil:
		if req.ri.Verb != "create" {
			s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "serviceaccounts/token"}, req.ri.Verb))
			return
		}
		s.tokenRequest(w, r, req)
		return
	}
	for _, known := range req.res.Subresources {
		if known == sub {
			s.serveKubeletSubresource(w, r, req)
			return
		}
	}
	s.writeError(w, r, notFoundPath())
}

func (s *Server) scaleOf(req *request, obj runtime.Object) *autoscalingv1.Scale {
	a, _ := meta.Accessor(obj)
	spec, status, sel := req.res.Scale.Get(obj)
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{Name: a.GetName(), Namespace: a.GetNamespace(), UID: a.GetUID(),
			ResourceVersion: a.GetResourceVersion(), CreationTimestamp: a.GetCreationTimestamp()},
		Spec:   autoscalingv1.ScaleSpec{Replicas: spec},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: sel},
	}
}

// serveScale serves the autoscaling/v1 Scale view of a workload.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, req *request) {
	ctx := r.Context()
	if req.ri.Verb == "get" {
		obj, err := req.store.Get(ctx, req.ri.Namespace, req.ri.Name, r.URL.Query().Get("resourceVersion"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeObject(w, r, http.StatusOK, req.out, s.scaleOf(req, obj))
		return
	}
	if req.ri.Verb != "update" && req.ri.Verb != "patch" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Group: req.res.GVK.Group, Resource: req.res.Plural + "/scale"}, req.ri.Verb))
		return
	}
	data, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := writeOptions(r, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	mediaType := requestMediaType(r.Header.Get("Content-Type"))
	transform := func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(req.res.GroupResource(), req.ri.Name)
		}
		var scale *autoscalingv1.Scale
		if req.ri.Verb == "update" {
			obj, err := s.decodeBody(w, r, data, mediaType, scaleGVK)
			if err != nil {
				return nil, err
			}
			scale = obj.(*autoscalingv1.Scale)
		} else {
			curJSON, err := s.codecs.encode(mediaJSON, s.scaleOf(req, cur))
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			patched, err := applyPatch(mediaType, curJSON, data, &autoscalingv1.Scale{})
			if err != nil {
				return nil, err
			}
			obj, err := s.decodeBody(w, r, patched, mediaJSON, scaleGVK)
			if err != nil {
				return nil, err
			}
			scale = obj.(*autoscalingv1.Scale)
		}
		if scale.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(schema.GroupKind{Group: "autoscaling", Kind: "Scale"}, req.ri.Name,
				fieldErrors("spec.replicas", scale.Spec.Replicas, "must be greater than or equal to 0"))
		}
		next := cur.DeepCopyObject()
		a, _ := meta.Accessor(next)
		if scale.ResourceVersion != "" {
			a.SetResourceVersion(scale.ResourceVersion)
		} else {
			a.SetResourceVersion("")
		}
		req.res.Scale.Set(next, scale.Spec.Replicas)
		return next, nil
	}
	out, _, err := req.store.Update(ctx, req.ri.Namespace, req.ri.Name, transform, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusOK, req.out, s.scaleOf(req, out))
}

// bind assigns a pod to a node (pods/binding), as the scheduler does.
func (s *Server) bind(w http.ResponseWriter, r *http.Request, req *request) {
	data, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.decodeBody(w, r, data, requestMediaType(r.Header.Get("Content-Type")), corev1.SchemeGroupVersion.WithKind("Binding"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b := obj.(*corev1.Binding)
	if b.Name != "" && b.Name != req.ri.Name {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", b.Name, req.ri.Name)))
		return
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		s.writeError(w, r, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, fieldErrors("target.kind", b.Target.Kind, "must be empty or 'Node'")))
		return
	}
	if b.Target.Name == "" {
		s.writeError(w, r, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, requiredError("target.name")))
		return
	}
	o, err := writeOptions(r, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o.Subresource = "binding"
	_, _, err = req.store.Update(r.Context(), req.ri.Namespace, req.ri.Name, func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.(*corev1.Pod).DeepCopy()
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(req.res.GroupResource(), pod.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", pod.Name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(req.res.GroupResource(), pod.Name, fmt.Errorf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName))
		}
		if b.UID != "" && b.UID != pod.UID {
			return nil, apierrors.NewConflict(req.res.GroupResource(), pod.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, pod.UID))
		}
		pod.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setPodCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(s.cfg.Now())})
		return pod, nil
	}, o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusCreated, Output{MediaType: mediaJSON}, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			if pod.Status.Conditions[i].Status == c.Status {
				return
			}
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// evict deletes a pod through pods/eviction unless a PodDisruptionBudget forbids it.
func (s *Server) evict(w http.ResponseWriter, r *http.Request, req *request) {
	data, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.decodeBody(w, r, data, requestMediaType(r.Header.Get("Content-Type")), policyv1.SchemeGroupVersion.WithKind("Eviction"))
	if err != nil {
		// policy/v1beta1 evictions carry the same fields; accept them too.
		s.writeError(w, r, err)
		return
	}
	ev := obj.(*policyv1.Eviction)
	ctx := r.Context()
	podObj, err := req.store.Get(ctx, req.ri.Namespace, req.ri.Name, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pod := podObj.(*corev1.Pod)
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if err := s.checkDisruptionBudget(ctx, pod, len(opts.DryRun) > 0); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, _, err := req.store.Delete(ctx, pod.Namespace, pod.Name, opts, len(opts.DryRun) > 0); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusCreated, Output{MediaType: mediaJSON}, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

// maxDisruptedPods bounds a PodDisruptionBudget's status.disruptedPods, as upstream's.
const maxDisruptedPods = 2000

// checkDisruptionBudget allows the eviction of pod, as upstream's eviction subresource: a pod
// that is terminal, pending or already being deleted may always go; otherwise the one
// PodDisruptionBudget matching it must allow a disruption, which is taken from its status
// (disruptionsAllowed decremented, the pod recorded in disruptedPods) with a compare-and-swap, so
// that concurrent evictions cannot overdraw the budget. A pod that is not Ready may go without
// a disruption when the budget is met (unhealthyPodEvictionPolicy IfHealthyBudget, the default)
// or always (AlwaysAllow). Refusals are 429 with upstream's cause.
func (s *Server) checkDisruptionBudget(ctx context.Context, pod *corev1.Pod, dryRun bool) error {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return nil
	}
	if pod.DeletionTimestamp != nil {
		return nil
	}
	pdbStore := s.reg.Store(policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets"))
	if pdbStore == nil {
		return nil
	}
	res, err := pdbStore.List(ctx, pod.Namespace, storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return err
	}
	var matched []*policyv1.PodDisruptionBudget
	for _, it := range res.Items {
		pdb := it.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			matched = append(matched, pdb)
		}
	}
	if len(matched) == 0 {
		return nil
	}
	if len(matched) > 1 {
		return apierrors.NewInternalError(errors.New("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."))
	}
	pdb := matched[0]
	if !podIsReady(pod) {
		policy := policyv1.IfHealthyBudget
		if pdb.Spec.UnhealthyPodEvictionPolicy != nil {
			policy = *pdb.Spec.UnhealthyPodEvictionPolicy
		}
		if policy == policyv1.AlwaysAllow || (pdb.Status.ObservedGeneration >= pdb.Generation && pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0) {
			return nil
		}
	}
	tooMany := func(msg string) error {
		err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
		err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause, Message: msg})
		return err
	}
	_, _, err = pdbStore.Update(ctx, pdb.Namespace, pdb.Name, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*policyv1.PodDisruptionBudget).DeepCopy()
		switch {
		case p.Status.ObservedGeneration < p.Generation:
			return nil, tooMany(fmt.Sprintf("The disruption budget %s is still being processed by the server.", p.Name))
		case p.Status.DisruptionsAllowed < 0:
			return nil, apierrors.NewForbidden(policyv1.Resource("poddisruptionbudgets"), p.Name, errors.New("pdb disruptions allowed is negative"))
		case len(p.Status.DisruptedPods) > maxDisruptedPods:
			return nil, apierrors.NewForbidden(policyv1.Resource("poddisruptionbudgets"), p.Name, errors.New("DisruptedPods map too big - too many evictions not confirmed by PDB controller"))
		case p.Status.DisruptionsAllowed == 0:
			return nil, tooMany(fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", p.Name, p.Status.DesiredHealthy, p.Status.CurrentHealthy))
		}
		p.Status.DisruptionsAllowed--
		if p.Status.DisruptionsAllowed == 0 {
			for i := range p.Status.Conditions {
				if c := &p.Status.Conditions[i]; c.Type == policyv1.DisruptionAllowedCondition && c.Status == metav1.ConditionTrue {
					c.Status, c.Reason, c.LastTransitionTime = metav1.ConditionFalse, policyv1.InsufficientPodsReason, metav1.Now()
				}
			}
		}
		if p.Status.DisruptedPods == nil {
			p.Status.DisruptedPods = map[string]metav1.Time{}
		}
		p.Status.DisruptedPods[pod.Name] = metav1.Now()
		return p, nil
	}, registry.WriteOptions{Subresource: "status", DryRun: dryRun})
	return err
}

func podIsReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// tokenRequest issues a service account token (serviceaccounts/<name>/token, a TokenRequest).
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request, req *request) {
	data, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.decodeBody(w, r, data, requestMediaType(r.Header.Get("Content-Type")), authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.cfg.TokenRequest(r.Context(), req.ri.Namespace, req.ri.Name, obj.(*authenticationv1.TokenRequest))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusCreated, req.out, out)
}
