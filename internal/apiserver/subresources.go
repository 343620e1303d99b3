package apiserver

import (
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
	terminal := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	if pdbStore := s.reg.Store(policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets")); pdbStore != nil && !terminal && pod.DeletionTimestamp == nil {
		res, err := pdbStore.List(ctx, pod.Namespace, storage.ListOptions{ResourceVersion: "0"})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, it := range res.Items {
			pdb := it.(*policyv1.PodDisruptionBudget)
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
				continue
			}
			if pdb.Status.DisruptionsAllowed <= 0 {
				err := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
				err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{
					Type: "DisruptionBudget", Message: fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy)})
				s.writeError(w, r, err)
				return
			}
		}
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if _, _, err := req.store.Delete(ctx, pod.Namespace, pod.Name, opts, len(opts.DryRun) > 0); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusCreated, Output{MediaType: mediaJSON}, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
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
