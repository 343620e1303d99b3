package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestValidateDeployment(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []want
	}{
		{"valid", func(*appsv1.Deployment) {}, nil},
		{"selector does not match template labels", func(d *appsv1.Deployment) {
			d.Spec.Template.Labels = map[string]string{"app": "x"}
		}, []want{
			invalid("spec.template.metadata.labels", "spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"),
		}},
		{"selector required", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, []want{
			required("spec.selector", "spec.selector: Required value"),
			invalid("spec.template.metadata.labels", "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"),
		}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, []want{
			invalid("spec.selector", "spec.selector: Invalid value: {}: empty selector is invalid for deployment"),
		}},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr(int32(-1)) }, []want{
			invalid("spec.replicas", "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
		}},
		{"template restartPolicy must be Always", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}, []want{
			unsupported("spec.template.spec.restartPolicy", `spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`),
		}},
		{"template activeDeadlineSeconds", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(30))
		}, []want{
			forbidden("spec.template.spec.activeDeadlineSeconds", "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"),
		}},
		{"template container image required", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }, []want{
			required("spec.template.spec.containers[0].image", "spec.template.spec.containers[0].image: Required value"),
		}},
		{"template label key invalid", func(d *appsv1.Deployment) {
			d.Spec.Template.Labels["bad key"] = "v"
		}, []want{
			invalid("spec.template.labels", `spec.template.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`),
		}},
		{"template annotation key invalid", func(d *appsv1.Deployment) {
			d.Spec.Template.Annotations = map[string]string{"-bad": "v"}
		}, []want{
			invalid("spec.template.annotations", `spec.template.annotations: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`),
		}},
		{"unknown strategy type", func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: "BlueGreen"}
		}, []want{
			unsupported("spec.strategy", `spec.strategy: Unsupported value: {"Type":"BlueGreen","RollingUpdate":null}: supported values: "Recreate", "RollingUpdate"`),
		}},
		{"Recreate with rollingUpdate", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }, []want{
			forbidden("spec.strategy.rollingUpdate", "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"),
		}},
		{"maxUnavailable and maxSurge both zero", func(d *appsv1.Deployment) {
			zero := intstr.FromInt32(0)
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &zero}
		}, []want{
			invalid("spec.strategy.rollingUpdate.maxUnavailable", "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"),
		}},
		{"maxUnavailable above 100%", func(d *appsv1.Deployment) {
			v := intstr.FromString("120%")
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = &v
		}, []want{
			invalid("spec.strategy.rollingUpdate.maxUnavailable", `spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%`),
		}},
		{"maxSurge not a percentage", func(d *appsv1.Deployment) {
			v := intstr.FromString("ten")
			d.Spec.Strategy.RollingUpdate.MaxSurge = &v
		}, []want{
			invalid("spec.strategy.rollingUpdate.maxSurge", `spec.strategy.rollingUpdate.maxSurge: Invalid value: "ten": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`),
		}},
		{"progressDeadlineSeconds not above minReadySeconds", func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 10
			d.Spec.ProgressDeadlineSeconds = ptr(int32(10))
		}, []want{
			invalid("spec.progressDeadlineSeconds", "spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := validDeployment()
			tc.mutate(d)
			checkErrs(t, ValidateCreate(d), tc.want)
		})
	}
}

func TestValidateDeploymentUpdate(t *testing.T) {
	old := validDeployment()
	d := old.DeepCopy()
	d.Spec.Selector.MatchLabels["tier"] = "front"
	d.Spec.Template.Labels["tier"] = "front"
	checkErrs(t, ValidateUpdate(d, old), []want{
		invalid("spec.selector", `spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"front"}}: field is immutable`),
	})
	d = old.DeepCopy()
	d.Spec.Replicas = ptr(int32(5))
	d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	checkErrs(t, ValidateUpdate(d, old), nil)
}

func TestValidateOtherWorkloads(t *testing.T) {
	tmpl := validTemplate(map[string]string{"app": "db"})
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr(int32(1)), Selector: sel, Template: tmpl, ServiceName: "db",
			PodManagementPolicy:  appsv1.OrderedReadyPodManagement,
			UpdateStrategy:       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(0))}},
			RevisionHistoryLimit: ptr(int32(10)),
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, WhenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
		},
	}
	one := intstr.FromInt32(1)
	zero := intstr.FromInt32(0)
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{
			Selector: sel, Template: tmpl, RevisionHistoryLimit: ptr(int32(10)),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &zero}},
		},
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db-1", Namespace: "default"},
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr(int32(1)), Selector: sel, Template: tmpl},
	}
	cr := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "db-1", Namespace: "default"}, Data: runtime.RawExtension{Raw: []byte(`{}`)}, Revision: 1}
	cases := []struct {
		name string
		obj  runtime.Object
		want []want
	}{
		{"valid statefulset", sts, nil},
		{"valid daemonset", ds, nil},
		{"valid replicaset", rs, nil},
		{"valid controllerrevision", cr, nil},
		{"statefulset podManagementPolicy", func() runtime.Object {
			s := sts.DeepCopy()
			s.Spec.PodManagementPolicy = "Random"
			return s
		}(), []want{
			invalid("spec.podManagementPolicy", `spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'`),
		}},
		{"statefulset empty selector", func() runtime.Object {
			s := sts.DeepCopy()
			s.Spec.Selector = &metav1.LabelSelector{}
			return s
		}(), []want{
			invalid("spec.selector", "spec.selector: Invalid value: {}: empty selector is invalid for statefulset"),
		}},
		{"daemonset surge and unavailable", func() runtime.Object {
			d := ds.DeepCopy()
			d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = &one
			return d
		}(), []want{
			invalid("spec.updateStrategy.rollingUpdate.maxSurge", "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"),
		}},
		{"daemonset template restartPolicy", func() runtime.Object {
			d := ds.DeepCopy()
			d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
			return d
		}(), []want{
			unsupported("spec.template.spec.restartPolicy", `spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`),
		}},
		{"replicaset selector mismatch", func() runtime.Object {
			r := rs.DeepCopy()
			r.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
			return r
		}(), []want{
			invalid("spec.template.metadata.labels", "spec.template.metadata.labels: Invalid value: {\"app\":\"db\"}: `selector` does not match template `labels`"),
		}},
		{"controllerrevision data required", &appsv1.ControllerRevision{Revision: -1}, []want{
			required("data", "data: Required value: data is mandatory"),
			invalid("revision", "revision: Invalid value: -1: must be greater than or equal to 0"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkErrs(t, ValidateCreate(tc.obj), tc.want) })
	}

	// Only replicas, template, updateStrategy and a few others may change.
	newSts := sts.DeepCopy()
	newSts.Spec.ServiceName = "other"
	checkErrs(t, ValidateUpdate(newSts, sts), []want{
		forbidden("spec", "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"),
	})
}
