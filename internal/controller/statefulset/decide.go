package statefulset

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-project/skiff/internal/controller/history"
	"github.com/skiff-project/skiff/internal/controller/podstate"
	"github.com/skiff-project/skiff/internal/controller/replicaset"
)

// Kind is the StatefulSet kind in ownerReferences.
var Kind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")

var ordinalName = regexp.MustCompile(`^(.*)-([0-9]+)$`)

// ParentAndOrdinal splits a pod name "<set>-<ordinal>"; the ordinal is -1 if name has none.
func ParentAndOrdinal(name string) (string, int) {
	m := ordinalName.FindStringSubmatch(name)
	if m == nil {
		return "", -1
	}
	o, err := strconv.ParseInt(m[2], 10, 32)
	if err != nil {
		return "", -1
	}
	return m[1], int(o)
}

// PodName is the name of set's pod with ordinal.
func PodName(set string, ordinal int) string { return set + "-" + strconv.Itoa(ordinal) }

// ClaimName is the name of the PersistentVolumeClaim of template for set's pod with ordinal.
func ClaimName(template, set string, ordinal int) string {
	return template + "-" + set + "-" + strconv.Itoa(ordinal)
}

// IsMember reports whether pod's name makes it one of set's pods.
func IsMember(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ord := ParentAndOrdinal(pod.Name)
	return ord >= 0 && parent == set.Name
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func replicaCount(set *appsv1.StatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// inRange reports whether ordinal is one set wants: [start, start+replicas).
func inRange(set *appsv1.StatefulSet, ordinal int) bool {
	start := startOrdinal(set)
	return ordinal >= start && ordinal < start+replicaCount(set)
}

// Revision is the name of the ControllerRevision pod was made from.
func Revision(pod *corev1.Pod) string { return pod.Labels[history.HashLabel] }

func isCreated(p *corev1.Pod) bool     { return p.Status.Phase != "" }
func isPending(p *corev1.Pod) bool     { return p.Status.Phase == corev1.PodPending }
func isTerminal(p *corev1.Pod) bool    { return podstate.IsTerminal(p) }
func isTerminating(p *corev1.Pod) bool { return p.DeletionTimestamp != nil }
func isRunningAndReady(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && podstate.IsReady(p)
}
func isRunningAndAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return p.Status.Phase == corev1.PodRunning && podstate.IsAvailable(p, minReadySeconds, now)
}
func isHealthy(p *corev1.Pod) bool { return isRunningAndReady(p) && !isTerminating(p) }

// NewPod is set's pod with ordinal, made from set's template (the template of the revision it
// belongs to) and labelled with that revision: named <set>-<ordinal>, with the labels
// statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and controller-revision-hash,
// hostname its name, subdomain spec.serviceName, and a volume for each volumeClaimTemplate
// naming the ordinal's claim.
func NewPod(set *appsv1.StatefulSet, ordinal int, revision string) *corev1.Pod {
	pod := replicaset.PodFromTemplate(&set.Spec.Template, set, Kind)
	pod.GenerateName = ""
	pod.Name = PodName(set.Name, ordinal)
	setIdentity(pod, ordinal)
	pod.Spec.Hostname = pod.Name
	pod.Spec.Subdomain = set.Spec.ServiceName
	pod.Spec.Volumes = volumesWithClaims(set, pod.Spec.Volumes, ordinal)
	if revision != "" {
		pod.Labels[history.HashLabel] = revision
	}
	return pod
}

func setIdentity(pod *corev1.Pod, ordinal int) {
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.StatefulSetPodNameLabel] = pod.Name
	pod.Labels[appsv1.PodIndexLabel] = strconv.Itoa(ordinal)
}

