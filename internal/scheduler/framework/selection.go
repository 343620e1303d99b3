package framework

import (
	v1 "k8s.io/api/core/v1"
)

// MaxSelections bounds how many selections a PodIndex keeps; past it, the least recently
// requested one is dropped.
const MaxSelections = 1024

// Selection counts the indexed pods one term selects (only those not being deleted, when
// LiveOnly), per value of the term's topology key on their nodes. The index builds it from
// the term's candidates on first request and from then on updates it with every pod that comes
// or goes, so that the pods of one workload, which ask about the same terms, find the counts
// ready.
type Selection struct {
	Term     AffinityTerm
	LiveOnly bool
	// Domains maps each value of Term.TopologyKey to the selected pods on nodes with that
	// value (Count, > 0; Weight is 0). Nodes without the key count nowhere.
	Domains map[string]DomainCount
	anchors []anchorKey
	used    uint64
}

type selectionKey struct {
	signature string
	liveOnly  bool
}

// anchorKey is where a selection waits for pods that may change it: pods with label key=value
// in namespace (in any namespace when anyNamespace), or every pod of namespace when
// wholeNamespace.
type anchorKey struct {
	namespace                    string
	anyNamespace, wholeNamespace bool
	key, value                   string
}

// Selection returns the selection of t, building it on first request. ok is false when the
// index cannot narrow t down (see TermCandidates); the caller must then count by itself. t must
// not change afterwards. The selection is valid until the snapshot's next update.
func (x *PodIndex) Selection(t *AffinityTerm, liveOnly bool) (s *Selection, ok bool) {
	k := selectionKey{t.Signature(), liveOnly}
	x.uses++
	if s := x.selections[k]; s != nil {
		s.used = x.uses
		return s, true
	}
	p, ok := x.termPlan(t)
	if !ok {
		return nil, false
	}
	s = &Selection{Term: *t, LiveOnly: liveOnly, Domains: map[string]DomainCount{}, anchors: p.anchors(), used: x.uses}
	for e := range x.candidates(&p).All() {
		s.update(e.Info.Pod, e.Node.Node().Labels, 1)
	}
	if len(x.selections) >= MaxSelections {
		x.dropLeastUsed()
	}
	x.selections[k] = s
	for _, a := range s.anchors {
		x.anchored[a] = append(x.anchored[a], s)
	}
	return s, true
}

// anchors lists where a selection planned by p must wait for pods.
func (p *candidatePlan) anchors() []anchorKey {
	if p.none {
		return nil // selects no pod, ever
	}
	var out []anchorKey
	namespaces := p.namespaces
	if p.anyNamespace {
		namespaces = []string{""}
	}
	for _, ns := range namespaces {
		if p.key == "" {
			out = append(out, anchorKey{namespace: ns, wholeNamespace: true})
			continue
		}
		for _, v := range p.values {
			out = append(out, anchorKey{namespace: ns, anyNamespace: p.anyNamespace, key: p.key, value: v})
		}
	}
	return out
}

// update counts (sign 1) or uncounts (sign -1) pod, on a node with nodeLabels, if s selects it.
func (s *Selection) update(pod *v1.Pod, nodeLabels map[string]string, sign int64) {
	if s.LiveOnly && pod.DeletionTimestamp != nil || !s.Term.Matches(pod, nil) {
		return
	}
	v, ok := nodeLabels[s.Term.TopologyKey]
	if !ok {
		return
	}
	d := s.Domains[v]
	d.Count += sign
	if d.Count == 0 {
		delete(s.Domains, v)
	} else {
		s.Domains[v] = d
	}
}

// updateSelections updates the selections anchored where pod is. A selection has at most one
// anchor a given pod reaches: its anchors differ in namespace or in the value of one key.
func (x *PodIndex) updateSelections(pod *v1.Pod, nodeLabels map[string]string, sign int64) {
	if len(x.anchored) == 0 {
		return
	}
	update := func(a anchorKey) {
		for _, s := range x.anchored[a] {
			s.update(pod, nodeLabels, sign)
		}
	}
	update(anchorKey{namespace: pod.Namespace, wholeNamespace: true})
	for k, v := range pod.Labels {
		update(anchorKey{namespace: pod.Namespace, key: k, value: v})
		update(anchorKey{anyNamespace: true, key: k, value: v})
	}
}

// dropLeastUsed forgets the least recently requested selection.
func (x *PodIndex) dropLeastUsed() {
	var oldest selectionKey
	var o *Selection
	for k, s := range x.selections {
		if o == nil || s.used < o.used {
			oldest, o = k, s
		}
	}
	delete(x.selections, oldest)
	for _, a := range o.anchors {
		l := x.anchored[a]
		for i, s := range l {
			if s == o {
				l = append(l[:i], l[i+1:]...)
				break
			}
		}
		if len(l) == 0 {
			delete(x.anchored, a)
		} else {
			x.anchored[a] = l
		}
	}
}
