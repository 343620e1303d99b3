package apiserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-project/skiff/internal/registry"
)

// KubeletClient is how the server reaches nodes' kubelets (their streaming servers) to proxy
// pods/log, pods/exec, pods/attach, pods/portforward and nodes/proxy.
type KubeletClient struct {
	// TLS verifies the kubelets' serving certificates (RootCAs: the cluster CA) and presents the
	// server's kubelet-client certificate.
	TLS *tls.Config
	// PreferredAddressTypes orders a Node's status.addresses; the default is
	// DefaultPreferredAddressTypes.
	PreferredAddressTypes []corev1.NodeAddressType
	// DialTimeout bounds connecting to a kubelet (default 10s).
	DialTimeout time.Duration
}

// DefaultPreferredAddressTypes is the order in which a Node's addresses are tried: the
// cluster's own network first.
var DefaultPreferredAddressTypes = []corev1.NodeAddressType{
	corev1.NodeInternalIP, corev1.NodeInternalDNS, corev1.NodeHostName, corev1.NodeExternalIP, corev1.NodeExternalDNS,
}

// kubeletProxy holds the transports to kubelets.
type kubeletProxy struct {
	cfg KubeletClient
	// transport verifies the kubelet's certificate; insecure does not (for pods/log's
	// insecureSkipTLSVerifyBackend). Both present the client certificate and speak HTTP/1.1,
	// which upgrades need.
	transport, insecure *http.Transport
}

func newKubeletProxy(cfg KubeletClient) *kubeletProxy {
	if len(cfg.PreferredAddressTypes) == 0 {
		cfg.PreferredAddressTypes = DefaultPreferredAddressTypes
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	mk := func(skipVerify bool) *http.Transport {
		tc := cfg.TLS.Clone()
		tc.InsecureSkipVerify = skipVerify
		tc.NextProtos = []string{"http/1.1"}
		d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
		return &http.Transport{
			DialContext:           d.DialContext,
			TLSClientConfig:       tc,
			TLSHandshakeTimeout:   cfg.DialTimeout,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: time.Minute,
		}
	}
	return &kubeletProxy{cfg: cfg, transport: mk(false), insecure: mk(true)}
}

// kubeletHost returns host:port of the node's kubelet: the first of its addresses in the
// preferred order, and its daemonEndpoints' kubelet port. A node without a port serves no
// streams (simulated nodes).
func kubeletHost(node *corev1.Node, preferred []corev1.NodeAddressType) (string, error) {
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if port <= 0 {
		return "", apierrors.NewServiceUnavailable(fmt.Sprintf("node %s has no kubelet endpoint (status.daemonEndpoints.kubeletEndpoint.port is %d): its pods' logs, exec and port forwarding are not served (simulated nodes serve none)", node.Name, port))
	}
	for _, typ := range preferred {
		for _, a := range node.Status.Addresses {
			if a.Type == typ && a.Address != "" {
				return net.JoinHostPort(a.Address, strconv.Itoa(int(port))), nil
			}
		}
	}
	return "", apierrors.NewInternalError(fmt.Errorf("node %s: no preferred addresses found; known addresses: %v", node.Name, node.Status.Addresses))
}

var (
	podsResource  = schema.GroupResource{Resource: "pods"}
	nodesResource = schema.GroupResource{Resource: "nodes"}
	podLogKind    = schema.GroupKind{Kind: "PodLogOptions"}
)

// containerNames lists the pod's containers: regular, init and ephemeral.
func containerNames(pod *corev1.Pod) []string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	return names
}

// logContainer resolves pods/log's container parameter, as upstream: the only container when
// none is named, and a named one must exist.
func logContainer(pod *corev1.Pod, container string) (string, error) {
	if container != "" {
		if !slices.Contains(containerNames(pod), container) {
			return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
		}
		return container, nil
	}
	switch len(pod.Spec.Containers) {
	case 1:
		return pod.Spec.Containers[0].Name, nil
	case 0:
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s", pod.Name, containerNames(pod)))
}

// streamContainer resolves exec's and attach's container parameter, as upstream words it.
func streamContainer(pod *corev1.Pod, container string) (string, error) {
	if container != "" {
		if !slices.Contains(containerNames(pod), container) {
			return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod.Name))
		}
		return container, nil
	}
	switch len(pod.Spec.Containers) {
	case 1:
		return pod.Spec.Containers[0].Name, nil
	case 0:
		return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s", pod.Name))
	}
	var names, inits []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " "))
	if len(inits) > 0 {
		msg += fmt.Sprintf(" or one of the init containers: [%s]", strings.Join(inits, " "))
	}
	return "", apierrors.NewBadRequest(msg)
}

