package integration

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// do sends a request as cluster-admin and returns the status, headers and body.
func do(t *testing.T, method, path, contentType, accept string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	rt, err := rest.TransportFor(shared.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, shared.URL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func status(t *testing.T, b []byte) metav1.Status {
	t.Helper()
	var s metav1.Status
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("not a Status: %s", b)
	}
	return s
}

func TestDiscovery(t *testing.T) {
	code, h, body := do(t, "GET", "/apis", "", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", nil)
	if code != 200 || h.Get("Content-Type") != "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" || !bytes.Contains(body, []byte(`"apps"`)) {
		t.Fatalf("aggregated /apis: %d %q", code, h.Get("Content-Type"))
	}
	code, h, _ = do(t, "GET", "/apis", "", "application/json", nil)
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("legacy /apis: %d %q", code, h.Get("Content-Type"))
	}
	dc, err := discovery.NewDiscoveryClientForConfig(shared.Config)
	if err != nil {
		t.Fatal(err)
	}
	groups, resources, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) < 10 {
		t.Fatalf("%d groups", len(groups))
	}
	found := map[string]bool{}
	for _, list := range resources {
		for _, r := range list.APIResources {
			switch {
			case list.GroupVersion == "apps/v1" && r.Name == "deployments/scale":
				found["scale"] = r.Group == "autoscaling" && r.Version == "v1" && r.Kind == "Scale"
			case list.GroupVersion == "v1" && r.Name == "pods":
				found["pods"] = strings.Join(r.ShortNames, ",") == "po" && strings.Join(r.Categories, ",") == "all" && r.Namespaced
			case list.GroupVersion == "v1" && r.Name == "pods/status":
				found["pods/status"] = r.Kind == "Pod"
			}
		}
	}
	if !found["scale"] || !found["pods"] || !found["pods/status"] {
		t.Fatalf("discovery content: %v", found)
	}
}

func TestFieldValidation(t *testing.T) {
	ns := namespace(t)
	path := "/api/v1/namespaces/" + ns + "/configmaps"
	body := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict"},"foo":1,"data":{"a":"b"}}`)
	code, _, b := do(t, "POST", path+"?fieldValidation=Strict", "application/json", "", body)
	if s := status(t, b); code != 400 || s.Message != `ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "foo"` {
		t.Fatalf("strict: %d %s", code, b)
	}
	code, h, _ := do(t, "POST", path+"?fieldValidation=Warn", "application/json", "", body)
	if code != 201 || h.Get("Warning") != `299 - "unknown field \"foo\""` {
		t.Fatalf("warn: %d %q", code, h.Get("Warning"))
	}
	code, _, b = do(t, "POST", path, "application/json", "", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":`))
	if code != 400 || status(t, b).Reason != metav1.StatusReasonBadRequest {
		t.Fatalf("malformed JSON: %d %s", code, b)
	}
	code, _, b = do(t, "POST", path, "application/json", "", []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}`))
	if code != 400 || !strings.Contains(status(t, b).Message, "does not match the expected API version") {
		t.Fatalf("wrong kind: %d %s", code, b)
	}
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 3<<20) + `"}}`
	code, _, b = do(t, "POST", path, "application/json", "", []byte(big))
	if code != 413 {
		t.Fatalf("oversized body: %d %s", code, b[:100])
	}
	code, _, b = do(t, "POST", path, "text/plain", "", []byte("hello"))
	if code != 415 {
		t.Fatalf("unknown content type: %d %s", code, b)
	}
	// Nothing above was stored except the Warn create.
	list, _ := client().CoreV1().ConfigMaps(ns).List(ctxT(t), metav1.ListOptions{})
	if len(list.Items) != 1 || list.Items[0].Name != "strict" {
		t.Fatalf("stored after bad requests: %d items", len(list.Items))
	}
}

func TestProtobufBodiesAndResponses(t *testing.T) {
	ns := namespace(t)
	pb := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Name: "pb"}, Data: map[string]string{"k": "v"}}
	var buf bytes.Buffer
	if err := pb.Encode(cm, &buf); err != nil {
		t.Fatal(err)
	}
	code, h, b := do(t, "POST", "/api/v1/namespaces/"+ns+"/configmaps", "application/vnd.kubernetes.protobuf", "application/vnd.kubernetes.protobuf", buf.Bytes())
	if code != 201 || h.Get("Content-Type") != "application/vnd.kubernetes.protobuf" {
		t.Fatalf("protobuf create: %d %q %s", code, h.Get("Content-Type"), b)
	}
	obj, _, err := pb.Decode(b, nil, &corev1.ConfigMap{})
	if err != nil || obj.(*corev1.ConfigMap).Data["k"] != "v" {
		t.Fatalf("protobuf response: %v", err)
	}
	code, _, b = do(t, "GET", "/api/v1/namespaces/"+ns+"/configmaps", "", "application/vnd.kubernetes.protobuf", nil)
	list, _, err := pb.Decode(b, nil, &corev1.ConfigMapList{})
	if code != 200 || err != nil || len(list.(*corev1.ConfigMapList).Items) != 1 {
		t.Fatalf("protobuf list: %d %v", code, err)
	}
	var _ runtime.Object = list
}

func TestHealthMetricsAndAnonymous(t *testing.T) {
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, p := range []string{"/healthz", "/livez", "/readyz", "/version"} {
		resp, err := anon.Get(shared.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s without credentials: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
	resp, err := anon.Get(shared.URL + "/readyz?verbose")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "[+]etcd ok") || !strings.Contains(string(b), "readyz check passed") {
		t.Fatalf("readyz?verbose: %s", b)
	}
	resp, err = anon.Get(shared.URL + "/api/v1/namespaces")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous list: %v %v", err, resp)
	}
	resp.Body.Close()
	code, _, body := do(t, "GET", "/metrics", "", "", nil)
	for _, m := range []string{"apiserver_request_total{", "apiserver_request_duration_seconds_bucket{", "apiserver_current_inflight_requests", "etcd_request_duration_seconds_bucket{"} {
		if code != 200 || !strings.Contains(string(body), m) {
			t.Fatalf("metrics lack %s", m)
		}
	}
}
