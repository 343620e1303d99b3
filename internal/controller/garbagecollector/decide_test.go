package garbagecollector

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func obj(finalizers []string, refs ...metav1.OwnerReference) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Name: "x", UID: "x", OwnerReferences: refs, Finalizers: finalizers}
}

func ref(uid string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{UID: types.UID(uid), Name: uid, Kind: "ReplicaSet", APIVersion: "apps/v1", BlockOwnerDeletion: ptr.To(block)}
}

func TestDecideDependent(t *testing.T) {
	cases := []struct {
		name          string
		obj           *metav1.ObjectMeta
		owners        map[types.UID]OwnerState
		hasDependents bool
		want          Action
	}{
		{"no owners: left alone", obj(nil), nil, false, Action{}},
		{"solid owner: kept", obj(nil, ref("a", true)), map[types.UID]OwnerState{"a": Solid}, false, Action{}},
		{"owner gone: deleted in the background", obj(nil, ref("a", true)), map[types.UID]OwnerState{"a": Dangling}, false,
			Action{Delete: true, Policy: metav1.DeletePropagationBackground}},
		{"one of two owners gone: reference dropped", obj(nil, ref("a", true), ref("b", false)),
			map[types.UID]OwnerState{"a": Dangling, "b": Solid}, false, Action{RemoveRefs: []types.UID{"a"}}},
		{"foreground owner, dependent with dependents: foreground", obj(nil, ref("a", true)),
			map[types.UID]OwnerState{"a": Waiting}, true, Action{Delete: true, Policy: metav1.DeletePropagationForeground}},
		{"foreground owner, leaf dependent: background", obj(nil, ref("a", true)),
			map[types.UID]OwnerState{"a": Waiting}, false, Action{Delete: true, Policy: metav1.DeletePropagationBackground}},
		{"waiting owner and a solid one: unblock the waiting one", obj(nil, ref("a", true), ref("b", false)),
			map[types.UID]OwnerState{"a": Waiting, "b": Solid}, false, Action{Unblock: []types.UID{"a"}}},
		{"dependent asking for orphaning keeps its policy", obj([]string{metav1.FinalizerOrphanDependents}, ref("a", true)),
			map[types.UID]OwnerState{"a": Dangling}, false, Action{Delete: true, Policy: metav1.DeletePropagationOrphan}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := DecideDependent(c.obj, c.owners, c.hasDependents)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestBlocking(t *testing.T) {
	deps := []metav1.Object{obj(nil, ref("o", true)), obj(nil, ref("o", false)), obj(nil, ref("other", true))}
	if got := Blocking("o", deps); len(got) != 1 {
		t.Errorf("%d blocking, want 1", len(got))
	}
}
