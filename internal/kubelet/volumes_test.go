package kubelet

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fakeclient "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func TestVolumePath(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
			{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}},
			{Name: "kube-api-access-x", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
			{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
			{Name: "claim", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}},
		}},
	}
	for _, tc := range []struct{ name, want, err string }{
		{name: "scratch", want: "/var/lib/skiff/agent/pods/uid-1/volumes/scratch"},
		{name: "cfg", want: "/var/lib/skiff/agent/pods/uid-1/volumes/cfg"},
		{name: "sec", want: "/var/lib/skiff/agent/pods/uid-1/volumes/sec"},
		{name: "info", want: "/var/lib/skiff/agent/pods/uid-1/volumes/info"},
		{name: "kube-api-access-x", want: "/var/lib/skiff/agent/pods/uid-1/volumes/kube-api-access-x"},
		{name: "host", want: "/var/log"},
		{name: "claim", err: `volume "claim": persistentVolumeClaim volumes are not supported on this node`},
		{name: "nope", err: `pod ns/p has no volume "nope"`},
	} {
		got, err := VolumePath("/var/lib/skiff/agent/pods", pod, tc.name)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func files(m map[string]fileProjection) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = fmt.Sprintf("%s %o", v.Data, v.Mode)
	}
	return out
}

func TestVolumePayloads(t *testing.T) {
	pod := envTestPod()
	pod.Spec.Containers = []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}
	src := payloadSources{
		configMap: func(ns, name string) (*corev1.ConfigMap, error) {
			if name == "cfg" {
				return &corev1.ConfigMap{Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"bin": {0, 1}}}, nil
			}
			return nil, notFound("configmap", name)
		},
		secret: func(ns, name string) (*corev1.Secret, error) {
			if name == "creds" {
				return &corev1.Secret{Data: map[string][]byte{"user": []byte("admin")}}, nil
			}
			return nil, notFound("secret", name)
		},
		token: func(pod *corev1.Pod, s *corev1.ServiceAccountTokenProjection) (string, time.Time, error) {
			return "tok-" + s.Audience, vt0.Add(time.Hour), nil
		},
		allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	items := func(kv ...string) []corev1.KeyToPath {
		var out []corev1.KeyToPath
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.KeyToPath{Key: kv[i], Path: kv[i+1]})
		}
		return out
	}
	t.Run("configMap", func(t *testing.T) {
		got, err := configMapPayload(pod, "cfg", nil, false, 0o644, src)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"a": "1 644", "b": "2 644", "bin": "\x00\x01 644"}, files(got)); diff != "" {
			t.Error(diff)
		}
		its := items("a", "dir/a.txt")
		its[0].Mode = ptr.To[int32](0o400)
		got, err = configMapPayload(pod, "cfg", append(its, items("bin", "b")...), false, 0o600, src)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"dir/a.txt": "1 400", "b": "\x00\x01 600"}, files(got)); diff != "" {
			t.Error(diff)
		}
		if _, err := configMapPayload(pod, "cfg", items("nope", "x"), false, 0o644, src); err == nil || err.Error() != "configmap references non-existent config key: nope" {
			t.Errorf("missing key: %v", err)
		}
		if got, err := configMapPayload(pod, "cfg", items("nope", "x", "a", "a"), true, 0o644, src); err != nil || len(got) != 1 {
			t.Errorf("optional missing key: %v %v", got, err)
		}
		if _, err := configMapPayload(pod, "gone", nil, false, 0o644, src); err == nil || err.Error() != `configmap "gone" not found` {
			t.Errorf("missing configmap: %v", err)
		}
		if got, err := configMapPayload(pod, "gone", nil, true, 0o644, src); err != nil || len(got) != 0 {
			t.Errorf("optional missing configmap: %v %v", got, err)
		}
	})
	t.Run("secret", func(t *testing.T) {
		got, err := secretPayload(pod, "creds", nil, false, 0o640, src)
		if err != nil || !cmp.Equal(files(got), map[string]string{"user": "admin 640"}) {
			t.Errorf("%v %v", files(got), err)
		}
		if _, err := secretPayload(pod, "creds", items("pass", "p"), false, 0o644, src); err == nil || err.Error() != "secret references non-existent secret key: pass" {
			t.Errorf("missing key: %v", err)
		}
		if _, err := secretPayload(pod, "gone", nil, false, 0o644, src); err == nil || err.Error() != `secret "gone" not found` {
			t.Errorf("missing secret: %v", err)
		}
	})
	t.Run("downwardAPI", func(t *testing.T) {
		its := []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}, Mode: ptr.To[int32](0o400)},
			{Path: "app", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}},
			{Path: "mem", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}},
			{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}},
		}
		got, err := downwardAPIPayload(pod, its, 0o644, src.allocatable)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"labels": "app=\"web\"\ntier=\"front\" 644", "name": "web 400", "app": "web 644", "mem": "64 644", "cpu": "2000 644"}
		if diff := cmp.Diff(want, files(got)); diff != "" {
			t.Error(diff)
		}
		_, err = downwardAPIPayload(pod, []corev1.DownwardAPIVolumeFile{{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}},
			{Path: "y", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "nope", Resource: "limits.cpu"}}}, 0o644, nil)
		if err == nil || err.Error() != "[unsupported fieldPath: spec.nodeName, container nope not found]" {
			t.Errorf("errors: %v", err)
		}
	})
	t.Run("projected, as the ServiceAccount admission plugin makes it", func(t *testing.T) {
		p := &corev1.ProjectedVolumeSource{DefaultMode: ptr.To[int32](0o644), Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Items: items("a", "ca.crt")}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "vault-token", Audience: "vault"}},
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr.To(true)}},
		}}
		got, refresh, err := projectedPayload(pod, p, src)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"token": "tok- 644", "ca.crt": "1 644", "namespace": "ns 644", "vault-token": "tok-vault 644"}
		if diff := cmp.Diff(want, files(got)); diff != "" {
			t.Error(diff)
		}
		if !refresh.Equal(vt0.Add(time.Hour)) {
			t.Errorf("refresh at %v", refresh)
		}
		p.Sources = append(p.Sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}}})
		if _, _, err := projectedPayload(pod, p, src); err == nil || err.Error() != `secret "gone" not found` {
			t.Errorf("missing secret: %v", err)
		}
	})
}

func TestCheckHostPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	typ := func(s corev1.HostPathType) *corev1.HostPathType { return &s }
	for _, tc := range []struct {
		path string
		typ  *corev1.HostPathType
		err  string
	}{
		{path: filepath.Join(dir, "missing"), typ: nil},
		{path: filepath.Join(dir, "missing"), typ: typ(corev1.HostPathUnset)},
		{path: dir, typ: typ(corev1.HostPathDirectory)},
		{path: file, typ: typ(corev1.HostPathDirectory), err: "hostPath type check failed: " + file + " is not a directory"},
		{path: filepath.Join(dir, "missing"), typ: typ(corev1.HostPathDirectory), err: "hostPath type check failed: " + filepath.Join(dir, "missing") + " does not exist"},
		{path: filepath.Join(dir, "new", "sub"), typ: typ(corev1.HostPathDirectoryOrCreate)},
		{path: file, typ: typ(corev1.HostPathDirectoryOrCreate), err: "hostPath type check failed: " + file + " is not a directory"},
		{path: file, typ: typ(corev1.HostPathFile)},
		{path: dir, typ: typ(corev1.HostPathFile), err: "hostPath type check failed: " + dir + " is not a file"},
		{path: filepath.Join(dir, "created"), typ: typ(corev1.HostPathFileOrCreate)},
		{path: sock, typ: typ(corev1.HostPathSocket)},
		{path: file, typ: typ(corev1.HostPathSocket), err: "hostPath type check failed: " + file + " is not a socket file"},
		{path: "/dev/null", typ: typ(corev1.HostPathCharDev)},
		{path: file, typ: typ(corev1.HostPathCharDev), err: "hostPath type check failed: " + file + " is not a character device"},
		{path: "/dev/null", typ: typ(corev1.HostPathBlockDev), err: "hostPath type check failed: /dev/null is not a block device"},
		{path: dir, typ: typ("Weird"), err: "Weird is an invalid volume type"},
	} {
		err := checkHostPath(&corev1.HostPathVolumeSource{Path: tc.path, Type: tc.typ})
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("%s %v: %v, want %q", tc.path, tc.typ, err, tc.err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "new", "sub")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Errorf("DirectoryOrCreate made %v, %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "created")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("FileOrCreate made %v, %v", fi, err)
	}
}

