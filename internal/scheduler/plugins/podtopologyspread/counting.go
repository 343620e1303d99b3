package podtopologyspread

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// includesEveryNode reports whether every constraint counts every node whatever its taints
// and labels: no constraint honours taints, and none honours a required node affinity that
// the pod has.
func includesEveryNode(pod *v1.Pod, cs []Constraint) bool {
	for i := range cs {
		if cs[i].NodeTaintsPolicy == v1.NodeInclusionPolicyHonor {
			return false
		}
		if cs[i].NodeAffinityPolicy == v1.NodeInclusionPolicyHonor && hasRequiredNodeAffinity(pod) {
			return false
		}
	}
	return true
}

// hasRequiredNodeAffinity reports whether pod restricts nodes by nodeSelector or required node
// affinity (when not, nodeaffinity.GetRequiredNodeAffinity matches every node).
func hasRequiredNodeAffinity(pod *v1.Pod) bool {
	if len(pod.Spec.NodeSelector) > 0 {
		return true
	}
	a := pod.Spec.Affinity
	return a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
}

// everyNodeHasKeys reports whether every node of snap has every constraint's topology key.
func everyNodeHasKeys(snap *framework.Snapshot, cs []Constraint) bool {
	for i := range cs {
		if snap.Domains.NodesWithKey(cs[i].TopologyKey) != snap.NumNodes() {
			return false
		}
	}
	return true
}

// countable reports whether p counts for a constraint with sel in namespace ns: there, not
// being deleted, and selected.
func countable(p *v1.Pod, sel labels.Selector, ns string) bool {
	return p.Namespace == ns && p.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Labels))
}

// forEachCountable calls f with the node of every pod in namespace ns that sel selects and
// that is not being deleted, visiting only the index's candidates.
func forEachCountable(snap *framework.Snapshot, sel labels.Selector, ns string, f func(ni *framework.NodeInfo)) {
	for _, l := range snap.Pods.SelectorCandidates(ns, sel) {
		for _, e := range l.Pods() {
			if countable(e.Info.Pod, sel, ns) {
				f(e.Node)
			}
		}
	}
}

// selectionOf returns the index's count of the pods in namespace ns that c selects and that
// are not being deleted, per value of c's topology key.
func selectionOf(snap *framework.Snapshot, c *Constraint, ns string) (*framework.Selection, bool) {
	t := framework.AffinityTerm{Namespaces: map[string]bool{ns: true}, Selector: c.Selector, TopologyKey: c.TopologyKey}
	return snap.Pods.Selection(&t, true)
}