// podLogQuery validates pods/log's options and returns the kubelet's query for them.
func podLogQuery(pod string, q url.Values) (url.Values, bool, error) {
	out := url.Values{}
	var errs field.ErrorList
	for _, name := range []string{"follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, false, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q: %v", name, v, err))
		}
		if b && name != "insecureSkipTLSVerifyBackend" {
			out.Set(name, "true")
		}
	}
	for _, p := range []struct {
		name string
		min  int64
		msg  string
	}{
		{"tailLines", 0, "must be greater than or equal to 0"},
		{"limitBytes", 1, "must be greater than 0"},
		{"sinceSeconds", 1, "must be greater than 0"},
	} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q: %v", p.name, v, err))
		}
		if n < p.min {
			errs = append(errs, field.Invalid(field.NewPath(p.name), n, p.msg))
			continue
		}
		out.Set(p.name, strconv.FormatInt(n, 10))
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, false, apierrors.NewBadRequest(fmt.Sprintf("sinceTime: invalid value %q: %v", v, err))
		}
		if q.Get("sinceSeconds") != "" {
			errs = append(errs, field.Forbidden(field.NewPath("sinceSeconds"), "at most one of `sinceTime` or `sinceSeconds` may be specified"))
		}
		out.Set("sinceTime", t.UTC().Format(time.RFC3339))
	}
	if len(errs) > 0 {
		return nil, false, apierrors.NewInvalid(podLogKind, pod, errs)
	}
	skip, _ := strconv.ParseBool(q.Get("insecureSkipTLSVerifyBackend"))
	return out, skip, nil
}

// execQuery returns the kubelet's query for exec or attach: the commands and the stream flags
// written as "1", as upstream's API server writes them.
func execQuery(q url.Values, withCommand bool) (url.Values, error) {
	out := url.Values{}
	if withCommand {
		for _, c := range q["command"] {
			out.Add("command", c)
		}
	}
	for _, name := range []string{"stdin", "stdout", "stderr", "tty"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s: invalid value %q: %v", name, v, err))
		}
		if b {
			out.Set(name, "1")
		}
	}
	return out, nil
}

