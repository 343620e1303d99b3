// Package deployment is the Deployment controller: it rolls a Deployment's pod template out
// through ReplicaSets, one per template (named <deployment>-<pod-template-hash>, as upstream
// names them), with the RollingUpdate or Recreate strategy.
//
// sync(key) follows upstream's syncDeployment: claim the ReplicaSets the selector matches;
// a Deployment being deleted only gets its status; a paused one, or one whose spec.replicas
// changed (a scaling event), is only scaled (proportionally across ReplicaSets in the middle
// of a rollout); otherwise the strategy runs one step. The ReplicaSet whose template equals the
// Deployment's is the new one; when the template returns to an earlier one (kubectl rollout
// undo patches it back), that earlier ReplicaSet becomes the new one again and gets the next
// revision, its previous revisions kept in deployment.kubernetes.io/revision-history.
//
// The maths (fenceposts, how far to scale, status and conditions) are plain functions in
// rollout.go with table tests; this file reads the informers and writes.
package deployment

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/controller/claim"
	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Kind is the Deployment kind in ownerReferences.
var Kind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Controller is the Deployment controller.
type Controller struct {
	client      kubernetes.Interface
	deployments appslisters.DeploymentLister
	rsLister    appslisters.ReplicaSetLister
	rsIndex     cache.Indexer
	podIndex    cache.Indexer
	queue       keyqueue.Queue
	recorder    record.EventRecorder
	clock       clock.Clock
	log         *slog.Logger
	synced      []cache.InformerSynced
}

// New returns a Deployment controller on the shared informers f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	dInf := f.Apps().V1().Deployments().Informer()
	rsInf := f.Apps().V1().ReplicaSets().Informer()
	podInf := f.Core().V1().Pods().Informer()
	for _, inf := range []cache.SharedIndexInformer{rsInf, podInf} {
		if err := claim.AddControllerIndex(inf); err != nil {
			return nil, err
		}
	}
	c := &Controller{
		client:      client,
		deployments: f.Apps().V1().Deployments().Lister(),
		rsLister:    f.Apps().V1().ReplicaSets().Lister(),
		rsIndex:     rsInf.GetIndexer(),
		podIndex:    podInf.GetIndexer(),
		queue:       keyqueue.New("deployment"),
		recorder:    recorder,
		clock:       clock.RealClock{},
		log:         log,
		synced:      []cache.InformerSynced{dInf.HasSynced, rsInf.HasSynced, podInf.HasSynced},
	}
	enqueue := func(obj any) { keyqueue.Enqueue(c.queue, obj) }
	if _, err := dInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, err
	}
	if _, err := rsInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.replicaSetChanged(nil, obj) },
		UpdateFunc: func(old, obj any) { c.replicaSetChanged(old, obj) },
		DeleteFunc: func(obj any) { c.replicaSetChanged(nil, obj) },
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: c.podDeleted}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, "deployment", c.queue, workers, c.log, c.sync, c.synced...)
}

func unwrap[T any](obj any) (T, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	t, ok := obj.(T)
	return t, ok
}

// owner returns the Deployment ref names, if it exists with that UID.
func (c *Controller) owner(ns string, ref *metav1.OwnerReference) *appsv1.Deployment {
	if ref == nil || ref.Kind != Kind.Kind || ref.APIVersion != Kind.GroupVersion().String() {
		return nil
	}
	d, err := c.deployments.Deployments(ns).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return nil
	}
	return d
}

func (c *Controller) enqueueMatching(rs *appsv1.ReplicaSet) {
	ds, _ := c.deployments.Deployments(rs.Namespace).List(labels.Everything())
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			keyqueue.Enqueue(c.queue, d)
		}
	}
}

func (c *Controller) replicaSetChanged(oldObj, obj any) {
	rs, ok := unwrap[*appsv1.ReplicaSet](obj)
	if !ok {
		return
	}
	if old, ok := oldObj.(*appsv1.ReplicaSet); ok {
		if old.ResourceVersion == rs.ResourceVersion {
			return
		}
		if oldRef := metav1.GetControllerOfNoCopy(old); oldRef != nil && !apiequality.Semantic.DeepEqual(oldRef, metav1.GetControllerOfNoCopy(rs)) {
			if d := c.owner(old.Namespace, oldRef); d != nil {
				keyqueue.Enqueue(c.queue, d)
			}
		}
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.owner(rs.Namespace, ref); d != nil {
			keyqueue.Enqueue(c.queue, d)
		}
		return
	}
	c.enqueueMatching(rs)
}

