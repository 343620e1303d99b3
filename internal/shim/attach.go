package shim

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/containerd/console"
)

// attachWriteTimeout bounds how long the container's output waits for one attached client: a
// client that reads no faster is dropped, so that it cannot stall the container or its log.
const attachWriteTimeout = 10 * time.Second

// streams is a running container's stdio as attach sessions reach it: the write end of its
// standard input (a pipe, or the terminal), its terminal if it has one, and the attached
// clients its output is copied to besides the log.
type streams struct {
	mu        sync.Mutex
	stdin     io.WriteCloser // nil: the container has no stdin, or it was closed
	stdinOnce bool
	console   console.Console // nil without a terminal
	subs      map[*attachSub]struct{}
}

// attachSub is one attached client.
type attachSub struct {
	fw             *frameWriter
	stdout, stderr bool
	deadline       interface{ SetWriteDeadline(time.Time) error }
}

// tee returns a writer that copies what the container writes on one stream (FrameStdout or
// FrameStderr) to the clients attached to it.
func (st *streams) tee(typ byte) io.Writer { return streamTee{st, typ} }

type streamTee struct {
	st  *streams
	typ byte
}

func (t streamTee) Write(p []byte) (int, error) {
	t.st.mu.Lock()
	subs := make([]*attachSub, 0, len(t.st.subs))
	for sub := range t.st.subs {
		if (t.typ == FrameStdout && sub.stdout) || (t.typ == FrameStderr && sub.stderr) {
			subs = append(subs, sub)
		}
	}
	t.st.mu.Unlock()
	for _, sub := range subs {
		_ = sub.deadline.SetWriteDeadline(time.Now().Add(attachWriteTimeout))
		if _, err := (streamWriter{sub.fw, t.typ}).Write(p); err != nil {
			t.st.remove(sub)
		}
	}
	// The log copy must go on whatever the clients do.
	return len(p), nil
}

func (st *streams) add(sub *attachSub) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.subs[sub] = struct{}{}
}

func (st *streams) remove(sub *attachSub) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.subs, sub)
}

// writeStdin writes p to the container's standard input, if it has one still open.
func (st *streams) writeStdin(p []byte) {
	st.mu.Lock()
	w := st.stdin
	st.mu.Unlock()
	if w != nil {
		_, _ = w.Write(p)
	}
}

// endStdin ends an attached client's input. With stdinOnce the container's standard input is
// closed (a terminal gets ^D instead, since closing it would end the output too); otherwise
// it stays open for the next client, as upstream's runtimes do.
func (st *streams) endStdin() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.stdinOnce || st.stdin == nil {
		return
	}
	if st.console != nil {
		_, _ = st.stdin.Write([]byte{4})
	} else {
		st.stdin.Close()
	}
	st.stdin = nil
}

// AttachRequest connects to a running container's stdio: Stdin sends the client's input to the
// container's standard input (if the container has one: CreateRequest.Stdin); Stdout and
// Stderr copy the container's output from now on (with a terminal, everything is stdout).
type AttachRequest struct {
	Stdin  bool `json:"stdin,omitempty"`
	Stdout bool `json:"stdout,omitempty"`
	Stderr bool `json:"stderr,omitempty"`
}

// serveAttach attaches the client to a running container over the hijacked connection, with
// exec's frames. It ends with FrameExit once the container exits, or when the client goes.
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	var req AttachRequest
	if !decode(w, r, &req) {
		return
	}
	c, err := s.get(r.PathValue("id"))
	var st *streams
	if err == nil {
		s.mu.Lock()
		st = c.streams
		switch {
		case c.st.Status != StatusRunning:
			err = fmt.Errorf("attach to container %s: it is %s", c.st.ID, c.st.Status)
		case st == nil:
			err = fmt.Errorf("attach to container %s: its streams were lost when its shim restarted", c.st.ID)
		}
		s.mu.Unlock()
	}
	if err != nil {
		reply(w, nil, err)
		return
	}
	conn, brw, ok := upgrade(w)
	if !ok {
		return
	}
	defer conn.Close()
	fw := &frameWriter{w: conn}
	sub := &attachSub{fw: fw, stdout: req.Stdout, stderr: req.Stderr, deadline: conn}
	st.add(sub)
	defer st.remove(sub)

	gone := make(chan struct{})
	go func() {
		defer close(gone)
		s.readAttachFrames(st, &req, brw.Reader)
	}()
	select {
	case <-c.exited:
		st.remove(sub)
		s.mu.Lock()
		code := c.st.ExitCode
		s.mu.Unlock()
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(code))
		_ = conn.SetWriteDeadline(time.Now().Add(attachWriteTimeout))
		fw.write(FrameExit, b[:])
	case <-gone:
	}
}

// readAttachFrames applies an attached client's frames until its connection ends; then its
// input has ended too.
func (s *Server) readAttachFrames(st *streams, req *AttachRequest, in *bufio.Reader) {
	var buf []byte
	defer func() {
		if req.Stdin {
			st.endStdin()
		}
	}()
	for {
		typ, payload, err := readFrame(in, buf)
		if err != nil {
			return
		}
		buf = payload[:0]
		switch typ {
		case FrameStdin:
			if req.Stdin {
				st.writeStdin(payload)
			}
		case FrameStdinEOF:
			if req.Stdin {
				st.endStdin()
			}
		case FrameResize:
			st.mu.Lock()
			cons := st.console
			st.mu.Unlock()
			if cons != nil && len(payload) == 4 {
				_ = cons.Resize(console.WinSize{
					Width:  binary.BigEndian.Uint16(payload[0:2]),
					Height: binary.BigEndian.Uint16(payload[2:4]),
				})
			}
		}
	}
}

// closeStreams releases a container's stdio once it has exited.
func (st *streams) close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stdin != nil && st.console == nil {
		st.stdin.Close()
	}
	st.stdin = nil
	if st.console != nil {
		st.console.Close()
	}
}
