package quota

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

var (
	pods     = schema.GroupResource{Resource: "pods"}
	services = schema.GroupResource{Resource: "services"}
	deploys  = schema.GroupResource{Group: "apps", Resource: "deployments"}
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func podWith(req, lim corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}}}}
}

func TestUsage(t *testing.T) {
	now := time.Now()
	deleted := podWith(rl("cpu", "1"), nil)
	deleted.DeletionTimestamp = &metav1.Time{Time: now.Add(-time.Minute)}
	deleted.DeletionGracePeriodSeconds = ptr.To[int64](30)
	done := podWith(rl("cpu", "1"), nil)
	done.Status.Phase = corev1.PodSucceeded
	tests := []struct {
		name string
		gr   schema.GroupResource
		obj  runtime.Object
		want string
	}{
		{"pod", pods, podWith(rl("cpu", "250m", "memory", "64Mi"), rl("cpu", "500m")),
			"count/pods=1,cpu=250m,limits.cpu=500m,memory=64Mi,pods=1,requests.cpu=250m,requests.memory=64Mi"},
		{"terminal pod counts only as an object", pods, done, "count/pods=1"},
		{"pod past its grace period", pods, deleted, "count/pods=1"},
		{"nodeport service", services, &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 1}, {Port: 2}}}},
			"count/services=1,services=1,services.nodeports=2"},
		{"load balancer", services, &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 1}}}},
			"count/services=1,services=1,services.loadbalancers=1,services.nodeports=1"},
		{"pvc", schema.GroupResource{Resource: "persistentvolumeclaims"}, &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To("fast"), Resources: corev1.VolumeResourceRequirements{Requests: rl("storage", "1Gi")}}},
			"count/persistentvolumeclaims=1,fast.storageclass.storage.k8s.io/persistentvolumeclaims=1,fast.storageclass.storage.k8s.io/requests.storage=1Gi,persistentvolumeclaims=1,requests.storage=1Gi"},
		{"deployment", deploys, &corev1.Pod{}, "count/deployments.apps=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(Usage(tt.gr, tt.obj, now)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestMatchesAndScopes(t *testing.T) {
	q := func(scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Scopes: scopes}, Status: corev1.ResourceQuotaStatus{Hard: rl("pods", "1")}}
	}
	be := podWith(nil, nil)
	burst := podWith(rl("cpu", "1"), nil)
	term := podWith(nil, nil)
	term.Spec.ActiveDeadlineSeconds = ptr.To[int64](10)
	tests := []struct {
		name string
		q    *corev1.ResourceQuota
		gr   schema.GroupResource
		obj  runtime.Object
		want bool
	}{
		{"unscoped pod quota", q(), pods, be, true},
		{"pod quota ignores services", q(), services, &corev1.Service{}, false},
		{"BestEffort", q(corev1.ResourceQuotaScopeBestEffort), pods, be, true},
		{"BestEffort skips burstable", q(corev1.ResourceQuotaScopeBestEffort), pods, burst, false},
		{"NotBestEffort", q(corev1.ResourceQuotaScopeNotBestEffort), pods, burst, true},
		{"Terminating", q(corev1.ResourceQuotaScopeTerminating), pods, term, true},
		{"NotTerminating", q(corev1.ResourceQuotaScopeNotTerminating), pods, term, false},
	}
	for _, tt := range tests {
		if got := Matches(tt.q, tt.gr, tt.obj); got != tt.want {
			t.Errorf("%s: got %v", tt.name, got)
		}
	}
}

func TestConstraints(t *testing.T) {
	p := podWith(rl("cpu", "1"), nil)
	err := Constraints([]corev1.ResourceName{"limits.cpu", "requests.cpu", "requests.memory"}, p)
	if err == nil || err.Error() != "must specify limits.cpu for: app; requests.memory for: app" {
		t.Errorf("got %v", err)
	}
	if err := Constraints([]corev1.ResourceName{"requests.cpu"}, p); err != nil {
		t.Errorf("satisfied: %v", err)
	}
}

func TestArithmetic(t *testing.T) {
	used := Add(rl("pods", "1", "cpu", "500m"), rl("pods", "1"))
	if Format(used) != "cpu=500m,pods=2" {
		t.Errorf("add: %s", Format(used))
	}
	if got := Format(Subtract(rl("pods", "1"), rl("pods", "3"))); got != "pods=0" {
		t.Errorf("subtract clamps: %s", got)
	}
	if ex := Exceeded(rl("pods", "2", "cpu", "1"), rl("pods", "1", "cpu", "2")); len(ex) != 1 || ex[0] != "pods" {
		t.Errorf("exceeded: %v", ex)
	}
	if !strings.Contains(Format(RemoveZeros(rl("a", "0", "b", "1"))), "b=1") || len(RemoveZeros(rl("a", "0"))) != 0 {
		t.Error("remove zeros")
	}
}