// podDeleted wakes a Recreate Deployment waiting for its old pods to go.
func (c *Controller) podDeleted(obj any) {
	pod, ok := unwrap[*corev1.Pod](obj)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, err := c.rsLister.ReplicaSets(pod.Namespace).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	if d := c.owner(rs.Namespace, metav1.GetControllerOfNoCopy(rs)); d != nil && d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		keyqueue.Enqueue(c.queue, d)
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	cached, err := c.deployments.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := cached.DeepCopy()
	if d.Spec.Selector == nil || (len(d.Spec.Selector.MatchLabels) == 0 && len(d.Spec.Selector.MatchExpressions) == 0) {
		c.recorder.Eventf(d, corev1.EventTypeWarning, SelectingAllReason, "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			_, err := c.client.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			return err
		}
		return nil
	}
	rsList, err := c.claimReplicaSets(ctx, d)
	if err != nil {
		return err
	}
	s := &step{c: c, d: d, rsList: rsList, now: c.clock.Now()}
	if d.DeletionTimestamp != nil {
		return s.syncStatusOnly(ctx)
	}
	if err := s.checkPausedConditions(ctx); err != nil {
		return err
	}
	if d.Spec.Paused {
		return s.scaleOnly(ctx)
	}
	scaling, err := s.isScalingEvent(ctx)
	if err != nil {
		return err
	}
	if scaling {
		return s.scaleOnly(ctx)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return s.rolloutRecreate(ctx)
	case appsv1.RollingUpdateDeploymentStrategyType:
		return s.rolloutRolling(ctx)
	}
	return fmt.Errorf("deployment %s: unexpected strategy %q", key, d.Spec.Strategy.Type)
}

func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has invalid label selector: %v", d.Namespace, d.Name, err)
	}
	candidates, err := claim.Candidates[*appsv1.ReplicaSet](c.rsIndex, d)
	if err != nil {
		return nil, err
	}
	cl := &claim.Claimer{Owner: d, OwnerGVK: Kind, Selector: sel,
		CanAdopt: claim.OwnerCheck(d, func(ctx context.Context) (metav1.Object, error) {
			return c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		}),
		Patch: func(ctx context.Context, ns, name string, p []byte) error {
			_, err := c.client.AppsV1().ReplicaSets(ns).Patch(ctx, name, types.StrategicMergePatchType, p, metav1.PatchOptions{})
			return err
		}}
	claimed, err := claim.Claim(ctx, cl, candidates)
	// Work on copies: the controller changes them as it goes.
	out := make([]*appsv1.ReplicaSet, len(claimed))
	for i, rs := range claimed {
		out[i] = rs.DeepCopy()
	}
	return out, err
}

// step is one sync of one Deployment: d is a private copy the step updates as it writes.
type step struct {
	c      *Controller
	d      *appsv1.Deployment
	rsList []*appsv1.ReplicaSet
	now    time.Time
}

func (s *step) event(reason, format string, a ...any) {
	s.c.recorder.Eventf(s.d, corev1.EventTypeNormal, reason, format, a...)
}

// oldAndNew splits the ReplicaSets into the new one (nil if none) and the old ones, and brings
// the new one's annotations and minReadySeconds up to date, creating it if create is set.
func (s *step) oldAndNew(ctx context.Context, create bool) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	existing := FindNewReplicaSet(s.d, s.rsList)
	var olds []*appsv1.ReplicaSet
	for _, rs := range s.rsList {
		if existing == nil || rs.UID != existing.UID {
			olds = append(olds, rs)
		}
	}
	newRevision := strconv.FormatInt(MaxRevision(olds)+1, 10)
	if existing != nil {
		rs := existing.DeepCopy()
		changed := SetNewReplicaSetAnnotations(s.d, rs, newRevision, true)
		if changed || rs.Spec.MinReadySeconds != s.d.Spec.MinReadySeconds {
			rs.Spec.MinReadySeconds = s.d.Spec.MinReadySeconds
			updated, err := s.c.client.AppsV1().ReplicaSets(rs.Namespace).Update(ctx, rs, metav1.UpdateOptions{})
			if err != nil {
				return nil, nil, err
			}
			s.replace(updated)
			return updated, olds, nil
		}
		revChanged := s.setRevision(rs.Annotations[RevisionAnnotation])
		statusChanged := false
		if hasProgressDeadline(s.d) && Condition(s.d.Status, appsv1.DeploymentProgressing) == nil {
			SetCondition(&s.d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, FoundNewRSReason,
				fmt.Sprintf("Found new replica set %q", rs.Name), s.now))
			statusChanged = true
		}
		if err := s.write(ctx, revChanged, statusChanged); err != nil {
			return nil, nil, err
		}
		return rs, olds, nil
	}
	if !create {
		return nil, olds, nil
	}
	return s.createNew(ctx, olds, newRevision)
}