// identityMatches is upstream's: the pod's name and identity labels are those of its ordinal.
func identityMatches(set *appsv1.StatefulSet, pod *corev1.Pod) bool {
	parent, ord := ParentAndOrdinal(pod.Name)
	return ord >= 0 && parent == set.Name && pod.Namespace == set.Namespace &&
		pod.Labels[appsv1.StatefulSetPodNameLabel] == pod.Name && pod.Labels[appsv1.PodIndexLabel] == strconv.Itoa(ord)
}

func volumesWithClaims(set *appsv1.StatefulSet, current []corev1.Volume, ordinal int) []corev1.Volume {
	if len(set.Spec.VolumeClaimTemplates) == 0 {
		return current
	}
	claimed := map[string]bool{}
	var out []corev1.Volume
	for _, t := range set.Spec.VolumeClaimTemplates {
		claimed[t.Name] = true
		out = append(out, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: ClaimName(t.Name, set.Name, ordinal)}}})
	}
	for _, v := range current {
		if !claimed[v.Name] {
			out = append(out, v)
		}
	}
	return out
}

// Claims are the PersistentVolumeClaims of set's pod with ordinal, one per volumeClaimTemplate
// in order: the template named ClaimName, labelled with the template's labels and the set's
// selector's matchLabels.
func Claims(set *appsv1.StatefulSet, ordinal int) []*corev1.PersistentVolumeClaim {
	var out []*corev1.PersistentVolumeClaim
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		c := &corev1.PersistentVolumeClaim{ObjectMeta: *t.ObjectMeta.DeepCopy(), Spec: *t.Spec.DeepCopy()}
		c.Name = ClaimName(t.Name, set.Name, ordinal)
		c.Namespace = set.Namespace
		c.ResourceVersion, c.UID, c.CreationTimestamp = "", "", metav1.Time{}
		if set.Spec.Selector != nil && len(set.Spec.Selector.MatchLabels) > 0 {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			for k, v := range set.Spec.Selector.MatchLabels {
				c.Labels[k] = v
			}
		}
		out = append(out, c)
	}
	return out
}

func retentionPolicy(set *appsv1.StatefulSet) (whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType) {
	whenDeleted, whenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if p := set.Spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		if p.WhenDeleted != "" {
			whenDeleted = p.WhenDeleted
		}
		if p.WhenScaled != "" {
			whenScaled = p.WhenScaled
		}
	}
	return whenDeleted, whenScaled
}

// ClaimOwnerRefs returns the owner references claim (of pod, a created pod of set) should have
// under set's persistentVolumeClaimRetentionPolicy, and whether they differ from its own:
// whenDeleted Delete makes the set an owner (so that deleting the set deletes the claim),
// whenScaled Delete makes the pod an owner once its ordinal is scaled away (so that deleting
// the pod deletes the claim); Retain removes those references (upstream's
// updateClaimOwnerRefForSetAndPod).
func ClaimOwnerRefs(set *appsv1.StatefulSet, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim) ([]metav1.OwnerReference, bool) {
	whenDeleted, whenScaled := retentionPolicy(set)
	const del = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	_, ord := ParentAndOrdinal(pod.Name)
	scaledDown := !inRange(set, ord)
	wantSet := whenDeleted == del && !(whenScaled == del && scaledDown)
	wantPod := whenScaled == del && scaledDown && pod.UID != ""
	var refs []metav1.OwnerReference
	hasSet, hasPod := false, false
	changed := false
	for _, r := range claim.OwnerReferences {
		switch {
		case r.UID == set.UID:
			if !wantSet {
				changed = true
				continue
			}
			hasSet = true
		case pod.UID != "" && r.UID == pod.UID:
			if !wantPod {
				changed = true
				continue
			}
			hasPod = true
		}
		refs = append(refs, r)
	}
	if wantSet && !hasSet {
		refs = append(refs, metav1.OwnerReference{APIVersion: Kind.GroupVersion().String(), Kind: Kind.Kind, Name: set.Name, UID: set.UID})
		changed = true
	}
	if wantPod && !hasPod {
		refs = append(refs, metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID})
		changed = true
	}
	return refs, changed
}

