package expectations

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestExpectations(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	steps := []struct {
		name string
		do   func(e *Expectations)
		want bool
	}{
		{"nothing expected", func(e *Expectations) {}, true},
		{"two creations expected", func(e *Expectations) { e.ExpectCreations("ns/rs", 2) }, false},
		{"one observed", func(e *Expectations) { e.CreationObserved("ns/rs") }, false},
		{"both observed", func(e *Expectations) { e.CreationObserved("ns/rs") }, true},
		{"extra observation harmless", func(e *Expectations) { e.CreationObserved("ns/rs") }, true},
		{"deletions expected", func(e *Expectations) { e.ExpectDeletions("ns/rs", []string{"ns/a", "ns/b"}) }, false},
		{"same deletion twice counts once", func(e *Expectations) {
			e.DeletionObserved("ns/rs", "ns/a")
			e.DeletionObserved("ns/rs", "ns/a")
		}, false},
		{"unexpected deletion ignored", func(e *Expectations) { e.DeletionObserved("ns/rs", "ns/c") }, false},
		{"all deletions observed", func(e *Expectations) { e.DeletionObserved("ns/rs", "ns/b") }, true},
		{"creations and deletions together", func(e *Expectations) { e.Expect("ns/rs", 1, []string{"ns/d"}) }, false},
		{"the creation observed", func(e *Expectations) { e.CreationObserved("ns/rs") }, false},
		{"then the deletion", func(e *Expectations) { e.DeletionObserved("ns/rs", "ns/d") }, true},
		{"stale expectations expire", func(e *Expectations) {
			e.ExpectCreations("ns/rs", 1)
			clk.SetTime(clk.Now().Add(TTL + time.Second))
		}, true},
		{"deleted key is satisfied", func(e *Expectations) {
			e.ExpectCreations("ns/rs", 1)
			e.Delete("ns/rs")
		}, true},
	}
	e := New(clk)
	for _, s := range steps {
		s.do(e)
		if got := e.Satisfied("ns/rs"); got != s.want {
			t.Fatalf("%s: Satisfied = %v, want %v", s.name, got, s.want)
		}
	}
}
