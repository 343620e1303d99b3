package shim

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
)

// UpgradeProtocol is the Upgrade header's value of an exec request.
const UpgradeProtocol = "skiff-exec"

// serveExec runs a process in a container and streams its stdio over the hijacked connection.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	var req ExecRequest
	if !decode(w, r, &req) {
		return
	}
	c, err := s.get(r.PathValue("id"))
	if err == nil && len(req.Args) == 0 {
		err = errors.New("exec: no command")
	}
	if err == nil {
		s.mu.Lock()
		if c.st.Status != StatusRunning {
			err = fmt.Errorf("exec in container %s: it is %s", c.st.ID, c.st.Status)
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
	code, err := s.exec(c, &req, brw.Reader, fw, conn)
	if err != nil {
		s.log.Warn("exec", "id", c.st.ID, "args", req.Args, "err", err)
		fw.write(FrameError, []byte(err.Error()))
		return
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	fw.write(FrameExit, b[:])
}

// upgrade takes over the connection of an exec or attach request and answers it with
// "101 Switching Protocols"; when it cannot, it has answered or dropped the request.
func upgrade(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		reply(w, nil, errors.New("connection cannot be hijacked"))
		return nil, nil, false
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, false
	}
	if _, err := brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + UpgradeProtocol + "\r\nConnection: Upgrade\r\n\r\n"); err == nil {
		err = brw.Flush()
	}
	if err != nil {
		conn.Close()
		return nil, nil, false
	}
	return conn, brw, true
}

// exec runs req in c; it reads the client's frames from in and writes its own to fw.
func (s *Server) exec(c *ctr, req *ExecRequest, in *bufio.Reader, fw *frameWriter, conn net.Conn) (int32, error) {
	pr := c.process
	pr.Args = req.Args
	pr.Env = append(append([]string(nil), pr.Env...), req.Env...)
	p := newProcess(&pr)

	var (
		stdinW   io.WriteCloser
		console_ console.Console
		outputs  sync.WaitGroup
		toClose  []io.Closer
	)
	defer func() {
		for _, f := range toClose {
			f.Close()
		}
	}()
	if req.Tty {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return 0, err
		}
		toClose = append(toClose, parent)
		p.ConsoleSocket = child
		p.ConsoleWidth, p.ConsoleHeight = req.Width, req.Height
		err = c.c.Run(p)
		child.Close()
		if err != nil {
			return 0, fmt.Errorf("exec in container %s: %w", c.st.ID, err)
		}
		master, err := utils.RecvFile(parent)
		if err != nil {
			_ = p.Signal(unix.SIGKILL)
			_, _ = p.Wait()
			return 0, fmt.Errorf("exec in container %s: console: %w", c.st.ID, err)
		}
		cons, err := console.ConsoleFromFile(master)
		if err != nil {
			master.Close()
			_ = p.Signal(unix.SIGKILL)
			_, _ = p.Wait()
			return 0, err
		}
		console_ = cons
		toClose = append(toClose, cons)
		if req.Width > 0 && req.Height > 0 {
			_ = cons.Resize(console.WinSize{Width: req.Width, Height: req.Height})
		}
		stdinW = nopCloser{cons}
		outputs.Add(1)
		go func() {
			defer outputs.Done()
			_, _ = io.Copy(streamWriter{fw, FrameStdout}, cons)
		}()
	} else {
		var ends []*os.File // the process's ends, closed once it has them
		if req.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			p.Stdin, stdinW = r, w
			ends = append(ends, r)
			toClose = append(toClose, w)
		}
		for _, typ := range []byte{FrameStdout, FrameStderr} {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, err
			}
			if typ == FrameStdout {
				p.Stdout = w
			} else {
				p.Stderr = w
			}
			ends = append(ends, w)
			toClose = append(toClose, r)
			outputs.Add(1)
			go func() {
				defer outputs.Done()
				_, _ = io.Copy(streamWriter{fw, typ}, r)
			}()
		}
		err := c.c.Run(p)
		for _, f := range ends {
			f.Close()
		}
		if err != nil {
			return 0, fmt.Errorf("exec in container %s: %w", c.st.ID, err)
		}
	}

	// The client's frames: stdin, its end, resizes. The connection closing before the process
	// exits (the caller gave up) kills the process.
	exited := make(chan struct{})
	go func() {
		var buf []byte
		for {
			typ, payload, err := readFrame(in, buf)
			if err != nil {
				select {
				case <-exited:
				default:
					_ = p.Signal(unix.SIGKILL)
				}
				return
			}
			buf = payload[:0]
			switch typ {
			case FrameStdin:
				if stdinW != nil {
					_, _ = stdinW.Write(payload)
				}
			case FrameStdinEOF:
				if stdinW != nil {
					if req.Tty {
						_, _ = stdinW.Write([]byte{4}) // ^D
					} else {
						stdinW.Close()
					}
				}
			case FrameResize:
				if console_ != nil && len(payload) == 4 {
					_ = console_.Resize(console.WinSize{
						Width:  binary.BigEndian.Uint16(payload[0:2]),
						Height: binary.BigEndian.Uint16(payload[2:4]),
					})
				}
			}
		}
	}()

	ps, _ := p.Wait()
	close(exited)
	drained := make(chan struct{})
	go func() { outputs.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(copyDrain):
	}
	code := int32(255)
	if ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Signaled():
				code = 128 + int32(ws.Signal())
			case ws.Exited():
				code = int32(ws.ExitStatus())
			}
		}
	}
	return code, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
