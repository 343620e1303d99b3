package defaults

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func resources(requests, limits map[corev1.ResourceName]string) corev1.ResourceRequirements {
	list := func(m map[corev1.ResourceName]string) corev1.ResourceList {
		if m == nil {
			return nil
		}
		out := corev1.ResourceList{}
		for k, v := range m {
			out[k] = resource.MustParse(v)
		}
		return out
	}
	return corev1.ResourceRequirements{Requests: list(requests), Limits: list(limits)}
}

func TestPrepareForCreatePodQOSClass(t *testing.T) {
	cpuMem := map[corev1.ResourceName]string{corev1.ResourceCPU: "1", corev1.ResourceMemory: "1Gi"}
	for name, tc := range map[string]struct {
		containers []corev1.Container
		podLevel   *corev1.ResourceRequirements
		want       corev1.PodQOSClass
	}{
		"no resources":  {containers: []corev1.Container{{Name: "a"}}, want: corev1.PodQOSBestEffort},
		"limits only":   {containers: []corev1.Container{{Name: "a", Resources: resources(nil, cpuMem)}}, want: corev1.PodQOSGuaranteed},
		"requests only": {containers: []corev1.Container{{Name: "a", Resources: resources(cpuMem, nil)}}, want: corev1.PodQOSBurstable},
		"one container without limits": {containers: []corev1.Container{
			{Name: "a", Resources: resources(cpuMem, cpuMem)}, {Name: "b"},
		}, want: corev1.PodQOSBurstable},
		"pod-level limits": {containers: []corev1.Container{{Name: "a"}}, podLevel: ptr.To(resources(nil, cpuMem)), want: corev1.PodQOSGuaranteed},
	} {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: tc.containers, Resources: tc.podLevel}}
			defaultPod(pod) // requests default to limits first, as in the API server
			PrepareForCreatePod(pod)
			if pod.Status.QOSClass != tc.want || pod.Status.Phase != corev1.PodPending || pod.Generation != 1 {
				t.Errorf("got qosClass %q, phase %q, generation %d; want %q, Pending, 1", pod.Status.QOSClass, pod.Status.Phase, pod.Generation, tc.want)
			}
		})
	}
}

func TestPrepareForCreatePodGatesAndLabelKeys(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "rev": "7"}},
		Spec: corev1.PodSpec{
			SchedulingGates: []corev1.PodSchedulingGate{{Name: "example.com/quota"}},
			Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					TopologyKey:       "kubernetes.io/hostname",
					LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					MatchLabelKeys:    []string{"rev"},
					MismatchLabelKeys: []string{"missing"},
				}},
			}},
			TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
				MaxSkew: 1, TopologyKey: "zone", WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector:  &metav1.LabelSelector{},
				MatchLabelKeys: []string{"rev"},
			}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"},
	}
	PrepareForCreatePod(pod)
	if len(pod.Status.Conditions) != 1 || pod.Status.Conditions[0].Reason != corev1.PodReasonSchedulingGated || pod.Status.PodIP != "" {
		t.Errorf("status = %+v", pod.Status)
	}
	want := []metav1.LabelSelectorRequirement{{Key: "rev", Operator: metav1.LabelSelectorOpIn, Values: []string{"7"}}}
	if got := pod.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchExpressions; !reflect.DeepEqual(got, want) {
		t.Errorf("anti-affinity expressions = %v, want %v", got, want)
	}
	if got := pod.Spec.TopologySpreadConstraints[0].LabelSelector.MatchExpressions; !reflect.DeepEqual(got, want) {
		t.Errorf("topology spread expressions = %v, want %v", got, want)
	}
}

