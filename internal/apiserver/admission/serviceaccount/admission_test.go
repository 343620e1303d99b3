package serviceaccount

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/registry"
)

var podsResource = &registry.Resource{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Plural: "pods", Namespaced: true}

func accounts(sas ...*corev1.ServiceAccount) Lookup {
	return func(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
		for _, sa := range sas {
			if sa.Namespace == ns && sa.Name == name {
				return sa, nil
			}
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts"}, name)
	}
}

func pod(mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers:     []corev1.Container{{Name: "a"}, {Name: "b"}}}}
	if mutate != nil {
		mutate(p)
	}
	return p
}

var (
	yes, no  = true, false
	tokenVol = corev1.Volume{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}
	mount    = corev1.VolumeMount{Name: "kube-api-access-abcde", ReadOnly: true, MountPath: MountPath}
)

func mounted(p *corev1.Pod) {
	p.Spec.Volumes = append(p.Spec.Volumes, tokenVol)
	for i := range p.Spec.InitContainers {
		p.Spec.InitContainers[i].VolumeMounts = append(p.Spec.InitContainers[i].VolumeMounts, mount)
	}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].VolumeMounts = append(p.Spec.Containers[i].VolumeMounts, mount)
	}
}

func TestAdmit(t *testing.T) {
	def := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "default"}}
	robot := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "robot"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}}
	quiet := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "quiet"}, AutomountServiceAccountToken: &no}
	cases := []struct {
		name        string
		in          *corev1.Pod
		want        *corev1.Pod
		allowNoDflt bool
		wantErr     string
	}{
		{name: "defaults to default and mounts the token", in: pod(nil), want: pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "default", "default"
			mounted(p)
		})},
		{name: "copies the account's image pull secrets", in: pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "robot" }),
			want: pod(func(p *corev1.Pod) {
				p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "robot", "robot"
				p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
				mounted(p)
			})},
		{name: "keeps the pod's image pull secrets", in: pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "robot"
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "own"}}
		}), want: pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "robot", "robot"
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "own"}}
			mounted(p)
		})},
		{name: "pod opts out", in: pod(func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = &no }), want: pod(func(p *corev1.Pod) {
			p.Spec.AutomountServiceAccountToken = &no
			p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "default", "default"
		})},
		{name: "account opts out", in: pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "quiet" }), want: pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "quiet", "quiet"
		})},
		{name: "pod opts in over the account", in: pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName = "quiet"
			p.Spec.AutomountServiceAccountToken = &yes
		}), want: pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "quiet", "quiet"
			p.Spec.AutomountServiceAccountToken = &yes
			mounted(p)
		})},
		{name: "container with its own mount at the path is left alone", in: pod(func(p *corev1.Pod) {
			p.Spec.Containers[1].VolumeMounts = []corev1.VolumeMount{{Name: "mine", MountPath: MountPath}}
		}), want: pod(func(p *corev1.Pod) {
			p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "default", "default"
			p.Spec.Volumes = []corev1.Volume{tokenVol}
			p.Spec.InitContainers[0].VolumeMounts = []corev1.VolumeMount{mount}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{mount}
			p.Spec.Containers[1].VolumeMounts = []corev1.VolumeMount{{Name: "mine", MountPath: MountPath}}
		})},
		{name: "missing account", in: pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName = "ghost" }),
			wantErr: `pods "p" is forbidden: error looking up service account ns/ghost: serviceaccount "ghost" not found`},
		{name: "mirror pods are left alone", in: pod(func(p *corev1.Pod) { p.Annotations = map[string]string{mirrorPodAnnotation: "x"} }),
			want: pod(func(p *corev1.Pod) { p.Annotations = map[string]string{mirrorPodAnnotation: "x"} })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Plugin{Accounts: accounts(def, robot, quiet), Suffix: func() string { return "abcde" }}
			a := &registry.AdmissionAttributes{Operation: registry.OperationCreate, Resource: podsResource, Namespace: "ns", Name: "p", Object: tc.in}
			err := p.Admit(context.Background(), a)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, a.Object); d != "" {
				t.Errorf("pod (-want +got):\n%s", d)
			}
		})
	}
}

// fakeClock fires every After at once and counts the calls.
type fakeClock struct{ calls int }

func (c *fakeClock) After(time.Duration) <-chan time.Time {
	c.calls++
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

func TestDefaultAccountRace(t *testing.T) {
	def := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "default"}}
	lookups := 0
	appearsOnThird := func(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
		lookups++
		if lookups < 3 {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts"}, name)
		}
		return def, nil
	}
	// A deadline that never fires: the account appears on the third lookup.
	never := func(d time.Duration) <-chan time.Time {
		if d == time.Second {
			return nil
		}
		return (&fakeClock{}).After(d)
	}
	p := &Plugin{Accounts: appearsOnThird, DefaultWait: time.Second, After: never}
	a := &registry.AdmissionAttributes{Operation: registry.OperationCreate, Resource: podsResource, Namespace: "ns", Name: "p", Object: pod(nil)}
	if err := p.Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if lookups != 3 {
		t.Errorf("%d lookups, want 3", lookups)
	}

	// Never appears: refused once the wait is over.
	p = &Plugin{Accounts: accounts(), DefaultWait: time.Second, After: (&fakeClock{}).After}
	a.Object = pod(nil)
	if err := p.Admit(context.Background(), a); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `serviceaccount "default" not found`) {
		t.Fatalf("err %v, want forbidden", err)
	}

	// Without a controller to create it, a missing default account is tolerated.
	p = &Plugin{Accounts: accounts(), AllowMissingDefault: true, Suffix: func() string { return "abcde" }}
	a.Object = pod(nil)
	if err := p.Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if got := a.Object.(*corev1.Pod); len(got.Spec.Volumes) != 1 || got.Spec.ServiceAccountName != "default" {
		t.Errorf("pod spec %+v", got.Spec)
	}
}

func TestOtherWritesPass(t *testing.T) {
	p := &Plugin{Accounts: accounts()}
	for _, a := range []*registry.AdmissionAttributes{
		{Operation: registry.OperationUpdate, Resource: podsResource, Object: pod(nil)},
		{Operation: registry.OperationCreate, Resource: podsResource, Subresource: "binding", Object: &corev1.Binding{}},
		{Operation: registry.OperationCreate, Resource: &registry.Resource{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Plural: "configmaps"}, Object: &corev1.ConfigMap{}},
	} {
		if err := p.Admit(context.Background(), a); err != nil {
			t.Errorf("%s %s: %v", a.Operation, a.Resource.Plural, err)
		}
	}
}
