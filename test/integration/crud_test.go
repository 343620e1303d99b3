package integration

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestCreateGetUpdateErrors(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "cfg-"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cm.Name, "cfg-") || len(cm.Name) != len("cfg-")+5 || cm.UID == "" || cm.CreationTimestamp.IsZero() || cm.ResourceVersion == "" {
		t.Fatalf("server-set metadata missing: %+v", cm.ObjectMeta)
	}
	got, err := cms.Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil || got.Data["a"] != "1" || got.UID != cm.UID {
		t.Fatalf("get: %v %+v", err, got)
	}

	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cm.Name}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) || err.Error() != `configmaps "`+cm.Name+`" already exists` {
		t.Fatalf("duplicate create: %v", err)
	}
	_, err = cms.Get(ctx, "nope", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) || err.Error() != `configmaps "nope" not found` {
		t.Fatalf("missing get: %v", err)
	}

	// A write with a stale resourceVersion is refused and changes nothing.
	got.Data["a"] = "2"
	updated, err := cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := got.DeepCopy()
	stale.Data["a"] = "3"
	_, err = cms.Update(ctx, stale, metav1.UpdateOptions{})
	want := `Operation cannot be fulfilled on configmaps "` + cm.Name + `": the object has been modified; please apply your changes to the latest version and try again`
	if !apierrors.IsConflict(err) || err.Error() != want {
		t.Fatalf("stale update: %v", err)
	}
	now, _ := cms.Get(ctx, cm.Name, metav1.GetOptions{})
	if now.Data["a"] != "2" || now.ResourceVersion != updated.ResourceVersion {
		t.Fatalf("stale update changed the object: %+v", now)
	}

	// An update that changes nothing does not bump the resourceVersion.
	same, err := cms.Update(ctx, now, metav1.UpdateOptions{})
	if err != nil || same.ResourceVersion != now.ResourceVersion {
		t.Fatalf("no-op update: %v rv %s -> %s", err, now.ResourceVersion, same.ResourceVersion)
	}

	// Invalid names are refused with upstream's message.
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "Upper"}}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `ConfigMap "Upper" is invalid: metadata.name: Invalid value: "Upper": a lowercase RFC 1123 subdomain`) {
		t.Fatalf("invalid name: %v", err)
	}
	// Writes into a namespace that does not exist are refused.
	_, err = client().CoreV1().ConfigMaps("missing-ns").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) || err.Error() != `namespaces "missing-ns" not found` {
		t.Fatalf("missing namespace: %v", err)
	}
}

// TestConcurrentReadModifyWrite runs 50 read-modify-write loops on one ConfigMap: every
// successful write is counted exactly once, and every other attempt got a 409.
func TestConcurrentReadModifyWrite(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "counter"}, Data: map[string]string{"n": "0"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const workers, attempts = 50, 10
	var mu sync.Mutex
	successes, conflicts := 0, 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < attempts; i++ {
				cm, err := cms.Get(ctx, "counter", metav1.GetOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				n, _ := strconv.Atoi(cm.Data["n"])
				cm.Data["n"] = strconv.Itoa(n + 1)
				_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
				mu.Lock()
				switch {
				case err == nil:
					successes++
				case apierrors.IsConflict(err):
					conflicts++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cm, err := cms.Get(ctx, "counter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(cm.Data["n"])
	if n != successes || successes+conflicts != workers*attempts || successes == 0 {
		t.Fatalf("count %d, successes %d, conflicts %d", n, successes, conflicts)
	}
	t.Logf("%d successful writes, %d conflicts", successes, conflicts)
}

func TestGenerationStatusAndScale(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	deps := client().AppsV1().Deployments(ns)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "img:1"}}},
			},
		},
		Status: appsv1.DeploymentStatus{Replicas: 99},
	}
	d, err := deps.Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != 1 || d.Status.Replicas != 0 {
		t.Fatalf("create: generation %d, status %+v", d.Generation, d.Status)
	}
	// Labels do not bump the generation; the spec does.
	d.Labels = map[string]string{"x": "y"}
	d, _ = deps.Update(ctx, d, metav1.UpdateOptions{})
	if d.Generation != 1 {
		t.Fatalf("metadata change bumped generation to %d", d.Generation)
	}
	d.Spec.Template.Spec.Containers[0].Image = "img:2"
	d.Status.Replicas = 5 // ignored by a main-resource write
	d, err = deps.Update(ctx, d, metav1.UpdateOptions{})
	if err != nil || d.Generation != 2 || d.Status.Replicas != 0 {
		t.Fatalf("spec update: %v generation %d status %+v", err, d.Generation, d.Status)
	}
	// A status write changes only status.
	d.Status.Replicas, d.Status.ObservedGeneration = 2, 2
	d.Spec.Replicas = ptr.To[int32](7)
	d, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil || d.Status.Replicas != 2 || *d.Spec.Replicas != 2 || d.Generation != 2 {
		t.Fatalf("status update: %v %+v %+v", err, d.Spec.Replicas, d.Status)
	}
	// The scale subresource, as autoscaling/v1 Scale.
	sc, err := deps.GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil || sc.Spec.Replicas != 2 || sc.Status.Replicas != 2 || sc.Status.Selector != "app=web" {
		t.Fatalf("get scale: %v %+v", err, sc)
	}
	sc.Spec.Replicas = 4
	sc, err = deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{})
	if err != nil || sc.Spec.Replicas != 4 {
		t.Fatalf("update scale: %v %+v", err, sc)
	}
	_, err = deps.UpdateScale(ctx, "web", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", ResourceVersion: d.ResourceVersion}, Spec: autoscalingv1.ScaleSpec{Replicas: 1}}, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale scale update: %v", err)
	}
	_, err = deps.Patch(ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":6}}`), metav1.PatchOptions{}, "scale")
	if err != nil {
		t.Fatal(err)
	}
	d, _ = deps.Get(ctx, "web", metav1.GetOptions{})
	if *d.Spec.Replicas != 6 || d.Generation != 4 {
		t.Fatalf("after scale patch: replicas %d generation %d", *d.Spec.Replicas, d.Generation)
	}
}

func TestDryRun(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	cms := client().CoreV1().ConfigMaps(ns)
	dry := []string{metav1.DryRunAll}
	out, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: dry})
	if err != nil || out.UID == "" {
		t.Fatalf("dry-run create: %v %+v", err, out)
	}
	if _, err := cms.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create stored the object: %v", err)
	}
	cm, _ := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "real"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	_, err = cms.Patch(ctx, "real", types.MergePatchType, []byte(`{"data":{"a":"2"}}`), metav1.PatchOptions{DryRun: dry})
	if err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "real", metav1.DeleteOptions{DryRun: dry}); err != nil {
		t.Fatal(err)
	}
	got, err := cms.Get(ctx, "real", metav1.GetOptions{})
	if err != nil || got.Data["a"] != "1" || got.ResourceVersion != cm.ResourceVersion {
		t.Fatalf("dry-run patch or delete changed the object: %v %+v", err, got)
	}
}
