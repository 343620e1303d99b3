package framework

import (
	"fmt"
	"maps"
	"slices"
)

// diff describes the first difference between d and want, or returns nil.
func (d *DomainIndex) diff(want *DomainIndex) error {
	if !maps.Equal(d.withKey, want.withKey) {
		return fmt.Errorf("domain index: nodes per key %v, want %v", d.withKey, want.withKey)
	}
	if !maps.EqualFunc(d.values, want.values, maps.Equal) {
		return fmt.Errorf("domain index: nodes per label %v, want %v", d.values, want.values)
	}
	return nil
}

// diff describes the first difference between x and want, or returns nil. Lists compare as
// sets; groups by signature, instances and domains.
func (x *PodIndex) diff(want *PodIndex) error {
	if err := diffLists("namespace", x.byNamespace, want.byNamespace); err != nil {
		return err
	}
	if err := diffLists("label", x.byLabel, want.byLabel); err != nil {
		return err
	}
	for _, g := range []struct {
		name      string
		got, want map[string]*TermGroup
	}{
		{"required anti-affinity", x.requiredAntiAffinity, want.requiredAntiAffinity},
		{"required affinity", x.requiredAffinity, want.requiredAffinity},
		{"preferred", x.preferred, want.preferred},
	} {
		if err := diffGroups(g.name, g.got, g.want); err != nil {
			return err
		}
	}
	return x.checkSelections(want)
}

// checkSelections compares x's selections with the same ones built on fresh, an index without
// any, and checks that every selection is anchored where it says, and nothing else is.
func (x *PodIndex) checkSelections(fresh *PodIndex) error {
	anchored := 0
	for k, s := range x.selections {
		w, ok := fresh.Selection(&s.Term, s.LiveOnly)
		if !ok {
			return fmt.Errorf("pod index: selection %q cannot be built", k.signature)
		}
		if !maps.Equal(s.Domains, w.Domains) {
			return fmt.Errorf("pod index: selection %q (live only %v): %v, want %v", k.signature, k.liveOnly, s.Domains, w.Domains)
		}
		for _, a := range s.anchors {
			if !slices.Contains(x.anchored[a], s) {
				return fmt.Errorf("pod index: selection %q not anchored at %+v", k.signature, a)
			}
		}
		anchored += len(s.anchors)
	}
	n := 0
	for _, l := range x.anchored {
		n += len(l)
	}
	if n != anchored {
		return fmt.Errorf("pod index: %d anchored selections, want %d", n, anchored)
	}
	return nil
}

func diffLists[K comparable](kind string, got, want map[K]*PodList) error {
	for k, l := range got {
		if err := l.check(); err != nil {
			return fmt.Errorf("pod index: %s %v: %w", kind, k, err)
		}
		if want[k] == nil {
			return fmt.Errorf("pod index: %s %v: %d pods, want none", kind, k, l.Len())
		}
	}
	for k, w := range want {
		g := got[k]
		if g == nil {
			return fmt.Errorf("pod index: %s %v: missing, want %d pods", kind, k, w.Len())
		}
		if g.Len() != w.Len() {
			return fmt.Errorf("pod index: %s %v: %d pods, want %d", kind, k, g.Len(), w.Len())
		}
		for _, p := range w.items {
			i, ok := g.pos[p.Info]
			if !ok || g.items[i] != p {
				return fmt.Errorf("pod index: %s %v: pod %s/%s on %p missing", kind, k, p.Info.Pod.Namespace, p.Info.Pod.Name, p.Node)
			}
		}
	}
	return nil
}

// check verifies that pos and items agree.
func (l *PodList) check() error {
	if len(l.pos) != len(l.items) || len(l.items) == 0 {
		return fmt.Errorf("%d positions for %d pods", len(l.pos), len(l.items))
	}
	for i, p := range l.items {
		if l.pos[p.Info] != i {
			return fmt.Errorf("pod %s at %d recorded at %d", p.Info.Pod.Name, i, l.pos[p.Info])
		}
	}
	return nil
}

func diffGroups(kind string, got, want map[string]*TermGroup) error {
	for sig, g := range got {
		w := want[sig]
		if w == nil {
			return fmt.Errorf("pod index: %s group %q: %d instances, want none", kind, sig, g.instances)
		}
		if g.Term.Signature() != sig {
			return fmt.Errorf("pod index: %s group %q holds a term with signature %q", kind, sig, g.Term.Signature())
		}
		if g.instances != w.instances || !maps.Equal(g.Domains, w.Domains) {
			return fmt.Errorf("pod index: %s group %q: %d instances in %v, want %d in %v", kind, sig, g.instances, g.Domains, w.instances, w.Domains)
		}
	}
	for sig := range want {
		if got[sig] == nil {
			return fmt.Errorf("pod index: %s group %q missing", kind, sig)
		}
	}
	return nil
}
