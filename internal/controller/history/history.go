// Package history keeps a workload's ControllerRevisions, as upstream's controller history:
// each revision stores, in data, the strategic merge patch that puts one pod template back
// ({"spec":{"template":{...,"$patch":"replace"}}}), so that `kubectl rollout undo` can apply
// it to the owner as it is, and a revision number that grows with each template change. The
// StatefulSet and DaemonSet controllers share what is here; their own packages decide which
// revisions are current.
package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
)

// HashLabel labels a revision (and the pods made from it) with its hash:
// controller-revision-hash.
const HashLabel = appsv1.ControllerRevisionHashLabelKey

// ChangeCauseAnnotation is what `kubectl rollout history` prints for a revision.
const ChangeCauseAnnotation = "kubernetes.io/change-cause"

// TemplatePatch is the revision data for an owner whose JSON form is obj: its spec.template
// with "$patch":"replace", every other field dropped. The bytes are those upstream stores
// (encoding/json sorts map keys), so that hashes and names match a Kubernetes cluster's.
func TemplatePatch(obj any) ([]byte, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	spec, _ := raw["spec"].(map[string]any)
	template, _ := spec["template"].(map[string]any)
	if template == nil {
		return nil, fmt.Errorf("object has no spec.template")
	}
	template["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": template}})
}

// Template decodes the pod template a revision's data puts back.
func Template(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var data struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &data); err != nil {
		return nil, fmt.Errorf("controllerrevision %s/%s: %w", rev.Namespace, rev.Name, err)
	}
	return &data.Spec.Template, nil
}

// Hash is upstream's HashControllerRevision: FNV-32 over the data, then the collision count
// in decimal, made safe by rand.SafeEncodeString.
func Hash(data []byte, collisionCount *int32) string {
	h := fnv.New32()
	h.Write(data)
	if collisionCount != nil {
		h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// Name is "<parent>-<hash>", the parent's name cut to 223 characters.
func Name(parent, hash string) string {
	if len(parent) > 223 {
		parent = parent[:223]
	}
	return parent + "-" + hash
}

// New is the revision number revision of owner (of kind gvk) holding data: the template's
// labels plus HashLabel, the owner's annotations (kubectl rollout history reads
// kubernetes.io/change-cause from them), a controller reference, named by Name(owner, Hash).
func New(owner metav1.Object, gvk schema.GroupVersionKind, templateLabels map[string]string, data []byte, revision int64, collisionCount *int32) *appsv1.ControllerRevision {
	hash := Hash(data, collisionCount)
	labels := make(map[string]string, len(templateLabels)+1)
	for k, v := range templateLabels {
		labels[k] = v
	}
	labels[HashLabel] = hash
	var annotations map[string]string
	if a := owner.GetAnnotations(); len(a) > 0 {
		annotations = make(map[string]string, len(a))
		for k, v := range a {
			annotations[k] = v
		}
	}
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            Name(owner.GetName(), hash),
			Namespace:       owner.GetNamespace(),
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, gvk)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: revision,
	}
}

// Sort orders revisions by revision number, then creation time, then name (oldest first).
func Sort(revs []*appsv1.ControllerRevision) {
	sort.SliceStable(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		if a.Revision != b.Revision {
			return a.Revision < b.Revision
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// MaxRevision is the highest revision number of revs (0 if none).
func MaxRevision(revs []*appsv1.ControllerRevision) int64 {
	var m int64
	for _, r := range revs {
		m = max(m, r.Revision)
	}
	return m
}

// Equal reports whether two revisions hold the same data.
func Equal(a, b *appsv1.ControllerRevision) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(a.Data.Raw, b.Data.Raw)
}

// Choice is what to do to record a candidate revision.
type Choice int

const (
	// Latest: the newest revision already holds the data; use it.
	Latest Choice = iota
	// Renumber: an older revision holds it (a rollback); give it the candidate's number.
	Renumber
	// Create: no revision holds it; create the candidate.
	Create
)

// Choose decides how candidate joins revs (sorted by Sort): it returns the choice and, for
// Latest and Renumber, the existing revision that holds the same data (the newest such).
func Choose(revs []*appsv1.ControllerRevision, candidate *appsv1.ControllerRevision) (Choice, *appsv1.ControllerRevision) {
	var equal *appsv1.ControllerRevision
	for _, r := range revs {
		if Equal(r, candidate) {
			equal = r
		}
	}
	switch {
	case equal == nil:
		return Create, nil
	case equal == revs[len(revs)-1]:
		return Latest, equal
	}
	return Renumber, equal
}
