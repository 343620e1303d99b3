package node

import (
	"context"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/registry"
)

type fakeSource struct {
	pods   []*corev1.Pod
	claims map[string]*corev1.PersistentVolumeClaim
	slices map[string]*resourcev1.ResourceSlice
}

func (f fakeSource) ResourceSlice(_ context.Context, name string) (*resourcev1.ResourceSlice, error) {
	return f.slices[name], nil
}

func sliceOn(node string) *resourcev1.ResourceSlice {
	return &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: node + "-gpu"}, Spec: resourcev1.ResourceSliceSpec{NodeName: &node}}
}

func (f fakeSource) PodsOnNode(_ context.Context, node string, _ bool) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	for _, p := range f.pods {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f fakeSource) PersistentVolumeClaim(_ context.Context, ns, name string) (*corev1.PersistentVolumeClaim, error) {
	return f.claims[ns+"/"+name], nil
}

func testSource() fakeSource {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}, Spec: corev1.PodSpec{
		NodeName: "n1", ServiceAccountName: "web-sa",
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
		Volumes: []corev1.Volume{
			{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "vol-secret"}}},
			{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "proj-cm"}}}}}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
		},
		ResourceClaims: []corev1.PodResourceClaim{{Name: "gpu", ResourceClaimName: ptr.To("gpu-claim")}, {Name: "tmpl", ResourceClaimTemplateName: ptr.To("t")}},
		Containers: []corev1.Container{{Name: "c",
			Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "env-secret"}, Key: "k"}}}},
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "env-cm"}}}}}},
	}, Status: corev1.PodStatus{ResourceClaimStatuses: []corev1.PodResourceClaimStatus{{Name: "tmpl", ResourceClaimName: ptr.To("web-tmpl-x7k2p")}}}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db"}, Spec: corev1.PodSpec{NodeName: "n2",
		Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db-secret"}}}}}}
	return fakeSource{pods: []*corev1.Pod{pod, other}, claims: map[string]*corev1.PersistentVolumeClaim{
		"ns/data": {ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-1"}}},
		slices: map[string]*resourcev1.ResourceSlice{"n1-gpu": sliceOn("n1"), "n2-gpu": sliceOn("n2")}}
}

func TestAuthorizer(t *testing.T) {
	z := New(testSource())
	n1 := apiserver.User{Name: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}}
	at := func(verb, group, resource, sub, ns, name string) apiserver.Attributes {
		return apiserver.Attributes{User: n1, Verb: verb, IsResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
	}
	watchNamed := at("watch", "", "secrets", "", "ns", "")
	watchNamed.FieldSelector = "metadata.name=vol-secret"
	ownPods := at("list", "", "pods", "", "", "")
	ownPods.FieldSelector = "spec.nodeName=n1"
	otherPods := at("list", "", "pods", "", "", "")
	otherPods.FieldSelector = "spec.nodeName=n2"
	ownNode := at("watch", "", "nodes", "", "", "")
	ownNode.FieldSelector = "metadata.name=n1"
	ownSlices := at("deletecollection", "resource.k8s.io", "resourceslices", "", "", "")
	ownSlices.FieldSelector = "spec.nodeName=n1"
	otherSlices := at("watch", "resource.k8s.io", "resourceslices", "", "", "")
	otherSlices.FieldSelector = "spec.nodeName=n2"
	tests := []struct {
		name   string
		a      apiserver.Attributes
		want   bool
		reason string
	}{
		{"volume secret", at("get", "", "secrets", "", "ns", "vol-secret"), true, ""},
		{"env secret", at("get", "", "secrets", "", "ns", "env-secret"), true, ""},
		{"image pull secret", at("get", "", "secrets", "", "ns", "pull"), true, ""},
		{"watch one secret", watchNamed, true, ""},
		{"secret of another node's pod", at("get", "", "secrets", "", "ns", "db-secret"), false, "no relationship found between node 'n1' and this object"},
		{"same name in another namespace", at("get", "", "secrets", "", "other", "vol-secret"), false, ""},
		{"list secrets", at("list", "", "secrets", "", "ns", ""), false, "No Object name found"},
		{"write a secret", at("update", "", "secrets", "", "ns", "vol-secret"), false, "can only read resources of this type"},
		{"projected configmap", at("get", "", "configmaps", "", "ns", "proj-cm"), true, ""},
		{"env configmap", at("get", "", "configmaps", "", "ns", "env-cm"), true, ""},
		{"claim", at("get", "", "persistentvolumeclaims", "", "ns", "data"), true, ""},
		{"volume of a claim", at("get", "", "persistentvolumes", "", "", "pv-1"), true, ""},
		{"other volume", at("get", "", "persistentvolumes", "", "", "pv-2"), false, ""},
		{"token of its pod's service account", at("create", "", "serviceaccounts", "token", "ns", "web-sa"), true, ""},
		{"token of another service account", at("create", "", "serviceaccounts", "token", "ns", "default"), false, ""},
		{"its pod", at("get", "", "pods", "", "ns", "web"), true, ""},
		{"another node's pod", at("get", "", "pods", "", "ns", "db"), false, ""},
		{"list its pods", ownPods, true, ""},
		{"list another node's pods", otherPods, false, "can only list/watch pods with spec.nodeName field selector"},
		{"pod status", at("patch", "", "pods", "status", "ns", "web"), true, ""},
		{"its node", at("get", "", "nodes", "", "", "n1"), true, ""},
		{"watch its node", ownNode, true, ""},
		{"another node", at("get", "", "nodes", "", "", "n2"), false, "node 'n1' cannot read 'n2', only its own Node object"},
		{"all nodes", at("list", "", "nodes", "", "", ""), false, "node 'n1' cannot read all nodes, only its own Node object"},
		{"node status", at("patch", "", "nodes", "status", "", "n1"), true, ""},
		{"its lease", at("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), true, ""},
		{"another lease", at("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n2"), false, "can only access node lease with the same name as the requesting node"},
		{"lease elsewhere", at("get", "coordination.k8s.io", "leases", "", "default", "n1"), false, ""},
		{"events", at("create", "", "events", "", "ns", ""), true, ""},
		{"services for environment", at("list", "", "services", "", "", ""), true, ""},
		{"deployments", at("list", "apps", "deployments", "", "ns", ""), false, ""},
		{"resource claim of its pod", at("get", "resource.k8s.io", "resourceclaims", "", "ns", "gpu-claim"), true, ""},
		{"claim generated for its pod", at("get", "resource.k8s.io", "resourceclaims", "", "ns", "web-tmpl-x7k2p"), true, ""},
		{"another resource claim", at("get", "resource.k8s.io", "resourceclaims", "", "ns", "other"), false, "no relationship found between node 'n1' and this object"},
		{"list resource claims", at("list", "resource.k8s.io", "resourceclaims", "", "ns", ""), false, "can only get individual resources of this type"},
		{"create a slice", at("create", "resource.k8s.io", "resourceslices", "", "", ""), true, ""},
		{"update its slice", at("update", "resource.k8s.io", "resourceslices", "", "", "n1-gpu"), true, ""},
		{"update another node's slice", at("update", "resource.k8s.io", "resourceslices", "", "", "n2-gpu"), false, "no relationship found between node 'n1' and this object"},
		{"delete its slices", ownSlices, true, ""},
		{"watch another node's slices", otherSlices, false, "can only list/watch/deletecollection resourceslices with nodeName field selector"},
		{"slice status", at("get", "resource.k8s.io", "resourceslices", "status", "", "n1-gpu"), false, "cannot authorize ResourceSlice subresources"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, reason, err := z.Authorize(context.Background(), tc.a)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want || (tc.reason != "" && reason != tc.reason) {
				t.Errorf("Authorize = %v %q, want %v %q", ok, reason, tc.want, tc.reason)
			}
		})
	}
	// Users that are not nodes get no opinion.
	for _, u := range []apiserver.User{{Name: "alice"}, {Name: "system:node:n1"}, {Name: "x", Groups: []string{"system:nodes"}}} {
		a := at("get", "", "secrets", "", "ns", "vol-secret")
		a.User = u
		if ok, _, _ := z.Authorize(context.Background(), a); ok {
			t.Errorf("%+v allowed as a node", u)
		}
	}
}

func TestRestriction(t *testing.T) {
	node := registry.UserInfo{Name: "system:node:n1", Groups: []string{"system:nodes"}}
	res := func(group, plural string) *registry.Resource {
		return &registry.Resource{GVK: schema.GroupVersionKind{Group: group, Version: "v1"}, Plural: plural}
	}
	nodeObj := func(name string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	pod := func(node string, annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: annotations}, Spec: corev1.PodSpec{NodeName: node}}
	}
	mirror := map[string]string{mirrorPodAnnotation: "x"}
	tests := []struct {
		name      string
		user      registry.UserInfo
		op, sub   string
		res       *registry.Resource
		ns, oname string
		obj, old  runtime.Object
		wantErr   string
	}{
		{"register itself", node, registry.OperationCreate, "", res("", "nodes"), "", "n1", nodeObj("n1", map[string]string{"kubernetes.io/hostname": "n1", "node.kubernetes.io/exclude-from-external-load-balancers": ""}), nil, ""},
		{"register with a restricted label", node, registry.OperationCreate, "", res("", "nodes"), "", "n1",
			nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/pool": "a", "node-role.kubernetes.io/control-plane": ""}), nil,
			`node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/pool, node-role.kubernetes.io/control-plane`},
		{"modify another node", node, registry.OperationUpdate, "", res("", "nodes"), "", "n2", nodeObj("n2", nil), nodeObj("n2", nil), `node "n1" is not allowed to modify node "n2"`},
		{"change its taints", node, registry.OperationUpdate, "", res("", "nodes"), "", "n1", nodeObj("n1", nil), nodeObj("n1", nil, corev1.Taint{Key: "k", Effect: corev1.TaintEffectNoSchedule}),
			`node "n1" is not allowed to modify taints`},
		{"change a restricted label", node, registry.OperationUpdate, "", res("", "nodes"), "", "n1",
			nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/pool": "b"}), nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/pool": "a"}),
			"is not allowed to modify labels: node-restriction.kubernetes.io/pool"},
		{"other users may", registry.UserInfo{Name: "admin"}, registry.OperationUpdate, "", res("", "nodes"), "", "n2", nodeObj("n2", nil), nodeObj("n2", nil), ""},
		{"status of its pod", node, registry.OperationUpdate, "status", res("", "pods"), "ns", "p", pod("n1", nil), pod("n1", nil), ""},
		{"status of another node's pod", node, registry.OperationUpdate, "status", res("", "pods"), "ns", "p", pod("n2", nil), pod("n2", nil),
			`node "n1" can only update pod status for pods with spec.nodeName set to itself`},
		{"update a pod", node, registry.OperationUpdate, "", res("", "pods"), "ns", "p", pod("n1", nil), pod("n1", nil), `unexpected operation "UPDATE"`},
		{"mirror pod", node, registry.OperationCreate, "", res("", "pods"), "ns", "p", pod("n1", mirror), nil, ""},
		{"plain pod", node, registry.OperationCreate, "", res("", "pods"), "ns", "p", pod("n1", nil), nil, "node \"n1\" can only create mirror pods"},
		{"mirror pod elsewhere", node, registry.OperationCreate, "", res("", "pods"), "ns", "p", pod("n2", mirror), nil, "can only create pods with spec.nodeName set to itself"},
		{"delete its pod", node, registry.OperationDelete, "", res("", "pods"), "ns", "p", nil, pod("n1", nil), ""},
		{"delete another node's pod", node, registry.OperationDelete, "", res("", "pods"), "ns", "p", nil, pod("n2", nil), "can only delete pods with spec.nodeName set to itself"},
		{"its lease", node, registry.OperationCreate, "", res("coordination.k8s.io", "leases"), "kube-node-lease", "",
			&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, nil, ""},
		{"another lease", node, registry.OperationCreate, "", res("coordination.k8s.io", "leases"), "kube-node-lease", "",
			&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, nil, "can only access node lease with the same name"},
		{"its slice", node, registry.OperationCreate, "", res("resource.k8s.io", "resourceslices"), "", "n1-gpu", sliceOn("n1"), nil, ""},
		{"another node's slice", node, registry.OperationCreate, "", res("resource.k8s.io", "resourceslices"), "", "n2-gpu", sliceOn("n2"), nil,
			"can only create ResourceSlice with the same NodeName as the requesting node"},
		{"delete another node's slice", node, registry.OperationDelete, "", res("resource.k8s.io", "resourceslices"), "", "n2-gpu", nil, sliceOn("n2"),
			"can only delete ResourceSlice with the same NodeName as the requesting node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Restriction{}.Validate(context.Background(), &registry.AdmissionAttributes{Operation: tc.op, Subresource: tc.sub, Resource: tc.res,
				Namespace: tc.ns, Name: tc.oname, Object: tc.obj, OldObject: tc.old, User: tc.user})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
