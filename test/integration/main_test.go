// Package integration tests the API server with client-go against a real skiff control plane
// started in-process: embedded etcd in a temporary directory, HTTPS on a loopback port.
package integration

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff-project/skiff/internal/testserver"
)

// shared is one server for the tests that do not restart it; each test works in its own
// namespace.
var shared *testserver.Server

func TestMain(m *testing.M) {
	// No scheduler or controllers: these tests check API semantics (finalizers, pod status,
	// ownerless objects) that those components would act on.
	s, err := testserver.StartServer(testserver.Options{Verbose: os.Getenv("SKIFF_TEST_VERBOSE") != "", DisableScheduler: true, DisableControllers: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start test server:", err)
		os.Exit(1)
	}
	shared = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

var nsCounter atomic.Int64

// namespace creates a fresh namespace for a test.
func namespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%100000, nsCounter.Add(1))
	_, err := shared.Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func client() kubernetes.Interface { return shared.Client }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 20 ms until it returns nil or the deadline passes.
func eventually(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
