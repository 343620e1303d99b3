package streaming

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	portforwardconst "k8s.io/apimachinery/pkg/util/portforward"
	"k8s.io/client-go/tools/portforward"
)

// servePortForward serves /portForward/{namespace}/{pod}: SPDY/3.1 with the
// portforward.k8s.io protocol, or the same SPDY connection tunnelled in WebSocket binary
// messages (subprotocol SPDY/3.1+portforward.k8s.io). Each forwarded connection is a pair of
// streams opened by the client, data and error, with the same requestID and port headers.
func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	parts, ok := pathParts(r.URL.Path, "/portForward/", 2)
	if !ok {
		writeStatus(w, apierrors.NewBadRequest("the path must be /portForward/{namespace}/{pod}"))
		return
	}
	if !httpstream.IsUpgradeRequest(r) {
		writeStatus(w, apierrors.NewBadRequest("Upgrade request required"))
		return
	}
	pod, ok := s.cfg.Pods.GetPod(parts[0], parts[1])
	if !ok {
		writeStatus(w, apierrors.NewNotFound(podsResource, parts[1]))
		return
	}
	pf := &portForwarder{s: s, pod: pod, streams: make(chan httpstream.Stream, 16), stop: make(chan struct{})}
	var conn httpstream.Connection
	if isWebSocket(r) {
		conn = pf.openTunnel(w, r)
	} else {
		if _, err := httpstream.Handshake(r, w, []string{portforwardconst.PortForwardV1Name}); err != nil {
			return // Handshake answered
		}
		conn = spdy.NewResponseUpgrader().UpgradeResponse(w, r, pf.newStream)
	}
	if conn == nil {
		return
	}
	defer conn.Close()
	conn.SetIdleTimeout(s.cfg.StreamIdleTimeout)
	pf.run(r.Context(), conn)
}

// openTunnel upgrades to WebSocket and runs a SPDY server connection inside it.
func (pf *portForwarder) openTunnel(w http.ResponseWriter, r *http.Request) httpstream.Connection {
	const proto = portforwardconst.WebsocketsSPDYTunnelingPortForwardV1
	if !slices.Contains(websocket.Subprotocols(r), proto) {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("port forwarding over WebSocket needs the subprotocol %s", proto)))
		return nil
	}
	up := websocket.Upgrader{Subprotocols: []string{proto}, CheckOrigin: func(*http.Request) bool { return true },
		ReadBufferSize: 32 << 10, WriteBufferSize: 32 << 10}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil
	}
	conn, err := spdy.NewServerConnection(portforward.NewTunnelingConnection("kubelet", ws), pf.newStream)
	if err != nil {
		ws.Close()
		return nil
	}
	return conn
}

type portForwarder struct {
	s       *Server
	pod     *corev1.Pod
	streams chan httpstream.Stream
	stop    chan struct{}
}

// pfPair is one forwarded connection's streams, as they arrive.
type pfPair struct {
	data, errStream httpstream.Stream
	created         time.Time
}

// newStream accepts a stream whose headers are well formed, as upstream's kubelet checks them.
func (pf *portForwarder) newStream(st httpstream.Stream, _ <-chan struct{}) error {
	h := st.Headers()
	switch h.Get(corev1.StreamType) {
	case corev1.StreamTypeData, corev1.StreamTypeError:
	default:
		return fmt.Errorf("invalid stream type %q", h.Get(corev1.StreamType))
	}
	portString := h.Get(corev1.PortHeader)
	if portString == "" {
		return fmt.Errorf("%q header is required", corev1.PortHeader)
	}
	port, err := strconv.ParseUint(portString, 10, 16)
	if err != nil {
		return fmt.Errorf("unable to parse %q as a port: %v", portString, err)
	}
	if port < 1 {
		return fmt.Errorf("port %q must be > 0", portString)
	}
	select {
	case pf.streams <- st:
		return nil
	case <-pf.stop:
		return fmt.Errorf("connection closing")
	}
}

// requestID pairs a stream with its partner. Clients older than the requestID header open a
// connection's error and data streams back to back, so their stream IDs differ by 2.
func requestID(st httpstream.Stream) string {
	if id := st.Headers().Get(corev1.PortForwardRequestIDHeader); id != "" {
		return id
	}
	id := int(st.Identifier())
	if st.Headers().Get(corev1.StreamType) == corev1.StreamTypeData {
		id -= 2
	}
	return "stream-" + strconv.Itoa(id)
}

// run pairs streams and forwards each pair until the connection closes or ctx (the server)
// ends.
func (pf *portForwarder) run(ctx context.Context, conn httpstream.Connection) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer close(pf.stop)
	pairs := map[string]*pfPair{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-conn.CloseChan():
			return
		case <-ctx.Done():
			return
		case st := <-pf.streams:
			id := requestID(st)
			p := pairs[id]
			if p == nil {
				p = &pfPair{created: time.Now()}
				pairs[id] = p
			}
			if st.Headers().Get(corev1.StreamType) == corev1.StreamTypeData {
				p.data = st
			} else {
				p.errStream = st
			}
			if p.data != nil && p.errStream != nil {
				delete(pairs, id)
				go pf.forward(ctx, conn, p)
			}
		case now := <-tick.C:
			for id, p := range pairs {
				if now.Sub(p.created) < pf.s.cfg.StreamCreationTimeout {
					continue
				}
				delete(pairs, id)
				if p.errStream != nil {
					_, _ = fmt.Fprintf(p.errStream, "timed out waiting for the data stream of request %s", id)
				}
				for _, st := range []httpstream.Stream{p.data, p.errStream} {
					if st != nil {
						st.Reset()
					}
				}
			}
		}
	}
}

// forward connects a pair's data stream to its port in the pod, reporting a failure on its
// error stream.
func (pf *portForwarder) forward(ctx context.Context, conn httpstream.Connection, p *pfPair) {
	defer conn.RemoveStreams(p.data, p.errStream)
	defer p.errStream.Close()
	port, _ := strconv.ParseUint(p.data.Headers().Get(corev1.PortHeader), 10, 16)
	err := pf.s.cfg.Runtime.PortForward(ctx, pf.pod.UID, int32(port), p.data)
	p.data.Close()
	if err != nil && ctx.Err() == nil {
		msg := fmt.Sprintf("error forwarding port %d to pod %s, uid %v: %v", port, pf.pod.Name, pf.pod.UID, err)
		pf.s.cfg.Log.Info("port forward failed", "pod", pf.pod.Namespace+"/"+pf.pod.Name, "port", port, "err", err)
		_, _ = p.errStream.Write([]byte(msg))
	}
}
