package controller_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller"
)

// sliceView renders a Service's EndpointSlices as sorted "pod ready/serving/terminating
// port zone" lines, failing on a slice that breaks the controller's contract.
func (cl *cluster) sliceView(ns, svc string) ([]string, error) {
	l, err := cl.c.DiscoveryV1().EndpointSlices(ns).List(cl.ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range l.Items {
		if s.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" || !strings.HasPrefix(s.Name, svc+"-") ||
			len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Name != svc || len(s.Endpoints) > 100 {
			cl.t.Fatalf("slice %s breaks the contract: %+v", s.Name, s.ObjectMeta)
		}
		for _, ep := range s.Endpoints {
			port := "-"
			if len(s.Ports) > 0 {
				port = fmt.Sprint(*s.Ports[0].Port)
			}
			c := ep.Conditions
			out = append(out, fmt.Sprintf("%s %v/%v/%v %s %s", ep.TargetRef.Name, *c.Ready, *c.Serving, *c.Terminating, port, ptr.Deref(ep.Zone, "")))
		}
	}
	sort.Strings(out)
	return out, nil
}

// endpointsView renders a Service's Endpoints as sorted "pod ready|notready port" lines.
func (cl *cluster) endpointsView(ns, svc string) ([]string, *corev1.Endpoints, error) {
	ep, err := cl.c.CoreV1().Endpoints(ns).Get(cl.ctx, svc, metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, s := range ep.Subsets {
		port := "-"
		if len(s.Ports) > 0 {
			port = fmt.Sprint(s.Ports[0].Port)
		}
		for _, a := range s.Addresses {
			out = append(out, fmt.Sprintf("%s ready %s", a.TargetRef.Name, port))
		}
		for _, a := range s.NotReadyAddresses {
			out = append(out, fmt.Sprintf("%s notready %s", a.TargetRef.Name, port))
		}
	}
	sort.Strings(out)
	return out, ep, nil
}

// waitEndpoints waits until the Service's slices and Endpoints show exactly the pods of
// selector, all ready on port and with a zone.
func (cl *cluster) waitEndpoints(ns, svc, selector string, port int32) {
	cl.t.Helper()
	var lastSlices, lastEps []string
	cl.poll(30*time.Second, "endpoints of "+svc+" following pods "+selector, func() (bool, error) {
		var wantSlices, wantEps []string
		for _, p := range cl.podsOf(ns, selector) {
			if p.DeletionTimestamp != nil {
				return false, nil
			}
			wantSlices = append(wantSlices, fmt.Sprintf("%s true/true/false %d zone-%s", p.Name, port, strings.TrimPrefix(p.Spec.NodeName, "ep-")))
			wantEps = append(wantEps, fmt.Sprintf("%s ready %d", p.Name, port))
		}
		sort.Strings(wantSlices)
		sort.Strings(wantEps)
		slices, err := cl.sliceView(ns, svc)
		if err != nil {
			return false, err
		}
		eps, _, err := cl.endpointsView(ns, svc)
		if err != nil {
			return false, err
		}
		lastSlices, lastEps = slices, eps
		return fmt.Sprint(slices) == fmt.Sprint(wantSlices) && fmt.Sprint(eps) == fmt.Sprint(wantEps), nil
	})
	cl.t.Logf("slices %q endpoints %q", lastSlices, lastEps)
}

func TestEndpointsFollowPods(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, controller.Options{Controllers: []string{"replicaset", "endpointslice", "endpoint"}}, "ep-")
	for i := 0; i < 2; i++ {
		patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"zone-%d"}}}`, corev1.LabelTopologyZone, i)
		if _, err := cl.c.CoreV1().Nodes().Patch(cl.ctx, fmt.Sprintf("ep-%d", i), types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	if _, err := cl.c.CoreV1().Services("default").Create(cl.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// No pods yet: one empty slice, and Endpoints without subsets.
	cl.poll(20*time.Second, "placeholder slice and empty Endpoints", func() (bool, error) {
		l, err := cl.c.DiscoveryV1().EndpointSlices("default").List(cl.ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err != nil || len(l.Items) != 1 || len(l.Items[0].Endpoints) != 0 {
			return false, err
		}
		ep, err := cl.c.CoreV1().Endpoints("default").Get(cl.ctx, "web", metav1.GetOptions{})
		return err == nil && len(ep.Subsets) == 0, nil
	})

	// Pods fail their readiness probe for their first 3 s: they show as not ready first.
	tmpl := podTemplate("web", "nginx")
	tmpl.Labels["tier"] = "rs"
	tmpl.Annotations = map[string]string{"fake.skiff.dev/fail-probes": "readiness", "fake.skiff.dev/fail-probes-until": "3s"}
	tmpl.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	tmpl.Spec.Containers[0].ReadinessProbe = &corev1.Probe{PeriodSeconds: 1,
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "rs"}}, Template: tmpl},
	}
	rs, err := cl.c.AppsV1().ReplicaSets("default").Create(cl.ctx, rs, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl.poll(20*time.Second, "a not-ready endpoint in slices and Endpoints", func() (bool, error) {
		slices, err := cl.sliceView("default", "web")
		if err != nil {
			return false, err
		}
		eps, _, err := cl.endpointsView("default", "web")
		if err != nil {
			return false, err
		}
		return strings.Contains(fmt.Sprint(slices), "false/false/false 8080") && strings.Contains(fmt.Sprint(eps), "notready 8080"), nil
	})
	cl.waitEndpoints("default", "web", "tier=rs", 8080)
	_, ep, _ := cl.endpointsView("default", "web")
	if _, err := time.Parse(time.RFC3339Nano, ep.Annotations[corev1.EndpointsLastChangeTriggerTime]); err != nil {
		t.Errorf("last-change-trigger-time %q: %v", ep.Annotations[corev1.EndpointsLastChangeTriggerTime], err)
	}

	// Scaled up and down, and a deleted pod replaced: the endpoints follow.
	for _, n := range []int32{5, 1} {
		if _, err := cl.c.AppsV1().ReplicaSets("default").UpdateScale(cl.ctx, "web", scaleTo(n, rs), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		cl.poll(30*time.Second, fmt.Sprintf("%d pods", n), func() (bool, error) { return len(cl.podsOf("default", "tier=rs")) == int(n), nil })
		cl.waitEndpoints("default", "web", "tier=rs", 8080)
	}
	victim := cl.podsOf("default", "tier=rs")[0]
	if err := cl.c.CoreV1().Pods("default").Delete(cl.ctx, victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(30*time.Second, "a replacement pod", func() (bool, error) {
		ps := cl.podsOf("default", "tier=rs")
		return len(ps) == 1 && ps[0].Name != victim.Name, nil
	})
	cl.waitEndpoints("default", "web", "tier=rs", 8080)
	cl.assertStable("default", "web")

	// A pod whose port named http is 9090 gets endpoints of its own port.
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 9090}}}}}}
	if _, err := cl.c.CoreV1().Pods("default").Create(cl.ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(30*time.Second, "the named port resolved to 9090 for pod other", func() (bool, error) {
		slices, err := cl.sliceView("default", "web")
		if err != nil {
			return false, err
		}
		eps, _, err := cl.endpointsView("default", "web")
		if err != nil {
			return false, err
		}
		return len(slices) == 2 && strings.HasPrefix(slices[0], "other true/true/false 9090 zone-") &&
			fmt.Sprint(eps) == fmt.Sprintf("[other ready 9090 %s ready 8080]", cl.podsOf("default", "tier=rs")[0].Name), nil
	})
	l, err := cl.c.DiscoveryV1().EndpointSlices("default").List(cl.ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
	if err != nil || len(l.Items) != 2 {
		t.Fatalf("want one slice per port, got %d (%v)", len(l.Items), err)
	}

	// A deleted Endpoints object comes back; once the Service goes, so does its Endpoints.
	old, _, _ := cl.endpointsView("default", "web")
	if err := cl.c.CoreV1().Endpoints("default").Delete(cl.ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(20*time.Second, "Endpoints web recreated", func() (bool, error) {
		eps, _, err := cl.endpointsView("default", "web")
		return err == nil && fmt.Sprint(eps) == fmt.Sprint(old), nil
	})
	if err := cl.c.CoreV1().Services("default").Delete(cl.ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cl.poll(20*time.Second, "Endpoints web deleted with its Service", func() (bool, error) {
		_, err := cl.c.CoreV1().Endpoints("default").Get(cl.ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})

	// The API server's own Service is left alone.
	k, err := cl.c.DiscoveryV1().EndpointSlices("default").List(cl.ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range k.Items {
		if s.Labels[discoveryv1.LabelManagedBy] == "endpointslice-controller.k8s.io" {
			t.Errorf("slice %s for default/kubernetes made by the controller", s.Name)
		}
	}
}

// assertStable fails if the Service's slices or Endpoints are written again within 2 s of a
// steady state (a field the API server normalizes differently would make the controllers
// write for ever).
func (cl *cluster) assertStable(ns, svc string) {
	cl.t.Helper()
	versions := func() string {
		l, err := cl.c.DiscoveryV1().EndpointSlices(ns).List(cl.ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			cl.t.Fatal(err)
		}
		ep, err := cl.c.CoreV1().Endpoints(ns).Get(cl.ctx, svc, metav1.GetOptions{})
		if err != nil {
			cl.t.Fatal(err)
		}
		out := ep.ResourceVersion
		for _, s := range l.Items {
			out += " " + s.Name + "@" + s.ResourceVersion
		}
		return out
	}
	before := versions()
	time.Sleep(2 * time.Second)
	if after := versions(); after != before {
		cl.t.Errorf("endpoints of %s/%s rewritten in a steady state: %s -> %s", ns, svc, before, after)
	}
}