// claimIsStale is upstream's PodClaimIsStale: with whenScaled Delete, a claim still owned by an
// earlier pod of the same name (one being deleted, which will take the claim with it) must not
// be reused by a new pod.
func claimIsStale(set *appsv1.StatefulSet, pod *corev1.Pod, claims map[string]*corev1.PersistentVolumeClaim, ordinal int) bool {
	if _, whenScaled := retentionPolicy(set); whenScaled == appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		return false
	}
	for _, want := range Claims(set, ordinal) {
		c := claims[want.Name]
		if c == nil {
			continue
		}
		for _, r := range c.OwnerReferences {
			if r.Kind == "Pod" && r.Name == pod.Name && r.UID != pod.UID {
				return true
			}
		}
	}
	return false
}

// ActionType is what an Action does.
type ActionType int

const (
	// CreatePod creates Action.Claims that are missing, then Action.Pod.
	CreatePod ActionType = iota
	// CreateClaims creates the missing Action.Claims of the pending Action.Pod.
	CreateClaims
	// DeletePod deletes Action.Pod.
	DeletePod
	// UpdateIdentity puts back the identity labels of Action.Pod (a changed copy).
	UpdateIdentity
	// UpdateClaims writes the owner references of Action.Claims (changed copies).
	UpdateClaims
)

func (t ActionType) String() string {
	return [...]string{"CreatePod", "CreateClaims", "DeletePod", "UpdateIdentity", "UpdateClaims"}[t]
}

// Action is one write of a sync.
type Action struct {
	Type    ActionType
	Ordinal int
	Pod     *corev1.Pod
	Claims  []*corev1.PersistentVolumeClaim
	// Reason says why, for logs: "failed", "scale down", "update".
	Reason string
}

// Input is what Plan decides from.
type Input struct {
	// Set is the StatefulSet; Current and Update are copies of it with the pod templates of
	// the current and the update revision, named CurrentRevision and UpdateRevision.
	Set, Current, Update            *appsv1.StatefulSet
	CurrentRevision, UpdateRevision string
	CollisionCount                  int32
	// Pods are the set's pods (claimed, members by name).
	Pods []*corev1.Pod
	// Claims are the existing PersistentVolumeClaims of the namespace by name.
	Claims map[string]*corev1.PersistentVolumeClaim
	Now    time.Time
}

// Result is the outcome of Plan.
type Result struct {
	// Phases are the writes to make, in order: the actions of one phase may run in parallel
	// (with the Parallel policy), and a phase with an error stops the sync.
	Phases [][]Action
	// Status is the set's status once the writes are done.
	Status appsv1.StatefulSetStatus
	// Waiting says what the sync waits for, if it stopped early (for logs and tests).
	Waiting string
}

// Actions are all the actions of r in order.
func (r Result) Actions() []Action {
	var out []Action
	for _, p := range r.Phases {
		out = append(out, p...)
	}
	return out
}

