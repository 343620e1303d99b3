package framework

import (
	"iter"
	"maps"
)

// PodIndex indexes the pods on a snapshot's nodes for the plugins that count pods across the
// cluster (InterPodAffinity, PodTopologySpread), so that their work follows what matches
// rather than the number of pods:
//   - pods by namespace, and by namespace and label (key=value), each with its NodeInfo, from
//     which TermCandidates and SelectorCandidates pick the pods a selector can select;
//   - the existing pods' affinity terms, grouped by Signature and counted per value of the
//     term's topology key on their nodes: required anti-affinity (which keeps an incoming pod
//     out), and required affinity and preferred terms (through which existing pods score it);
//   - Selections: the pods that incoming pods' terms select, counted per topology value, built
//     on request and then kept up to date.
//
// The Snapshot keeps it in step with its NodeInfos (SetNodeInfo, RemoveNodeInfo). Plugins read
// it, and request Selections, from PreFilter and PreScore, which run one at a time; what they
// get stays valid until the next snapshot update.
type PodIndex struct {
	byNamespace map[string]*PodList
	byLabel     map[labelKey]*PodList
	// Term groups by Signature. preferred holds preferred affinity terms with their weight and
	// preferred anti-affinity terms with their weight negated.
	requiredAntiAffinity map[string]*TermGroup
	requiredAffinity     map[string]*TermGroup
	preferred            map[string]*TermGroup
	// selections are found by signature, and by anchor when pods come or go; uses orders
	// requests, to drop the least recently used.
	selections map[selectionKey]*Selection
	anchored   map[anchorKey][]*Selection
	uses       uint64
}

type labelKey struct{ namespace, key, value string }

// NewPodIndex returns an empty index.
func NewPodIndex() *PodIndex {
	return &PodIndex{
		byNamespace:          map[string]*PodList{},
		byLabel:              map[labelKey]*PodList{},
		requiredAntiAffinity: map[string]*TermGroup{},
		requiredAffinity:     map[string]*TermGroup{},
		preferred:            map[string]*TermGroup{},
		selections:           map[selectionKey]*Selection{},
		anchored:             map[anchorKey][]*Selection{},
	}
}

// IndexedPod is a pod and the snapshot NodeInfo it is on.
type IndexedPod struct {
	Info *PodInfo
	Node *NodeInfo
}

// PodList is a set of indexed pods, in no particular order.
type PodList struct {
	items []IndexedPod
	pos   map[*PodInfo]int
}

// Pods returns the list's pods; the caller must not modify the slice.
func (l *PodList) Pods() []IndexedPod { return l.items }

// Len returns the number of pods.
func (l *PodList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.items)
}

func (l *PodList) add(p IndexedPod) {
	l.pos[p.Info] = len(l.items)
	l.items = append(l.items, p)
}

// remove drops pi and reports whether it was there.
func (l *PodList) remove(pi *PodInfo) bool {
	i, ok := l.pos[pi]
	if !ok {
		return false
	}
	last := len(l.items) - 1
	if i != last {
		l.items[i] = l.items[last]
		l.pos[l.items[i].Info] = i
	}
	l.items[last] = IndexedPod{}
	l.items = l.items[:last]
	delete(l.pos, pi)
	return true
}

func addToList[K comparable](m map[K]*PodList, k K, p IndexedPod) {
	l := m[k]
	if l == nil {
		l = &PodList{pos: map[*PodInfo]int{}}
		m[k] = l
	}
	l.add(p)
}

func removeFromList[K comparable](m map[K]*PodList, k K, pi *PodInfo) {
	if l := m[k]; l != nil && l.remove(pi) && l.Len() == 0 {
		delete(m, k)
	}
}

// TermGroup is every instance of one affinity term (terms with equal Signatures) among the
// indexed pods.
type TermGroup struct {
	// Term is one of the instances; they all select the same pods.
	Term AffinityTerm
	// Domains maps each value of Term.TopologyKey on the instances' nodes to the instances
	// there; instances on nodes without the key are not in it. Entries have Count > 0.
	Domains map[string]DomainCount
	// instances counts every instance, with or without a domain.
	instances int
}