func (s *step) replace(rs *appsv1.ReplicaSet) {
	for i := range s.rsList {
		if s.rsList[i].UID == rs.UID {
			s.rsList[i] = rs
		}
	}
}

func (s *step) createNew(ctx context.Context, olds []*appsv1.ReplicaSet, newRevision string) (*appsv1.ReplicaSet, []*appsv1.ReplicaSet, error) {
	d := s.d
	tmpl := *d.Spec.Template.DeepCopy()
	hash := ComputeHash(&d.Spec.Template, d.Status.CollisionCount)
	tmpl.Labels = withLabel(d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = withLabel(sel.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: ReplicaSetName(d.Name, hash), Namespace: d.Namespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(d, Kind)}, Labels: tmpl.Labels},
		Spec: appsv1.ReplicaSetSpec{Replicas: new(int32), MinReadySeconds: d.Spec.MinReadySeconds, Selector: sel, Template: tmpl},
	}
	n, err := NewRSNewReplicas(d, append(append([]*appsv1.ReplicaSet(nil), olds...), rs), rs)
	if err != nil {
		return nil, nil, err
	}
	*rs.Spec.Replicas = n
	SetNewReplicaSetAnnotations(d, rs, newRevision, false)
	created, err := s.c.client.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
	alreadyExists := false
	switch {
	case apierrors.IsAlreadyExists(err):
		alreadyExists = true
		cur, getErr := s.c.rsLister.ReplicaSets(d.Namespace).Get(rs.Name)
		if getErr != nil {
			return nil, nil, getErr
		}
		if ref := metav1.GetControllerOfNoCopy(cur); ref != nil && ref.UID == d.UID && EqualIgnoreHash(&d.Spec.Template, &cur.Spec.Template) {
			created, err = cur.DeepCopy(), nil
			break
		}
		// A hash collision: another template has this name. Count it, so that the next
		// sync hashes differently.
		if d.Status.CollisionCount == nil {
			d.Status.CollisionCount = new(int32)
		}
		*d.Status.CollisionCount++
		_, _ = s.c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		return nil, nil, err
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return nil, nil, err
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			SetCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, FailedRSCreateReason, msg, s.now))
			_, _ = s.c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}
		s.c.recorder.Eventf(d, corev1.EventTypeWarning, FailedRSCreateReason, "%s", msg)
		return nil, nil, err
	}
	if !alreadyExists && n > 0 {
		s.event(ScalingReplicaSetReason, "Scaled up replica set %s from 0 to %d", created.Name, n)
	}
	revChanged := s.setRevision(newRevision)
	statusChanged := false
	if !alreadyExists && hasProgressDeadline(d) {
		SetCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, NewReplicaSetReason,
			fmt.Sprintf("Created new replica set %q", created.Name), s.now))
		statusChanged = true
	}
	s.rsList = append(s.rsList, created)
	return created, olds, s.write(ctx, revChanged, statusChanged)
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// setRevision sets the Deployment's revision annotation; it reports a change.
func (s *step) setRevision(rev string) bool {
	if rev == "" || s.d.Annotations[RevisionAnnotation] == rev {
		return false
	}
	if s.d.Annotations == nil {
		s.d.Annotations = map[string]string{}
	}
	s.d.Annotations[RevisionAnnotation] = rev
	return true
}

// write stores what the step changed on the Deployment: the revision annotation (an update of
// the object: our status subresource keeps metadata, unlike upstream's, which lets annotations
// through a status update; the controller's role may update but not patch Deployments) and
// the status.
func (s *step) write(ctx context.Context, annotation, status bool) error {
	d := s.d
	if annotation {
		out, err := s.c.client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		d.ResourceVersion = out.ResourceVersion
	}
	if status {
		out, err := s.c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		d.ResourceVersion = out.ResourceVersion
	}
	return nil
}

