package apiserver

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestKubeletHost(t *testing.T) {
	addr := func(typ corev1.NodeAddressType, a string) corev1.NodeAddress {
		return corev1.NodeAddress{Type: typ, Address: a}
	}
	node := func(port int32, addrs ...corev1.NodeAddress) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
		n.Status.Addresses = addrs
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
		return n
	}
	cases := []struct {
		name     string
		node     *corev1.Node
		pref     []corev1.NodeAddressType
		want     string
		wantCode int32
		wantMsg  string
	}{
		{name: "internal IP first", node: node(10250, addr(corev1.NodeHostName, "n1"), addr(corev1.NodeExternalIP, "203.0.113.1"), addr(corev1.NodeInternalIP, "10.0.0.5")), want: "10.0.0.5:10250"},
		{name: "hostname without an internal IP", node: node(10250, addr(corev1.NodeExternalIP, "203.0.113.1"), addr(corev1.NodeHostName, "n1")), want: "n1:10250"},
		{name: "external IP last", node: node(10250, addr(corev1.NodeExternalIP, "203.0.113.1")), want: "203.0.113.1:10250"},
		{name: "IPv6", node: node(10251, addr(corev1.NodeInternalIP, "fd00::5")), want: "[fd00::5]:10251"},
		{name: "the first of a type", node: node(10250, addr(corev1.NodeInternalIP, "10.0.0.5"), addr(corev1.NodeInternalIP, "10.0.0.6")), want: "10.0.0.5:10250"},
		{name: "preference given", node: node(10250, addr(corev1.NodeInternalIP, "10.0.0.5"), addr(corev1.NodeHostName, "n1")), pref: []corev1.NodeAddressType{corev1.NodeHostName}, want: "n1:10250"},
		{name: "simulated node: no port", node: node(0, addr(corev1.NodeInternalIP, "172.16.0.1")), wantCode: 503, wantMsg: "node n1 has no kubelet endpoint"},
		{name: "no address", node: node(10250), wantCode: 500, wantMsg: "no preferred addresses found"},
		{name: "empty address", node: node(10250, addr(corev1.NodeInternalIP, "")), wantCode: 500, wantMsg: "no preferred addresses found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pref := c.pref
			if pref == nil {
				pref = DefaultPreferredAddressTypes
			}
			got, err := kubeletHost(c.node, pref)
			if c.wantCode != 0 {
				if code := errorStatus(err).Code; code != c.wantCode || !strings.Contains(err.Error(), c.wantMsg) {
					t.Fatalf("err = %d %v, want %d %q", code, err, c.wantCode, c.wantMsg)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestContainerResolution(t *testing.T) {
	pod := func(containers, inits []string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		}
		for _, c := range inits {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: c})
		}
		return p
	}
	cases := []struct {
		name      string
		pod       *corev1.Pod
		container string
		want      string
		logMsg    string
		streamMsg string
	}{
		{name: "the only container", pod: pod([]string{"c"}, nil), want: "c"},
		{name: "named", pod: pod([]string{"a", "b"}, nil), container: "b", want: "b"},
		{name: "an init container", pod: pod([]string{"a"}, []string{"init"}), container: "init", want: "init"},
		{name: "unknown", pod: pod([]string{"a"}, nil), container: "x",
			logMsg: "container x is not valid for pod p", streamMsg: "container x is not valid for pod p"},
		{name: "ambiguous", pod: pod([]string{"a", "b"}, []string{"i"}),
			logMsg:    "a container name must be specified for pod p, choose one of: [a b i]",
			streamMsg: "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [i]"},
		{name: "no containers", pod: pod(nil, nil),
			logMsg: "a container name must be specified for pod p", streamMsg: "a container name must be specified for pod p"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for kind, f := range map[string]func(*corev1.Pod, string) (string, error){"log": logContainer, "stream": streamContainer} {
				got, err := f(c.pod, c.container)
				want := c.logMsg
				if kind == "stream" {
					want = c.streamMsg
				}
				if want != "" {
					if !apierrors.IsBadRequest(err) || err.Error() != want {
						t.Errorf("%s: err = %v, want 400 %q", kind, err, want)
					}
					continue
				}
				if err != nil || got != c.want {
					t.Errorf("%s: got %q, %v; want %q", kind, got, err, c.want)
				}
			}
		})
	}
}