// serveKubeletSubresource serves the subresources a kubelet answers. Without a KubeletClient,
// or for pods/proxy and services/proxy (which go to the pod, not its node), the server answers
// 503 after upstream's check for an unscheduled pod.
func (s *Server) serveKubeletSubresource(w http.ResponseWriter, r *http.Request, req *request) {
	plural, sub := req.res.Plural, req.ri.Subresource
	if s.kubelet != nil && req.res.GVK.Group == "" {
		switch {
		case plural == "pods" && sub == "log":
			s.podLog(w, r, req)
			return
		case plural == "pods" && (sub == "exec" || sub == "attach" || sub == "portforward"):
			s.podConnect(w, r, req)
			return
		case plural == "nodes" && sub == "proxy":
			s.nodeProxy(w, r, req)
			return
		}
	}
	obj, err := req.store.Get(r.Context(), req.ri.Namespace, req.ri.Name, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName == "" {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	s.writeError(w, r, apierrors.NewServiceUnavailable(fmt.Sprintf("%s/%s is not served by this server", plural, sub)))
}

// scheduledPod returns the addressed pod, which must be bound to a node.
func (s *Server) scheduledPod(ctx context.Context, req *request) (*corev1.Pod, error) {
	obj, err := req.store.Get(ctx, req.ri.Namespace, req.ri.Name, "")
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	return pod, nil
}

// nodeKubelet returns host:port of the kubelet of the named node.
func (s *Server) nodeKubelet(ctx context.Context, name string) (string, error) {
	store := s.reg.Store(corev1.SchemeGroupVersion.WithResource("nodes"))
	if store == nil {
		return "", apierrors.NewServiceUnavailable("nodes are not served")
	}
	obj, err := store.Get(ctx, "", name, "")
	if err != nil {
		return "", err
	}
	return kubeletHost(obj.(*corev1.Node), s.kubelet.cfg.PreferredAddressTypes)
}

// podLog serves pods/log: the kubelet's containerLogs, streamed and flushed as it comes.
func (s *Server) podLog(w http.ResponseWriter, r *http.Request, req *request) {
	if req.ri.Verb != "get" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/log"}, req.ri.Verb))
		return
	}
	ctx := r.Context()
	pod, err := s.scheduledPod(ctx, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	query, skipVerify, err := podLogQuery(pod.Name, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	container, err := logContainer(pod, q.Get("container"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	host, err := s.nodeKubelet(ctx, pod.Spec.NodeName)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u := url.URL{Scheme: "https", Host: host, Path: fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, container), RawQuery: query.Encode()}
	out, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		s.writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	tr := s.kubelet.transport
	if skipVerify {
		tr = s.kubelet.insecure
	}
	resp, err := tr.RoundTrip(out)
	if err != nil {
		s.writeError(w, r, unreachable(pod.Spec.NodeName, host, err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.writeError(w, r, kubeletError(resp, schema.GroupResource{Resource: "pods/log"}, pod.Name))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// unreachable is the error for a kubelet that could not be reached.
func unreachable(node, host string, err error) error {
	return apierrors.NewServiceUnavailable(fmt.Sprintf("error dialing backend: the kubelet of node %s at %s is unreachable: %v", node, host, err))
}

// kubeletError turns a kubelet's error response into a Status: its own Status if it sent one,
// else its text with its code, as upstream's response checker does.
func kubeletError(resp *http.Response, gr schema.GroupResource, name string) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Code != 0 {
		return &apierrors.StatusError{ErrStatus: st}
	}
	text := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusInternalServerError:
		return apierrors.NewInternalError(errors.New(text))
	case http.StatusBadRequest:
		return apierrors.NewBadRequest(text)
	case http.StatusNotFound:
		// Upstream's checker keeps the kubelet's text only as a cause, behind "the server could
		// not find the requested resource"; the text says more.
		return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
			Reason: metav1.StatusReasonNotFound, Message: text}}
	}
	return apierrors.NewGenericServerResponse(resp.StatusCode, "", gr, name, text, 0, false)
}

// podConnect serves pods/exec, pods/attach and pods/portforward: the upgrade request goes to
// the kubelet, and its 101 answer (or error) back to the client, which then speaks with the
// kubelet through this server.
func (s *Server) podConnect(w http.ResponseWriter, r *http.Request, req *request) {
	sub := req.ri.Subresource
	if req.ri.Verb != "get" && req.ri.Verb != "create" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/" + sub}, req.ri.Verb))
		return
	}
	ctx := r.Context()
	if req.ri.Verb == "get" {
		// A WebSocket upgrade is a GET, authorized as get; connecting is create, which upstream
		// checks here too (AuthorizePodWebsocketUpgradeCreatePermission, on since 1.35).
		if err := s.authorizeConnect(r, req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	pod, err := s.scheduledPod(ctx, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	var path string
	var query url.Values
	switch sub {
	case "exec", "attach":
		container, err := streamContainer(pod, q.Get("container"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if query, err = execQuery(q, sub == "exec"); err != nil {
			s.writeError(w, r, err)
			return
		}
		path = fmt.Sprintf("/%s/%s/%s/%s", sub, pod.Namespace, pod.Name, container)
	default:
		path = fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name)
		query = url.Values{}
		for _, p := range q["ports"] {
			query.Add("port", p)
		}
	}
	host, err := s.nodeKubelet(ctx, pod.Spec.NodeName)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.proxyToKubelet(w, r, pod.Spec.NodeName, &url.URL{Scheme: "https", Host: host, Path: path, RawQuery: query.Encode()})
}

// authorizeConnect checks that the caller may create the subresource, for a GET upgrade.
func (s *Server) authorizeConnect(r *http.Request, req *request) error {
	if s.cfg.Authorizer == nil {
		return nil
	}
	u, ok := registry.UserFrom(r.Context())
	if !ok {
		return nil
	}
	a := attributesOf(r, req.ri, User{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra})
	a.Verb = "create"
	allowed, reason, err := s.cfg.Authorizer.Authorize(r.Context(), a)
	if err != nil && reason == "" {
		reason = err.Error()
	}
	if allowed {
		return nil
	}
	if reason == "" {
		// Upstream passes the authorizer's reason alone, which RBAC leaves empty; say what was
		// refused instead.
		reason = fmt.Sprintf("User %q cannot create resource %q in API group %q in the namespace %q", u.Name, req.ri.Resource+"/"+req.ri.Subresource, req.ri.Group, req.ri.Namespace)
	}
	return apierrors.NewForbidden(podsResource, req.ri.Name, errors.New(reason))
}

// nodeProxy serves nodes/{name}/proxy/{path}: the kubelet's {path}, upgrades included.
func (s *Server) nodeProxy(w http.ResponseWriter, r *http.Request, req *request) {
	ctx := r.Context()
	if _, err := req.store.Get(ctx, "", req.ri.Name, ""); err != nil {
		s.writeError(w, r, err)
		return
	}
	host, err := s.nodeKubelet(ctx, req.ri.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rest := "/"
	if len(req.ri.Parts) > 3 {
		rest = "/" + strings.Join(req.ri.Parts[3:], "/")
		if strings.HasSuffix(r.URL.Path, "/") && rest != "/" {
			rest += "/"
		}
	}
	s.proxyToKubelet(w, r, req.ri.Name, &url.URL{Scheme: "https", Host: host, Path: rest, RawQuery: r.URL.RawQuery})
}

// proxyToKubelet forwards the request to target and the answer back, splicing the two
// connections after a 101 Switching Protocols. The client's credentials stay here: the kubelet
// sees the server's client certificate. Shutting the server down ends proxied streams.
func (s *Server) proxyToKubelet(w http.ResponseWriter, r *http.Request, node string, target *url.URL) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
			for k := range pr.Out.Header {
				if k == "Authorization" || k == "Cookie" || strings.HasPrefix(k, "Impersonate-") {
					pr.Out.Header.Del(k)
				}
			}
		},
		Transport:     s.kubelet.transport,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if ctx.Err() != nil {
				return // the client went away, or the server is shutting down
			}
			s.writeError(w, r, unreachable(node, target.Host, err))
		},
	}
	rp.ServeHTTP(w, r.WithContext(ctx))
}