// TestTokenRefresh checks upstream's refresh rule on a fake clock: a token is reused until 80%
// of its lifetime has passed, then requested again; a long-lived one is refreshed after a day.
func TestTokenRefresh(t *testing.T) {
	clk := testingclock.NewFakeClock(vt0)
	client := fakeclient.NewClientset()
	var requests atomic.Int32
	var lastSpec authenticationv1.TokenRequestSpec
	client.PrependReactor("create", "serviceaccounts", func(a clienttesting.Action) (bool, runtime.Object, error) {
		ca, ok := a.(clienttesting.CreateAction)
		if !ok || a.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := ca.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		n := requests.Add(1)
		lastSpec = tr.Spec
		tr.Status = authenticationv1.TokenRequestStatus{Token: fmt.Sprintf("token-%d", n),
			ExpirationTimestamp: metav1.NewTime(clk.Now().Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second))}
		return true, tr, nil
	})
	m := newTokenManager(client, clk)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1"}, Spec: corev1.PodSpec{ServiceAccountName: "robot"}}
	src := &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3600), Audience: "api"}
	ctx := context.Background()
	get := func() (string, time.Time) {
		t.Helper()
		tok, at, err := m.token(ctx, pod, src)
		if err != nil {
			t.Fatal(err)
		}
		return tok, at
	}
	tok, at := get()
	if tok != "token-1" || !at.Equal(vt0.Add(48*time.Minute)) {
		t.Fatalf("first token %q refresh at %v, want token-1 at +48m", tok, at.Sub(vt0))
	}
	want := authenticationv1.TokenRequestSpec{Audiences: []string{"api"}, ExpirationSeconds: ptr.To[int64](3600),
		BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "uid-1"}}
	if diff := cmp.Diff(want, lastSpec); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	clk.SetTime(vt0.Add(47*time.Minute + 59*time.Second))
	if tok, _ := get(); tok != "token-1" {
		t.Errorf("before 80%%: %q, want the cached token-1", tok)
	}
	clk.SetTime(vt0.Add(48 * time.Minute))
	tok, at = get()
	if tok != "token-2" || !at.Equal(vt0.Add(96*time.Minute)) {
		t.Errorf("at 80%%: %q refresh at %v, want token-2 at +96m", tok, at.Sub(vt0))
	}
	// A week-long token is refreshed after a day.
	src2 := &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](7 * 24 * 3600)}
	_, at, err := m.token(ctx, pod, src2)
	if err != nil || !at.Equal(clk.Now().Add(24*time.Hour)) {
		t.Errorf("week-long token: refresh at %v (%v), want a day later", at.Sub(clk.Now()), err)
	}
	if requests.Load() != 3 {
		t.Errorf("%d token requests, want 3", requests.Load())
	}
	m.forget("uid-1")
	if tok, _ := get(); tok != "token-4" {
		t.Errorf("after forget: %q, want a new token", tok)
	}
}

func TestVolumeManagerUpdatesAndTearsDown(t *testing.T) {
	dir := t.TempDir()
	m := newVolumeManager(dir, func() int64 { return 1 << 30 })
	m.tmpfs = false
	data := map[string]string{"a": "1", "b": "2"}
	src := payloadSources{configMap: func(ns, name string) (*corev1.ConfigMap, error) {
		return &corev1.ConfigMap{Data: data}, nil
	}}
	pod := envTestPod()
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
	}
	if _, failed := m.setUp(pod, src, vt0); len(failed) != 0 {
		t.Fatal(failed)
	}
	cfg := VolumeDir(dir, pod.UID, "cfg")
	if diff := cmp.Diff(map[string]string{"a": "1", "b": "2"}, readVolume(t, cfg)); diff != "" {
		t.Fatal(diff)
	}
	if fi, err := os.Stat(VolumeDir(dir, pod.UID, "scratch")); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir: %v %v", fi, err)
	}
	before, _ := os.Readlink(filepath.Join(cfg, "..data"))
	// Nothing changed: nothing is rewritten.
	m.setUp(pod, src, vt0.Add(time.Second))
	if after, _ := os.Readlink(filepath.Join(cfg, "..data")); after != before {
		t.Errorf("an unchanged payload was rewritten")
	}
	data = map[string]string{"a": "one"}
	pod.Labels["tier"] = "back"
	m.setUp(pod, src, vt0.Add(time.Minute))
	if diff := cmp.Diff(map[string]string{"a": "one"}, readVolume(t, cfg)); diff != "" {
		t.Errorf("after the update (-want +got):\n%s", diff)
	}
	if got := readVolume(t, VolumeDir(dir, pod.UID, "info"))["labels"]; got != "app=\"web\"\ntier=\"back\"" {
		t.Errorf("downward API labels %q", got)
	}
	// A kubelet restart (a new manager) finds the same content and rewrites nothing.
	m2 := newVolumeManager(dir, func() int64 { return 1 << 30 })
	m2.tmpfs = false
	before, _ = os.Readlink(filepath.Join(cfg, "..data"))
	m2.setUp(pod, src, vt0.Add(2*time.Minute))
	if after, _ := os.Readlink(filepath.Join(cfg, "..data")); after != before {
		t.Errorf("a restarted manager rewrote an unchanged volume")
	}
	if uids, _ := m.podDirs(); len(uids) != 1 || uids[0] != pod.UID {
		t.Errorf("podDirs = %v", uids)
	}
	if err := m.tearDown(pod.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, string(pod.UID))); !os.IsNotExist(err) {
		t.Errorf("pod directory left: %v", err)
	}
}

var vt0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
