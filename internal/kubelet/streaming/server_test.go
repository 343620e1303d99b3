package streaming_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
	"k8s.io/klog/v2"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/kubelet/crilog"
	"github.com/skiff-project/skiff/internal/kubelet/streaming"
	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/runtime/fake"
)

// pods is a static streaming.PodSource.
type pods []*corev1.Pod

func (p pods) GetPod(ns, name string) (*corev1.Pod, bool) {
	for _, pod := range p {
		if pod.Namespace == ns && pod.Name == name {
			return pod, true
		}
	}
	return nil, false
}

func (p pods) Pods() []*corev1.Pod { return slices.Clone(p) }

// testNode is a streaming server over the fake runtime, with one running pod "p" (container
// "c") in namespace "ns", and a loopback HTTP server that port forwarding reaches.
type testNode struct {
	url     string
	rt      *fake.Runtime
	logDir  string
	pod     *corev1.Pod
	admin   *rest.Config // system:masters
	viewer  *rest.Config // a user the authorizer refuses
	backend int          // the port the "pod" listens on
	// stop shuts the server down and waits for Serve to return.
	stop func()
}

func startNode(t *testing.T) *testNode {
	t.Helper()
	ctx := context.Background()
	ca, err := pki.LoadOrCreateCA(t.TempDir(), "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	servingCert, servingKey, err := ca.Issue(pki.LeafSpec{CommonName: "system:node:n1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Server: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(servingCert, servingKey)
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
		fmt.Fprintf(w, "hello from the pod, path %s", r.URL.Path)
	})}
	go hs.Serve(backend)
	t.Cleanup(func() { hs.Close() })
	backendPort := backend.Addr().(*net.TCPAddr).Port

	logDir := t.TempDir()
	rt := fake.New(clock.RealClock{}, fake.WithLogDir(logDir), fake.WithPortForward(func(ctx context.Context, port int32) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	}))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: types.UID("uid-1"),
			Annotations: map[string]string{fake.AnnotationPrefix + "log": "one\ntwo\nthree"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := rt.CreateSandbox(ctx, pod, []string{"10.0.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	id, err := rt.CreateContainer(ctx, pod, &pod.Spec.Containers[0], false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, pod.UID, id); err != nil {
		t.Fatal(err)
	}
	allowMasters := streaming.AuthorizerFunc(func(_ context.Context, a streaming.Attributes) (bool, string, error) {
		return slices.Contains(a.User.Groups, "system:masters"), "", nil
	})
	srv, err := streaming.New(streaming.Config{NodeName: "n1", Runtime: rt, Pods: pods{pod}, Authorizer: allowMasters,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), LogPollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(sctx, ln, streaming.TLSConfig(cert, pool))
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)

	client := func(cn string, groups ...string) *rest.Config {
		c, k, err := ca.Issue(pki.LeafSpec{CommonName: cn, Organization: groups, Client: true}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return &rest.Config{Host: "https://" + ln.Addr().String(), TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: c, KeyData: k}}
	}
	return &testNode{url: "https://" + ln.Addr().String(), rt: rt, logDir: logDir, pod: pod,
		admin: client("kube-apiserver-kubelet-client", "system:masters"), viewer: client("viewer", "viewers"), backend: backendPort, stop: stop}
}

func (n *testNode) get(t *testing.T, cfg *rest.Config, path string) (int, string) {
	t.Helper()
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(n.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func execURL(n *testNode, query string) string {
	return n.url + "/exec/ns/p/c?" + query
}

// executors are the ways client-go reaches the server: WebSocket (v5, and v4 as older clients
// speak it) and SPDY.
func executors(t *testing.T, cfg *rest.Config, u string) map[string]remotecommand.Executor {
	t.Helper()
	ws5, err := remotecommand.NewWebSocketExecutor(cfg, "GET", u)
	if err != nil {
		t.Fatal(err)
	}
	ws4, err := remotecommand.NewWebSocketExecutorForProtocols(cfg, "GET", u, "v4.channel.k8s.io")
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := url.Parse(u)
	sp, err := remotecommand.NewSPDYExecutor(cfg, "POST", parsed)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]remotecommand.Executor{"websocket v5": ws5, "websocket v4": ws4, "spdy": sp}
}

func TestExec(t *testing.T) {
	n := startNode(t)
	cases := []struct {
		name       string
		query      string
		stdin      string
		tty        bool
		wantOut    string
		wantErrOut string
		wantCode   int
	}{
		{name: "echo", query: "command=echo&command=hi&stdout=1&stderr=1", wantOut: "hi\n"},
		{name: "stderr", query: "command=stderr&command=oops&stdout=1&stderr=1", wantErrOut: "oops\n"},
		{name: "exit code", query: "command=false&stdout=1&stderr=1", wantCode: 1},
		{name: "exit 42", query: "command=sh&command=-c&command=exit+42&stdout=1", wantCode: 42},
		{name: "stdin to its end", query: "command=cat&stdin=1&stdout=1", stdin: "hello\nworld\n", wantOut: "hello\nworld\n"},
		{name: "tty and resize", query: "command=ttysize&stdin=1&stdout=1&tty=1", tty: true, wantOut: "120x40\n"},
	}
	for _, c := range cases {
		for proto, ex := range executors(t, n.admin, execURL(n, c.query)) {
			if c.name == "stdin to its end" && proto == "websocket v4" {
				continue // v4 over WebSocket cannot signal the end of stdin
			}
			t.Run(c.name+"/"+proto, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var out, errOut bytes.Buffer
				opts := remotecommand.StreamOptions{Stdout: &out, Tty: c.tty}
				if strings.Contains(c.query, "stderr=1") {
					opts.Stderr = &errOut
				}
				if strings.Contains(c.query, "stdin=1") {
					if c.tty {
						// A terminal's input stays open; the size comes first.
						pr, pw := io.Pipe()
						defer pw.Close()
						opts.Stdin = pr
						opts.TerminalSizeQueue = &sizes{ch: make(chan *remotecommand.TerminalSize, 1)}
						opts.TerminalSizeQueue.(*sizes).ch <- &remotecommand.TerminalSize{Width: 120, Height: 40}
					} else {
						opts.Stdin = strings.NewReader(c.stdin)
					}
				}
				err := ex.StreamWithContext(ctx, opts)
				var code exec.CodeExitError
				switch {
				case c.wantCode == 0 && err != nil:
					t.Fatalf("stream: %v", err)
				case c.wantCode != 0 && (!errors.As(err, &code) || code.Code != c.wantCode):
					t.Fatalf("err = %v, want exit code %d", err, c.wantCode)
				}
				if out.String() != c.wantOut || errOut.String() != c.wantErrOut {
					t.Errorf("stdout %q, stderr %q; want %q, %q", out.String(), errOut.String(), c.wantOut, c.wantErrOut)
				}
			})
		}
	}
}

// sizes is a remotecommand.TerminalSizeQueue.
type sizes struct {
	ch chan *remotecommand.TerminalSize
}

func (s *sizes) Next() *remotecommand.TerminalSize {
	sz, ok := <-s.ch
	if !ok {
		return nil
	}
	return sz
}

func TestExecRefusals(t *testing.T) {
	n := startNode(t)
	cases := []struct {
		name, url, want string
		cfg             *rest.Config
	}{
		{"unknown pod", n.url + "/exec/ns/nope/c?command=ls&stdout=1", `pods "nope" not found`, n.admin},
		{"unknown container", n.url + "/exec/ns/p/d?command=ls&stdout=1", "container d is not valid for pod p", n.admin},
		{"no command", n.url + "/exec/ns/p/c?stdout=1", "you must specify at least 1 command", n.admin},
		{"attach (the fake runtime cannot)", n.url + "/attach/ns/p/c?stdout=1", "the container runtime cannot attach to containers", n.admin},
		{"not authorized", n.url + "/exec/ns/p/c?command=ls&stdout=1", "Forbidden (user=viewer, verb=create, resource=nodes, subresource=proxy)", n.viewer},
	}
	for _, c := range cases {
		for proto, ex := range executors(t, c.cfg, c.url) {
			t.Run(c.name+"/"+proto, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard})
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("err = %v, want %q", err, c.want)
				}
			})
		}
	}
}

