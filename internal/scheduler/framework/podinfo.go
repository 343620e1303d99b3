package framework

import (
	"maps"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// Default requests used for scoring containers that request no cpu or memory (upstream's
// DefaultMilliCPURequest and DefaultMemoryRequest), so that spreading still sees them.
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// AffinityTerm is a parsed PodAffinityTerm.
type AffinityTerm struct {
	Namespaces map[string]bool
	// NamespaceSelector is nil when the term names no selector; labels.Everything() for {}.
	NamespaceSelector labels.Selector
	Selector          labels.Selector
	TopologyKey       string
	// sig caches Signature; parsing sets it.
	sig string
}

// Signature identifies the term by what it selects and where: terms with equal signatures
// match the same pods and count them under the same topology key. It assumes selectors built
// by metav1.LabelSelectorAsSelector, whose String is canonical up to requirement order.
func (t *AffinityTerm) Signature() string {
	if t.sig == "" {
		return termSignature(t)
	}
	return t.sig
}

func termSignature(t *AffinityTerm) string {
	var b strings.Builder
	for _, ns := range slices.Sorted(maps.Keys(t.Namespaces)) {
		if t.Namespaces[ns] {
			b.WriteString(ns)
			b.WriteByte(0)
		}
	}
	b.WriteByte(1)
	writeSelectorSignature(&b, t.NamespaceSelector)
	b.WriteByte(1)
	writeSelectorSignature(&b, t.Selector)
	b.WriteByte(1)
	b.WriteString(t.TopologyKey)
	return b.String()
}

// writeSelectorSignature tells apart the absent selector, labels.Nothing() and labels.Everything(),
// whose String is "" for the last two.
func writeSelectorSignature(b *strings.Builder, sel labels.Selector) {
	switch {
	case sel == nil:
		b.WriteString("nil")
	case !selectable(sel):
		b.WriteString("nothing")
	default:
		b.WriteByte('{')
		b.WriteString(sel.String())
		b.WriteByte('}')
	}
}

func selectable(sel labels.Selector) bool {
	_, ok := sel.Requirements()
	return ok
}

// WeightedAffinityTerm is a parsed WeightedPodAffinityTerm.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// NamespaceLabels returns a namespace's labels; nil when unknown.
type NamespaceLabels func(namespace string) labels.Set

// Matches reports whether pod is selected by the term: in one of its namespaces (or one its
// namespace selector picks) and matching its label selector.
func (t *AffinityTerm) Matches(pod *v1.Pod, nsLabels NamespaceLabels) bool {
	if !t.Namespaces[pod.Namespace] {
		if t.NamespaceSelector == nil {
			return false
		}
		if !t.NamespaceSelector.Empty() {
			var l labels.Set
			if nsLabels != nil {
				l = nsLabels(pod.Namespace)
			}
			if !t.NamespaceSelector.Matches(l) {
				return false
			}
		}
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// PodInfo is a pod with what the plugins need precomputed: parsed affinity terms and resource
// requests (with init containers, sidecars and overhead, via component-helpers).
type PodInfo struct {
	Pod                        *v1.Pod
	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// Requests is the pod's effective request; NonZeroCPU/NonZeroMemory count unset container
	// requests as upstream's defaults, for scoring.
	Requests      Resource
	NonZeroCPU    int64
	NonZeroMemory int64
	Priority      int32
	// ParseError records an invalid selector; such a pod fits nowhere.
	ParseError error
}

// NewPodInfo parses pod.
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Priority: corev1helpers.PodPriority(pod)}
	if a := pod.Spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			pi.RequiredAffinityTerms = pi.parseTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.PreferredAffinityTerms = pi.parseWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			pi.RequiredAntiAffinityTerms = pi.parseTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			pi.PreferredAntiAffinityTerms = pi.parseWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}
	reqs := resource.PodRequests(pod, resource.PodResourcesOptions{})
	pi.Requests = NewResource(reqs)
	nz := resource.PodRequests(pod, resource.PodResourcesOptions{NonMissingContainerRequests: nonZeroDefaults})
	pi.NonZeroCPU = nz.Cpu().MilliValue()
	pi.NonZeroMemory = nz.Memory().Value()
	return pi
}

var nonZeroDefaults = v1.ResourceList{
	v1.ResourceCPU:    *resourceQuantityMilli(DefaultMilliCPURequest),
	v1.ResourceMemory: *resourceQuantity(DefaultMemoryRequest),
}

func (pi *PodInfo) parseTerm(pod *v1.Pod, t *v1.PodAffinityTerm) (AffinityTerm, bool) {
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		pi.ParseError = err
		return AffinityTerm{}, false
	}
	at := AffinityTerm{Selector: sel, TopologyKey: t.TopologyKey, Namespaces: map[string]bool{}}
	for _, ns := range t.Namespaces {
		at.Namespaces[ns] = true
	}
	if t.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		if err != nil {
			pi.ParseError = err
			return AffinityTerm{}, false
		}
		at.NamespaceSelector = nsSel
	}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		at.Namespaces[pod.Namespace] = true
	}
	at.sig = termSignature(&at)
	return at, true
}

func (pi *PodInfo) parseTerms(pod *v1.Pod, terms []v1.PodAffinityTerm) []AffinityTerm {
	var out []AffinityTerm
	for i := range terms {
		if t, ok := pi.parseTerm(pod, &terms[i]); ok {
			out = append(out, t)
		}
	}
	return out
}

func (pi *PodInfo) parseWeighted(pod *v1.Pod, terms []v1.WeightedPodAffinityTerm) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range terms {
		if t, ok := pi.parseTerm(pod, &terms[i].PodAffinityTerm); ok {
			out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
		}
	}
	return out
}

// HasAffinity reports whether the pod has any pod affinity or anti-affinity term.
func (pi *PodInfo) HasAffinity() bool {
	return len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms)+len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0
}
