package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/kubelet/crilog"
	"github.com/skiff-project/skiff/internal/kubelet/streaming"
	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/runtime/fake"
)

// streamNode is an in-process node: the real kubelet on the fake runtime, registered with the
// shared server, with its streaming server on a loopback port that its Node reports.
type streamNode struct {
	name    string
	logDir  string
	backend int // a loopback HTTP server's port: "port REMOTE in the pod"
}

const streamNodeName = "stream-node"

func startStreamNode(t *testing.T) *streamNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ca, err := pki.LoadOrCreateCA(filepath.Join(shared.DataDir, "tls"), "unused")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.LeafSpec{CommonName: "system:node:" + streamNodeName, Organization: []string{"system:nodes"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)

	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello through port-forward %s", r.URL.Path)
	})}
	go hs.Serve(backend)
	t.Cleanup(func() { hs.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	rt := fake.New(clock.RealClock{}, fake.WithLogDir(logDir), fake.WithPortForward(func(ctx context.Context, port int32) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	}))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	host := kubelet.NewHost(client(), kubelet.HostOptions{Workers: 4, Log: quiet,
		PodFieldSelector: "spec.nodeName=" + streamNodeName, NodeFieldSelector: "metadata.name=" + streamNodeName})
	kl := host.AddNode(kubelet.Config{
		NodeName: streamNodeName, CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"),
		Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: streamNodeName}},
		KubeletPort: int32(ln.Addr().(*net.TCPAddr).Port), PodCIDRs: []string{"10.99.0.0/24"}, RuntimeVersion: fake.Version,
	}, rt)
	// The streaming server asks with the node's own credentials, as an agent would.
	nodeCert, nodeKey, err := ca.Issue(pki.LeafSpec{CommonName: "system:node:" + streamNodeName, Organization: []string{"system:nodes"}, Client: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	nodeClient := kubernetes.NewForConfigOrDie(&rest.Config{Host: shared.URL, TLSClientConfig: rest.TLSClientConfig{CAData: shared.CAPEM, CertData: nodeCert, KeyData: nodeKey}})
	srv, err := streaming.New(streaming.Config{NodeName: streamNodeName, Runtime: rt, Pods: kl, Log: quiet, LogPollInterval: 20 * time.Millisecond,
		Authorizer: streaming.SubjectAccessReviewer(nodeClient.AuthorizationV1().SubjectAccessReviews(), nil)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { srv.Serve(ctx, ln, streaming.TLSConfig(cert, pool)); done <- struct{}{} }()
	go func() { host.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	eventually(t, 30*time.Second, func() error {
		n, err := client().CoreV1().Nodes().Get(ctx, streamNodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 {
			return fmt.Errorf("node has no kubelet port yet")
		}
		return nil
	})
	return &streamNode{name: streamNodeName, logDir: logDir, backend: backend.Addr().(*net.TCPAddr).Port}
}

// runningPod creates a pod on the node and waits for it to run.
func runningPod(t *testing.T, ns, name, node string, annotations map[string]string) *corev1.Pod {
	t.Helper()
	ctx := ctxT(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			AutomountServiceAccountToken: new(bool)},
	}
	if _, err := client().CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	eventually(t, 30*time.Second, func() error {
		p, err := client().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("pod phase %q", p.Status.Phase)
		}
		got = p
		return nil
	})
	return got
}

// kubectlRun is one kubectl invocation's outcome.
type kubectlRun struct {
	out, err string
	code     int
}

// kubectl runs the real kubectl with kubeconfig, a fresh cache and extra environment.
func kubectl(t *testing.T, kubeconfig string, env []string, stdin string, args ...string) kubectlRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", kubeconfig, "--cache-dir", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	return kubectlRun{out.String(), errb.String(), code}
}

func needKubectl(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not on PATH")
	}
}

var (
	spdyExec        = []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"}
	spdyPortForward = []string{"KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}
)

// TestKubectlStreaming drives logs, exec, attach and port-forward with the real kubectl through
// the API server to an in-process node's streaming server.
func TestKubectlStreaming(t *testing.T) {
	needKubectl(t)
	node := startStreamNode(t)
	ns := namespace(t)
	admin := shared.AdminKubeconfig
	pod := runningPod(t, ns, "p", node.name, map[string]string{fake.AnnotationPrefix + "log": "one\ntwo\nthree"})

	t.Run("logs", func(t *testing.T) {
		if r := kubectl(t, admin, nil, "", "-n", ns, "logs", "p"); r.code != 0 || r.out != "one\ntwo\nthree\n" {
			t.Fatalf("logs: %+v", r)
		}
		if r := kubectl(t, admin, nil, "", "-n", ns, "logs", "p", "--tail=2"); r.code != 0 || r.out != "two\nthree\n" {
			t.Errorf("--tail=2: %+v", r)
		}
		r := kubectl(t, admin, nil, "", "-n", ns, "logs", "p", "--tail=1", "--timestamps")
		if r.code != 0 || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$`).MatchString(r.out) {
			t.Errorf("--timestamps: %+v", r)
		}
		if r := kubectl(t, admin, nil, "", "-n", ns, "logs", "p", "--limit-bytes=5"); r.code != 0 || r.out != "one\nt" {
			t.Errorf("--limit-bytes: %+v", r)
		}
		if r := kubectl(t, admin, nil, "", "-n", ns, "logs", "p", "-c", "nope"); r.code == 0 || !strings.Contains(r.err, "container nope is not valid for pod p") {
			t.Errorf("unknown container: %+v", r)
		}
		if r := kubectl(t, admin, nil, "", "-n", ns, "logs", "p", "--previous"); r.code == 0 || !strings.Contains(r.err, `previous terminated container "c" in pod "p" not found`) {
			t.Errorf("--previous: %+v", r)
		}
	})

	t.Run("logs -f", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", admin, "--cache-dir", t.TempDir(), "-n", ns, "logs", "-f", "--tail=1", "p")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		next := func() string {
			if !lines.Scan() {
				t.Fatalf("kubectl logs -f ended: %v", lines.Err())
			}
			return lines.Text()
		}
		if l := next(); l != "three" {
			t.Fatalf("first line %q", l)
		}
		// The container writes another line: the runtime appends it to the pod's log file.
		path := filepath.Join(node.logDir, fmt.Sprintf("%s_p_%s", ns, pod.UID), "c", "0.log")
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(crilog.Append(nil, crilog.Line{Time: time.Now(), Stream: crilog.Stdout, Msg: []byte("four")}))
		f.Close()
		start := time.Now()
		if l := next(); l != "four" {
			t.Fatalf("followed line %q", l)
		}
		t.Logf("a followed line reached kubectl %v after it was written", time.Since(start).Round(time.Millisecond))
		// Closing: the user interrupts kubectl.
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})

	for _, proto := range []struct {
		name string
		env  []string
	}{{"websocket", nil}, {"spdy", spdyExec}} {
		t.Run("exec/"+proto.name, func(t *testing.T) {
			if r := kubectl(t, admin, proto.env, "", "-n", ns, "exec", "p", "--", "echo", "hi"); r.code != 0 || r.out != "hi\n" {
				t.Errorf("echo: %+v", r)
			}
			if r := kubectl(t, admin, proto.env, "hello\nworld\n", "-n", ns, "exec", "-i", "p", "--", "cat"); r.code != 0 || r.out != "hello\nworld\n" {
				t.Errorf("exec -i cat: %+v", r)
			}
			if r := kubectl(t, admin, proto.env, "", "-n", ns, "exec", "p", "--", "false"); r.code != 1 || !strings.Contains(r.err, "command terminated with exit code 1") {
				t.Errorf("false: %+v", r)
			}
			if r := kubectl(t, admin, proto.env, "", "-n", ns, "exec", "p", "--", "sh", "-c", "exit 3"); r.code != 3 {
				t.Errorf("exit 3: %+v", r)
			}
			if r := kubectl(t, admin, proto.env, "", "-n", ns, "exec", "p", "--", "stderr", "oops"); r.code != 0 || r.err != "oops\n" || r.out != "" {
				t.Errorf("stderr: %+v", r)
			}
			if r := kubectl(t, admin, proto.env, "", "-n", ns, "exec", "p", "-c", "nope", "--", "true"); r.code == 0 || !strings.Contains(r.err, "container nope is not valid for pod p") {
				t.Errorf("unknown container: %+v", r)
			}
			if r := kubectl(t, admin, proto.env, "", "-n", ns, "attach", "p"); r.code == 0 || !strings.Contains(r.err, "the container runtime cannot attach to containers") {
				t.Errorf("attach: %+v", r)
			}
		})
	}

	for _, proto := range []struct {
		name string
		env  []string
	}{{"websocket", nil}, {"spdy", spdyPortForward}} {
		t.Run("port-forward/"+proto.name, func(t *testing.T) {
			local := freePort(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", admin, "--cache-dir", t.TempDir(), "-n", ns,
				"port-forward", "pod/p", fmt.Sprintf("%d:%d", local, node.backend))
			cmd.Env = append(os.Environ(), proto.env...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
			lines := bufio.NewScanner(stdout)
			if !lines.Scan() || !strings.HasPrefix(lines.Text(), "Forwarding from 127.0.0.1:") {
				t.Fatalf("kubectl port-forward: %q %v; stderr %s", lines.Text(), lines.Err(), errb.String())
			}
			for i := 0; i < 3; i++ {
				c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
				resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/x%d", local, i))
				if err != nil {
					t.Fatalf("GET through port-forward: %v; stderr %s", err, errb.String())
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := fmt.Sprintf("hello through port-forward /x%d", i); string(b) != want {
					t.Errorf("got %q, want %q", b, want)
				}
			}
		})
	}

	t.Run("websocket without fallback", func(t *testing.T) {
		// kubectl falls back to SPDY silently; its -v=4 log says which protocol it used.
		r := kubectl(t, admin, nil, "", "-v=4", "-n", ns, "exec", "p", "--", "echo", "hi")
		if r.code != 0 || strings.Contains(r.err, "fallback") || !strings.Contains(r.err, "v5.channel.k8s.io") {
			t.Errorf("exec -v=4: %+v", r)
		}
		local := freePort(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", admin, "--cache-dir", t.TempDir(), "-v=4", "-n", ns,
			"port-forward", "pod/p", fmt.Sprintf("%d:%d", local, node.backend))
		var errb syncBuffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
		eventually(t, 10*time.Second, func() error {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", local))
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		})
		if log := errb.String(); strings.Contains(log, "fallback") || !strings.Contains(log, "negotiated protocol: portforward.k8s.io") {
			t.Errorf("port-forward did not tunnel through WebSocket:\n%s", log)
		}
	})

	t.Run("client-go executor", func(t *testing.T) {
		u := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/p/exec?command=echo&command=from&command=go&stdout=true&stderr=true", shared.URL, ns)
		ex, err := remotecommand.NewWebSocketExecutor(shared.Config, "GET", u)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := ex.StreamWithContext(ctxT(t), remotecommand.StreamOptions{Stdout: &out, Stderr: io.Discard}); err != nil || out.String() != "from go\n" {
			t.Errorf("%q %v", out.String(), err)
		}
	})

	t.Run("nodes/proxy", func(t *testing.T) {
		if r := kubectl(t, admin, nil, "", "get", "--raw", "/api/v1/nodes/"+node.name+"/proxy/healthz"); r.code != 0 || r.out != "ok" {
			t.Errorf("healthz: %+v", r)
		}
		r := kubectl(t, admin, nil, "", "get", "--raw", "/api/v1/nodes/"+node.name+"/proxy/stats/summary")
		if r.code != 0 || !strings.Contains(r.out, `"nodeName":"`+node.name+`"`) || !strings.Contains(r.out, `"name":"p","namespace":"`+ns+`"`) {
			t.Errorf("stats/summary: %+v", r)
		}
		if r := kubectl(t, admin, nil, "", "get", "--raw", "/api/v1/nodes/"+node.name+"/proxy/pods"); r.code != 0 || !strings.Contains(r.out, `"kind":"PodList"`) {
			t.Errorf("pods: %+v", r)
		}
		path := fmt.Sprintf("/api/v1/nodes/%s/proxy/containerLogs/%s/p/c?limitBytes=4", node.name, ns)
		if r := kubectl(t, admin, nil, "", "get", "--raw", path); r.code != 0 || r.out != "one\n" {
			t.Errorf("containerLogs: %+v", r)
		}
	})

	t.Run("errors", func(t *testing.T) {
		ctx := ctxT(t)
		unscheduled := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pending"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if _, err := client().CoreV1().Pods(ns).Create(ctx, unscheduled, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if r := kubectl(t, admin, nil, "", "-n", ns, "logs", "pending"); r.code == 0 || !strings.Contains(r.err, "pod pending does not have a host assigned") {
			t.Errorf("unscheduled: %+v", r)
		}
		if r := kubectl(t, admin, nil, "", "-n", ns, "logs", "nope"); r.code == 0 || !strings.Contains(r.err, `pods "nope" not found`) {
			t.Errorf("missing pod: %+v", r)
		}
		// A simulated node (no kubelet port) and an unreachable one.
		for name, port := range map[string]int32{"sim-streamless": 0, "unreachable-node": int32(freePort(t))} {
			_, err := client().CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				n, err := client().CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
				n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
				_, err = client().CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-" + name},
				Spec: corev1.PodSpec{NodeName: name, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
			if _, err := client().CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		r := kubectl(t, admin, nil, "", "-n", ns, "logs", "on-sim-streamless")
		if r.code == 0 || !strings.Contains(r.err, "ServiceUnavailable") || !strings.Contains(r.err, "node sim-streamless has no kubelet endpoint") {
			t.Errorf("simulated node: %+v", r)
		}
		r = kubectl(t, admin, nil, "", "-n", ns, "logs", "on-unreachable-node")
		if r.code == 0 || !strings.Contains(r.err, "the kubelet of node unreachable-node at 127.0.0.1:") || !strings.Contains(r.err, "connection refused") {
			t.Errorf("unreachable node logs: %+v", r)
		}
		r = kubectl(t, admin, nil, "", "-n", ns, "exec", "on-unreachable-node", "--", "true")
		if r.code == 0 || !strings.Contains(r.err, "the kubelet of node unreachable-node") {
			t.Errorf("unreachable node exec: %+v", r)
		}
	})

	t.Run("rbac", func(t *testing.T) {
		ctx := ctxT(t)
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}}
		if _, err := client().RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bob-reads"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "pod-reader"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"}}}
		if _, err := client().RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		bob := userKubeconfig(t, "bob")
		want := fmt.Sprintf(`pods "p" is forbidden: User "bob" cannot create resource "pods/exec" in API group "" in the namespace %q`, ns)
		for _, env := range [][]string{nil, spdyExec} {
			if r := kubectl(t, bob, env, "", "-n", ns, "exec", "p", "--", "echo", "hi"); r.code == 0 || !strings.Contains(r.err, want) {
				t.Errorf("bob exec (%v): %+v\nwant %q", env, r, want)
			}
		}
		// With get on pods/exec but not create, the WebSocket GET passes the first check and is
		// refused by the second, as upstream since 1.35.
		role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get"}})
		if _, err := client().RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		u := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/p/exec?command=true&stdout=true", shared.URL, ns)
		cfg := restConfigFor(t, bob)
		ex, err := remotecommand.NewWebSocketExecutor(cfg, "GET", u)
		if err != nil {
			t.Fatal(err)
		}
		err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard})
		if err == nil || !strings.Contains(err.Error(), `pods "p" is forbidden: User "bob" cannot create resource "pods/exec"`) {
			t.Errorf("bob websocket exec with get only: %v", err)
		}
		// Logs need only get pods/log.
		if r := kubectl(t, bob, nil, "", "-n", ns, "logs", "p"); r.code == 0 || !strings.Contains(r.err, `cannot get resource "pods/log"`) {
			t.Errorf("bob logs: %+v", r)
		}
	})
}

// TestKubectlExecLatency measures `kubectl exec p -- true` end to end (kubectl start-up
// included), for the record: set SKIFF_MEASURE=1 to run it.
func TestKubectlExecLatency(t *testing.T) {
	needKubectl(t)
	if os.Getenv("SKIFF_MEASURE") == "" {
		t.Skip("set SKIFF_MEASURE=1 to measure")
	}
	node := startStreamNode(t)
	ns := namespace(t)
	runningPod(t, ns, "p", node.name, nil)
	cache := t.TempDir()
	for _, proto := range []struct {
		name string
		env  []string
	}{{"websocket", nil}, {"spdy", spdyExec}} {
		var ds []time.Duration
		for i := 0; i < 20; i++ {
			cmd := exec.Command("kubectl", "--kubeconfig", shared.AdminKubeconfig, "--cache-dir", cache, "-n", ns, "exec", "p", "--", "true")
			cmd.Env = append(os.Environ(), proto.env...)
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("kubectl exec p -- true over %s: p50 %v, min %v, max %v (20 runs)", proto.name,
			ds[len(ds)/2].Round(time.Millisecond), ds[0].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
	var ds []time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		cmd := exec.Command("kubectl", "--kubeconfig", shared.AdminKubeconfig, "--cache-dir", cache, "-n", ns, "get", "pod", "p", "-o", "name")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	t.Logf("baseline kubectl get pod p: p50 %v", ds[len(ds)/2].Round(time.Millisecond))
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// userKubeconfig writes a kubeconfig for a user with a client certificate from the cluster CA.
func userKubeconfig(t *testing.T, user string, groups ...string) string {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(shared.DataDir, "tls"), "unused")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Issue(pki.LeafSpec{CommonName: user, Organization: groups, Client: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	if err := pki.WriteKubeconfig(path, shared.URL, shared.CAPEM, cert, key); err != nil {
		t.Fatal(err)
	}
	return path
}

func restConfigFor(t *testing.T, kubeconfig string) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// syncBuffer is a bytes.Buffer a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestKubeletClientCertificate: the server's identity towards kubelets is issued at start, its
// key private to the server.
func TestKubeletClientCertificate(t *testing.T) {
	dir := filepath.Join(shared.DataDir, "tls")
	st, err := os.Stat(filepath.Join(dir, "apiserver-kubelet-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
	b, err := os.ReadFile(filepath.Join(dir, "apiserver-kubelet-client.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "kube-apiserver-kubelet-client" || !slices.Equal(cert.Subject.Organization, []string{"system:masters"}) ||
		!slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Errorf("subject %v, usages %v", cert.Subject, cert.ExtKeyUsage)
	}
}