// Plan is one sync of a StatefulSet, upstream's updateStatefulSet as a plain function. The
// ordinals [start, start+replicas) are the replicas; pods above are condemned.
//
//  1. Each replica in ordinal order: a finished (Failed or Succeeded) pod is deleted, to be
//     recreated once gone; a missing one is created (its claims first) with the current
//     revision below the partition and the update revision from it; a Pending one gets its
//     missing claims; a pod whose identity labels were changed gets them back; claims get the
//     owner references of the retention policy. With OrderedReady the walk stops at the first
//     pod created, terminating, or not yet Running, Ready and available: pod N+1 is created
//     only once pod N is all three, and a deleted pod's ordinal is recreated only once the
//     pod is gone.
//  2. The claims of condemned pods get the retention policy's owner references.
//  3. Condemned pods are deleted, highest ordinal first; with OrderedReady one at a time, and
//     only once the one before is gone and every replica is healthy (the first unhealthy pod
//     may go).
//  4. RollingUpdate: pods from ordinal partition up that are not on the update revision are
//     deleted, highest ordinal first, while fewer than maxUnavailable replicas are unavailable;
//     step 1 recreates them on the update revision. OnDelete waits for users to delete pods.
func Plan(in Input) Result {
	set := in.Set
	monotonic := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
	start, n := startOrdinal(set), replicaCount(set)
	replicas := make([]*corev1.Pod, n)
	generated := make([]bool, n)
	var condemned []*corev1.Pod
	for _, p := range in.Pods {
		_, ord := ParentAndOrdinal(p.Name)
		switch {
		case ord < 0:
		case inRange(set, ord):
			replicas[ord-start] = p
		case ord >= start+n || ord < start:
			condemned = append(condemned, p)
		}
	}
	for i := range replicas {
		if replicas[i] == nil {
			replicas[i] = newVersionedPod(in, start+i)
			generated[i] = true
		}
	}
	sort.SliceStable(condemned, func(i, j int) bool {
		_, a := ParentAndOrdinal(condemned[i].Name)
		_, b := ParentAndOrdinal(condemned[j].Name)
		return a > b
	})
	var firstUnhealthy *corev1.Pod
	for i, p := range replicas {
		if !generated[i] && !isHealthy(p) && firstUnhealthy == nil {
			firstUnhealthy = p
		}
	}
	for i := len(condemned) - 1; i >= 0; i-- {
		if !isHealthy(condemned[i]) && firstUnhealthy == nil {
			firstUnhealthy = condemned[i]
		}
	}

	var r Result
	finish := func(updateDeletes int) Result {
		r.Status = status(in, replicas, generated, condemned)
		r.Status.CurrentReplicas -= int32(updateDeletes)
		completeRollingUpdate(set, &r.Status)
		return r
	}
	if set.DeletionTimestamp != nil {
		return finish(0)
	}

	// 1. Replicas.
	var phase []Action
	for i, pod := range replicas {
		acts, wait := processReplica(in, monotonic, pod, generated[i], start+i)
		phase = append(phase, acts...)
		if wait != "" && monotonic {
			r.Waiting = wait
			break
		}
	}
	r.add(phase)
	if r.Waiting != "" {
		return finish(0)
	}

	// 2. Claims of condemned pods.
	phase = nil
	for _, pod := range condemned {
		_, ord := ParentAndOrdinal(pod.Name)
		if a, ok := claimUpdates(in, pod, ord); ok {
			phase = append(phase, a)
		}
	}
	r.add(phase)

	// 3. Condemned pods.
	phase = nil
	for _, pod := range condemned {
		_, ord := ParentAndOrdinal(pod.Name)
		if isTerminating(pod) {
			if monotonic {
				r.Waiting = fmt.Sprintf("pod %s to terminate", pod.Name)
				break
			}
			continue
		}
		if monotonic && pod != firstUnhealthy &&
			(!isRunningAndReady(pod) || !isRunningAndAvailable(pod, set.Spec.MinReadySeconds, in.Now)) {
			r.Waiting = fmt.Sprintf("pod %s to be Running and Ready before scaling it down", pod.Name)
			break
		}
		phase = append(phase, Action{Type: DeletePod, Ordinal: ord, Pod: pod, Reason: "scale down"})
		if monotonic {
			r.Waiting = fmt.Sprintf("pod %s to terminate", pod.Name)
			break
		}
	}
	r.add(phase)
	if r.Waiting != "" || set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return finish(0)
	}

	// 4. Rolling update.
	updates := rollingUpdate(in, replicas, generated)
	r.add(updates)
	return finish(len(updates))
}

func (r *Result) add(phase []Action) {
	if len(phase) > 0 {
		r.Phases = append(r.Phases, phase)
	}
}