// DomainCount is how many term instances one topology domain holds and their summed weight.
type DomainCount struct {
	Count  int64
	Weight int64
}

// updateGroup adds (sign 1) or removes (sign -1) one instance of t, with weight, on a node
// with nodeLabels.
func updateGroup(groups map[string]*TermGroup, t *AffinityTerm, weight int64, nodeLabels map[string]string, sign int64) {
	sig := t.Signature()
	g := groups[sig]
	if g == nil {
		g = &TermGroup{Term: *t, Domains: map[string]DomainCount{}}
		groups[sig] = g
	}
	g.instances += int(sign)
	if v, ok := nodeLabels[t.TopologyKey]; ok {
		d := g.Domains[v]
		d.Count += sign
		d.Weight += sign * weight
		if d.Count == 0 {
			delete(g.Domains, v)
		} else {
			g.Domains[v] = d
		}
	}
	if g.instances == 0 {
		delete(groups, sig)
	}
}

// HasRequiredAntiAffinity reports whether some indexed pod has a required anti-affinity term.
func (x *PodIndex) HasRequiredAntiAffinity() bool { return len(x.requiredAntiAffinity) > 0 }

// RequiredAntiAffinityGroups lists the groups of existing pods' required anti-affinity terms.
func (x *PodIndex) RequiredAntiAffinityGroups() iter.Seq[*TermGroup] {
	return maps.Values(x.requiredAntiAffinity)
}

// RequiredAffinityGroups lists the groups of existing pods' required affinity terms.
func (x *PodIndex) RequiredAffinityGroups() iter.Seq[*TermGroup] {
	return maps.Values(x.requiredAffinity)
}

// PreferredGroups lists the groups of existing pods' preferred affinity terms (weights
// positive) and preferred anti-affinity terms (weights negative); a group may hold both.
func (x *PodIndex) PreferredGroups() iter.Seq[*TermGroup] {
	return maps.Values(x.preferred)
}

// add indexes pi on ni, a node labelled nodeLabels.
func (x *PodIndex) add(pi *PodInfo, ni *NodeInfo, nodeLabels map[string]string) {
	x.update(pi, ni, nodeLabels, 1)
}

// remove unindexes pi from ni; nodeLabels must be the labels it was indexed with.
func (x *PodIndex) remove(pi *PodInfo, ni *NodeInfo, nodeLabels map[string]string) {
	x.update(pi, ni, nodeLabels, -1)
}

func (x *PodIndex) update(pi *PodInfo, ni *NodeInfo, nodeLabels map[string]string, sign int64) {
	pod := pi.Pod
	if sign > 0 {
		p := IndexedPod{Info: pi, Node: ni}
		addToList(x.byNamespace, pod.Namespace, p)
		for k, v := range pod.Labels {
			addToList(x.byLabel, labelKey{pod.Namespace, k, v}, p)
		}
	} else {
		removeFromList(x.byNamespace, pod.Namespace, pi)
		for k, v := range pod.Labels {
			removeFromList(x.byLabel, labelKey{pod.Namespace, k, v}, pi)
		}
	}
	for i := range pi.RequiredAntiAffinityTerms {
		updateGroup(x.requiredAntiAffinity, &pi.RequiredAntiAffinityTerms[i], 1, nodeLabels, sign)
	}
	for i := range pi.RequiredAffinityTerms {
		updateGroup(x.requiredAffinity, &pi.RequiredAffinityTerms[i], 1, nodeLabels, sign)
	}
	for i := range pi.PreferredAffinityTerms {
		t := &pi.PreferredAffinityTerms[i]
		updateGroup(x.preferred, &t.AffinityTerm, int64(t.Weight), nodeLabels, sign)
	}
	for i := range pi.PreferredAntiAffinityTerms {
		t := &pi.PreferredAntiAffinityTerms[i]
		updateGroup(x.preferred, &t.AffinityTerm, -int64(t.Weight), nodeLabels, sign)
	}
	x.updateSelections(pod, nodeLabels, sign)
}
