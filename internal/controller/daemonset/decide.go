package daemonset

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/skiff-project/skiff/internal/controller/history"
	"github.com/skiff-project/skiff/internal/controller/podstate"
	"github.com/skiff-project/skiff/internal/controller/replicaset"
)

// Kind is the DaemonSet kind in ownerReferences.
var Kind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// Labels upstream puts on daemon pods: the template generation (from the DaemonSet's
// deprecated.daemonset.template.generation annotation) and the revision's hash.
const (
	TemplateGenerationLabel      = "pod-template-generation"
	TemplateGenerationAnnotation = "deprecated.daemonset.template.generation"
)

// defaultTolerations are the tolerations every daemon pod gets (upstream's
// AddOrUpdateDaemonPodTolerations): it survives node problems and is placed on nodes under
// pressure or cordoned; hostNetwork pods also tolerate an unavailable network.
func defaultTolerations(hostNetwork bool) []corev1.Toleration {
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	out := []corev1.Toleration{
		exists(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule),
	}
	if hostNetwork {
		out = append(out, exists(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule))
	}
	return out
}

// AddDaemonTolerations adds the default daemon tolerations to spec, replacing a toleration
// with the same key, operator, value and effect.
func AddDaemonTolerations(spec *corev1.PodSpec) {
	for _, t := range defaultTolerations(spec.HostNetwork) {
		found := false
		for i := range spec.Tolerations {
			if spec.Tolerations[i].MatchToleration(&t) {
				spec.Tolerations[i] = t
				found = true
			}
		}
		if !found {
			spec.Tolerations = append(spec.Tolerations, t)
		}
	}
}

// Reasons a node runs no daemon pod (for logs and tests).
const (
	ReasonNodeName     = "node(s) didn't match the template's nodeName"
	ReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector"
	ReasonTaint        = "node(s) had untolerated taint"
)

// NodeShouldRun is upstream's NodeShouldRunDaemonPod: shouldRun when ds's pod fits node (its
// nodeName, nodeSelector and required node affinity match, and it tolerates every NoSchedule
// and NoExecute taint, with the default daemon tolerations added); shouldContinueRunning when
// a pod already there may stay (it fits, or it only fails on NoSchedule taints). reason says
// why not.
func NodeShouldRun(node *corev1.Node, ds *appsv1.DaemonSet) (shouldRun, shouldContinueRunning bool, reason string) {
	tmpl := &ds.Spec.Template
	if tmpl.Spec.NodeName != "" && tmpl.Spec.NodeName != node.Name {
		return false, false, ReasonNodeName
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{NodeSelector: tmpl.Spec.NodeSelector, Affinity: tmpl.Spec.Affinity,
		HostNetwork: tmpl.Spec.HostNetwork, Tolerations: append([]corev1.Toleration(nil), tmpl.Spec.Tolerations...)}}
	if fits, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(node); !fits {
		return false, false, ReasonNodeAffinity
	}
	AddDaemonTolerations(&pod.Spec)
	untolerated := func(effects ...corev1.TaintEffect) bool {
		_, found := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), node.Spec.Taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
			for _, e := range effects {
				if t.Effect == e {
					return true
				}
			}
			return false
		}, false)
		return found
	}
	if untolerated(corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute) {
		return false, !untolerated(corev1.TaintEffectNoExecute), ReasonTaint
	}
	return true, true, ""
}

// TargetNode is the node a daemon pod is for: its nodeName, or, before it is scheduled, the
// metadata.name its required node affinity names.
func TargetNode(pod *corev1.Pod) (string, bool) {
	if pod.Spec.NodeName != "" {
		return pod.Spec.NodeName, true
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return "", false
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0], true
			}
		}
	}
	return "", false
}

