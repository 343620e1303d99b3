package disruption

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	policylisters "k8s.io/client-go/listers/policy/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Name is the controller's name, as upstream's.
const Name = "disruption-controller"

// Controller is the PodDisruptionBudget controller.
type Controller struct {
	client       kubernetes.Interface
	pdbs         policylisters.PodDisruptionBudgetLister
	pods         corelisters.PodLister
	rss          appslisters.ReplicaSetLister
	deployments  appslisters.DeploymentLister
	statefulsets appslisters.StatefulSetLister
	rcs          corelisters.ReplicationControllerLister
	queue        keyqueue.Queue
	synced       []cache.InformerSynced
	log          *slog.Logger
	now          func() time.Time
}

// New returns the controller, registering its informers on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	pdbInf := f.Policy().V1().PodDisruptionBudgets()
	podInf := f.Core().V1().Pods()
	c := &Controller{client: client, pdbs: pdbInf.Lister(), pods: podInf.Lister(),
		rss: f.Apps().V1().ReplicaSets().Lister(), deployments: f.Apps().V1().Deployments().Lister(),
		statefulsets: f.Apps().V1().StatefulSets().Lister(), rcs: f.Core().V1().ReplicationControllers().Lister(),
		queue: keyqueue.New(Name), log: log, now: time.Now}
	c.synced = []cache.InformerSynced{pdbInf.Informer().HasSynced, podInf.Informer().HasSynced,
		f.Apps().V1().ReplicaSets().Informer().HasSynced, f.Apps().V1().Deployments().Informer().HasSynced,
		f.Apps().V1().StatefulSets().Informer().HasSynced, f.Core().V1().ReplicationControllers().Informer().HasSynced}
	if _, err := pdbInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(c.queue, obj) },
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueForPod,
		UpdateFunc: func(_, obj any) { c.enqueueForPod(obj) },
		DeleteFunc: c.enqueueForPod,
	}); err != nil {
		return nil, err
	}
	// Scale changes of the owners change the expected count.
	for _, inf := range []cache.SharedIndexInformer{f.Apps().V1().ReplicaSets().Informer(), f.Apps().V1().Deployments().Informer(),
		f.Apps().V1().StatefulSets().Informer(), f.Core().V1().ReplicationControllers().Informer()} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{UpdateFunc: func(_, obj any) { c.enqueueNamespace(obj) }}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Controller) enqueueNamespace(obj any) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	l, _ := c.pdbs.PodDisruptionBudgets(m.GetNamespace()).List(labels.Everything())
	for _, p := range l {
		keyqueue.Enqueue(c.queue, p)
	}
}

func (c *Controller) enqueueForPod(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	l, _ := c.pdbs.PodDisruptionBudgets(pod.Namespace).List(labels.Everything())
	for _, p := range l {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			keyqueue.Enqueue(c.queue, p)
		}
	}
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, Name, c.queue, workers, c.log, c.sync, c.synced...)
}

// owners maps the controllers of pods to their desired scale: a ReplicaSet owned by a
// Deployment counts as the Deployment.
func (c *Controller) owners(pods []*corev1.Pod) map[types.UID]int32 {
	out := map[types.UID]int32{}
	for _, p := range pods {
		ref := metav1.GetControllerOf(p)
		if ref == nil {
			continue
		}
		if _, done := out[ref.UID]; done {
			continue
		}
		switch ref.Kind {
		case "ReplicaSet":
			rs, err := c.rss.ReplicaSets(p.Namespace).Get(ref.Name)
			if err != nil || rs.UID != ref.UID {
				continue
			}
			scale := int32(1)
			if rs.Spec.Replicas != nil {
				scale = *rs.Spec.Replicas
			}
			if dref := metav1.GetControllerOf(rs); dref != nil && dref.Kind == "Deployment" {
				if d, err := c.deployments.Deployments(p.Namespace).Get(dref.Name); err == nil && d.UID == dref.UID && d.Spec.Replicas != nil {
					scale = *d.Spec.Replicas
				}
			}
			out[ref.UID] = scale
		case "StatefulSet":
			ss, err := c.statefulsets.StatefulSets(p.Namespace).Get(ref.Name)
			if err == nil && ss.UID == ref.UID {
				out[ref.UID] = ptrOr(ss.Spec.Replicas, 1)
			}
		case "ReplicationController":
			rc, err := c.rcs.ReplicationControllers(p.Namespace).Get(ref.Name)
			if err == nil && rc.UID == ref.UID {
				out[ref.UID] = ptrOr(rc.Spec.Replicas, 1)
			}
		}
	}
	return out
}

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pdb, err := c.pdbs.PodDisruptionBudgets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	now := c.now()
	var status policyv1.PodDisruptionBudgetStatus
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	var pods []*corev1.Pod
	if err == nil {
		pods, err = c.pods.Pods(ns).List(sel)
	}
	var expected, desired int32
	if err == nil {
		expected, err = Expected(pdb, pods, c.owners(pods))
	}
	if err == nil {
		desired, err = Desired(pdb, expected)
	}
	if err != nil {
		status = Failed(pdb, err, now)
	} else {
		status = Compute(pdb, pods, expected, desired, now)
	}
	if len(status.DisruptedPods) > 0 {
		// Look again when the oldest entry expires.
		c.queue.AddAfter(key, DeletionTimeout)
	}
	if apiequality.Semantic.DeepEqual(status, pdb.Status) {
		return nil
	}
	next := pdb.DeepCopy()
	next.Status = status
	_, err = c.client.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
