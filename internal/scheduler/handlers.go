package scheduler

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/interpodaffinity"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/podtopologyspread"
	"github.com/skiff-project/skiff/internal/scheduler/queue"
)

// New returns a scheduler that reads the cluster through informers from factory and writes
// through client. Run starts the informers.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, cfg Config) *Scheduler {
	pods := factory.Core().V1().Pods()
	nodes := factory.Core().V1().Nodes()
	pdbs := factory.Policy().V1().PodDisruptionBudgets()
	nss := factory.Core().V1().Namespaces()
	svcs := factory.Core().V1().Services()
	rcs := factory.Core().V1().ReplicationControllers()
	rss := factory.Apps().V1().ReplicaSets()
	sss := factory.Apps().V1().StatefulSets()
	informersToSync := []cache.SharedIndexInformer{pods.Informer(), nodes.Informer(), pdbs.Informer(),
		nss.Informer(), svcs.Informer(), rcs.Informer(), rss.Informer(), sss.Informer()}

	pdbLister := pdbs.Lister()
	nsLister := nss.Lister()
	pl := Plugins{
		NamespaceLabels: func(ns string) labels.Set {
			n, err := nsLister.Get(ns)
			if err != nil {
				return nil
			}
			return n.Labels
		},
		DefaultSelector: func(pod *v1.Pod) labels.Selector {
			return DefaultSelector(pod, svcs.Lister(), rcs.Lister(), rss.Lister(), sss.Lister())
		},
		PDBs: func() []*policyv1.PodDisruptionBudget {
			l, _ := pdbLister.List(labels.Everything())
			return l
		},
	}
	cfg.setDefaults()
	api := &apiEdge{client: client, schedulerName: cfg.SchedulerName, log: cfg.Logger}
	s := newScheduler(cfg, api, api, pl)
	api.recorder = newRecorder(client)
	h := &handlers{s: s}
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: h.addPod, UpdateFunc: h.updatePod, DeleteFunc: h.deletePod})
	nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: h.addNode, UpdateFunc: h.updateNode, DeleteFunc: h.deleteNode})
	s.start = func(ctx context.Context) error {
		factory.Start(ctx.Done())
		syncs := make([]cache.InformerSynced, len(informersToSync))
		for i, inf := range informersToSync {
			syncs[i] = inf.HasSynced
		}
		if !cache.WaitForCacheSync(ctx.Done(), syncs...) {
			return fmt.Errorf("scheduler: informers did not sync: %w", ctx.Err())
		}
		go func() {
			<-ctx.Done()
			api.recorder.shutdown()
		}()
		return nil
	}
	s.leaderElect = func(ctx context.Context, f func(context.Context) error) error {
		return leaderElect(ctx, client, s.cfg, f)
	}
	return s
}

type handlers struct {
	s *Scheduler
}

func podOf(obj any) *v1.Pod {
	switch o := obj.(type) {
	case *v1.Pod:
		return o
	case cache.DeletedFinalStateUnknown:
		p, _ := o.Obj.(*v1.Pod)
		return p
	}
	return nil
}

func nodeOf(obj any) *v1.Node {
	switch o := obj.(type) {
	case *v1.Node:
		return o
	case cache.DeletedFinalStateUnknown:
		n, _ := o.Obj.(*v1.Node)
		return n
	}
	return nil
}

