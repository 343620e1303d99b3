package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Upstream's node condition reasons and messages (pkg/kubelet/nodestatus).
const (
	reasonKubeletReady       = "KubeletReady"
	messageKubeletReady      = "kubelet is posting ready status"
	reasonKubeletNotReady    = "KubeletNotReady"
	reasonSufficientMemory   = "KubeletHasSufficientMemory"
	messageSufficientMemory  = "kubelet has sufficient memory available"
	reasonNoDiskPressure     = "KubeletHasNoDiskPressure"
	messageNoDiskPressure    = "kubelet has no disk pressure"
	reasonSufficientPID      = "KubeletHasSufficientPID"
	messageSufficientPID     = "kubelet has sufficient PID available"
	annotationTTL            = "node.alpha.kubernetes.io/ttl"
	annotationAttachDetach   = "volumes.kubernetes.io/controller-managed-attach-detach"
	eventReasonStarting      = "Starting"
	eventReasonNodeReady     = "NodeReady"
	eventReasonHasSufficient = "NodeHasSufficientMemory"
)

// initialNode is the Node the kubelet registers.
func (kl *Kubelet) initialNode() *corev1.Node {
	c := &kl.cfg
	labels := map[string]string{
		corev1.LabelHostname:      c.NodeName,
		corev1.LabelOSStable:      c.OS,
		corev1.LabelArchStable:    c.Arch,
		"beta.kubernetes.io/os":   c.OS,
		"beta.kubernetes.io/arch": c.Arch,
	}
	for k, v := range c.Labels {
		labels[k] = v
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        c.NodeName,
			Labels:      labels,
			Annotations: map[string]string{annotationTTL: "0", annotationAttachDetach: "true"},
		},
		Spec: corev1.NodeSpec{Taints: append([]corev1.Taint(nil), c.Taints...)},
	}
	n.Status = *kl.nodeStatus(nil, kl.clock.Now())
	return n
}

// nodeStatus computes the node's status; old carries the transition times forward.
func (kl *Kubelet) nodeStatus(old *corev1.NodeStatus, now time.Time) *corev1.NodeStatus {
	c := &kl.cfg
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              c.CPU,
		corev1.ResourceMemory:           c.Memory,
		corev1.ResourceEphemeralStorage: c.EphemeralStorage,
		corev1.ResourcePods:             *resource.NewQuantity(int64(c.MaxPods), resource.DecimalSI),
		"hugepages-1Gi":                 resource.MustParse("0"),
		"hugepages-2Mi":                 resource.MustParse("0"),
	}
	t := metav1.NewTime(now.Truncate(time.Second))
	cond := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		nc := corev1.NodeCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastHeartbeatTime: t, LastTransitionTime: t}
		if old != nil {
			for _, o := range old.Conditions {
				if o.Type == typ && o.Status == status {
					nc.LastTransitionTime = o.LastTransitionTime
				}
			}
		}
		return nc
	}
	ready := cond(corev1.NodeReady, corev1.ConditionTrue, reasonKubeletReady, messageKubeletReady)
	if c.ReadyCheck != nil {
		if err := c.ReadyCheck(); err != nil {
			ready = cond(corev1.NodeReady, corev1.ConditionFalse, reasonKubeletNotReady, err.Error())
		}
	}
	info := corev1.NodeSystemInfo{
		MachineID:     c.NodeName,
		SystemUUID:    c.NodeName,
		BootID:        c.NodeName,
		KernelVersion: "skiff-simulated",
		OSImage:       "skiff",
	}
	if c.SystemInfo.MachineID != "" {
		info = c.SystemInfo
	}
	info.ContainerRuntimeVersion, info.KubeletVersion = c.RuntimeVersion, c.KubeletVersion
	info.OperatingSystem, info.Architecture = c.OS, c.Arch
	pressure := kl.underPressure()
	var conditions []corev1.NodeCondition
	for _, typ := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		status, reason, msg := pressureCondition(typ, pressure)
		conditions = append(conditions, cond(typ, status, reason, msg))
	}
	return &corev1.NodeStatus{
		Capacity:        capacity,
		Allocatable:     capacity.DeepCopy(),
		Conditions:      append(conditions, ready),
		Addresses:       append([]corev1.NodeAddress(nil), c.Addresses...),
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: c.KubeletPort}},
		NodeInfo:        info,
	}
}

