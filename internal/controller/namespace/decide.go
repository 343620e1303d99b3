// Package namespace is the namespace controller, as upstream's: when a namespace is deleted it
// deletes everything in it (every namespaced resource that can be listed and deleted, found by
// discovery), reports progress in the namespace's status conditions, and once nothing is left
// removes the "kubernetes" finalizer through namespaces/finalize, so that the namespace goes.
//
// Conditions, with upstream's types, reasons and messages:
//   - NamespaceDeletionDiscoveryFailure: ResourcesDiscovered / DiscoveryFailed;
//   - NamespaceDeletionGroupVersionParsingFailure: ParsedGroupVersions / GroupVersionParsingFailed;
//   - NamespaceDeletionContentFailure: ContentDeleted / ContentDeletionFailed;
//   - NamespaceContentRemaining: ContentRemoved / SomeResourcesRemain ("Some resources are
//     remaining: pods. has 3 resource instances");
//   - NamespaceFinalizersRemaining: ContentHasNoFinalizers / SomeFinalizersRemain ("Some content in
//     the namespace has finalizers remaining: example.com/x in 1 resource instances").
package namespace

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Condition reasons, as upstream's.
const (
	reasonResourcesDiscovered   = "ResourcesDiscovered"
	reasonDiscoveryFailed       = "DiscoveryFailed"
	reasonParsedGroupVersions   = "ParsedGroupVersions"
	reasonContentDeleted        = "ContentDeleted"
	reasonContentDeletionFailed = "ContentDeletionFailed"
	reasonContentRemoved        = "ContentRemoved"
	reasonSomeResourcesRemain   = "SomeResourcesRemain"
	reasonNoFinalizers          = "ContentHasNoFinalizers"
	reasonSomeFinalizersRemain  = "SomeFinalizersRemain"
)

// Progress is what one pass over a namespace's content found.
type Progress struct {
	// DiscoveryErr is set when some API groups could not be discovered.
	DiscoveryErr error
	// DeleteErrs are errors from listing or deleting content.
	DeleteErrs []error
	// Remaining counts the objects left per resource ("pods." for core, "deployments.apps").
	Remaining map[string]int
	// Finalizers counts the objects left per finalizer.
	Finalizers map[string]int
	// Wait, if positive, is how long the longest graceful deletion still has to run.
	Wait time.Duration
}

// Done reports whether the namespace is empty and may be finalized.
func (p Progress) Done() bool {
	return p.DiscoveryErr == nil && len(p.DeleteErrs) == 0 && len(p.Remaining) == 0
}

// ResourceKey names gr as upstream's conditions do: "pods." for a core resource.
func ResourceKey(gr schema.GroupResource) string {
	return gr.Resource + "." + gr.Group
}

// Conditions returns the namespace's deletion conditions for p, keeping transition times of
// conditions whose status did not change.
func Conditions(old []corev1.NamespaceCondition, p Progress, now time.Time) []corev1.NamespaceCondition {
	set := func(t corev1.NamespaceConditionType, failed bool, okReason, badReason, msg string) corev1.NamespaceCondition {
		c := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReason, Message: "", LastTransitionTime: metav1.NewTime(now)}
		if failed {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, badReason, msg
		}
		if !failed {
			switch t {
			case corev1.NamespaceDeletionDiscoveryFailure:
				c.Message = "All resources successfully discovered"
			case corev1.NamespaceDeletionGVParsingFailure:
				c.Message = "All legacy kube types successfully parsed"
			case corev1.NamespaceDeletionContentFailure:
				c.Message = "All content successfully deleted, may be waiting on finalization"
			case corev1.NamespaceContentRemaining:
				c.Message = "All content successfully removed"
			case corev1.NamespaceFinalizersRemaining:
				c.Message = "All content-preserving finalizers finished"
			}
		}
		for _, o := range old {
			if o.Type == t && o.Status == c.Status {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		return c
	}
	var discoveryMsg string
	if p.DiscoveryErr != nil {
		discoveryMsg = "Discovery failed for some groups: " + p.DiscoveryErr.Error()
	}
	var deleteMsg string
	if len(p.DeleteErrs) > 0 {
		msgs := make([]string, 0, len(p.DeleteErrs))
		for _, e := range p.DeleteErrs {
			msgs = append(msgs, e.Error())
		}
		sort.Strings(msgs)
		deleteMsg = "Failed to delete all resource types, " + fmt.Sprint(len(msgs)) + " remaining: " + strings.Join(msgs, ", ")
	}
	return []corev1.NamespaceCondition{
		set(corev1.NamespaceDeletionDiscoveryFailure, p.DiscoveryErr != nil, reasonResourcesDiscovered, reasonDiscoveryFailed, discoveryMsg),
		set(corev1.NamespaceDeletionGVParsingFailure, false, reasonParsedGroupVersions, "", ""),
		set(corev1.NamespaceDeletionContentFailure, len(p.DeleteErrs) > 0, reasonContentDeleted, reasonContentDeletionFailed, deleteMsg),
		set(corev1.NamespaceContentRemaining, len(p.Remaining) > 0, reasonContentRemoved, reasonSomeResourcesRemain,
			"Some resources are remaining: "+countList(p.Remaining, "%s has %d resource instances")),
		set(corev1.NamespaceFinalizersRemaining, len(p.Finalizers) > 0, reasonNoFinalizers, reasonSomeFinalizersRemain,
			"Some content in the namespace has finalizers remaining: "+countList(p.Finalizers, "%s in %d resource instances")),
	}
}

// countList formats counts sorted by key, joined by ", ", as upstream's messages.
func countList(m map[string]int, format string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf(format, k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// WithoutKubernetesFinalizer returns spec.finalizers without "kubernetes".
func WithoutKubernetesFinalizer(fs []corev1.FinalizerName) []corev1.FinalizerName {
	var out []corev1.FinalizerName
	for _, f := range fs {
		if f != corev1.FinalizerKubernetes {
			out = append(out, f)
		}
	}
	return out
}