// newVersionedPod is upstream's newVersionedStatefulSetPod, its operator precedence included:
// with RollingUpdate, ordinals below the partition (below currentReplicas without a
// rollingUpdate block) get the current revision, every other the update revision.
func newVersionedPod(in Input, ordinal int) *corev1.Pod {
	cur := in.Current
	start := startOrdinal(cur)
	ru := cur.Spec.UpdateStrategy.RollingUpdate
	partition := 0
	if ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	if (cur.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ru == nil && ordinal < start+int(cur.Status.CurrentReplicas)) ||
		(ru != nil && ordinal < start+partition) {
		return NewPod(cur, ordinal, in.CurrentRevision)
	}
	return NewPod(in.Update, ordinal, in.UpdateRevision)
}

// processReplica is step 1 for one replica; a non-empty wait stops an OrderedReady walk.
func processReplica(in Input, monotonic bool, pod *corev1.Pod, generated bool, ordinal int) ([]Action, string) {
	set := in.Set
	if isTerminal(pod) {
		if pod.DeletionTimestamp == nil {
			return []Action{{Type: DeletePod, Ordinal: ordinal, Pod: pod, Reason: "failed"}},
				fmt.Sprintf("pod %s (%s) to be deleted and recreated", pod.Name, pod.Status.Phase)
		}
		return nil, fmt.Sprintf("pod %s (%s) to be deleted and recreated", pod.Name, pod.Status.Phase)
	}
	if generated {
		if claimIsStale(set, pod, in.Claims, ordinal) {
			return nil, fmt.Sprintf("stale claims of pod %s to go", pod.Name)
		}
		missing, deleting := missingClaims(in, pod, ordinal)
		if deleting != "" {
			return nil, fmt.Sprintf("claim %s being deleted", deleting)
		}
		a := []Action{{Type: CreatePod, Ordinal: ordinal, Pod: pod, Claims: missing}}
		return a, fmt.Sprintf("pod %s to be Running and Ready", pod.Name)
	}
	var acts []Action
	if isPending(pod) {
		if missing, _ := missingClaims(in, pod, ordinal); len(missing) > 0 {
			acts = append(acts, Action{Type: CreateClaims, Ordinal: ordinal, Pod: pod, Claims: missing})
		}
	}
	if monotonic {
		switch {
		case isTerminating(pod):
			return acts, fmt.Sprintf("pod %s to terminate", pod.Name)
		case !isRunningAndReady(pod):
			return acts, fmt.Sprintf("pod %s to be Running and Ready", pod.Name)
		case !isRunningAndAvailable(pod, set.Spec.MinReadySeconds, in.Now):
			return acts, fmt.Sprintf("pod %s to be available", pod.Name)
		}
	}
	if !identityMatches(set, pod) {
		fixed := pod.DeepCopy()
		setIdentity(fixed, ordinal)
		acts = append(acts, Action{Type: UpdateIdentity, Ordinal: ordinal, Pod: fixed})
	}
	if a, ok := claimUpdates(in, pod, ordinal); ok {
		acts = append(acts, a)
	}
	return acts, ""
}

// missingClaims returns the claims of pod's ordinal that do not exist yet (with the owner
// references of the retention policy), and the name of one being deleted, if any.
func missingClaims(in Input, pod *corev1.Pod, ordinal int) ([]*corev1.PersistentVolumeClaim, string) {
	var out []*corev1.PersistentVolumeClaim
	for _, c := range Claims(in.Set, ordinal) {
		existing := in.Claims[c.Name]
		switch {
		case existing == nil:
			c.OwnerReferences, _ = ClaimOwnerRefs(in.Set, pod, c)
			out = append(out, c)
		case existing.DeletionTimestamp != nil:
			return nil, c.Name
		}
	}
	return out, ""
}

