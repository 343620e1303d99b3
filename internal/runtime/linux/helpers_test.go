package linux

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/skiff-project/skiff/test/images"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet"
)

// testTmp holds what is built once per test process: the shim binary and the busybox rootfs.
var (
	testTmp     string
	buildOnce   sync.Once
	builtShim   string
	busyboxRoot string
	buildErr    error
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(agentHelperEnv); cfg != "" {
		os.Exit(agentHelper(cfg))
	}
	code := m.Run()
	if testTmp != "" {
		os.RemoveAll(testTmp)
	}
	os.Exit(code)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if !images.EnsureBusybox(context.Background()) {
		t.Skip("needs /bin/busybox (apt-get install busybox-static)")
	}
}

// buildFixtures builds the shim and the busybox rootfs once.
func buildFixtures(t *testing.T) (shimPath, rootfs string) {
	t.Helper()
	buildOnce.Do(func() {
		testTmp, buildErr = os.MkdirTemp("", "skiff-linux-test-")
		if buildErr != nil {
			return
		}
		builtShim = filepath.Join(testTmp, "skiff-shim")
		cmd := exec.Command("go", "build", "-o", builtShim, "github.com/skiff-project/skiff/cmd/skiff-shim")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build shim: %v: %s", err, out)
			return
		}
		busyboxRoot = filepath.Join(testTmp, "busybox")
		buildErr = makeBusyboxRootfs(busyboxRoot)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtShim, busyboxRoot
}

// makeBusyboxRootfs makes a root filesystem of Debian's static busybox with its applets.
func makeBusyboxRootfs(dir string) error {
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/user", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(dir, "tmp"), 0o1777)
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), b, 0o755); err != nil {
		return err
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		os.Symlink("busybox", filepath.Join(dir, "bin", applet))
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nuser:x:1000:\nextra:x:3000:user\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dirImages is an image source over plain directories, each mounted as an overlay's lower layer.
type dirImages struct {
	images map[string]dirImage
}

type dirImage struct {
	dir  string
	info ImageInfo
}

func (d *dirImages) Present(ctx context.Context, ref string) (bool, error) {
	_, ok := d.images[ref]
	return ok, nil
}

func (d *dirImages) Pull(ctx context.Context, ref string, _ []corev1.Secret) (ImageInfo, error) {
	img, ok := d.images[ref]
	if !ok {
		return ImageInfo{}, fmt.Errorf("image %s not found", ref)
	}
	return img.info, nil
}

func (d *dirImages) Rootfs(ctx context.Context, ref, dir string) (string, ImageInfo, func() error, error) {
	img, ok := d.images[ref]
	if !ok {
		return "", ImageInfo{}, nil, fmt.Errorf("image %s not found", ref)
	}
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "rootfs")
	for _, p := range []string{upper, work, merged} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", ImageInfo{}, nil, err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", img.dir, upper, work)
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return "", ImageInfo{}, nil, fmt.Errorf("mount overlay: %w", err)
	}
	release := func() error {
		if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
			return err
		}
		return os.RemoveAll(dir)
	}
	return merged, img.info, release, nil
}

// testEnv is one test's runtime configuration.
type testEnv struct {
	cfg     Config
	volumes map[string]string // volume name -> host dir
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	needRoot(t)
	shimPath, root := buildFixtures(t)
	dir := t.TempDir()
	parent := "skiff-test-" + randHex(4)
	env := &testEnv{volumes: map[string]string{}}
	env.cfg = Config{
		Dir:          filepath.Join(dir, "state"),
		LogDir:       filepath.Join(dir, "logs"),
		CgroupParent: parent,
		ShimPath:     shimPath,
		Images: &dirImages{images: map[string]dirImage{
			"busybox":      {dir: root, info: ImageInfo{ID: "sha256:busybox", Cmd: []string{"sh"}}},
			"busybox-user": {dir: root, info: ImageInfo{ID: "sha256:busybox", Cmd: []string{"sh"}, User: "user"}},
			"busybox-1000": {dir: root, info: ImageInfo{ID: "sha256:busybox", Cmd: []string{"sh"}, User: "1000"}},
			"busybox-quit": {dir: root, info: ImageInfo{ID: "sha256:busybox", Cmd: []string{"sh"}, StopSignal: "SIGQUIT"}},
		}},
		VolumePath: func(pod *corev1.Pod, name string) (string, error) {
			d, ok := env.volumes[name]
			if !ok {
				return "", fmt.Errorf("no volume %q", name)
			}
			return d, nil
		},
	}
	t.Cleanup(func() {
		for _, d := range []string{"kubepods/burstable", "kubepods/besteffort", "kubepods", ""} {
			for _, base := range cgroupDirs(filepath.Join("/", parent, d)) {
				unix.Rmdir(base)
			}
		}
	})
	return env
}

func (e *testEnv) start(t *testing.T) *Runtime {
	t.Helper()
	r, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newPod(name string, containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(randHex(4) + "-" + randHex(2) + "-" + randHex(2) + "-" + randHex(2) + "-" + randHex(6))},
		Spec:       corev1.PodSpec{Containers: containers},
	}
}

func shC(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox", Command: []string{"sh", "-c", script}}
}

func limits(cpu, mem string) corev1.ResourceRequirements {
	rl := corev1.ResourceList{}
	if cpu != "" {
		rl[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	return corev1.ResourceRequirements{Limits: rl, Requests: rl}
}

// runPod creates the sandbox and creates and starts every container; it returns the IDs and
// removes the sandbox at the end of the test.
func runPod(t *testing.T, r *Runtime, pod *corev1.Pod) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := r.CreateSandbox(ctx, pod, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.RemoveSandbox(context.Background(), pod.UID); err != nil {
			t.Errorf("RemoveSandbox: %v", err)
		}
	})
	var ids []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		id, err := r.CreateContainer(ctx, pod, c, false, 0)
		if err != nil {
			t.Fatalf("CreateContainer %s: %v", c.Name, err)
		}
		if err := r.StartContainer(ctx, pod.UID, id); err != nil {
			t.Fatalf("StartContainer %s: %v", c.Name, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// waitState polls until the container reaches state.
func waitState(t *testing.T, r *Runtime, uid types.UID, id string, state kubelet.ContainerState, timeout time.Duration) kubelet.Container {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		cs, err := r.ListContainers(context.Background(), uid)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.ID == id && c.State == state {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s did not reach state %d in %v: %+v", id, state, timeout, cs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func logsOf(t *testing.T, r *Runtime, uid types.UID, id string) string {
	t.Helper()
	var b strings.Builder
	if err := r.Logs(context.Background(), uid, id, time.Time{}, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// waitLog polls until the container's log contains want.
func waitLog(t *testing.T, r *Runtime, uid types.UID, id, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l := logsOf(t, r, uid, id)
		if strings.Contains(l, want) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("log of %s lacks %q after %v: %q", id, want, timeout, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
