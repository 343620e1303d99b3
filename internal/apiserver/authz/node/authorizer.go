package node

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/apiserver/authz/bootstrappolicy"
	"github.com/skiff-project/skiff/internal/apiserver/authz/rbac"
)

// Identity of nodes.
const (
	NodesGroup     = "system:nodes"
	NodeUserPrefix = "system:node:"
)

// Identity returns the node a user's credentials name: ok is false for users that are not
// nodes; name is empty for a node user whose name does not say which node.
func Identity(u apiserver.User) (name string, ok bool) {
	if !strings.HasPrefix(u.Name, NodeUserPrefix) {
		return "", false
	}
	for _, g := range u.Groups {
		if g == NodesGroup {
			return strings.TrimPrefix(u.Name, NodeUserPrefix), true
		}
	}
	return "", false
}

// Source looks up what the node authorizer needs. fresh asks for a read that includes every
// write acknowledged before the call.
type Source interface {
	// PodsOnNode lists the pods bound to node.
	PodsOnNode(ctx context.Context, node string, fresh bool) ([]*corev1.Pod, error)
	// PersistentVolumeClaim returns a claim, or nil if there is none.
	PersistentVolumeClaim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error)
	// ResourceSlice returns a resource slice, or nil if there is none.
	ResourceSlice(ctx context.Context, name string) (*resourcev1.ResourceSlice, error)
}

// Authorizer is the node authorizer. It has no opinion on users that are not nodes.
type Authorizer struct {
	src   Source
	rules []rbacv1.PolicyRule
}

var _ apiserver.Authorizer = (*Authorizer)(nil)

// New returns a node authorizer over src.
func New(src Source) *Authorizer {
	return &Authorizer{src: src, rules: bootstrappolicy.NodeRules()}
}

// kind is a kind of object a node reaches through its pods.
type kind int

const (
	kindSecret kind = iota
	kindConfigMap
	kindClaim
	kindVolume
	kindServiceAccount
	kindPod
	kindResourceClaim
)

// Authorize allows a node what its own pods need.
func (z *Authorizer) Authorize(ctx context.Context, a apiserver.Attributes) (bool, string, error) {
	node, ok := Identity(a.User)
	if !ok {
		return false, "", nil
	}
	if node == "" {
		return false, fmt.Sprintf("unknown node for user %q", a.User.Name), nil
	}
	if a.IsResourceRequest {
		switch {
		case a.APIGroup == "" && a.Resource == "secrets":
			return z.readNamespaced(ctx, node, kindSecret, a)
		case a.APIGroup == "" && a.Resource == "configmaps":
			return z.readNamespaced(ctx, node, kindConfigMap, a)
		case a.APIGroup == "" && a.Resource == "persistentvolumeclaims":
			if a.Subresource == "status" {
				switch a.Verb {
				case "get", "update", "patch":
					return z.related(ctx, node, kindClaim, a)
				}
				return false, "can only get, update or patch the status of this type", nil
			}
			return z.get(ctx, node, kindClaim, a)
		case a.APIGroup == "" && a.Resource == "persistentvolumes":
			return z.get(ctx, node, kindVolume, a)
		case a.APIGroup == "" && a.Resource == "serviceaccounts":
			if a.Verb != "create" || a.Name == "" {
				return false, "can only create tokens for individual service accounts", nil
			}
			if a.Subresource != "token" {
				return false, "can only create token subresource of serviceaccount", nil
			}
			return z.related(ctx, node, kindServiceAccount, a)
		case a.APIGroup == "coordination.k8s.io" && a.Resource == "leases":
			return lease(node, a)
		case a.APIGroup == "" && a.Resource == "pods":
			if ok, reason, decided, err := z.pod(ctx, node, a); decided {
				return ok, reason, err
			}
		case a.APIGroup == "" && a.Resource == "nodes":
			return nodeObject(node, a)
		case a.APIGroup == resourcev1.GroupName && a.Resource == "resourceclaims":
			return z.get(ctx, node, kindResourceClaim, a)
		case a.APIGroup == resourcev1.GroupName && a.Resource == "resourceslices":
			return z.resourceSlice(ctx, node, a)
		}
	}
	if rbac.RulesAllow(a, z.rules...) {
		return true, "", nil
	}
	return false, "", nil
}

// nameOf returns the object a request addresses, including a list or watch narrowed to one
// name by a metadata.name field selector (as kubelets watch secrets and configmaps).
func nameOf(a apiserver.Attributes) string {
	if a.Name != "" {
		return a.Name
	}
	if v, ok := fieldEquals(a.FieldSelector, "metadata.name"); ok {
		return v
	}
	return ""
}

// fieldEquals returns the value a field selector requires of field.
func fieldEquals(selector, field string) (string, bool) {
	if selector == "" {
		return "", false
	}
	sel, err := fields.ParseSelector(selector)
	if err != nil {
		return "", false
	}
	for _, r := range sel.Requirements() {
		if r.Field == field && (r.Operator == selection.Equals || r.Operator == selection.DoubleEquals) {
			return r.Value, true
		}
	}
	return "", false
}

func (z *Authorizer) readNamespaced(ctx context.Context, node string, k kind, a apiserver.Attributes) (bool, string, error) {
	switch a.Verb {
	case "get", "list", "watch":
	default:
		return false, "can only read resources of this type", nil
	}
	if a.Subresource != "" {
		return false, "cannot read subresource", nil
	}
	if a.Namespace == "" {
		return false, "can only read namespaced object of this type", nil
	}
	return z.related(ctx, node, k, a)
}

func (z *Authorizer) get(ctx context.Context, node string, k kind, a apiserver.Attributes) (bool, string, error) {
	if a.Verb != "get" {
		return false, "can only get individual resources of this type", nil
	}
	if a.Subresource != "" {
		return false, "cannot get subresource", nil
	}
	return z.related(ctx, node, k, a)
}