// claimUpdates is the UpdateClaims action for pod's existing claims whose owner references do
// not follow the retention policy.
func claimUpdates(in Input, pod *corev1.Pod, ordinal int) (Action, bool) {
	if pod.UID == "" {
		return Action{}, false
	}
	var changed []*corev1.PersistentVolumeClaim
	for _, want := range Claims(in.Set, ordinal) {
		c := in.Claims[want.Name]
		if c == nil || c.DeletionTimestamp != nil {
			continue
		}
		if refs, diff := ClaimOwnerRefs(in.Set, pod, c); diff {
			c = c.DeepCopy()
			c.OwnerReferences = refs
			changed = append(changed, c)
		}
	}
	if len(changed) == 0 {
		return Action{}, false
	}
	return Action{Type: UpdateClaims, Ordinal: ordinal, Pod: pod, Claims: changed}, true
}

// MaxUnavailable is rollingUpdate.maxUnavailable scaled to replicas (rounded down, at least 1).
func MaxUnavailable(set *appsv1.StatefulSet) int {
	ru := set.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.MaxUnavailable == nil {
		return 1
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(ru.MaxUnavailable, intstr.FromInt32(1)), replicaCount(set), false)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// rollingUpdate is step 4 (upstream's updateStatefulSetAfterInvariantEstablished).
func rollingUpdate(in Input, replicas []*corev1.Pod, generated []bool) []Action {
	set := in.Set
	updateMin := 0
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		updateMin = int(*ru.Partition)
	}
	maxUnavailable := MaxUnavailable(set)
	unavailable := 0
	for i, p := range replicas {
		if generated[i] || !isRunningAndAvailable(p, set.Spec.MinReadySeconds, in.Now) || isTerminating(p) {
			unavailable++
		}
	}
	var out []Action
	start := startOrdinal(set)
	for i := len(replicas) - 1; i >= 0 && i+start >= updateMin && unavailable+len(out) < maxUnavailable; i-- {
		p := replicas[i]
		if generated[i] || Revision(p) == in.UpdateRevision || isTerminating(p) {
			continue
		}
		out = append(out, Action{Type: DeletePod, Ordinal: start + i, Pod: p, Reason: "update"})
	}
	return out
}

// status counts the pods (upstream's updateStatus) into the status of in's revisions.
func status(in Input, replicas []*corev1.Pod, generated []bool, condemned []*corev1.Pod) appsv1.StatefulSetStatus {
	set := in.Set
	st := appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    in.CurrentRevision,
		UpdateRevision:     in.UpdateRevision,
		CollisionCount:     &in.CollisionCount,
		Conditions:         set.Status.Conditions,
	}
	count := func(p *corev1.Pod) {
		if !isCreated(p) {
			return
		}
		st.Replicas++
		if isRunningAndReady(p) {
			st.ReadyReplicas++
			if isRunningAndAvailable(p, set.Spec.MinReadySeconds, in.Now) {
				st.AvailableReplicas++
			}
		}
		if !isTerminating(p) {
			if Revision(p) == in.CurrentRevision {
				st.CurrentReplicas++
			}
			if Revision(p) == in.UpdateRevision {
				st.UpdatedReplicas++
			}
		}
	}
	for i, p := range replicas {
		if !generated[i] {
			count(p)
		}
	}
	for _, p := range condemned {
		count(p)
	}
	return st
}

// completeRollingUpdate makes the update revision current once every pod runs it and is ready.
func completeRollingUpdate(set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) {
	if set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		st.UpdatedReplicas == st.Replicas && st.ReadyReplicas == st.Replicas {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
}

// HistoryToDelete returns the revisions (sorted oldest first) beyond revisionHistoryLimit that
// no pod uses and that are neither current nor the update revision, oldest first.
func HistoryToDelete(set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision, pods []*corev1.Pod, current, update string) []*appsv1.ControllerRevision {
	live := map[string]bool{current: true, update: true}
	for _, p := range pods {
		live[Revision(p)] = true
	}
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			old = append(old, r)
		}
	}
	limit := 10
	if set.Spec.RevisionHistoryLimit != nil {
		limit = int(*set.Spec.RevisionHistoryLimit)
	}
	if len(old) <= limit {
		return nil
	}
	return old[:len(old)-limit]
}
