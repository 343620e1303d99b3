package streaming

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/remotecommand"
)

// WebSocket subprotocols of remote commands, most preferred first. The channel.k8s.io family
// sends binary messages whose first byte is the channel; the base64 family sends text messages
// whose first character is the channel's digit and whose rest is base64. v4 adds the exit
// status as a Status on the error channel; v5 adds the close signal: [255, channel] from the
// client closes that channel (stdin) without closing the connection.
const (
	protoV5       = remotecommand.StreamProtocolV5Name // v5.channel.k8s.io
	protoV4       = remotecommand.StreamProtocolV4Name // v4.channel.k8s.io
	protoV4Base64 = "v4.base64.channel.k8s.io"
	protoV1       = "channel.k8s.io"
	protoV1Base64 = "base64.channel.k8s.io"
)

var wsProtocols = []string{protoV5, protoV4, protoV4Base64, protoV1, protoV1Base64}

// wsWriteTimeout bounds one message's write to a client that stopped reading.
const wsWriteTimeout = time.Minute

// isWebSocket reports whether r asks to upgrade to WebSocket.
func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && websocket.IsWebSocketUpgrade(r)
}

// frame is one decoded client message.
type frame struct {
	channel byte
	data    []byte
	// close is v5's close signal for channel.
	close bool
}

// encodeFrame returns the WebSocket message type and payload that carry data on channel.
func encodeFrame(channel byte, data []byte, b64 bool) (int, []byte) {
	if b64 {
		out := make([]byte, 1+base64.StdEncoding.EncodedLen(len(data)))
		out[0] = '0' + channel
		base64.StdEncoding.Encode(out[1:], data)
		return websocket.TextMessage, out
	}
	out := make([]byte, 1+len(data))
	out[0] = channel
	copy(out[1:], data)
	return websocket.BinaryMessage, out
}

// decodeFrame decodes a client message; closeSignal is true for v5, which reserves channel 255
// for [255, channel] close signals.
func decodeFrame(typ int, msg []byte, b64, closeSignal bool) (frame, error) {
	if len(msg) == 0 {
		return frame{}, errors.New("empty message")
	}
	if closeSignal && msg[0] == remotecommand.StreamClose {
		if len(msg) != 2 {
			return frame{}, fmt.Errorf("close signal of %d bytes, want 2", len(msg))
		}
		return frame{channel: msg[1], close: true}, nil
	}
	if b64 {
		if typ != websocket.TextMessage || msg[0] < '0' || msg[0] > '9' {
			return frame{}, errors.New("base64 protocol: want a text message starting with a channel digit")
		}
		data, err := base64.StdEncoding.DecodeString(string(msg[1:]))
		if err != nil {
			return frame{}, fmt.Errorf("base64 protocol: %w", err)
		}
		return frame{channel: msg[0] - '0', data: data}, nil
	}
	if typ != websocket.BinaryMessage {
		return frame{}, errors.New("want a binary message")
	}
	return frame{channel: msg[0], data: msg[1:]}, nil
}

// wsSession is a remote command over WebSocket.
type wsSession struct {
	conn        *websocket.Conn
	b64         bool
	closeSignal bool
	jsonStatus  bool
	idle        time.Duration
	opts        execOptions

	wmu            sync.Mutex
	stdinR, resize *io.PipeReader
	stdinW, sizeW  *io.PipeWriter
	sizes          chan [2]uint16
	gone, finished chan struct{}
}

