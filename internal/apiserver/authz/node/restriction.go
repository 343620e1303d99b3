package node

import (
	"context"
	"fmt"
	"sort"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/registry"
)

// mirrorPodAnnotation marks a kubelet's mirror of a static pod.
const mirrorPodAnnotation = "kubernetes.io/config.mirror"

// Restriction is the NodeRestriction admission check: it limits the writes of node users to
// their own Node, Lease and pods. Writes of other users pass.
type Restriction struct{}

var _ registry.Admission = Restriction{}

// Admit does nothing: the check only validates.
func (Restriction) Admit(context.Context, *registry.AdmissionAttributes) error { return nil }

// Validate refuses a node's write to what is not its own.
func (Restriction) Validate(_ context.Context, a *registry.AdmissionAttributes) error {
	node, ok := Identity(apiserver.User{Name: a.User.Name, Groups: a.User.Groups})
	if !ok || a.Resource == nil {
		return nil
	}
	gr := a.Resource.GroupResource()
	forbid := func(format string, args ...any) error {
		return apierrors.NewForbidden(gr, a.Name, fmt.Errorf(format, args...))
	}
	if node == "" {
		return forbid("could not determine node from user %q", a.User.Name)
	}
	switch {
	case gr.Group == "" && gr.Resource == "pods":
		return admitPod(node, a, forbid)
	case gr.Group == "" && gr.Resource == "nodes":
		return admitNode(node, a, forbid)
	case gr.Group == resourcev1.GroupName && gr.Resource == "resourceslices":
		return admitResourceSlice(node, a, forbid)
	case gr.Group == coordinationv1.GroupName && gr.Resource == "leases":
		if a.Namespace != corev1.NamespaceNodeLease {
			return forbid("can only access leases in the %q system namespace", corev1.NamespaceNodeLease)
		}
		if name := objectName(a); name != node {
			return forbid("can only access node lease with the same name as the requesting node")
		}
	}
	return nil
}

// admitResourceSlice lets a node create and delete only the slices of its own node; the node
// authorizer checks the other writes against the stored slice.
func admitResourceSlice(node string, a *registry.AdmissionAttributes, forbid func(string, ...any) error) error {
	own := func(o runtime.Object) bool {
		s, ok := o.(*resourcev1.ResourceSlice)
		return ok && s.Spec.NodeName != nil && *s.Spec.NodeName == node
	}
	switch a.Operation {
	case registry.OperationCreate:
		if !own(a.Object) {
			return forbid("can only create ResourceSlice with the same NodeName as the requesting node")
		}
	case registry.OperationDelete:
		if !own(a.OldObject) {
			return forbid("can only delete ResourceSlice with the same NodeName as the requesting node")
		}
	}
	return nil
}

func objectName(a *registry.AdmissionAttributes) string {
	if a.Name != "" {
		return a.Name
	}
	if l, ok := a.Object.(*coordinationv1.Lease); ok {
		return l.Name
	}
	if n, ok := a.Object.(*corev1.Node); ok {
		return n.Name
	}
	return ""
}

func admitPod(node string, a *registry.AdmissionAttributes, forbid func(string, ...any) error) error {
	switch a.Subresource {
	case "":
		switch a.Operation {
		case registry.OperationCreate:
			pod, ok := a.Object.(*corev1.Pod)
			if !ok {
				return nil
			}
			return admitMirrorPod(node, pod, forbid)
		case registry.OperationDelete:
			old, ok := a.OldObject.(*corev1.Pod)
			if ok && old.Spec.NodeName != node {
				return forbid("node %q can only delete pods with spec.nodeName set to itself", node)
			}
			return nil
		}
		return forbid("unexpected operation %q, node %q can only create and delete mirror pods", a.Operation, node)
	case "status":
		if a.Operation != registry.OperationUpdate {
			return forbid("unexpected operation %q", a.Operation)
		}
		old, ok := a.OldObject.(*corev1.Pod)
		if ok && old.Spec.NodeName != node {
			return forbid("node %q can only update pod status for pods with spec.nodeName set to itself", node)
		}
		return nil
	}
	return forbid("node %q cannot modify pods/%s", node, a.Subresource)
}

