package kubelet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/reference"
	testingclock "k8s.io/utils/clock/testing"
)

// TestNode runs one kubelet synchronously on a fake clock: work items are kept with their due
// times and RunUntil runs them in time order, moving the clock.
type TestNode struct {
	KL     *Kubelet
	Clock  *testingclock.FakeClock
	Events *EventLog

	mu  sync.Mutex
	due map[workKey]time.Time
}

// NewTestNode starts a kubelet for cfg on rt.
func NewTestNode(cfg Config, client kubernetes.Interface, rt Runtime, clk *testingclock.FakeClock) *TestNode {
	n := &TestNode{Clock: clk, Events: &EventLog{}, due: map[workKey]time.Time{}}
	n.KL = newKubelet(cfg, client, rt, clk, n.Events, n, slog.New(slog.NewTextHandler(io.Discard, nil)))
	n.KL.start()
	return n
}

func (n *TestNode) schedule(k workKey, at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if cur, ok := n.due[k]; !ok || at.Before(cur) {
		n.due[k] = at
	}
}

// StartHousekeeping schedules the kubelet's housekeeping, as a Host does once the node's pods
// are known.
func (n *TestNode) StartHousekeeping() { n.KL.startHousekeeping() }

// Stop stops the kubelet (its watches of ConfigMaps and Secrets).
func (n *TestNode) Stop() { n.KL.stop() }

// RunUntil runs every work item due up to t, then sets the clock to t.
func (n *TestNode) RunUntil(t time.Time) {
	for {
		n.mu.Lock()
		var keys []workKey
		for k, at := range n.due {
			if !at.After(t) {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			n.mu.Unlock()
			break
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := n.due[keys[i]], n.due[keys[j]]
			if !a.Equal(b) {
				return a.Before(b)
			}
			if keys[i].kind != keys[j].kind {
				return keys[i].kind < keys[j].kind
			}
			return keys[i].uid < keys[j].uid
		})
		k := keys[0]
		at := n.due[k]
		delete(n.due, k)
		n.mu.Unlock()
		if at.After(n.Clock.Now()) {
			n.Clock.SetTime(at)
		}
		k.kl.process(context.Background(), k)
	}
	if t.After(n.Clock.Now()) {
		n.Clock.SetTime(t)
	}
}

// EventLog records events as "Type Reason fieldPath: message".
type EventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *EventLog) add(obj runtime.Object, typ, reason, msg string) {
	path := ""
	switch o := obj.(type) {
	case *corev1.ObjectReference:
		path = o.FieldPath
		if o.Kind == "Node" {
			path = "node"
		}
	default:
		if ref, err := reference.GetReference(scheme.Scheme, obj); err == nil {
			path = ref.FieldPath
		}
	}
	if path != "" {
		path = " " + path
	}
	l.mu.Lock()
	l.events = append(l.events, fmt.Sprintf("%s %s%s: %s", typ, reason, path, msg))
	l.mu.Unlock()
}

// Event implements record.EventRecorder.
func (l *EventLog) Event(obj runtime.Object, typ, reason, msg string) { l.add(obj, typ, reason, msg) }

// Eventf implements record.EventRecorder.
func (l *EventLog) Eventf(obj runtime.Object, typ, reason, format string, args ...any) {
	l.add(obj, typ, reason, fmt.Sprintf(format, args...))
}

// AnnotatedEventf implements record.EventRecorder.
func (l *EventLog) AnnotatedEventf(obj runtime.Object, _ map[string]string, typ, reason, format string, args ...any) {
	l.add(obj, typ, reason, fmt.Sprintf(format, args...))
}

// Take returns the events recorded since the last Take, without node events.
func (l *EventLog) Take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if !containsNode(e) {
			out = append(out, e)
		}
	}
	l.events = nil
	return out
}

// TakeNode returns the node events recorded since the last TakeNode or Take, and forgets them.
func (l *EventLog) TakeNode() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out, rest []string
	for _, e := range l.events {
		if containsNode(e) {
			out = append(out, e)
		} else {
			rest = append(rest, e)
		}
	}
	l.events = rest
	return out
}

func containsNode(e string) bool {
	for i := 0; i+5 <= len(e); i++ {
		if e[i:i+5] == " node" && (i+5 == len(e) || e[i+5] == ':') {
			return true
		}
	}
	return false
}

// UID is a helper for tests.
type UID = types.UID
