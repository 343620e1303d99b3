package integration

import (
	"strings"
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// TestResourceClaimLifecycle walks a claim through what a scheduler and a driver do to it: the
// status subresource allocates and reserves, the spec stays immutable, device status of a device
// given back is dropped, and admin access needs the namespace's label.
func TestResourceClaimLifecycle(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	claims := client().ResourceV1().ResourceClaims(ns)
	c, err := claims.Create(ctx, &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: "gpu"},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{
			{Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com"}}}}},
		Status: resourcev1.ResourceClaimStatus{ReservedFor: []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "x", UID: "u"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Spec.Devices.Requests[0].Exactly; r.AllocationMode != resourcev1.DeviceAllocationModeExactCount || r.Count != 1 {
		t.Errorf("request not defaulted: %+v", r)
	}
	if c.Status.ReservedFor != nil || c.Generation != 0 {
		t.Errorf("create kept status %+v or set generation %d", c.Status, c.Generation)
	}

	c.Spec.Devices.Requests[0].Exactly.Count = 2
	if _, err := claims.Update(ctx, c, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "field is immutable") {
		t.Fatalf("spec update: %v", err)
	}
	c.Spec.Devices.Requests[0].Exactly.Count = 1

	result := func(device string) resourcev1.DeviceRequestAllocationResult {
		return resourcev1.DeviceRequestAllocationResult{Request: "gpu", Driver: "gpu.example.com", Pool: "node-1", Device: device}
	}
	c.Status = resourcev1.ResourceClaimStatus{
		Allocation:  &resourcev1.AllocationResult{Devices: resourcev1.DeviceAllocationResult{Results: []resourcev1.DeviceRequestAllocationResult{result("gpu-0")}}},
		ReservedFor: []resourcev1.ResourceClaimConsumerReference{{Resource: "pods", Name: "trainer", UID: "6d1e2a3c-0000-4000-8000-000000000001"}},
		Devices:     []resourcev1.AllocatedDeviceStatus{{Driver: "gpu.example.com", Pool: "node-1", Device: "gpu-0"}},
	}
	c, err = claims.UpdateStatus(ctx, c, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Status.Devices) != 1 || len(c.Status.ReservedFor) != 1 {
		t.Fatalf("status %+v", c.Status)
	}
	// A main-resource write keeps the status.
	c.Labels = map[string]string{"x": "y"}
	c.Status = resourcev1.ResourceClaimStatus{}
	if c, err = claims.Update(ctx, c, metav1.UpdateOptions{}); err != nil || c.Status.Allocation == nil {
		t.Fatalf("update dropped the status: %v %+v", err, c.Status)
	}
	// Deallocation drops the device's status along with it.
	c.Status.Allocation, c.Status.ReservedFor = nil, nil
	if c, err = claims.UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil || c.Status.Devices != nil {
		t.Fatalf("deallocation kept device status: %v %+v", err, c.Status)
	}

	// Admin access needs resource.kubernetes.io/admin-access: "true" on the namespace.
	admin := &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: "admin"},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{
			{Name: "all", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.example.com", AllocationMode: resourcev1.DeviceAllocationModeAll, AdminAccess: ptr.To(true)}}}}}}
	_, err = claims.Create(ctx, admin, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.devices.requests[0].adminAccess: Forbidden: admin access to devices requires the `resource.kubernetes.io/admin-access: true` label on the containing namespace") {
		t.Fatalf("admin access without the label: %v", err)
	}
	nsObj, err := client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels[resourcev1.DRAAdminNamespaceLabelKey] = "true"
	if _, err := client().CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := claims.Create(ctx, admin, metav1.CreateOptions{}); err != nil {
		t.Fatalf("admin access with the label: %v", err)
	}
}

// TestResourceSlicesAndTaintRules checks generations, the spec.nodeName field selector that
// kubelets and drivers list slices with, informers over the new kinds, and the updates that
// upstream refuses without a resourceVersion.
func TestResourceSlicesAndTaintRules(t *testing.T) {
	ctx := ctxT(t)
	slices := client().ResourceV1().ResourceSlices()
	mk := func(name, node string) *resourcev1.ResourceSlice {
		return &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.ResourceSliceSpec{
			Driver: "gpu.example.com", NodeName: ptr.To(node), Pool: resourcev1.ResourcePool{Name: node, ResourceSliceCount: 1},
			Devices: []resourcev1.Device{{Name: "gpu-0"}}}}
	}
	s1, err := slices.Create(ctx, mk("dra-a", "dra-node-a"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slices.Create(ctx, mk("dra-b", "dra-node-b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = slices.DeleteCollection(ctxT(t), metav1.DeleteOptions{}, metav1.ListOptions{FieldSelector: "spec.driver=gpu.example.com"})
	})
	if s1.Generation != 1 {
		t.Errorf("generation %d on create", s1.Generation)
	}
	s1.Spec.Devices = append(s1.Spec.Devices, resourcev1.Device{Name: "gpu-1"})
	if s1, err = slices.Update(ctx, s1, metav1.UpdateOptions{}); err != nil || s1.Generation != 2 {
		t.Fatalf("update: %v, generation %d", err, s1.Generation)
	}
	list, err := slices.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=dra-node-b"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "dra-b" {
		t.Fatalf("list by node: %v %+v", err, list)
	}
	if _, err := slices.List(ctx, metav1.ListOptions{FieldSelector: "spec.model=x"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("unknown field selector: %v", err)
	}

	// Informers of every new kind sync, as kube-scheduler's must.
	f := informers.NewSharedInformerFactory(client(), 0)
	synced := []cache.InformerSynced{
		f.Resource().V1().DeviceClasses().Informer().HasSynced, f.Resource().V1().ResourceClaims().Informer().HasSynced,
		f.Resource().V1().ResourceClaimTemplates().Informer().HasSynced, f.Resource().V1().ResourceSlices().Informer().HasSynced,
		f.Resource().V1().DeviceTaintRules().Informer().HasSynced, f.Storage().V1().CSIStorageCapacities().Informer().HasSynced,
	}
	stop := make(chan struct{})
	f.Start(stop)
	defer f.Shutdown()
	defer close(stop) // before Shutdown, which waits for the informers to stop
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		t.Fatal("informers did not sync")
	}

	rules := client().ResourceV1().DeviceTaintRules()
	r, err := rules.Create(ctx, &resourcev1.DeviceTaintRule{ObjectMeta: metav1.ObjectMeta{Name: "dra-drain"},
		Spec: resourcev1.DeviceTaintRuleSpec{Taint: resourcev1.DeviceTaint{Key: "example.com/drain", Effect: resourcev1.DeviceTaintEffectNoSchedule}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rules.Delete(ctxT(t), "dra-drain", metav1.DeleteOptions{}) })
	if r.Spec.Taint.TimeAdded == nil || r.Generation != 1 {
		t.Fatalf("timeAdded %v, generation %d", r.Spec.Taint.TimeAdded, r.Generation)
	}
	// A PUT needs the resourceVersion; a patch does not.
	noRV := r.DeepCopy()
	noRV.ResourceVersion = ""
	_, err = rules.Update(ctx, noRV, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || err.Error() != `devicetaintrules.resource.k8s.io "dra-drain" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update` {
		t.Fatalf("update without resourceVersion: %v", err)
	}
	added := *r.Spec.Taint.TimeAdded
	added.Time = added.Add(-3600e9)
	r.Spec.Taint.TimeAdded = &added
	if r, err = rules.Update(ctx, r, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := rules.Patch(ctx, "dra-drain", types.MergePatchType, []byte(`{"spec":{"taint":{"effect":"NoExecute"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Spec.Taint.TimeAdded.After(added.Time) || p.Generation != 3 {
		t.Errorf("changing the effect: timeAdded %v (was %v), generation %d", p.Spec.Taint.TimeAdded, added, p.Generation)
	}

	capacities := client().StorageV1().CSIStorageCapacities(namespace(t))
	cp, err := capacities.Create(ctx, &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Name: "cap"}, StorageClassName: "local",
		Capacity: ptr.To(resource.MustParse("10Gi"))}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cp.ResourceVersion = ""
	if _, err := capacities.Update(ctx, cp, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("capacity update without resourceVersion: %v", err)
	}
}

// TestResourceSliceNodeRestriction checks that a node writes only the slices of its own node.
func TestResourceSliceNodeRestriction(t *testing.T) {
	ctx := ctxT(t)
	node := userClient(t, "system:node:dra-node-c", "system:nodes")
	mk := func(name, nodeName string) *resourcev1.ResourceSlice {
		return &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.ResourceSliceSpec{
			Driver: "net.example.com", NodeName: ptr.To(nodeName), Pool: resourcev1.ResourcePool{Name: nodeName, ResourceSliceCount: 1}}}
	}
	if _, err := node.ResourceV1().ResourceSlices().Create(ctx, mk("dra-c", "dra-node-c"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("own slice: %v", err)
	}
	_, err := node.ResourceV1().ResourceSlices().Create(ctx, mk("dra-d", "dra-node-d"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "can only create ResourceSlice with the same NodeName as the requesting node") {
		t.Fatalf("another node's slice: %v", err)
	}
	if err := node.ResourceV1().ResourceSlices().DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{FieldSelector: "spec.nodeName=dra-node-c"}); err != nil {
		t.Fatalf("delete own slices: %v", err)
	}
	if _, err := node.ResourceV1().ResourceClaims("default").Get(ctx, "any", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a claim of no pod of the node: %v", err)
	}
}
