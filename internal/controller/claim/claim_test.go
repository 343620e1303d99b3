package claim

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

var rsGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}

func owner(deleting bool) *metav1.ObjectMeta {
	o := &metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "rs-uid"}
	if deleting {
		now := metav1.NewTime(time.Now())
		o.DeletionTimestamp = &now
	}
	return o
}

func pod(app string, controller types.UID, deleting bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "p-uid", Labels: map[string]string{"app": app}}}
	if controller != "" {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "x", UID: controller, Controller: &t}}
	}
	if deleting {
		now := metav1.NewTime(time.Now())
		p.DeletionTimestamp = &now
	}
	return p
}

func TestDecide(t *testing.T) {
	sel := labels.SelectorFromSet(labels.Set{"app": "web"})
	cases := []struct {
		name          string
		ownerDeleting bool
		pod           *corev1.Pod
		want          Action
	}{
		{"orphan that matches is adopted", false, pod("web", "", false), Adopt},
		{"orphan that does not match is ignored", false, pod("db", "", false), Ignore},
		{"deleting orphan is not adopted", false, pod("web", "", true), Ignore},
		{"deleting owner adopts nothing", true, pod("web", "", false), Ignore},
		{"ours and matching is kept", false, pod("web", "rs-uid", false), Keep},
		{"ours and no longer matching is released", false, pod("db", "rs-uid", false), Release},
		{"deleting owner releases nothing", true, pod("db", "rs-uid", false), Ignore},
		{"someone else's is ignored", false, pod("web", "other", false), Ignore},
	}
	for _, c := range cases {
		if got := Decide(owner(c.ownerDeleting), sel, c.pod); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestClaim(t *testing.T) {
	var patches []string
	c := &Claimer{Owner: owner(false), OwnerGVK: rsGVK, Selector: labels.SelectorFromSet(labels.Set{"app": "web"}),
		CanAdopt: func(context.Context) error { return nil },
		Patch: func(_ context.Context, ns, name string, p []byte) error {
			patches = append(patches, string(p))
			return nil
		}}
	got, err := Claim(context.Background(), c, []*corev1.Pod{pod("web", "", false), pod("db", "rs-uid", false), pod("web", "rs-uid", false)})
	if err != nil || len(got) != 2 || len(patches) != 2 {
		t.Fatalf("claimed %d, patches %v, err %v", len(got), patches, err)
	}
	var adopt struct {
		Metadata struct {
			OwnerReferences []metav1.OwnerReference
			UID             types.UID
		}
	}
	if err := json.Unmarshal([]byte(patches[0]), &adopt); err != nil {
		t.Fatal(err)
	}
	ref := adopt.Metadata.OwnerReferences[0]
	if ref.APIVersion != "apps/v1" || ref.Kind != "ReplicaSet" || ref.UID != "rs-uid" || !*ref.Controller || !*ref.BlockOwnerDeletion || adopt.Metadata.UID != "p-uid" {
		t.Errorf("adopt patch %s", patches[0])
	}
	if want := `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"rs-uid"}],"uid":"p-uid"}}`; patches[1] != want {
		t.Errorf("release patch %s, want %s", patches[1], want)
	}
}
