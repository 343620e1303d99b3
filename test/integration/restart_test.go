package integration

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-project/skiff/internal/testserver"
)

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// restartable is a server of its own that a test can restart on the same data dir and port.
type restartable struct {
	dir string
	srv *testserver.Server
}

func startRestartable(t *testing.T) *restartable {
	t.Helper()
	r := &restartable{dir: t.TempDir()}
	r.srv = testserver.Start(t, testserver.Options{DataDir: r.dir})
	return r
}

func (r *restartable) client() kubernetes.Interface { return r.srv.Client }

// restart stops the server and starts it again on the same data dir and port.
func (r *restartable) restart(t *testing.T) {
	t.Helper()
	port := r.srv.Server.Config.Port
	r.srv.Stop()
	r.srv = testserver.Start(t, testserver.Options{DataDir: r.dir, Port: port})
}

// TestRestartKeepsObjects restarts a server: objects come back with the same uids and
// resourceVersions, and new writes continue the revision sequence.
func TestRestartKeepsObjects(t *testing.T) {
	s := startRestartable(t)
	ctx := ctxT(t)
	cm, err := s.client().CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.restart(t)
	for _, rv := range []string{"", "0"} {
		got, err := s.client().CoreV1().ConfigMaps("default").Get(ctx, "keep", metav1.GetOptions{ResourceVersion: rv})
		if err != nil {
			t.Fatal(err)
		}
		if got.UID != cm.UID || got.ResourceVersion != cm.ResourceVersion || got.Data["a"] != "1" {
			t.Fatalf("after restart (rv %q): %+v, before %+v", rv, got.ObjectMeta, cm.ObjectMeta)
		}
	}
	ns, err := s.client().CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	if err != nil || ns.Status.Phase != corev1.NamespaceActive {
		t.Fatalf("default namespace after restart: %v %+v", err, ns)
	}
}