// nodeStatusChanged reports whether a and b differ in anything but heartbeat times.
func nodeStatusChanged(a, b *corev1.NodeStatus) bool {
	if a == nil || b == nil {
		return true
	}
	strip := func(s *corev1.NodeStatus) *corev1.NodeStatus {
		s = s.DeepCopy()
		for i := range s.Conditions {
			s.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
		return s
	}
	return !reflect.DeepEqual(strip(a), strip(b))
}

// syncNode is the node work item: registration, then every NodeStatusUpdateFrequency the Lease
// and the node status. It schedules itself.
func (kl *Kubelet) syncNode(ctx context.Context) {
	now := kl.clock.Now()
	self := workKey{kl: kl, kind: workNode}
	if !kl.registered {
		if err := kl.register(ctx); err != nil {
			kl.log.Warn("unable to register node with API server", "node", kl.cfg.NodeName, "err", err)
			kl.sched.schedule(self, now.Add(kl.nextLeaseBackoff()))
			return
		}
		kl.registered = true
		kl.leaseBackoff = 0
	}
	next := now.Add(LeaseRenewInterval)
	if err := kl.renewLease(ctx, now); err != nil {
		kl.log.Warn("failed to renew lease", "node", kl.cfg.NodeName, "err", err)
		next = now.Add(kl.nextLeaseBackoff())
	} else {
		kl.leaseBackoff = 0
	}
	if err := kl.reportNodeStatus(ctx, now); err != nil {
		kl.log.Warn("error updating node status, will retry", "node", kl.cfg.NodeName, "err", err)
	}
	kl.sched.schedule(self, next)
}

// nextLeaseBackoff doubles from 200ms to maxLeaseBackOff, as upstream's lease controller does.
func (kl *Kubelet) nextLeaseBackoff() time.Duration {
	if kl.leaseBackoff == 0 {
		kl.leaseBackoff = 100 * time.Millisecond
	}
	kl.leaseBackoff = min(2*kl.leaseBackoff, maxLeaseBackOff)
	return kl.leaseBackoff
}

func (kl *Kubelet) register(ctx context.Context) error {
	n := kl.initialNode()
	created, err := kl.client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	switch {
	case err == nil:
		kl.setNode(created)
		kl.recorder.Eventf(nodeRef(kl.cfg.NodeName, created.UID), corev1.EventTypeNormal, eventReasonStarting, "Starting kubelet.")
		return nil
	case apierrors.IsAlreadyExists(err):
		existing, err := kl.client.CoreV1().Nodes().Get(ctx, kl.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		kl.setNode(existing)
		return nil
	default:
		return err
	}
}

func nodeRef(name string, uid types.UID) *corev1.ObjectReference {
	// Upstream's node events carry the node name as UID.
	return &corev1.ObjectReference{Kind: "Node", Name: name, UID: types.UID(name)}
}

// renewLease updates the Lease from the last one written, creating it if needed.
func (kl *Kubelet) renewLease(ctx context.Context, now time.Time) error {
	leases := kl.client.CoordinationV1().Leases(LeaseNamespace)
	for i := 0; i < maxLeaseUpdateRetries; i++ {
		if kl.lease == nil {
			l, err := leases.Get(ctx, kl.cfg.NodeName, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				l, err = leases.Create(ctx, kl.newLease(nil, now), metav1.CreateOptions{})
				if err == nil {
					kl.lease = l
					return nil
				}
			}
			if err != nil {
				return err
			}
			kl.lease = l
		}
		l, err := leases.Update(ctx, kl.newLease(kl.lease, now), metav1.UpdateOptions{})
		if err == nil {
			kl.lease = l
			return nil
		}
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			kl.lease = nil
			continue
		}
		return err
	}
	return fmt.Errorf("failed %d attempts to update lease", maxLeaseUpdateRetries)
}

func (kl *Kubelet) newLease(base *coordinationv1.Lease, now time.Time) *coordinationv1.Lease {
	var l *coordinationv1.Lease
	if base == nil {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: kl.cfg.NodeName, Namespace: LeaseNamespace},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(kl.cfg.NodeName)},
		}
	} else {
		l = base.DeepCopy()
	}
	l.Spec.LeaseDurationSeconds = ptr.To(int32(LeaseDuration / time.Second))
	l.Spec.RenewTime = &metav1.MicroTime{Time: now}
	kl.mu.Lock()
	if kl.node != nil && kl.node.UID != "" && len(l.OwnerReferences) == 0 {
		l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: kl.cfg.NodeName, UID: kl.node.UID}}
	}
	kl.mu.Unlock()
	return l
}

// reportNodeStatus patches the node status when it changed, or when NodeStatusReportFrequency
// passed since the last report.
func (kl *Kubelet) reportNodeStatus(ctx context.Context, now time.Time) error {
	kl.mu.Lock()
	var current *corev1.NodeStatus
	if kl.node != nil {
		current = &kl.node.Status
	}
	kl.mu.Unlock()
	old := kl.lastStatus
	if old == nil {
		old = current
	}
	desired := kl.nodeStatus(old, now)
	if kl.lastStatus != nil && !nodeStatusChanged(kl.lastStatus, desired) && now.Sub(kl.lastReport) < NodeStatusReportFrequency {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"status": desired})
	if err != nil {
		return err
	}
	n, err := kl.client.CoreV1().Nodes().Patch(ctx, kl.cfg.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		if apierrors.IsNotFound(err) {
			kl.registered = false
		}
		return err
	}
	if kl.lastStatus == nil {
		kl.recorder.Eventf(nodeRef(kl.cfg.NodeName, n.UID), corev1.EventTypeNormal, eventReasonNodeReady, "Node %s status is now: NodeReady", kl.cfg.NodeName)
	}
	kl.recordPressureEvents(old, desired)
	kl.lastStatus = desired
	kl.lastReport = now
	n.ManagedFields = nil // our own copy; kept like the informer's, without them
	kl.setNode(n)
	return nil
}
