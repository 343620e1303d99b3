package serviceaccount

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func namespace(phase corev1.NamespacePhase) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Status: corev1.NamespaceStatus{Phase: phase}}
}

func TestDefaultAccountNeeded(t *testing.T) {
	cases := []struct {
		name     string
		ns       *corev1.Namespace
		existing bool
		want     bool
	}{
		{"active without account", namespace(corev1.NamespaceActive), false, true},
		{"active with account", namespace(corev1.NamespaceActive), true, false},
		{"terminating", namespace(corev1.NamespaceTerminating), false, false},
		{"gone", nil, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultAccountNeeded(tc.ns, tc.existing); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRootCAConfigMap(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n")
	good := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: RootCAName, Namespace: "ns", ResourceVersion: "7",
		Annotations: map[string]string{descriptionKey: RootCADescription}}, Data: map[string]string{RootCAKey: string(ca)}}
	tampered := good.DeepCopy()
	tampered.Data[RootCAKey] = "other"
	tampered.Data["extra"] = "x"
	unannotated := good.DeepCopy()
	unannotated.Annotations = nil
	cases := []struct {
		name               string
		ns                 *corev1.Namespace
		cur                *corev1.ConfigMap
		wantCreate, wantUp bool
	}{
		{"missing", namespace(corev1.NamespaceActive), nil, true, false},
		{"up to date", namespace(corev1.NamespaceActive), good, false, false},
		{"changed data", namespace(corev1.NamespaceActive), tampered, false, true},
		{"no annotation", namespace(corev1.NamespaceActive), unannotated, false, true},
		{"terminating", namespace(corev1.NamespaceTerminating), nil, false, false},
		{"gone", nil, nil, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			create, update := RootCAConfigMap(tc.ns, tc.cur, ca)
			if (create != nil) != tc.wantCreate || (update != nil) != tc.wantUp {
				t.Fatalf("create %v, update %v", create, update)
			}
			for _, cm := range []*corev1.ConfigMap{create, update} {
				if cm == nil {
					continue
				}
				if len(cm.Data) != 1 || cm.Data[RootCAKey] != string(ca) || cm.Annotations[descriptionKey] != RootCADescription || cm.Namespace != "ns" {
					t.Errorf("configmap %+v", cm)
				}
			}
			if update != nil && update.ResourceVersion != "7" {
				t.Errorf("update lost the resourceVersion")
			}
			if tc.cur != nil && tc.cur.Data[RootCAKey] == string(ca) && tc.cur != good && tc.cur.Annotations != nil {
				t.Errorf("input mutated")
			}
		})
	}
}