func TestPortForward(t *testing.T) {
	n := startNode(t)
	u, _ := url.Parse(n.url + "/portForward/ns/p")
	tr, upgrader, err := spdy.RoundTripperFor(n.admin)
	if err != nil {
		t.Fatal(err)
	}
	spdyDialer := spdy.NewDialer(upgrader, &http.Client{Transport: tr}, "POST", u)
	tunnel, err := portforward.NewSPDYOverWebsocketDialer(u, n.admin)
	if err != nil {
		t.Fatal(err)
	}
	dialers := map[string]func() (*portforward.PortForwarder, chan struct{}, error){
		"spdy": func() (*portforward.PortForwarder, chan struct{}, error) {
			stop, ready := make(chan struct{}), make(chan struct{})
			pf, err := portforward.New(spdyDialer, []string{fmt.Sprintf("0:%d", n.backend), "0:1"}, stop, ready, io.Discard, io.Discard)
			return pf, stop, err
		},
		"websocket tunnel": func() (*portforward.PortForwarder, chan struct{}, error) {
			stop, ready := make(chan struct{}), make(chan struct{})
			pf, err := portforward.New(tunnel, []string{fmt.Sprintf("0:%d", n.backend), "0:1"}, stop, ready, io.Discard, io.Discard)
			return pf, stop, err
		},
	}
	for name, mk := range dialers {
		t.Run(name, func(t *testing.T) {
			pf, stop, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- pf.ForwardPorts() }()
			defer close(stop)
			var ports []portforward.ForwardedPort
			deadline := time.Now().Add(10 * time.Second)
			for len(ports) == 0 {
				ports, _ = pf.GetPorts()
				if time.Now().After(deadline) {
					t.Fatal("port forwarding not ready")
				}
				time.Sleep(10 * time.Millisecond)
			}
			// Two requests on separate connections: each is a pair of streams.
			for i := 0; i < 2; i++ {
				c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
				resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/x%d", ports[0].Local, i))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := fmt.Sprintf("hello from the pod, path /x%d", i); string(b) != want {
					t.Errorf("got %q, want %q", b, want)
				}
			}
			// Nothing listens on port 1: the local connection is closed, and client-go ends the
			// whole forwarding after the error the server reports.
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[1].Local))
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Read(make([]byte, 1)); err == nil {
				t.Error("read from a forwarded port nothing listens on")
			}
			conn.Close()
			select {
			case err := <-errc:
				if !errors.Is(err, portforward.ErrLostConnectionToPod) {
					t.Errorf("forward ports ended with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("forwarding did not end after the error")
			}
		})
	}
}