// related allows a if the object it names is used by a pod bound to node. A denial is
// re-checked once against a fresh read, for a pod bound a moment ago.
func (z *Authorizer) related(ctx context.Context, node string, k kind, a apiserver.Attributes) (bool, string, error) {
	name := nameOf(a)
	if name == "" {
		return false, "No Object name found", nil
	}
	for _, fresh := range []bool{false, true} {
		pods, err := z.src.PodsOnNode(ctx, node, fresh)
		if err != nil {
			return false, "", err
		}
		ok, err := z.uses(ctx, pods, k, a.Namespace, name)
		if err != nil {
			return false, "", err
		}
		if ok {
			return true, "", nil
		}
	}
	return false, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
}

// uses reports whether any of pods uses the object of kind k named namespace/name.
func (z *Authorizer) uses(ctx context.Context, pods []*corev1.Pod, k kind, namespace, name string) (bool, error) {
	for _, p := range pods {
		if k != kindVolume && p.Namespace != namespace {
			continue
		}
		if k == kindPod {
			if p.Name == name {
				return true, nil
			}
			continue
		}
		refs := refsOf(p)
		switch k {
		case kindSecret:
			if refs.secrets[name] {
				return true, nil
			}
		case kindConfigMap:
			if refs.configMaps[name] {
				return true, nil
			}
		case kindClaim:
			if refs.claims[name] {
				return true, nil
			}
		case kindResourceClaim:
			if refs.resourceClaims[name] {
				return true, nil
			}
		case kindServiceAccount:
			sa := refs.serviceAccount
			if sa == "" {
				sa = "default"
			}
			if sa == name {
				return true, nil
			}
		case kindVolume:
			// A persistent volume is reached through a claim bound to it.
			for claim := range refs.claims {
				pvc, err := z.src.PersistentVolumeClaim(ctx, p.Namespace, claim)
				if err != nil {
					return false, err
				}
				if pvc != nil && pvc.Spec.VolumeName == name {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// pod decides the reads of pods: get only for pods bound to the node, list and watch only
// narrowed to it by a spec.nodeName field selector. Writes fall through to the node rules
// (NodeRestriction narrows them).
func (z *Authorizer) pod(ctx context.Context, node string, a apiserver.Attributes) (ok bool, reason string, decided bool, err error) {
	if a.Subresource != "" {
		return false, "", false, nil
	}
	switch a.Verb {
	case "get":
		ok, reason, err := z.related(ctx, node, kindPod, a)
		return ok, reason, true, err
	case "list", "watch":
		if v, ok := fieldEquals(a.FieldSelector, "spec.nodeName"); ok && v == node {
			return true, "", true, nil
		}
		return false, "can only list/watch pods with spec.nodeName field selector", true, nil
	}
	return false, "", false, nil
}

// resourceSlice decides a node's access to ResourceSlices, as upstream's node authorizer
// does: any create (NodeRestriction checks the slice's node), lists, watches and collection
// deletes narrowed to the node by a spec.nodeName field selector, and the other verbs on the
// slices of the node.
func (z *Authorizer) resourceSlice(ctx context.Context, node string, a apiserver.Attributes) (bool, string, error) {
	if a.Subresource != "" {
		return false, "cannot authorize ResourceSlice subresources", nil
	}
	switch a.Verb {
	case "create":
		return true, "", nil
	case "get", "update", "patch", "delete":
		s, err := z.src.ResourceSlice(ctx, a.Name)
		if err != nil {
			return false, "", err
		}
		if s != nil && s.Spec.NodeName != nil && *s.Spec.NodeName == node {
			return true, "", nil
		}
		return false, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
	case "watch", "list", "deletecollection":
		if v, ok := fieldEquals(a.FieldSelector, resourcev1.ResourceSliceSelectorNodeName); ok && v == node {
			return true, "", nil
		}
		return false, "can only list/watch/deletecollection resourceslices with nodeName field selector", nil
	}
	return false, "only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection", nil
}

// lease allows a node its own Lease in kube-node-lease.
func lease(node string, a apiserver.Attributes) (bool, string, error) {
	switch a.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return false, "can only get, create, update, patch, or delete a node lease", nil
	}
	if a.Namespace != corev1.NamespaceNodeLease {
		return false, fmt.Sprintf("can only access leases in the %q system namespace", corev1.NamespaceNodeLease), nil
	}
	// The name of a create is in the body: NodeRestriction checks it.
	if a.Verb != "create" && a.Name != node {
		return false, "can only access node lease with the same name as the requesting node", nil
	}
	return true, "", nil
}

// nodeObject allows a node to read only its own Node, and to write Nodes (NodeRestriction
// narrows writes to its own).
func nodeObject(node string, a apiserver.Attributes) (bool, string, error) {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case "create", "update", "patch":
			return true, "", nil
		case "get", "list", "watch":
			switch name := nameOf(a); name {
			case node:
				return true, "", nil
			case "":
				return false, fmt.Sprintf("node '%s' cannot read all nodes, only its own Node object", node), nil
			default:
				return false, fmt.Sprintf("node '%s' cannot read '%s', only its own Node object", node, name), nil
			}
		}
	case "status":
		switch a.Verb {
		case "update", "patch":
			return true, "", nil
		}
	}
	return false, "", nil
}

// RulesFor reports that a node's permissions cannot be listed, as upstream does.
func (z *Authorizer) RulesFor(_ context.Context, u apiserver.User, _ string) (bool, error) {
	if _, ok := Identity(u); ok {
		return true, fmt.Errorf("node authorizer does not support user rule resolution")
	}
	return false, nil
}