func (s *step) checkPausedConditions(ctx context.Context) error {
	d := s.d
	if !hasProgressDeadline(d) {
		return nil
	}
	cond := Condition(d.Status, appsv1.DeploymentProgressing)
	if cond != nil && cond.Reason == TimedOutReason {
		return nil
	}
	paused := cond != nil && cond.Reason == PausedDeployReason
	switch {
	case d.Spec.Paused && !paused:
		SetCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, PausedDeployReason, "Deployment is paused", s.now))
	case !d.Spec.Paused && paused:
		SetCondition(&d.Status, newCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown, ResumedDeployReason, "Deployment is resumed", s.now))
	default:
		return nil
	}
	return s.write(ctx, false, true)
}

func (s *step) isScalingEvent(ctx context.Context) (bool, error) {
	newRS, olds, err := s.oldAndNew(ctx, false)
	if err != nil {
		return false, err
	}
	for _, rs := range active(append(olds, newRS)) {
		if want, ok := annotationInt(rs, DesiredReplicasAnnotation); ok && want != desired(s.d) {
			return true, nil
		}
	}
	return false, nil
}

// scaleRS sets rs's size and replicas annotations; it reports whether the size changed.
func (s *step) scaleRS(ctx context.Context, rs *appsv1.ReplicaSet, size int32, force bool) (bool, *appsv1.ReplicaSet, error) {
	if !force && replicas(rs) == size {
		return false, rs, nil
	}
	d := s.d
	sizeChanged := replicas(rs) != size
	next := rs.DeepCopy()
	annChanged := SetReplicasAnnotations(next, desired(d), desired(d)+MaxSurge(d))
	if !sizeChanged && !annChanged {
		return false, rs, nil
	}
	from := replicas(rs)
	next.Spec.Replicas = &size
	updated, err := s.c.client.AppsV1().ReplicaSets(next.Namespace).Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return false, rs, err
	}
	s.replace(updated)
	if sizeChanged {
		dir := "down"
		if from < size {
			dir = "up"
		}
		s.event(ScalingReplicaSetReason, "Scaled %s replica set %s from %d to %d", dir, updated.Name, from, size)
	}
	return sizeChanged, updated, nil
}