func TestContainerLogs(t *testing.T) {
	n := startNode(t)
	cases := []struct {
		query string
		code  int
		want  string
	}{
		{"", 200, "one\ntwo\nthree\n"},
		{"?tailLines=1", 200, "three\n"},
		{"?limitBytes=6", 200, "one\ntw"},
		{"?previous=true", 400, `previous terminated container "c" in pod "p" not found`},
		{"?tailLines=x", 400, "tailLines"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			code, body := n.get(t, n.admin, "/containerLogs/ns/p/c"+c.query)
			if code != c.code || !strings.Contains(body, c.want) {
				t.Errorf("%d %q, want %d %q", code, body, c.code, c.want)
			}
		})
	}
	code, body := n.get(t, n.admin, "/containerLogs/ns/p/c?timestamps=true&tailLines=1")
	if code != 200 || !strings.HasSuffix(body, " three\n") {
		t.Fatalf("timestamps: %d %q", code, body)
	}
	if _, err := time.Parse(crilog.TimestampFormat, strings.Fields(body)[0]); err != nil {
		t.Errorf("timestamp %q: %v", body, err)
	}
	if code, body := n.get(t, n.admin, "/containerLogs/ns/p/nope"); code != 404 || !strings.Contains(body, `container "nope" not found in pod "p"`) {
		t.Errorf("unknown container: %d %q", code, body)
	}
	if code, body := n.get(t, n.viewer, "/containerLogs/ns/p/c"); code != 403 || !strings.Contains(body, "Forbidden (user=viewer, verb=get, resource=nodes, subresource=proxy)") {
		t.Errorf("viewer: %d %q", code, body)
	}
}

