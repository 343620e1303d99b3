package streaming

import (
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/spdy"
	"k8s.io/apimachinery/pkg/util/remotecommand"
)

// spdyProtocols are the SPDY remote command protocols, most preferred first. kubectl offers
// v5 to v1 in X-Stream-Protocol-Version; over SPDY v5 is v4 (stdin's end is the stream's own
// half-close), and v1, which needs the streams' replies ordered, is not offered.
var spdyProtocols = []string{protoV5, protoV4, remotecommand.StreamProtocolV3Name, remotecommand.StreamProtocolV2Name}

// spdySession is a remote command over SPDY/3.1: one stream per channel, opened by the client.
type spdySession struct {
	conn                  httpstream.Connection
	jsonStatus            bool
	errStream             httpstream.Stream
	stdin, stdout, stderr httpstream.Stream
	resizeStream          httpstream.Stream
	sizes                 chan [2]uint16
	finished              chan struct{}
	gone                  chan struct{}
}

// openSPDY negotiates the protocol, upgrades, and waits for the client's streams.
func (s *Server) openSPDY(w http.ResponseWriter, r *http.Request, opts execOptions) (session, bool) {
	proto, err := httpstream.Handshake(r, w, spdyProtocols)
	if err != nil {
		return nil, false // Handshake answered
	}
	streams := make(chan httpstream.Stream, 8)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, _ <-chan struct{}) error {
		select {
		case streams <- st:
			return nil
		default:
			return fmt.Errorf("unexpected stream %q", st.Headers().Get(corev1.StreamType))
		}
	})
	if conn == nil {
		return nil, false // the upgrader answered
	}
	conn.SetIdleTimeout(s.cfg.StreamIdleTimeout)
	ss := &spdySession{conn: conn, jsonStatus: proto != remotecommand.StreamProtocolV2Name && proto != remotecommand.StreamProtocolV3Name,
		finished: make(chan struct{}), gone: make(chan struct{})}
	expected := 1 // the error stream
	for _, on := range []bool{opts.Stdin, opts.Stdout, opts.Stderr, opts.TTY && proto != remotecommand.StreamProtocolV2Name} {
		if on {
			expected++
		}
	}
	timeout := time.NewTimer(s.cfg.StreamCreationTimeout)
	defer timeout.Stop()
	for got := 0; got < expected; {
		select {
		case st := <-streams:
			switch st.Headers().Get(corev1.StreamType) {
			case corev1.StreamTypeError:
				ss.errStream = st
			case corev1.StreamTypeStdin:
				ss.stdin = st
			case corev1.StreamTypeStdout:
				ss.stdout = st
			case corev1.StreamTypeStderr:
				ss.stderr = st
			case corev1.StreamTypeResize:
				ss.resizeStream = st
			default:
				st.Reset()
				continue
			}
			got++
		case <-conn.CloseChan():
			return nil, false
		case <-timeout.C:
			s.cfg.Log.Warn("exec: timed out waiting for the client's streams", "path", r.URL.Path)
			conn.Close()
			return nil, false
		}
	}
	if ss.errStream == nil {
		conn.Close()
		return nil, false
	}
	if ss.resizeStream != nil {
		ss.sizes = make(chan [2]uint16)
		go decodeResizes(ss.resizeStream, ss.sizes, ss.finished)
	}
	go func() {
		<-conn.CloseChan()
		close(ss.gone)
	}()
	return ss, true
}

func (ss *spdySession) Streams() (io.Reader, io.Writer, io.Writer, <-chan [2]uint16) {
	var stdin io.Reader
	var stdout, stderr io.Writer
	if ss.stdin != nil {
		stdin = ss.stdin
	}
	if ss.stdout != nil {
		stdout = ss.stdout
	}
	if ss.stderr != nil {
		stderr = ss.stderr
	}
	var resize <-chan [2]uint16
	if ss.sizes != nil {
		resize = ss.sizes
	}
	return stdin, stdout, stderr, resize
}

func (ss *spdySession) Gone() <-chan struct{} { return ss.gone }

// Finish writes the status, closes the output streams (the client reads them to their end),
// waits briefly for the client to close the connection, and closes it.
func (ss *spdySession) Finish(st *metav1.Status) {
	close(ss.finished)
	if p := statusPayload(st, ss.jsonStatus); len(p) > 0 {
		_, _ = ss.errStream.Write(p)
	}
	for _, s := range []httpstream.Stream{ss.stdout, ss.stderr, ss.errStream} {
		if s != nil {
			s.Close()
		}
	}
	select {
	case <-ss.gone:
	case <-time.After(2 * time.Second):
	}
	ss.conn.Close()
}