func TestPrepareForCreateService(t *testing.T) {
	v4, v6 := corev1.IPv4Protocol, corev1.IPv6Protocol
	single, dual := []corev1.IPFamily{v4}, []corev1.IPFamily{v6, v4}
	for name, tc := range map[string]struct {
		spec       corev1.ServiceSpec
		cluster    []corev1.IPFamily
		wantPolicy *corev1.IPFamilyPolicy
		wantFams   []corev1.IPFamily
		wantIPs    []string
	}{
		"plain on single-stack": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"a": "b"}},
			cluster: single, wantPolicy: ptr.To(corev1.IPFamilyPolicySingleStack), wantFams: []corev1.IPFamily{v4}},
		"plain on dual-stack takes the primary": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"a": "b"}},
			cluster: dual, wantPolicy: ptr.To(corev1.IPFamilyPolicySingleStack), wantFams: []corev1.IPFamily{v6}},
		"prefer dual on dual-stack": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, IPFamilyPolicy: ptr.To(corev1.IPFamilyPolicyPreferDualStack)},
			cluster: dual, wantPolicy: ptr.To(corev1.IPFamilyPolicyPreferDualStack), wantFams: []corev1.IPFamily{v6, v4}},
		"family from a requested IP": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "fd00::10"},
			cluster: dual, wantPolicy: ptr.To(corev1.IPFamilyPolicySingleStack), wantFams: []corev1.IPFamily{v6}, wantIPs: []string{"fd00::10"}},
		"headless without selector is dual even on single-stack": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: corev1.ClusterIPNone},
			cluster: single, wantPolicy: ptr.To(corev1.IPFamilyPolicyRequireDualStack), wantFams: []corev1.IPFamily{v4, v6}, wantIPs: []string{"None"}},
		"external name gets no families": {spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"},
			cluster: single},
	} {
		t.Run(name, func(t *testing.T) {
			svc := &corev1.Service{Spec: tc.spec}
			PrepareForCreateService(svc, tc.cluster)
			if !reflect.DeepEqual(svc.Spec.IPFamilyPolicy, tc.wantPolicy) || !reflect.DeepEqual(svc.Spec.IPFamilies, tc.wantFams) || !reflect.DeepEqual(svc.Spec.ClusterIPs, tc.wantIPs) {
				t.Errorf("got policy %v, families %v, clusterIPs %v; want %v, %v, %v",
					ptr.Deref(svc.Spec.IPFamilyPolicy, ""), svc.Spec.IPFamilies, svc.Spec.ClusterIPs, ptr.Deref(tc.wantPolicy, ""), tc.wantFams, tc.wantIPs)
			}
		})
	}
}

func TestPrepareForCreateNamespace(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gen-x7k2p", GenerateName: "gen-"},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"example.com/cleanup"}}}
	PrepareForCreateNamespace(ns)
	if ns.Status.Phase != corev1.NamespaceActive || ns.Labels[corev1.LabelMetadataName] != "gen-x7k2p" ||
		!reflect.DeepEqual(ns.Spec.Finalizers, []corev1.FinalizerName{"example.com/cleanup", corev1.FinalizerKubernetes}) {
		t.Errorf("got %+v", ns)
	}
}

func TestPrepareForCreateJob(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "pi", UID: "1234"}}
	defaultJob(job)
	PrepareForCreateJob(job)
	wantLabels := map[string]string{
		"job-name": "pi", "batch.kubernetes.io/job-name": "pi",
		"controller-uid": "1234", "batch.kubernetes.io/controller-uid": "1234",
	}
	if !reflect.DeepEqual(job.Spec.Template.Labels, wantLabels) || !reflect.DeepEqual(job.Labels, wantLabels) {
		t.Errorf("template labels %v, job labels %v; want %v", job.Spec.Template.Labels, job.Labels, wantLabels)
	}
	if want := map[string]string{"batch.kubernetes.io/controller-uid": "1234"}; !reflect.DeepEqual(job.Spec.Selector.MatchLabels, want) {
		t.Errorf("selector %v, want %v", job.Spec.Selector.MatchLabels, want)
	}

	manual := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "m", UID: "1"}, Spec: batchv1.JobSpec{ManualSelector: ptr.To(true)}}
	PrepareForCreateJob(manual)
	if manual.Spec.Selector != nil || manual.Spec.Template.Labels != nil {
		t.Errorf("manual selector job was changed: %+v", manual.Spec)
	}
}

func TestPrepareForCreateDaemonSet(t *testing.T) {
	ds := &appsv1.DaemonSet{Status: appsv1.DaemonSetStatus{NumberReady: 3}}
	PrepareForCreateDaemonSet(ds)
	if ds.Annotations[DeprecatedTemplateGenerationAnnotation] != "1" || ds.Generation != 1 || ds.Status.NumberReady != 0 {
		t.Errorf("got %+v", ds)
	}
}

func TestMergeSecretStringData(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"a": []byte("old"), "b": []byte("kept")}, StringData: map[string]string{"a": "new"}}
	MergeSecretStringData(s)
	if string(s.Data["a"]) != "new" || string(s.Data["b"]) != "kept" || s.StringData != nil {
		t.Errorf("got data %q, stringData %v", s.Data, s.StringData)
	}
}

func TestPodTolerations(t *testing.T) {
	pod := &corev1.Pod{}
	PodTolerations(pod)
	want := []corev1.Toleration{
		{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
	}
	if !reflect.DeepEqual(pod.Spec.Tolerations, want) {
		t.Errorf("got %+v", pod.Spec.Tolerations)
	}

	// An existing toleration for one taint keeps its own and only the other is added.
	own := corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](6)}
	pod = &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{own}}}
	PodTolerations(pod)
	if !reflect.DeepEqual(pod.Spec.Tolerations, []corev1.Toleration{own, want[0]}) {
		t.Errorf("got %+v", pod.Spec.Tolerations)
	}

	// A toleration of everything covers both.
	pod = &corev1.Pod{Spec: corev1.PodSpec{Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}}
	PodTolerations(pod)
	if len(pod.Spec.Tolerations) != 1 {
		t.Errorf("got %+v", pod.Spec.Tolerations)
	}
}
