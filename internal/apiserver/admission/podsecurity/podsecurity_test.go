package podsecurity

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/registry"
)

var (
	podsRes = &registry.Resource{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, Plural: "pods", Namespaced: true}
	nsRes   = &registry.Resource{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, Plural: "namespaces"}
	depRes  = &registry.Resource{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Plural: "deployments", Namespaced: true}
)

func newPlugin(t *testing.T, labels map[string]string, pods ...*corev1.Pod) *Plugin {
	t.Helper()
	p, err := New(Plugin{
		Defaults: DefaultPolicy(api.LevelPrivileged),
		Namespace: func(_ context.Context, name string) (*corev1.Namespace, error) {
			return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, nil
		},
		Pods: func(context.Context, string) ([]*corev1.Pod, error) { return pods, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pod(name string, sc *corev1.SecurityContext) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", SecurityContext: sc}}}}
}

// run validates obj and returns the error, the warnings and the audit annotations.
func run(p *Plugin, res *registry.Resource, op string, obj, old runtime.Object) (error, []string, map[string]string) {
	var warnings []string
	ctx, notes := registry.WithNotes(context.Background(), func(w string) { warnings = append(warnings, w) })
	name := obj.(metav1.Object).GetName()
	err := p.Validate(ctx, &registry.AdmissionAttributes{Operation: op, Resource: res, Namespace: "ns", Name: name, Object: obj, OldObject: old})
	return err, warnings, notes.Annotations()
}

func TestPodSecurity(t *testing.T) {
	privileged := &corev1.SecurityContext{Privileged: ptr.To(true)}
	restrictedSC := &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	tests := []struct {
		name      string
		labels    map[string]string
		res       *registry.Resource
		obj       runtime.Object
		wantErr   string
		wantWarn  []string
		wantAudit string
	}{{
		name:      "privileged pod refused by enforce=restricted",
		labels:    map[string]string{api.EnforceLevelLabel: "restricted"},
		res:       podsRes,
		obj:       pod("priv", privileged),
		wantErr:   `pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
		wantAudit: `would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`,
	}, {
		name:   "restricted pod allowed by enforce=restricted",
		labels: map[string]string{api.EnforceLevelLabel: "restricted"},
		res:    podsRes,
		obj:    pod("ok", restrictedSC),
	}, {
		name:      "privileged pod warned by the cluster default",
		res:       podsRes,
		obj:       pod("priv", privileged),
		wantWarn:  []string{`would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`},
		wantAudit: `would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`,
	}, {
		name:   "privileged namespace is quiet",
		labels: map[string]string{api.WarnLevelLabel: "privileged", api.AuditLevelLabel: "privileged"},
		res:    podsRes,
		obj:    pod("priv", privileged),
	}, {
		name:   "a deployment is warned, never refused",
		labels: map[string]string{api.EnforceLevelLabel: "restricted", api.WarnLevelLabel: "baseline"},
		res:    depRes,
		obj: &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "ns"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: pod("", privileged).Spec}}},
		wantWarn:  []string{`would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`},
		wantAudit: `would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPlugin(t, tt.labels)
			err, warnings, ann := run(p, tt.res, registry.OperationCreate, tt.obj, nil)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !apierrors.IsForbidden(err) {
					t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
				}
			}
			if strings.Join(warnings, "\n") != strings.Join(tt.wantWarn, "\n") {
				t.Errorf("warnings:\n got %q\nwant %q", warnings, tt.wantWarn)
			}
			if got := ann["pod-security.kubernetes.io/audit-violations"]; got != tt.wantAudit {
				t.Errorf("audit annotation:\n got %q\nwant %q", got, tt.wantAudit)
			}
		})
	}
}

func TestPodSecurityNamespaceLabels(t *testing.T) {
	p := newPlugin(t, nil, pod("a", &corev1.SecurityContext{Privileged: ptr.To(true)}), pod("b", &corev1.SecurityContext{Privileged: ptr.To(true)}))
	bad := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: map[string]string{api.EnforceLevelLabel: "strict"}}}
	err, _, _ := run(p, nsRes, registry.OperationCreate, bad, nil)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict"`) {
		t.Fatalf("invalid level: got %v", err)
	}
	old := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}
	raised := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: map[string]string{api.EnforceLevelLabel: "baseline"}}}
	err, warnings, _ := run(p, nsRes, registry.OperationUpdate, raised, old)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`existing pods in namespace "ns" violate the new PodSecurity enforce level "baseline:latest"`,
		`a (and 1 other pod): privileged`,
	}
	if strings.Join(warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, want)
	}
}

func TestPodSecurityInsignificantUpdate(t *testing.T) {
	p := newPlugin(t, map[string]string{api.EnforceLevelLabel: "restricted"})
	old := pod("priv", &corev1.SecurityContext{Privileged: ptr.To(true)})
	upd := old.DeepCopy()
	upd.Labels = map[string]string{"a": "b"}
	if err, _, _ := run(p, podsRes, registry.OperationUpdate, upd, old); err != nil {
		t.Fatalf("label change of an existing pod refused: %v", err)
	}
	upd.Spec.Containers[0].Image = "busybox:2"
	if err, _, _ := run(p, podsRes, registry.OperationUpdate, upd, old); !apierrors.IsForbidden(err) {
		t.Fatalf("image change of a violating pod: got %v", err)
	}
}
