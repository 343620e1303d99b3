package printers

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// testNow is the clock of every test; fixtures are dated relative to it.
var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// servedKinds lists every kind skiff serves with a printer, one entry per
// version whose Go type the printer must accept.
var servedKinds = []struct {
	gvk schema.GroupVersionKind
	new func() runtime.Object
}{
	{corev1.SchemeGroupVersion.WithKind("Namespace"), func() runtime.Object { return &corev1.Namespace{} }},
	{corev1.SchemeGroupVersion.WithKind("Pod"), func() runtime.Object { return &corev1.Pod{} }},
	{corev1.SchemeGroupVersion.WithKind("Service"), func() runtime.Object { return &corev1.Service{} }},
	{corev1.SchemeGroupVersion.WithKind("Endpoints"), func() runtime.Object { return &corev1.Endpoints{} }},
	{corev1.SchemeGroupVersion.WithKind("ConfigMap"), func() runtime.Object { return &corev1.ConfigMap{} }},
	{corev1.SchemeGroupVersion.WithKind("Secret"), func() runtime.Object { return &corev1.Secret{} }},
	{corev1.SchemeGroupVersion.WithKind("ServiceAccount"), func() runtime.Object { return &corev1.ServiceAccount{} }},
	{corev1.SchemeGroupVersion.WithKind("Node"), func() runtime.Object { return &corev1.Node{} }},
	{corev1.SchemeGroupVersion.WithKind("Event"), func() runtime.Object { return &corev1.Event{} }},
	{corev1.SchemeGroupVersion.WithKind("PersistentVolume"), func() runtime.Object { return &corev1.PersistentVolume{} }},
	{corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), func() runtime.Object { return &corev1.PersistentVolumeClaim{} }},
	{corev1.SchemeGroupVersion.WithKind("ResourceQuota"), func() runtime.Object { return &corev1.ResourceQuota{} }},
	{corev1.SchemeGroupVersion.WithKind("LimitRange"), func() runtime.Object { return &corev1.LimitRange{} }},
	{corev1.SchemeGroupVersion.WithKind("PodTemplate"), func() runtime.Object { return &corev1.PodTemplate{} }},
	{corev1.SchemeGroupVersion.WithKind("ReplicationController"), func() runtime.Object { return &corev1.ReplicationController{} }},
	{appsv1.SchemeGroupVersion.WithKind("Deployment"), func() runtime.Object { return &appsv1.Deployment{} }},
	{appsv1.SchemeGroupVersion.WithKind("ReplicaSet"), func() runtime.Object { return &appsv1.ReplicaSet{} }},
	{appsv1.SchemeGroupVersion.WithKind("StatefulSet"), func() runtime.Object { return &appsv1.StatefulSet{} }},
	{appsv1.SchemeGroupVersion.WithKind("DaemonSet"), func() runtime.Object { return &appsv1.DaemonSet{} }},
	{appsv1.SchemeGroupVersion.WithKind("ControllerRevision"), func() runtime.Object { return &appsv1.ControllerRevision{} }},
	{batchv1.SchemeGroupVersion.WithKind("Job"), func() runtime.Object { return &batchv1.Job{} }},
	{batchv1.SchemeGroupVersion.WithKind("CronJob"), func() runtime.Object { return &batchv1.CronJob{} }},
	{autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"), func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }},
	{autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler"), func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscaler{} }},
	{networkingv1.SchemeGroupVersion.WithKind("Ingress"), func() runtime.Object { return &networkingv1.Ingress{} }},
	{networkingv1.SchemeGroupVersion.WithKind("IngressClass"), func() runtime.Object { return &networkingv1.IngressClass{} }},
	{networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"), func() runtime.Object { return &networkingv1.NetworkPolicy{} }},
	{networkingv1.SchemeGroupVersion.WithKind("ServiceCIDR"), func() runtime.Object { return &networkingv1.ServiceCIDR{} }},
	{networkingv1.SchemeGroupVersion.WithKind("IPAddress"), func() runtime.Object { return &networkingv1.IPAddress{} }},
	{rbacv1.SchemeGroupVersion.WithKind("Role"), func() runtime.Object { return &rbacv1.Role{} }},
	{rbacv1.SchemeGroupVersion.WithKind("ClusterRole"), func() runtime.Object { return &rbacv1.ClusterRole{} }},
	{rbacv1.SchemeGroupVersion.WithKind("RoleBinding"), func() runtime.Object { return &rbacv1.RoleBinding{} }},
	{rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"), func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }},
	{storagev1.SchemeGroupVersion.WithKind("StorageClass"), func() runtime.Object { return &storagev1.StorageClass{} }},
	{storagev1.SchemeGroupVersion.WithKind("CSIDriver"), func() runtime.Object { return &storagev1.CSIDriver{} }},
	{storagev1.SchemeGroupVersion.WithKind("CSINode"), func() runtime.Object { return &storagev1.CSINode{} }},
	{storagev1.SchemeGroupVersion.WithKind("VolumeAttachment"), func() runtime.Object { return &storagev1.VolumeAttachment{} }},
	{storagev1.SchemeGroupVersion.WithKind("CSIStorageCapacity"), func() runtime.Object { return &storagev1.CSIStorageCapacity{} }},
	{resourcev1.SchemeGroupVersion.WithKind("DeviceClass"), func() runtime.Object { return &resourcev1.DeviceClass{} }},
	{resourcev1.SchemeGroupVersion.WithKind("ResourceClaim"), func() runtime.Object { return &resourcev1.ResourceClaim{} }},
	{resourcev1.SchemeGroupVersion.WithKind("ResourceClaimTemplate"), func() runtime.Object { return &resourcev1.ResourceClaimTemplate{} }},
	{resourcev1.SchemeGroupVersion.WithKind("ResourceSlice"), func() runtime.Object { return &resourcev1.ResourceSlice{} }},
	{resourcev1.SchemeGroupVersion.WithKind("DeviceTaintRule"), func() runtime.Object { return &resourcev1.DeviceTaintRule{} }},
	{certificatesv1.SchemeGroupVersion.WithKind("CertificateSigningRequest"), func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} }},
	{coordinationv1.SchemeGroupVersion.WithKind("Lease"), func() runtime.Object { return &coordinationv1.Lease{} }},
	{discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"), func() runtime.Object { return &discoveryv1.EndpointSlice{} }},
	{eventsv1.SchemeGroupVersion.WithKind("Event"), func() runtime.Object { return &eventsv1.Event{} }},
	{policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"), func() runtime.Object { return &policyv1.PodDisruptionBudget{} }},
	{schedulingv1.SchemeGroupVersion.WithKind("PriorityClass"), func() runtime.Object { return &schedulingv1.PriorityClass{} }},
	{nodev1.SchemeGroupVersion.WithKind("RuntimeClass"), func() runtime.Object { return &nodev1.RuntimeClass{} }},
	{admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingWebhookConfiguration"), func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfiguration{} }},
	{admissionregistrationv1.SchemeGroupVersion.WithKind("MutatingWebhookConfiguration"), func() runtime.Object { return &admissionregistrationv1.MutatingWebhookConfiguration{} }},
	{admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicy"), func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} }},
	{admissionregistrationv1.SchemeGroupVersion.WithKind("ValidatingAdmissionPolicyBinding"), func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} }},
	{apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"), func() runtime.Object { return &apiextensionsv1.CustomResourceDefinition{} }},
}

// newObject returns an empty object of the given kind, or nil for a kind
// not in servedKinds.
func newObject(gvk schema.GroupVersionKind) runtime.Object {
	for _, k := range servedKinds {
		if k.gvk == gvk {
			return k.new()
		}
	}
	return nil
}

// loadFixtures decodes the YAML documents of testdata/name, strictly, into
// objects of the kinds they declare.
func loadFixtures(t *testing.T, name string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%s document %d: %v", name, i, err)
		}
		obj := newObject(schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind))
		if obj == nil {
			t.Fatalf("%s document %d: no Go type for %s %s", name, i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%s document %d: %v", name, i, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// printerOf returns the printer kube-apiserver would use for obj.
func printerOf(t *testing.T, obj runtime.Object) Printer {
	t.Helper()
	p, ok := For(obj.GetObjectKind().GroupVersionKind().GroupKind())
	if !ok {
		t.Fatalf("no printer for %s", obj.GetObjectKind().GroupVersionKind())
	}
	return p
}

// fixtureFiles are all files in testdata.
func fixtureFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			files = append(files, e.Name())
		}
	}
	return files
}

func TestEveryServedKindHasAPrinter(t *testing.T) {
	for _, k := range servedKinds {
		p, ok := For(k.gvk.GroupKind())
		if !ok {
			t.Errorf("%s: no printer", k.gvk)
			continue
		}
		if len(p.Columns) < 2 || p.Cells == nil {
			t.Errorf("%s: incomplete printer with %d columns", k.gvk, len(p.Columns))
		}
		for _, c := range p.Columns {
			if c.Priority != 0 && c.Priority != 1 {
				t.Errorf("%s: column %q has priority %d", k.gvk, c.Name, c.Priority)
			}
			switch c.Type {
			case "string", "integer", "boolean", "date", "number":
			default:
				t.Errorf("%s: column %q has type %q", k.gvk, c.Name, c.Type)
			}
		}
	}
	if _, ok := For(schema.GroupKind{Group: "example.com", Kind: "Widget"}); ok {
		t.Error("a custom resource kind has a specific printer")
	}
}

func TestCellsMatchColumnsForZeroObjects(t *testing.T) {
	for _, k := range servedKinds {
		p, _ := For(k.gvk.GroupKind())
		cells, err := p.Cells(k.new(), testNow)
		if err != nil {
			t.Errorf("%s: %v", k.gvk, err)
			continue
		}
		if len(cells) != len(p.Columns) {
			t.Errorf("%s: %d cells for %d columns", k.gvk, len(cells), len(p.Columns))
		}
	}
}

func TestCellsMatchColumnsForFixtures(t *testing.T) {
	covered := map[schema.GroupVersionKind]bool{}
	for _, file := range fixtureFiles(t) {
		for _, obj := range loadFixtures(t, file) {
			gvk := obj.GetObjectKind().GroupVersionKind()
			covered[gvk] = true
			p := printerOf(t, obj)
			cells, err := p.Cells(obj, testNow)
			if err != nil {
				t.Errorf("%s %s: %v", file, gvk, err)
				continue
			}
			if len(cells) != len(p.Columns) {
				t.Errorf("%s %s: %d cells for %d columns", file, gvk, len(cells), len(p.Columns))
			}
		}
	}
	for _, k := range servedKinds {
		if !covered[k.gvk] {
			t.Errorf("%s: no fixture in testdata", k.gvk)
		}
	}
}

func TestCellsRejectOtherTypesAndNil(t *testing.T) {
	for _, k := range servedKinds {
		p, _ := For(k.gvk.GroupKind())
		if _, err := p.Cells(&metav1.Status{}, testNow); err == nil {
			t.Errorf("%s: a Status was accepted", k.gvk)
		}
		nilObj := reflect.Zero(reflect.TypeOf(k.new())).Interface().(runtime.Object)
		if _, err := p.Cells(nilObj, testNow); err == nil {
			t.Errorf("%s: a nil %T was accepted", k.gvk, nilObj)
		}
	}
	if _, err := Default.Cells(&metav1.Status{}, testNow); err == nil {
		t.Error("Default accepted an object without metadata")
	}
}

// TestRows checks every fixture's cells. Rows follow the documents of each
// file, in order.
func TestRows(t *testing.T) {
	none := "<none>"
	unknown := "<unknown>"
	expected := map[string][][]interface{}{
		"pods.yaml": {
			{"pending", "0/1", "Pending", "0", "5m", none, none, none, none},
			{"running-ready", "2/2", "Running", "0", "3d", "10.244.1.5", "node-1", "node-2", "1/1"},
			{"init-waiting", "0/1", "Init:1/2", "0", "2m", "10.244.1.6", none, none, none},
			{"init-error", "0/1", "Init:Error", "3 (2m ago)", "10m", none, none, none, none},
			{"init-crashloop", "0/1", "Init:CrashLoopBackOff", "4", "10m", none, none, none, none},
			{"init-signal", "0/1", "Init:Signal:9", "0", "10m", none, none, none, none},
			{"crashloop", "0/1", "CrashLoopBackOff", "5 (5m ago)", "120m", "10.244.1.7", "node-1", none, none},
			{"completed", "0/1", "Completed", "0", "60m", none, none, none, none},
			{"terminating", "1/1", "Terminating", "0", "60m", none, none, none, none},
			{"sidecar", "2/2", "Running", "2 (10m ago)", "60m", none, none, none, none},
			{"node-lost", "1/1", "Unknown", "0", "60m", none, none, none, none},
			{"node-lost-not-deleted", "1/1", "NodeLost", "0", "60m", none, none, none, none},
			{"gated", "0/1", "SchedulingGated", "0", "60s", none, none, none, none},
			{"partly-completed", "1/2", "NotReady", "0", "60m", none, none, none, none},
			{"exit-code", "0/1", "ExitCode:2", "0", "60m", none, none, none, none},
			{"evicted", "0/1", "Evicted", "0", "60m", none, none, none, none},
		},
		"nodes.yaml": {
			{"cp-1", "Ready", "control-plane", "3d", "v1.37.2", "192.168.10.2", "203.0.113.7", "Debian GNU/Linux 13 (trixie)", "6.12.0-1-amd64", "containerd://2.1.0"},
			{"worker-1", "Ready,SchedulingDisabled", "infra,worker", "3h", "v1.37.1", "192.168.10.3", none, unknown, unknown, unknown},
			{"worker-2", "NotReady", none, "60m", "", none, none, unknown, unknown, unknown},
			{"new-node", "Unknown", none, "10s", "", none, none, unknown, unknown, unknown},
		},
		"services.yaml": {
			{"web", "ClusterIP", "10.96.0.10", none, "80/TCP,53/UDP", "5m", "app=web,tier=frontend"},
			{"headless", "ClusterIP", "None", none, "5432/TCP", "5m", "app=db"},
			{"nodeport", "NodePort", "10.96.0.11", none, "80:30080/TCP,443:30443/TCP", "5m", none},
			{"lb-pending", "LoadBalancer", "10.96.0.12", "<pending>", "443:31443/TCP", "5m", none},
			{"lb-ready", "LoadBalancer", "10.96.0.13", "203.0.113.10,lb.example.com,198.51.100.1", "80:31080/TCP", "5m", none},
			{"external", "ExternalName", none, "db.example.com", none, "5m", none},
			{"with-external-ips", "ClusterIP", "10.96.0.14", "198.51.100.2,198.51.100.3", none, "5m", none},
		},
		"jobs.yaml": {
			{"complete", "Complete", "3/3", "2m", "10m", "pi", "perl", "batch.kubernetes.io/controller-uid=abc"},
			{"running-parallel", "Running", "0/1 of 2", "5m", "5m", "worker,sidecar", "worker:1,log:2", none},
			{"failed", "Failed", "0/1", "60m", "60m", "pi", "perl", none},
			{"suspended", "Suspended", "0/1", "", "60m", "pi", "perl", none},
			{"terminating", "Terminating", "0/1", "60m", "60m", "pi", "perl", none},
			{"failure-target", "FailureTarget", "0/1", "60m", "60m", "pi", "perl", none},
			{"success-criteria-met", "SuccessCriteriaMet", "1/5", "60m", "60m", "pi", "perl", none},
		},
		"deployments.yaml": {
			{"web", "1/3", int64(2), int64(1), "5m", "nginx,exporter", "nginx:1.29,nginx-exporter:1.4", "app=web,tier in (frontend)"},
			{"scaled-down", "0/0", int64(0), int64(0), "3d", "idle", "pause", "app=idle"},
			{"bad-selector", "0/0", int64(0), int64(0), "3d", "app", "app", "<invalid>"},
		},
		"core.yaml": {
			{"team-a", "Active", "3d"},
			{"old", "Terminating", "3d"},
			{"web", "10.244.1.5:80,10.244.2.6:80,10.244.1.5:443 + 2 more...", "5m"},
			{"headless", "10.244.1.8", "5m"},
			{"empty", none, "5m"},
			{"settings", int64(3), "5m"},
			{"creds", "kubernetes.io/basic-auth", int64(2), "5m"},
			{"builder", "5m"},
			{"2m", "Warning", "BackOff", "pod/web-1", "spec.containers{app}", "kubelet, node-1", "Back-off restarting failed container app", "10m", int64(7), "web-1.17a"},
			{"60s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller", "Scaled up replica set web-5d4 from 0 to 3", "3m", int64(4), "web.17b"},
			{"2m", "Normal", "Starting", "node", "", "kubelet, node-1", "Starting kubelet.", "2m", int64(1), "cluster.17c"},
			{"pv-1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "legacy", "<unset>", "", "5m", "Filesystem"},
			{"pv-2", "500Mi", "RWOP", "Delete", "Terminating", "", "", "gold", "VolumeFailedDelete", "5m", "<unset>"},
			{"data", "Bound", "pv-1", "10Gi", "RWO,RWX", "fast", "<unset>", "5m", "Filesystem"},
			{"pending", "Pending", "", "", "", "", "<unset>", "5m", "<unset>"},
			{"compute", "pods: 3/10, requests.cpu: 1500m/4", "limits.cpu: 2/8, limits.memory: 0/8Gi", "5m"},
			{"defaults", "2026-01-01T11:55:00Z"},
			{"tmpl", "app,log", "nginx:1.29,busybox", "app=web"},
			{"legacy", int64(2), int64(2), int64(1), "5m", "app", "legacy:1", "app=legacy"},
		},
		"apps.yaml": {
			{"web-5d4", int64(3), int64(3), int64(2), "5m", "nginx", "nginx:1.29", "app=web,pod-template-hash=5d4"},
			{"db", "1/3", "5m", "postgres", "postgres:18"},
			{"agent", int64(4), int64(4), int64(3), int64(2), int64(3), "kubernetes.io/os=linux", "5m", "agent", "agent:3", "app=agent"},
			{"db-7c9", "statefulset.apps/db", int64(2), "5m"},
			{"orphan-1", none, int64(1), "5m"},
		},
		"batch.yaml": {
			{"nightly", "0 3 * * *", "Europe/Paris", "False", int64(1), "9h", "3d", "backup", "backup:2", "app=nightly"},
			{"never-run", "*/5 * * * *", none, "<unset>", int64(0), none, "5m", "ping", "busybox", none},
		},
		"autoscaling.yaml": {
			{"web", "Deployment/web", "cpu: 45%/80%, memory: <unknown>/500Mi + 1 more...", "2", int64(10), int64(3), "5m"},
			{"queue", "Deployment/worker", "12/30 (avg), 1500/2k", "<unset>", int64(5), int64(1), "5m"},
			{"legacy", "Deployment/legacy", "cpu: 35%/70%", "1", int64(4), int64(2), "5m"},
		},
		"networking.yaml": {
			{"web", "nginx", "a.example.com,b.example.com,c.example.com + 2 more...", "203.0.113.20,203.0.113.21,lb.example.com", "80, 443", "5m"},
			{"catch-all", none, "*", "", "80", "5m"},
			{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "5m"},
			{"deny-all", none, "5m"},
			{"web-only", "app=web", "5m"},
			{"kubernetes", "10.96.0.0/16,fd00:10:96::/108", "3d"},
			{"10.96.0.10", "services/kube-system/kube-dns"},
			{"10.96.0.99", "gateways.gateway.networking.k8s.io/gw"},
		},
		"rbac.yaml": {
			{"reader", "2026-01-01T11:55:00Z"},
			{"admin", "2025-12-29T12:00:00Z"},
			{"read-pods", "Role/reader", "5m", "jane, joe", "devs", "ci/builder"},
			{"admins", "ClusterRole/admin", "3d", "", "system:masters", ""},
		},
		"storage.yaml": {
			{"standard (default)", "rancher.io/local-path", "Delete", "Immediate", false, "3d"},
			{"fast", "ebs.csi.aws.com", "Retain", "WaitForFirstConsumer", true, "3d"},
			{"ebs.csi.aws.com", false, true, true, "sts.amazonaws.com,vault", true, "Persistent,Ephemeral", "5m"},
			{"minimal.csi.example.com", true, false, false, "<unset>", false, none, "5m"},
			{"node-1", int64(2), "5m"},
			{"csi-123", "ebs.csi.aws.com", "pv-1", "node-1", true, "5m"},
			{"csisc-node-1", "2026-01-01T11:55:00Z"},
		},
		"resource.yaml": {
			{"gpu.example.com", "3d"},
			{"pending", "pending", "5m"},
			{"allocated", "allocated", "5m"},
			{"reserved", "allocated,reserved", "5m"},
			{"deleted-allocated", "deleted,allocated", "5m"},
			{"deleted-pending", "deleted", "5m"},
			{"gpu-template", "60m"},
			{"node-1-gpu", "node-1", "gpu.example.com", "node-1", "5m"},
			{"network", "", "net.example.com", "shared/a", "5m"},
			{"drain", "example.com/drain", "", "NoExecute", "2m", "5m"},
			{"untimed", "example.com/maint", "planned", "NoSchedule", "", "5m"},
		},
		"misc.yaml": {
			{"csr-abc", "5m", "kubernetes.io/kube-apiserver-client-kubelet", "system:node:node-1", "24h", "Approved,Issued"},
			{"csr-denied", "5m", "example.com/signer", "bob", none, "Denied,Failed"},
			{"kube-scheduler", "cp-1_8f3c", "3d"},
			{"web-abcde", "IPv4", "80,443,named + 2 more...", "10.244.1.5,10.244.2.6,10.244.2.7 + 1 more...", "5m"},
			{"empty-xyz", "IPv6", "<unset>", "<unset>", "5m"},
			{"30s", "Normal", "Pulling", "pod/web-1", "spec.containers{app}", "kubelet, node-1", `Pulling image "nginx:1.29"`, "3m", int64(3), "web.17d"},
			{"10m", "Normal", "Killing", "pod/old-1", "", "kubelet", "Stopping container app", "20m", int64(2), "old.17e"},
			{"web", "50%", "N/A", int64(1), "5m"},
			{"db", "N/A", "1", int64(0), "5m"},
			{"system-node-critical", int64(2000001000), false, "3d", "PreemptLowerPriority"},
			{"gvisor", "runsc", "5m"},
			{"widgets.example.com", "Namespaced", "v1(storage),v1beta1", "2025-12-29T12:00:00Z", "example.com", "Widget", "wd,wdg", true},
		},
		"admissionregistration.yaml": {
			{"policy", int64(2), "5m"},
			{"injector", int64(1), "5m"},
			{"replica-limit", int64(1), "rules.example.com/v1/ReplicaLimit", "5m"},
			{"no-params", int64(2), "<unset>", "5m"},
			{"replica-limit-test", "replica-limit", "default/limit-test", "5m"},
			{"replica-limit-any-ns", "replica-limit", "*/limit-test", "5m"},
			{"no-params-binding", "no-params", "<unset>", "5m"},
		},
	}
	for _, file := range fixtureFiles(t) {
		want, ok := expected[file]
		if !ok {
			t.Errorf("%s: no expected rows", file)
			continue
		}
		objs := loadFixtures(t, file)
		if len(objs) != len(want) {
			t.Errorf("%s: %d objects, %d expected rows", file, len(objs), len(want))
			continue
		}
		for i, obj := range objs {
			got, err := printerOf(t, obj).Cells(obj, testNow)
			if err != nil {
				t.Errorf("%s #%d: %v", file, i, err)
				continue
			}
			if !reflect.DeepEqual(got, want[i]) {
				t.Errorf("%s #%d (%s):\n got  %s\n want %s", file, i, obj.GetObjectKind().GroupVersionKind().Kind, formatCells(got), formatCells(want[i]))
			}
		}
	}
}

// formatCells renders cells with their Go types, for failure messages.
func formatCells(cells []interface{}) string {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = fmt.Sprintf("%#v", c)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
