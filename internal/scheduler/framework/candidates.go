package framework

import (
	"iter"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Candidates is a union of disjoint pod lists.
type Candidates []*PodList

// Len returns the number of pods.
func (c Candidates) Len() int {
	n := 0
	for _, l := range c {
		n += l.Len()
	}
	return n
}

// All yields every pod.
func (c Candidates) All() iter.Seq[IndexedPod] {
	return func(yield func(IndexedPod) bool) {
		for _, l := range c {
			for _, p := range l.items {
				if !yield(p) {
					return
				}
			}
		}
	}
}

// candidatePlan is how the index narrows a selection down: to the pods of namespaces (of every
// namespace when anyNamespace) that carry label key with one of values, or to every pod of the
// namespaces when key is "". none means the selector selects nothing.
type candidatePlan struct {
	namespaces   []string
	anyNamespace bool
	key          string
	values       []string
	none         bool
}

// TermCandidates returns the indexed pods t may select, each once: those in t's namespaces
// that carry the label of one of its selector's equality requirements (=, ==, or in), the
// requirement with the fewest such pods; every pod of t's namespaces when it has none. The
// caller must still check t.Matches. ok is false when the index cannot narrow t down (a
// non-empty namespace selector, or every namespace and no equality requirement): the caller
// must then consider every pod.
func (x *PodIndex) TermCandidates(t *AffinityTerm) (c Candidates, ok bool) {
	p, ok := x.termPlan(t)
	if !ok {
		return nil, false
	}
	return x.candidates(&p), true
}

// SelectorCandidates returns the pods of namespace that sel may select, each once, as
// TermCandidates does for a term in that namespace. The caller must still check sel.
func (x *PodIndex) SelectorCandidates(namespace string, sel labels.Selector) Candidates {
	p := x.plan([]string{namespace}, false, sel)
	return x.candidates(&p)
}

func (x *PodIndex) termPlan(t *AffinityTerm) (candidatePlan, bool) {
	switch {
	case t.NamespaceSelector == nil:
		var namespaces []string
		for ns, ok := range t.Namespaces {
			if ok {
				namespaces = append(namespaces, ns)
			}
		}
		return x.plan(namespaces, false, t.Selector), true
	case t.NamespaceSelector.Empty():
		p := x.plan(nil, true, t.Selector)
		return p, p.key != "" || p.none
	default:
		return candidatePlan{}, false
	}
}

// plan picks, among sel's equality requirements, the one whose labels the fewest pods of the
// namespaces carry.
func (x *PodIndex) plan(namespaces []string, anyNamespace bool, sel labels.Selector) candidatePlan {
	p := candidatePlan{namespaces: namespaces, anyNamespace: anyNamespace}
	reqs, ok := sel.Requirements()
	if !ok {
		p.none = true // labels.Nothing()
		return p
	}
	bestLen := 0
	for ns := range p.namespaceSeq(x) {
		bestLen += x.byNamespace[ns].Len()
	}
	for i := range reqs {
		values, ok := equalityValues(&reqs[i])
		if !ok {
			continue
		}
		n := 0
		for ns := range p.namespaceSeq(x) {
			for _, v := range values {
				n += x.byLabel[labelKey{ns, reqs[i].Key(), v}].Len()
			}
		}
		if n < bestLen || p.key == "" && n == bestLen {
			p.key, p.values, bestLen = reqs[i].Key(), values, n
		}
	}
	return p
}

// namespaceSeq yields the plan's namespaces: every namespace with pods when anyNamespace.
func (p *candidatePlan) namespaceSeq(x *PodIndex) iter.Seq[string] {
	if p.anyNamespace {
		return maps.Keys(x.byNamespace)
	}
	return slices.Values(p.namespaces)
}

func (x *PodIndex) candidates(p *candidatePlan) Candidates {
	if p.none {
		return nil
	}
	var c Candidates
	for ns := range p.namespaceSeq(x) {
		if p.key == "" {
			if l := x.byNamespace[ns]; l != nil {
				c = append(c, l)
			}
			continue
		}
		for _, v := range p.values {
			if l := x.byLabel[labelKey{ns, p.key, v}]; l != nil {
				c = append(c, l)
			}
		}
	}
	return c
}

// equalityValues returns the distinct values a label must have for r to hold, when r is an
// equality requirement.
func equalityValues(r *labels.Requirement) ([]string, bool) {
	switch r.Operator() {
	case selection.In, selection.Equals, selection.DoubleEquals:
		v := r.ValuesUnsorted()
		slices.Sort(v)
		return slices.Compact(v), true
	}
	return nil, false
}