func terminal(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

// Responsible reports whether the scheduler named name should place pod: unassigned, not
// finished, not being deleted, for this scheduler, with no scheduling gates.
func Responsible(pod *v1.Pod, name string) bool {
	return pod.Spec.NodeName == "" && !terminal(pod) && pod.DeletionTimestamp == nil &&
		pod.Spec.SchedulerName == name && len(pod.Spec.SchedulingGates) == 0
}

func (h *handlers) addPod(obj any) {
	pod := podOf(obj)
	if pod == nil {
		return
	}
	s := h.s
	if pod.Spec.NodeName != "" {
		if !terminal(pod) {
			s.cache.AddPod(pod)
			s.queue.MoveAllToActiveOrBackoff(affectedByPodAdd)
		}
		return
	}
	if Responsible(pod, s.cfg.SchedulerName) {
		pi := framework.NewPodInfo(pod)
		if pod.Status.NominatedNodeName != "" {
			s.nominator.Set(pi, pod.Status.NominatedNodeName)
		}
		s.queue.AddPodInfo(pi)
	}
}

// affectedByPodAdd selects pods that a newly bound pod could help: those rejected for pod
// affinity or topology spread.
func affectedByPodAdd(p *queue.QueuedPodInfo) bool {
	return p.UnschedulablePlugins[interpodaffinity.Name] || p.UnschedulablePlugins[podtopologyspread.Name]
}

func (h *handlers) updatePod(oldObj, newObj any) {
	old, pod := podOf(oldObj), podOf(newObj)
	if pod == nil {
		return
	}
	s := h.s
	if pod.Spec.NodeName != "" {
		if old != nil && old.Spec.NodeName == "" {
			s.queue.Delete(pod)
			s.nominator.Delete(pod.UID)
		}
		if terminal(pod) {
			s.cache.RemovePod(pod)
			s.queue.MoveAllToActiveOrBackoff(nil)
			return
		}
		s.cache.UpdatePod(old, pod)
		if old != nil && old.Spec.NodeName == "" {
			s.queue.MoveAllToActiveOrBackoff(affectedByPodAdd)
		}
		return
	}
	if !Responsible(pod, s.cfg.SchedulerName) {
		s.queue.Delete(pod)
		s.nominator.Delete(pod.UID)
		return
	}
	if pod.Status.NominatedNodeName != "" {
		s.nominator.Set(framework.NewPodInfo(pod), pod.Status.NominatedNodeName)
	}
	s.queue.Update(old, pod)
}

func (h *handlers) deletePod(obj any) {
	pod := podOf(obj)
	if pod == nil {
		return
	}
	s := h.s
	s.nominator.Delete(pod.UID)
	if pod.Spec.NodeName != "" {
		s.cache.RemovePod(pod)
		s.queue.MoveAllToActiveOrBackoff(nil)
		return
	}
	s.queue.Delete(pod)
}

func (h *handlers) addNode(obj any) {
	if n := nodeOf(obj); n != nil {
		h.s.cache.AddNode(n)
		h.s.queue.MoveAllToActiveOrBackoff(nil)
	}
}

// schedulingRelevantChange reports whether a node update could make a pod fit: allocatable,
// labels, taints, unschedulable, images.
func schedulingRelevantChange(old, n *v1.Node) bool {
	return old == nil || !equality.Semantic.DeepEqual(old.Status.Allocatable, n.Status.Allocatable) ||
		!equality.Semantic.DeepEqual(old.Labels, n.Labels) || !equality.Semantic.DeepEqual(old.Spec.Taints, n.Spec.Taints) ||
		old.Spec.Unschedulable != n.Spec.Unschedulable || len(old.Status.Images) != len(n.Status.Images)
}

func (h *handlers) updateNode(oldObj, newObj any) {
	old, n := nodeOf(oldObj), nodeOf(newObj)
	if n == nil {
		return
	}
	h.s.cache.UpdateNode(old, n)
	if schedulingRelevantChange(old, n) {
		h.s.queue.MoveAllToActiveOrBackoff(nil)
	}
}

func (h *handlers) deleteNode(obj any) {
	if n := nodeOf(obj); n != nil {
		h.s.cache.RemoveNode(n)
	}
}

// DefaultSelector is upstream's selector for the system default spreading: the pod's services'
// selectors and its ReplicationController's, plus its owning ReplicaSet's or StatefulSet's.
func DefaultSelector(pod *v1.Pod, sl corelisters.ServiceLister, cl corelisters.ReplicationControllerLister, rsl appslisters.ReplicaSetLister, ssl appslisters.StatefulSetLister) labels.Selector {
	set := labels.Set{}
	if svcs, err := sl.Services(pod.Namespace).List(labels.Everything()); err == nil {
		for _, svc := range svcs {
			if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				for k, v := range svc.Spec.Selector {
					set[k] = v
				}
			}
		}
	}
	if rcs, err := cl.ReplicationControllers(pod.Namespace).List(labels.Everything()); err == nil {
		for _, rc := range rcs {
			if len(rc.Spec.Selector) > 0 && labels.SelectorFromSet(rc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
				for k, v := range rc.Spec.Selector {
					set[k] = v
				}
			}
		}
	}
	sel := labels.NewSelector()
	if len(set) > 0 {
		sel = labels.SelectorFromSet(set)
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		var ls *metav1.LabelSelector
		switch ref.Kind {
		case "ReplicaSet":
			if rs, err := rsl.ReplicaSets(pod.Namespace).Get(ref.Name); err == nil && rs.UID == ref.UID {
				ls = rs.Spec.Selector
			}
		case "StatefulSet":
			if ss, err := ssl.StatefulSets(pod.Namespace).Get(ref.Name); err == nil && ss.UID == ref.UID {
				ls = ss.Spec.Selector
			}
		}
		if ls != nil {
			if other, err := metav1.LabelSelectorAsSelector(ls); err == nil {
				if reqs, ok := other.Requirements(); ok {
					sel = sel.Add(reqs...)
				}
			}
		}
	}
	return sel
}