// NodeNameAffinity returns affinity (changed in place, or new) with its required node affinity
// replaced by one term matching metadata.name node: upstream's way of placing a daemon pod,
// which leaves the binding to the scheduler.
func NodeNameAffinity(affinity *corev1.Affinity, node string) *corev1.Affinity {
	sel := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{
		Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}
	if affinity == nil {
		affinity = &corev1.Affinity{}
	}
	if affinity.NodeAffinity == nil {
		affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
	return affinity
}

// templateGeneration is ds's template generation annotation, or nil.
func templateGeneration(ds *appsv1.DaemonSet) *int64 {
	g, err := strconv.ParseInt(ds.Annotations[TemplateGenerationAnnotation], 10, 64)
	if err != nil {
		return nil
	}
	return &g
}

// PodTemplate is the template of ds's pods (upstream's CreatePodTemplate): the default
// tolerations added, labelled with the template generation and the revision's hash.
func PodTemplate(ds *appsv1.DaemonSet, hash string) *corev1.PodTemplateSpec {
	t := ds.Spec.Template.DeepCopy()
	AddDaemonTolerations(&t.Spec)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	if g := templateGeneration(ds); g != nil {
		t.Labels[TemplateGenerationLabel] = strconv.FormatInt(*g, 10)
	}
	if hash != "" {
		t.Labels[history.HashLabel] = hash
	}
	return t
}

// NewPod is ds's pod for node, from template (see PodTemplate).
func NewPod(ds *appsv1.DaemonSet, template *corev1.PodTemplateSpec, node string) *corev1.Pod {
	pod := replicaset.PodFromTemplate(template, ds, Kind)
	pod.Spec.Affinity = NodeNameAffinity(pod.Spec.Affinity, node)
	return pod
}

// IsUpdated reports whether pod runs ds's current template: its hash label is hash, or its
// template generation label the DaemonSet's.
func IsUpdated(pod *corev1.Pod, hash string, generation *int64) bool {
	return (hash != "" && pod.Labels[history.HashLabel] == hash) ||
		(generation != nil && pod.Labels[TemplateGenerationLabel] == strconv.FormatInt(*generation, 10))
}

// NodeToPods groups daemon pods by target node; finished pods being deleted are left out
// unless includeDeletedTerminal.
func NodeToPods(pods []*corev1.Pod, includeDeletedTerminal bool) map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	for _, p := range pods {
		if !includeDeletedTerminal && podstate.IsTerminal(p) && p.DeletionTimestamp != nil {
			continue
		}
		if node, ok := TargetNode(p); ok {
			out[node] = append(out[node], p)
		}
	}
	return out
}

// sortPods orders pods scheduled first, then oldest first, then by name.
func sortPods(pods []*corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName != "") != (b.Spec.NodeName != "") {
			return a.Spec.NodeName != ""
		}
		if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.Name < b.Name
		}
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	})
}

// Surge is rollingUpdate.maxSurge scaled to n (rounded up); 0 without RollingUpdate.
func Surge(ds *appsv1.DaemonSet, n int) int {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxSurge == nil {
		return 0
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxSurge, n, true)
	if err != nil {
		return 0
	}
	return v
}

// Unavailable is rollingUpdate.maxUnavailable scaled to n (rounded up); 0 without
// RollingUpdate.
func Unavailable(ds *appsv1.DaemonSet, n int) int {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil || ru.MaxUnavailable == nil {
		return 0
	}
	v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, n, true)
	if err != nil {
		return 0
	}
	return v
}

func allowsSurge(ds *appsv1.DaemonSet) bool { return Surge(ds, 1) != 0 }

// Plan is the pods one step creates and deletes.
type Plan struct {
	// Create names the nodes that get a new pod.
	Create []string
	// Delete are pods to delete; Finished are Failed or Succeeded pods to delete, subject to
	// the controller's per-node back-off.
	Delete, Finished []*corev1.Pod
}