// openWebSocket upgrades r to a remote command session. A client offering none of our
// subprotocols gets a 400 Status, so that client-go falls back to SPDY.
func (s *Server) openWebSocket(w http.ResponseWriter, r *http.Request, opts execOptions) (session, bool) {
	offered := websocket.Subprotocols(r)
	if len(offered) > 0 && !slices.ContainsFunc(offered, func(p string) bool { return slices.Contains(wsProtocols, p) }) {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("unsupported WebSocket subprotocols %q: this server speaks %q", offered, wsProtocols)))
		return nil, false
	}
	up := websocket.Upgrader{
		Subprotocols: wsProtocols,
		// Callers are authenticated by their client certificates, not by cookies a browser could
		// send from another origin.
		CheckOrigin:     func(*http.Request) bool { return true },
		ReadBufferSize:  32 << 10,
		WriteBufferSize: 32 << 10,
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, false // the upgrader answered
	}
	proto := conn.Subprotocol()
	ws := &wsSession{
		conn:        conn,
		b64:         proto == protoV4Base64 || proto == protoV1Base64,
		closeSignal: proto == protoV5,
		jsonStatus:  proto == protoV5 || proto == protoV4 || proto == protoV4Base64,
		idle:        s.cfg.StreamIdleTimeout,
		opts:        opts,
		gone:        make(chan struct{}),
		finished:    make(chan struct{}),
	}
	conn.SetReadLimit(1 << 20)
	ws.stdinR, ws.stdinW = io.Pipe()
	if opts.TTY {
		ws.resize, ws.sizeW = io.Pipe()
		ws.sizes = make(chan [2]uint16)
		go decodeResizes(ws.resize, ws.sizes, ws.finished)
	}
	// Tell the client the streams are ready: an empty message on the lowest writable channel.
	ready := byte(remotecommand.StreamErr)
	switch {
	case opts.Stdout:
		ready = remotecommand.StreamStdOut
	case opts.Stderr:
		ready = remotecommand.StreamStdErr
	}
	if err := ws.write(ready, nil); err != nil {
		conn.Close()
		return nil, false
	}
	go ws.readLoop()
	return ws, true
}

// readLoop dispatches the client's messages until the connection ends.
func (ws *wsSession) readLoop() {
	defer close(ws.gone)
	defer ws.stdinW.Close()
	if ws.sizeW != nil {
		defer ws.sizeW.Close()
	}
	ws.conn.SetPongHandler(func(string) error { return ws.conn.SetReadDeadline(time.Now().Add(ws.idle)) })
	for {
		_ = ws.conn.SetReadDeadline(time.Now().Add(ws.idle))
		typ, msg, err := ws.conn.ReadMessage()
		if err != nil {
			return
		}
		f, err := decodeFrame(typ, msg, ws.b64, ws.closeSignal)
		if err != nil {
			continue
		}
		switch {
		case f.close && f.channel == remotecommand.StreamStdIn:
			ws.stdinW.Close()
		case f.close:
		case f.channel == remotecommand.StreamStdIn && ws.opts.Stdin:
			// Blocks until the command reads it; Finish unblocks it.
			_, _ = ws.stdinW.Write(f.data)
		case f.channel == remotecommand.StreamResize && ws.sizeW != nil:
			_, _ = ws.sizeW.Write(f.data)
		}
	}
}

// write sends data on channel; messages are written one at a time.
func (ws *wsSession) write(channel byte, data []byte) error {
	typ, payload := encodeFrame(channel, data, ws.b64)
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	_ = ws.conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	return ws.conn.WriteMessage(typ, payload)
}

// channelWriter writes to one channel of a session.
type channelWriter struct {
	ws      *wsSession
	channel byte
}

func (c channelWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := c.ws.write(c.channel, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (ws *wsSession) Streams() (io.Reader, io.Writer, io.Writer, <-chan [2]uint16) {
	var stdin io.Reader
	var stdout, stderr io.Writer
	if ws.opts.Stdin {
		stdin = ws.stdinR
	}
	if ws.opts.Stdout {
		stdout = channelWriter{ws, remotecommand.StreamStdOut}
	}
	if ws.opts.Stderr {
		stderr = channelWriter{ws, remotecommand.StreamStdErr}
	}
	var resize <-chan [2]uint16
	if ws.sizes != nil {
		resize = ws.sizes
	}
	return stdin, stdout, stderr, resize
}

func (ws *wsSession) Gone() <-chan struct{} { return ws.gone }

// Finish sends the status, then a normal close, waits briefly for the client's close, and
// closes the connection.
func (ws *wsSession) Finish(st *metav1.Status) {
	close(ws.finished)
	ws.stdinR.Close()
	if ws.resize != nil {
		ws.resize.Close()
	}
	if p := statusPayload(st, ws.jsonStatus); len(p) > 0 {
		_ = ws.write(remotecommand.StreamErr, p)
	}
	ws.wmu.Lock()
	_ = ws.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	ws.wmu.Unlock()
	select {
	case <-ws.gone:
	case <-time.After(2 * time.Second):
	}
	ws.conn.Close()
}
