// Package streaming is the node's HTTPS server on port 10250, what upstream calls the kubelet
// server: the API server proxies `kubectl logs`, `exec`, `attach`, `port-forward` and
// nodes/proxy requests to it, and monitoring reads its stats. (Named for its main work; it also
// serves /stats/summary, /pods and /healthz.)
//
// # Building one
//
// The caller (the node agent) gives New a Config: the node's name, its kubelet.Runtime, a
// PodSource (the kubelet's pods by namespace/name), and an Authorizer; then calls Serve with a
// listener and a tls.Config from TLSConfig (the node's serving certificate, signed by the
// cluster CA through a kubernetes.io/kubelet-serving CSR, and the cluster CA to verify client
// certificates with). The Node must then report the server's port in
// status.daemonEndpoints.kubeletEndpoint.port, and an address its certificate names in
// status.addresses, for the API server to find it.
//
// # Who may call
//
// Every request must present a client certificate signed by the cluster CA (the TLS handshake
// refuses others). Its CN is the user and its O entries the groups, as the API server reads
// them. Each request is then authorized, as upstream's kubelet in webhook mode: the verb from
// the method (GET get, POST create, PUT update, PATCH patch, DELETE delete) on resource nodes,
// name the node, subresource stats for /stats/..., metrics for /metrics/..., log for /logs/...,
// and proxy for everything else; /pods and /healthz first try pods and healthz and fall back to
// proxy (upstream's fine-grained kubelet authorization). SubjectAccessReviewer is the usual
// Authorizer: it asks the API server with a SubjectAccessReview and caches the answers. The API
// server's own certificate (kube-apiserver-kubelet-client, group system:masters) passes through
// cluster-admin. Unlike upstream, exec, attach and portForward are always authorized as create,
// whatever the method, since a WebSocket upgrade is a GET: `get nodes/proxy` (read-only
// monitoring) must not run commands.
//
// # Endpoints
//
//	GET /containerLogs/{namespace}/{pod}/{container}   follow, previous, tailLines, sinceSeconds,
//	                                                   sinceTime, timestamps, limitBytes
//	    /exec/{namespace}/{pod}/{container}            command (repeated), stdin, stdout, stderr, tty
//	    /attach/{namespace}/{pod}/{container}          stdin, stdout, stderr, tty
//	    /portForward/{namespace}/{pod}                 ports in the streams' headers
//	GET /stats/summary                                 k8s.io/kubelet stats/v1alpha1 Summary
//	GET /pods                                          the node's pods, a v1 PodList
//	GET /healthz                                       "ok"
//
// Logs are read from the runtime's CRI log files (runtimes implementing LogPather) with
// internal/kubelet/crilog. Exec and attach speak the remote command protocols kubectl and
// client-go use: WebSocket (v5.channel.k8s.io, v4.channel.k8s.io, channel.k8s.io and their
// base64 variants) and SPDY/3.1 (v5, v4, v3 and v2.channel.k8s.io), with the exit status as a
// metav1.Status on the error channel and terminal sizes on the resize channel. Port forwarding
// speaks portforward.k8s.io over SPDY/3.1, directly or tunnelled in WebSocket binary messages
// (SPDY/3.1+portforward.k8s.io), which kubectl tries first.
//
// Attach connects to a running container's stdio through runtimes implementing Attacher (the
// linux runtime: the pod's shim holds every container's stdin and output). Input reaches the
// container only if its spec keeps stdin open (stdin: true); with stdinOnce, the end of the
// first attached input closes it. The session ends, with a Success status, when the container
// exits; a client that goes leaves the container running.
package streaming