// scale brings the ReplicaSets to spec.replicas without rolling: one active ReplicaSet takes
// it all; a saturated new one leaves old ones at zero; otherwise proportionally.
func (s *step) scale(ctx context.Context, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	d := s.d
	if rs := activeOrLatest(newRS, olds); rs != nil {
		if replicas(rs) == desired(d) {
			return nil
		}
		_, _, err := s.scaleRS(ctx, rs, desired(d), false)
		return err
	}
	if IsSaturated(d, newRS) {
		for _, old := range active(olds) {
			if _, _, err := s.scaleRS(ctx, old, 0, false); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRollingUpdate(d) {
		return nil
	}
	sizes := ProportionalSizes(d, newRS, olds)
	for _, rs := range active(append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)) {
		if _, _, err := s.scaleRS(ctx, rs, sizes[rs.Name], true); err != nil {
			return err
		}
	}
	return nil
}

func (s *step) current(rs *appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if rs == nil {
		return nil
	}
	for _, r := range s.rsList {
		if r.UID == rs.UID {
			return r
		}
	}
	return rs
}

func (s *step) currentAll(olds []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	out := make([]*appsv1.ReplicaSet, len(olds))
	for i, rs := range olds {
		out[i] = s.current(rs)
	}
	return out
}

// scaleOnly is the sync of a paused Deployment or a scaling event.
func (s *step) scaleOnly(ctx context.Context) error {
	newRS, olds, err := s.oldAndNew(ctx, false)
	if err != nil {
		return err
	}
	if err := s.scale(ctx, newRS, olds); err != nil {
		return err
	}
	newRS, olds = s.current(newRS), s.currentAll(olds)
	if s.d.Spec.Paused {
		if err := s.cleanup(ctx, olds); err != nil {
			return err
		}
	}
	return s.syncStatus(ctx, append(olds, newRS), newRS)
}

func (s *step) syncStatusOnly(ctx context.Context) error {
	newRS, olds, err := s.oldAndNew(ctx, false)
	if err != nil {
		return err
	}
	return s.syncStatus(ctx, append(olds, newRS), newRS)
}

func (s *step) syncStatus(ctx context.Context, all []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) error {
	st := CalculateStatus(all, newRS, s.d, s.now)
	if apiequality.Semantic.DeepEqual(s.d.Status, st) {
		return nil
	}
	s.d.Status = st
	return s.write(ctx, false, true)
}

func (s *step) syncRolloutStatus(ctx context.Context, newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) error {
	newRS, olds = s.current(newRS), s.currentAll(olds)
	st := RolloutStatus(append(olds, newRS), newRS, s.d, s.now)
	if apiequality.Semantic.DeepEqual(s.d.Status, st) {
		if after := StuckRequeue(s.d, st, s.now); after == 0 {
			s.c.queue.AddRateLimited(s.d.Namespace + "/" + s.d.Name)
		} else if after > 0 {
			s.c.queue.AddAfter(s.d.Namespace+"/"+s.d.Name, after)
		}
		return nil
	}
	s.d.Status = st
	return s.write(ctx, false, true)
}

func (s *step) cleanup(ctx context.Context, olds []*appsv1.ReplicaSet) error {
	for _, rs := range CleanupCandidates(s.d, olds) {
		err := s.c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &rs.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func (s *step) rolloutRolling(ctx context.Context) error {
	newRS, olds, err := s.oldAndNew(ctx, true)
	if err != nil {
		return err
	}
	d := s.d
	// Grow the new ReplicaSet as far as maxSurge allows.
	all := append(append([]*appsv1.ReplicaSet(nil), olds...), newRS)
	size := desired(d)
	if replicas(newRS) < desired(d) {
		if size, err = NewRSNewReplicas(d, all, newRS); err != nil {
			return err
		}
	}
	if replicas(newRS) != desired(d) {
		scaled, _, err := s.scaleRS(ctx, newRS, size, false)
		if err != nil {
			return err
		}
		if scaled {
			return s.syncRolloutStatus(ctx, newRS, olds)
		}
	}
	// Shrink the old ones as far as maxUnavailable allows.
	sizes := OldScaleDown(d, active(olds), s.current(newRS))
	scaledDown := false
	for _, rs := range active(olds) {
		n, ok := sizes[rs.Name]
		if !ok {
			continue
		}
		scaled, _, err := s.scaleRS(ctx, s.current(rs), n, false)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return s.syncRolloutStatus(ctx, newRS, olds)
	}
	if complete(d, &d.Status) {
		if err := s.cleanup(ctx, s.currentAll(olds)); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(ctx, newRS, olds)
}

func (s *step) rolloutRecreate(ctx context.Context) error {
	newRS, olds, err := s.oldAndNew(ctx, false)
	if err != nil {
		return err
	}
	scaledDown := false
	for _, rs := range active(olds) {
		scaled, _, err := s.scaleRS(ctx, rs, 0, false)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown || s.oldPodsRunning(newRS, s.currentAll(olds)) {
		return s.syncRolloutStatus(ctx, newRS, olds)
	}
	if newRS == nil {
		if newRS, olds, err = s.oldAndNew(ctx, true); err != nil {
			return err
		}
	}
	if _, _, err := s.scaleRS(ctx, s.current(newRS), desired(s.d), false); err != nil {
		return err
	}
	if complete(s.d, &s.d.Status) {
		if err := s.cleanup(ctx, s.currentAll(olds)); err != nil {
			return err
		}
	}
	return s.syncRolloutStatus(ctx, newRS, olds)
}

// oldPodsRunning reports whether any pod of an old ReplicaSet still runs (Recreate waits).
func (s *step) oldPodsRunning(newRS *appsv1.ReplicaSet, olds []*appsv1.ReplicaSet) bool {
	for _, rs := range olds {
		if rs.Status.Replicas > 0 {
			return true
		}
	}
	for _, rs := range s.rsList {
		if newRS != nil && rs.UID == newRS.UID {
			continue
		}
		pods, _ := s.c.podIndex.ByIndex(claim.ControllerIndex, string(rs.UID))
		for _, o := range pods {
			p := o.(*corev1.Pod)
			if p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
				return true
			}
		}
	}
	return false
}