// Manage is upstream's manage: every node that should run a pod and has none gets one; pods on
// nodes that should not keep them are deleted; finished pods are deleted (and replaced on a
// later sync); extra pods on a node are deleted, keeping the oldest, or with maxSurge, the
// oldest pod of each of the current and an old template while the new one is not yet
// available (an unready old one goes at once). Unscheduled pods for vanished nodes are
// deleted. nodeToPods is from NodeToPods(pods, false).
func Manage(ds *appsv1.DaemonSet, nodes []*corev1.Node, nodeToPods map[string][]*corev1.Pod, hash string, now time.Time) Plan {
	var p Plan
	exists := map[string]bool{}
	for _, node := range nodes {
		exists[node.Name] = true
		shouldRun, shouldContinue, _ := NodeShouldRun(node, ds)
		pods, has := nodeToPods[node.Name]
		switch {
		case shouldRun && !has:
			p.Create = append(p.Create, node.Name)
		case shouldContinue:
			var running []*corev1.Pod
			for _, pod := range pods {
				switch {
				case pod.DeletionTimestamp != nil:
				case podstate.IsTerminal(pod):
					p.Finished = append(p.Finished, pod)
				default:
					running = append(running, pod)
				}
			}
			sortPods(running)
			if !allowsSurge(ds) {
				if len(running) > 1 {
					p.Delete = append(p.Delete, running[1:]...)
				}
				continue
			}
			if len(running) <= 1 {
				if len(running) == 0 && shouldRun {
					p.Create = append(p.Create, node.Name)
				}
				continue
			}
			var oldestNew, oldestOld *corev1.Pod
			for _, pod := range running {
				if pod.Labels[history.HashLabel] == hash {
					if oldestNew == nil {
						oldestNew = pod
						continue
					}
				} else if oldestOld == nil {
					oldestOld = pod
					continue
				}
				p.Delete = append(p.Delete, pod)
			}
			if oldestNew != nil && oldestOld != nil &&
				(!podstate.IsReady(oldestOld) || podstate.IsAvailable(oldestNew, ds.Spec.MinReadySeconds, now)) {
				p.Delete = append(p.Delete, oldestOld)
			}
		case has:
			for _, pod := range pods {
				if pod.DeletionTimestamp == nil {
					p.Delete = append(p.Delete, pod)
				}
			}
		}
	}
	for _, node := range sortedKeys(nodeToPods) {
		if exists[node] {
			continue
		}
		for _, pod := range nodeToPods[node] {
			if pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil {
				p.Delete = append(p.Delete, pod)
			}
		}
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// findUpdatedPods returns the node's live new and old pod; ok is false if it has more than one
// of either (Manage prunes those first).
func findUpdatedPods(pods []*corev1.Pod, hash string, generation *int64) (newPod, oldPod *corev1.Pod, ok bool) {
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if IsUpdated(pod, hash, generation) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = pod
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = pod
		}
	}
	return newPod, oldPod, true
}

// RollingUpdate is one step of upstream's rolling update. Without maxSurge it deletes old
// pods (unavailable ones at once, available ones while fewer than maxUnavailable nodes lack an
// available pod) and lets Manage create their replacements; with maxSurge it creates the new
// pod beside the old one on up to maxSurge nodes (at once where the old pod is unavailable)
// and deletes each old pod once its replacement is available. Nodes are taken in name order.
func RollingUpdate(ds *appsv1.DaemonSet, nodes []*corev1.Node, nodeToPods map[string][]*corev1.Pod, hash string, now time.Time) Plan {
	desired := 0
	byName := map[string]*corev1.Node{}
	byNode := map[string][]*corev1.Pod{}
	for k, v := range nodeToPods {
		byNode[k] = v
	}
	for _, node := range nodes {
		byName[node.Name] = node
		if run, _, _ := NodeShouldRun(node, ds); run {
			desired++
			if _, ok := byNode[node.Name]; !ok {
				byNode[node.Name] = nil
			}
		}
	}
	maxSurge, maxUnavailable := Surge(ds, desired), Unavailable(ds, desired)
	if desired > 0 && maxSurge == 0 && maxUnavailable == 0 {
		maxUnavailable = 1
	}
	generation := templateGeneration(ds)
	available := func(p *corev1.Pod) bool { return podstate.IsAvailable(p, ds.Spec.MinReadySeconds, now) }
	var plan Plan
	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []*corev1.Pod
		for _, node := range sortedKeys(byNode) {
			newPod, oldPod, ok := findUpdatedPods(byNode[node], hash, generation)
			switch {
			case !ok:
				unavailable++
			case (oldPod == nil) == (newPod == nil):
				unavailable++
			case newPod != nil:
				if !available(newPod) {
					unavailable++
				}
			case !available(oldPod):
				replace = append(replace, oldPod)
				unavailable++
			case unavailable < maxUnavailable:
				candidates = append(candidates, oldPod)
			}
		}
		room := min(max(maxUnavailable-unavailable, 0), len(candidates))
		plan.Delete = append(replace, candidates[:room]...)
		return plan
	}
	surge, numAvailable := 0, 0
	var allowed, candidates []string
	var shouldNotRun []*corev1.Pod
	for _, name := range sortedKeys(byNode) {
		newPod, oldPod, ok := findUpdatedPods(byNode[name], hash, generation)
		if !ok {
			surge++
			continue
		}
		if (oldPod != nil && available(oldPod)) || (oldPod == nil && newPod != nil && available(newPod)) {
			numAvailable++
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			run := false
			if node := byName[name]; node != nil {
				run, _, _ = NodeShouldRun(node, ds)
			}
			switch {
			case !available(oldPod):
				if !run {
					plan.Delete = append(plan.Delete, oldPod)
					continue
				}
				allowed = append(allowed, name)
			case !run:
				shouldNotRun = append(shouldNotRun, oldPod)
			case surge < maxSurge:
				candidates = append(candidates, name)
			}
		default:
			if !available(newPod) {
				surge++
				continue
			}
			plan.Delete = append(plan.Delete, oldPod)
		}
	}
	if n := min(numAvailable-desired, len(shouldNotRun)); n > 0 {
		plan.Delete = append(plan.Delete, shouldNotRun[:n]...)
	}
	room := min(max(maxSurge-surge, 0), len(candidates))
	plan.Create = append(allowed, candidates[:room]...)
	return plan
}