func TestFollowLogs(t *testing.T) {
	n := startNode(t)
	tr, err := rest.TransportFor(n.admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", n.url+"/containerLogs/ns/p/c?follow=true&tailLines=1", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	got := ""
	read := func(want string) {
		t.Helper()
		for !strings.HasSuffix(got, want) {
			k, err := resp.Body.Read(buf)
			if err != nil {
				t.Fatalf("after %q: %v", got, err)
			}
			got += string(buf[:k])
		}
	}
	read("three\n")
	// The test appends to the container's log file as the runtime would.
	path := filepath.Join(n.logDir, "ns_p_uid-1", "c", "0.log")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(crilog.Append(nil, crilog.Line{Time: time.Now(), Stream: crilog.Stdout, Msg: []byte("four")}))
	f.Close()
	read("four\n")
	if got != "three\nfour\n" {
		t.Errorf("followed %q", got)
	}
}

func TestStatsPodsHealthz(t *testing.T) {
	n := startNode(t)
	code, body := n.get(t, n.admin, "/healthz")
	if code != 200 || body != "ok" {
		t.Errorf("healthz: %d %q", code, body)
	}
	code, body = n.get(t, n.admin, "/pods")
	var list corev1.PodList
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Items) != 1 || list.Items[0].Name != "p" {
		t.Errorf("pods: %d %v %q", code, err, body)
	}
	code, body = n.get(t, n.admin, "/stats/summary")
	var sum statsv1alpha1.Summary
	if err := json.Unmarshal([]byte(body), &sum); code != 200 || err != nil || sum.Node.NodeName != "n1" || len(sum.Pods) != 1 ||
		sum.Pods[0].PodRef.Name != "p" || len(sum.Pods[0].Containers) != 1 || sum.Pods[0].Containers[0].Memory == nil {
		t.Errorf("summary: %d %v %q", code, err, body)
	}
	if code, body := n.get(t, n.viewer, "/stats/summary"); code != 403 || !strings.Contains(body, "subresource=stats") {
		t.Errorf("viewer stats: %d %q", code, body)
	}
	if code, _ := n.get(t, n.admin, "/nope"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
}

func TestClientCertificateRequired(t *testing.T) {
	n := startNode(t)
	cfg := rest.CopyConfig(n.admin)
	cfg.CertData, cfg.KeyData = nil, nil
	tr, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(n.url + "/healthz"); err == nil {
		t.Error("a client without a certificate was served")
	}
}

func TestShutdownEndsSessions(t *testing.T) {
	n := startNode(t)
	for proto, ex := range executors(t, n.admin, execURL(n, "command=sleep&command=600&stdout=1")) {
		if proto == "websocket v4" {
			continue
		}
		t.Run(proto, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				done <- ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard})
			}()
			time.Sleep(100 * time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("sleep 600 ended early: %v", err)
			default:
			}
			n.stop()
			select {
			case err := <-done:
				// The fake's sleep reports a kill as 137.
				var code exec.CodeExitError
				if !errors.As(err, &code) || code.Code != 137 {
					t.Errorf("session ended with %v, want exit code 137", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the session outlived the server")
			}
		})
		break // the server is stopped now
	}
}

func TestMain(m *testing.M) {
	// client-go reports forwarding errors through klog; the tests check them themselves.
	klog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
