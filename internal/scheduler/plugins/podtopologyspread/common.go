// Package podtopologyspread spreads matching pods evenly over topology domains:
// topologySpreadConstraints with maxSkew, whenUnsatisfiable (DoNotSchedule filters,
// ScheduleAnyway scores), minDomains, matchLabelKeys and the node inclusion policies, plus
// upstream's system default constraints for pods that declare none.
package podtopologyspread

import (
	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "PodTopologySpread"

// Upstream's reasons.
const (
	ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ErrReasonNodeLabelNotMatch   = ErrReasonConstraintsNotMatch + " (missing required label)"
)

// SystemDefaultConstraints are upstream's cluster-level defaults, applied (for scoring only) to
// pods that declare no constraints and belong to a Service, ReplicaSet, StatefulSet or
// ReplicationController.
var SystemDefaultConstraints = []v1.TopologySpreadConstraint{
	{TopologyKey: v1.LabelHostname, WhenUnsatisfiable: v1.ScheduleAnyway, MaxSkew: 3},
	{TopologyKey: v1.LabelTopologyZone, WhenUnsatisfiable: v1.ScheduleAnyway, MaxSkew: 5},
}

// PodTopologySpread is the filter and score plugin. DefaultSelector returns the selector the
// system default constraints use for a pod (the union of its owners' and services'
// selectors); nil or an empty result disables them.
type PodTopologySpread struct {
	DefaultSelector func(pod *v1.Pod) labels.Selector
}

// Constraint is a parsed TopologySpreadConstraint.
type Constraint struct {
	MaxSkew            int32
	TopologyKey        string
	Selector           labels.Selector
	MinDomains         int32
	NodeAffinityPolicy v1.NodeInclusionPolicy
	NodeTaintsPolicy   v1.NodeInclusionPolicy
}

// Constraints parses pod's constraints with the given whenUnsatisfiable, merging
// matchLabelKeys into the selector. When the pod declares none, the system defaults apply with
// defaultSelector (ScheduleAnyway only). systemDefaulted reports the latter.
func Constraints(pod *v1.Pod, action v1.UnsatisfiableConstraintAction, defaultSelector labels.Selector) (cs []Constraint, systemDefaulted bool, err error) {
	if len(pod.Spec.TopologySpreadConstraints) == 0 {
		if defaultSelector == nil || defaultSelector.Empty() {
			return nil, false, nil
		}
		for _, c := range SystemDefaultConstraints {
			if c.WhenUnsatisfiable == action {
				cs = append(cs, Constraint{MaxSkew: c.MaxSkew, TopologyKey: c.TopologyKey, Selector: defaultSelector, MinDomains: 1,
					NodeAffinityPolicy: v1.NodeInclusionPolicyHonor, NodeTaintsPolicy: v1.NodeInclusionPolicyIgnore})
			}
		}
		return cs, true, nil
	}
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil {
			return nil, false, err
		}
		for _, k := range c.MatchLabelKeys {
			if v, ok := pod.Labels[k]; ok {
				r, err := labels.NewRequirement(k, selection.In, []string{v})
				if err != nil {
					return nil, false, err
				}
				sel = sel.Add(*r)
			}
		}
		pc := Constraint{MaxSkew: c.MaxSkew, TopologyKey: c.TopologyKey, Selector: sel, MinDomains: 1,
			NodeAffinityPolicy: v1.NodeInclusionPolicyHonor, NodeTaintsPolicy: v1.NodeInclusionPolicyIgnore}
		if c.MinDomains != nil {
			pc.MinDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil {
			pc.NodeAffinityPolicy = *c.NodeAffinityPolicy
		}
		if c.NodeTaintsPolicy != nil {
			pc.NodeTaintsPolicy = *c.NodeTaintsPolicy
		}
		cs = append(cs, pc)
	}
	return cs, false, nil
}

// includes reports whether node counts for c: it passes the pod's required node affinity
// (policy Honor) and its taints are tolerated (policy Honor).
func (c *Constraint) includes(pod *v1.Pod, node *v1.Node, affinityOK bool) bool {
	if c.NodeAffinityPolicy == v1.NodeInclusionPolicyHonor && !affinityOK {
		return false
	}
	if c.NodeTaintsPolicy == v1.NodeInclusionPolicyHonor {
		_, bad := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), node.Spec.Taints, pod.Spec.Tolerations, func(t *v1.Taint) bool {
			return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
		}, false)
		if bad {
			return false
		}
	}
	return true
}

func affinityMatches(req nodeaffinity.RequiredNodeAffinity, node *v1.Node) bool {
	ok, _ := req.Match(node)
	return ok
}

// hasAllKeys reports whether node has every constraint's topology key.
func hasAllKeys(l map[string]string, cs []Constraint) bool {
	for i := range cs {
		if _, ok := l[cs[i].TopologyKey]; !ok {
			return false
		}
	}
	return true
}

// CountMatching counts the pods in ns, not being deleted, that sel selects.
func CountMatching(pods []*framework.PodInfo, sel labels.Selector, ns string) int {
	n := 0
	for _, p := range pods {
		if countable(p.Pod, sel, ns) {
			n++
		}
	}
	return n
}

// Name returns Name.
func (*PodTopologySpread) Name() string { return Name }

func (pl *PodTopologySpread) defaultSelector(pod *v1.Pod) labels.Selector {
	if pl.DefaultSelector == nil || len(pod.Spec.TopologySpreadConstraints) > 0 {
		return nil
	}
	return pl.DefaultSelector(pod)
}