// Status is the status ds's pods give it on nodes (upstream's updateDaemonSetStatus):
// desiredNumberScheduled counts nodes that should run a pod, currentNumberScheduled those of
// them that have one, numberMisscheduled nodes that have one but should not; numberReady,
// numberAvailable and updatedNumberScheduled look at the oldest pod of each node.
// observedGeneration and collisionCount are left as ds has them.
func Status(ds *appsv1.DaemonSet, nodes []*corev1.Node, nodeToPods map[string][]*corev1.Pod, hash string, now time.Time) appsv1.DaemonSetStatus {
	st := *ds.Status.DeepCopy()
	var desired, current, mis, ready, available, updated int32
	generation := templateGeneration(ds)
	for _, node := range nodes {
		run, _, _ := NodeShouldRun(node, ds)
		pods := nodeToPods[node.Name]
		if !run {
			if len(pods) > 0 {
				mis++
			}
			continue
		}
		desired++
		if len(pods) == 0 {
			continue
		}
		current++
		sorted := append([]*corev1.Pod(nil), pods...)
		sortPods(sorted)
		pod := sorted[0]
		if podstate.IsReady(pod) {
			ready++
			if podstate.IsAvailable(pod, ds.Spec.MinReadySeconds, now) {
				available++
			}
		}
		if IsUpdated(pod, hash, generation) {
			updated++
		}
	}
	st.DesiredNumberScheduled, st.CurrentNumberScheduled, st.NumberMisscheduled = desired, current, mis
	st.NumberReady, st.NumberAvailable, st.UpdatedNumberScheduled = ready, available, updated
	st.NumberUnavailable = desired - available
	return st
}

// HistoryToDelete returns the old revisions beyond revisionHistoryLimit whose hash no pod
// carries, oldest first.
func HistoryToDelete(ds *appsv1.DaemonSet, old []*appsv1.ControllerRevision, pods []*corev1.Pod) []*appsv1.ControllerRevision {
	limit := 10
	if ds.Spec.RevisionHistoryLimit != nil {
		limit = int(*ds.Spec.RevisionHistoryLimit)
	}
	toKill := len(old) - limit
	if toKill <= 0 {
		return nil
	}
	live := map[string]bool{}
	for _, p := range pods {
		if h := p.Labels[history.HashLabel]; h != "" {
			live[h] = true
		}
	}
	sorted := append([]*appsv1.ControllerRevision(nil), old...)
	history.Sort(sorted)
	var out []*appsv1.ControllerRevision
	for _, r := range sorted {
		if toKill == 0 {
			break
		}
		if live[r.Labels[history.HashLabel]] {
			continue
		}
		out = append(out, r)
		toKill--
	}
	return out
}

// describe renders a plan for logs.
func (p Plan) String() string {
	var del, fin []string
	for _, x := range p.Delete {
		del = append(del, x.Name)
	}
	for _, x := range p.Finished {
		fin = append(fin, x.Name)
	}
	return fmt.Sprintf("create on %v delete %v finished %v", p.Create, del, fin)
}