func TestPodLogQuery(t *testing.T) {
	cases := []struct {
		in       string
		want     string
		skip     bool
		wantCode int32
		wantMsg  string
	}{
		{in: "container=c&follow=true&tailLines=5&timestamps=true", want: "follow=true&tailLines=5&timestamps=true"},
		{in: "previous=1&limitBytes=100&sinceSeconds=60", want: "limitBytes=100&previous=true&sinceSeconds=60"},
		{in: "follow=false&sinceTime=2026-11-26T11:00:00%2B01:00", want: "sinceTime=2026-11-26T10%3A00%3A00Z"},
		{in: "insecureSkipTLSVerifyBackend=true", want: "", skip: true},
		{in: "tailLines=-1", wantCode: 422, wantMsg: `PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0`},
		{in: "limitBytes=0", wantCode: 422, wantMsg: "limitBytes: Invalid value: 0: must be greater than 0"},
		{in: "sinceSeconds=10&sinceTime=2026-11-26T10:00:00Z", wantCode: 422, wantMsg: "sinceSeconds: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"},
		{in: "tailLines=ten", wantCode: 400, wantMsg: "tailLines"},
		{in: "follow=often", wantCode: 400, wantMsg: "follow"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			q, _ := url.ParseQuery(c.in)
			got, skip, err := podLogQuery("p", q)
			if c.wantCode != 0 {
				if code := errorStatus(err).Code; code != c.wantCode || !strings.Contains(err.Error(), c.wantMsg) {
					t.Fatalf("err = %d %v, want %d %q", code, err, c.wantCode, c.wantMsg)
				}
				return
			}
			if err != nil || got.Encode() != c.want || skip != c.skip {
				t.Fatalf("got %q %v %v, want %q %v", got.Encode(), skip, err, c.want, c.skip)
			}
		})
	}
}

func TestExecQuery(t *testing.T) {
	q, _ := url.ParseQuery("command=echo&command=a+b&container=c&stdin=true&stdout=true&stderr=false&tty=0")
	got, err := execQuery(q, true)
	if err != nil || got.Encode() != "command=echo&command=a+b&stdin=1&stdout=1" {
		t.Errorf("exec: %q %v", got.Encode(), err)
	}
	got, err = execQuery(q, false)
	if err != nil || got.Encode() != "stdin=1&stdout=1" {
		t.Errorf("attach: %q %v", got.Encode(), err)
	}
	q, _ = url.ParseQuery("stdout=yes please")
	if _, err := execQuery(q, true); !apierrors.IsBadRequest(err) {
		t.Errorf("bad flag: %v", err)
	}
}

func TestKubeletError(t *testing.T) {
	resp := func(code int, body string) *http.Response {
		return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader(body))}
	}
	gr := schema.GroupResource{Resource: "pods/log"}
	cases := []struct {
		name     string
		resp     *http.Response
		wantCode int32
		wantMsg  string
	}{
		{"text 400", resp(400, "container \"c\" in pod \"p\" is waiting to start: ContainerCreating\n"), 400, `container "c" in pod "p" is waiting to start: ContainerCreating`},
		{"text 404", resp(404, "container \"x\" not found in pod \"p\"\n"), 404, `container "x" not found in pod "p"`},
		{"text 403", resp(403, "Forbidden (user=u, verb=get, resource=nodes, subresource=proxy)\n"), 403, "Forbidden (user=u"},
		{"text 500", resp(500, "boom"), 500, "boom"},
		{"status", resp(400, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"attach is not supported yet","reason":"BadRequest","code":400}`), 400, "attach is not supported yet"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := kubeletError(c.resp, gr, "p")
			if st := errorStatus(err); st.Code != c.wantCode || !strings.Contains(st.Message, c.wantMsg) {
				t.Errorf("got %d %q, want %d %q", st.Code, st.Message, c.wantCode, c.wantMsg)
			}
		})
	}
}