// admitMirrorPod allows a node to create only a mirror pod bound to itself that references no
// other API objects.
func admitMirrorPod(node string, pod *corev1.Pod, forbid func(string, ...any) error) error {
	if _, ok := pod.Annotations[mirrorPodAnnotation]; !ok {
		return forbid("pod does not have %q annotation, node %q can only create mirror pods", mirrorPodAnnotation, node)
	}
	if pod.Spec.NodeName != node {
		return forbid("node %q can only create pods with spec.nodeName set to itself", node)
	}
	if len(pod.OwnerReferences) > 1 {
		return forbid("node %q can only create pods with a single owner reference set to itself", node)
	}
	if len(pod.OwnerReferences) == 1 {
		o := pod.OwnerReferences[0]
		if o.APIVersion != "v1" || o.Kind != "Node" || o.Name != node {
			return forbid("node %q can only create pods with an owner reference set to itself", node)
		}
	}
	refs := refsOf(pod)
	switch {
	case pod.Spec.ServiceAccountName != "":
		return forbid("node %q can not create pods that reference a service account", node)
	case len(refs.secrets) > 0:
		return forbid("node %q can not create pods that reference secrets", node)
	case len(refs.configMaps) > 0:
		return forbid("node %q can not create pods that reference configmaps", node)
	case len(refs.claims) > 0:
		return forbid("node %q can not create pods that reference persistentvolumeclaims", node)
	}
	return nil
}

func admitNode(node string, a *registry.AdmissionAttributes, forbid func(string, ...any) error) error {
	if name := objectName(a); name != node {
		return forbid("node %q is not allowed to modify node %q", node, name)
	}
	switch a.Operation {
	case registry.OperationCreate:
		n, ok := a.Object.(*corev1.Node)
		if !ok {
			return nil
		}
		if bad := forbiddenLabels(modifiedLabels(n.Labels, nil)); len(bad) > 0 {
			return forbid("node %q is not allowed to set the following labels: %s", node, strings.Join(bad, ", "))
		}
	case registry.OperationUpdate:
		n, ok1 := a.Object.(*corev1.Node)
		old, ok2 := a.OldObject.(*corev1.Node)
		if !ok1 || !ok2 {
			return nil
		}
		if !equality.Semantic.DeepEqual(n.Spec.Taints, old.Spec.Taints) {
			return forbid("node %q is not allowed to modify taints", node)
		}
		if bad := forbiddenLabels(modifiedLabels(n.Labels, old.Labels)); len(bad) > 0 {
			return forbid("is not allowed to modify labels: %s", strings.Join(bad, ", "))
		}
	case registry.OperationDelete:
		return forbid("node %q is not allowed to delete nodes", node)
	}
	return nil
}

// modifiedLabels lists the labels added, removed or changed between old and cur.
func modifiedLabels(cur, old map[string]string) map[string]bool {
	m := map[string]bool{}
	for k, v := range cur {
		if ov, ok := old[k]; !ok || ov != v {
			m[k] = true
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			m[k] = true
		}
	}
	return m
}

// kubeletLabels may be set by kubelets, as upstream's kubeletapis.IsKubeletLabel allows.
var kubeletLabels = map[string]bool{
	"kubernetes.io/hostname":                   true,
	"kubernetes.io/arch":                       true,
	"kubernetes.io/os":                         true,
	"beta.kubernetes.io/arch":                  true,
	"beta.kubernetes.io/os":                    true,
	"beta.kubernetes.io/instance-type":         true,
	"node.kubernetes.io/instance-type":         true,
	"failure-domain.beta.kubernetes.io/region": true,
	"failure-domain.beta.kubernetes.io/zone":   true,
	"topology.kubernetes.io/region":            true,
	"topology.kubernetes.io/zone":              true,
}

// kubeletLabelNamespaces are label prefixes kubelets may use.
var kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}

// forbiddenLabels lists, sorted, the labels among modified a node may not set: those of the
// node-restriction.kubernetes.io namespace, and kubernetes.io or k8s.io labels that are not
// kubelet labels.
func forbiddenLabels(modified map[string]bool) []string {
	var bad []string
	for l := range modified {
		ns := ""
		if i := strings.Index(l, "/"); i >= 0 {
			ns = l[:i]
		}
		switch {
		case ns == "node-restriction.kubernetes.io" || strings.HasSuffix(ns, ".node-restriction.kubernetes.io"):
			bad = append(bad, l)
		case isKubernetesNamespace(ns) && !isKubeletLabel(l, ns):
			bad = append(bad, l)
		}
	}
	sort.Strings(bad)
	return bad
}

func isKubernetesNamespace(ns string) bool {
	return ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")
}

func isKubeletLabel(l, ns string) bool {
	if kubeletLabels[l] {
		return true
	}
	for _, p := range kubeletLabelNamespaces {
		if ns == p || strings.HasSuffix(ns, "."+p) {
			return true
		}
	}
	return false
}
