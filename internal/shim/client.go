package shim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Client talks to one pod's shim.
type Client struct {
	socket string
	dirFd  int // an O_PATH descriptor of a long socket path's directory, or -1
	http   *http.Client
}

// maxSocketPath is the longest path a unix socket address holds (sun_path, 108 bytes with its
// terminating NUL).
const maxSocketPath = 107

// NewClient returns a client of the shim listening at socket. It does not connect. A socket
// path too long for a socket address is reached through /proc/self/fd/<its directory>.
func NewClient(socket string) *Client {
	c := &Client{socket: socket, dirFd: -1}
	if len(socket) > maxSocketPath {
		if fd, err := unix.Open(filepath.Dir(socket), unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
			c.dirFd = fd
			socket = fmt.Sprintf("/proc/self/fd/%d/%s", fd, filepath.Base(socket))
		}
	}
	c.socket = socket
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
	}
	c.http = &http.Client{Transport: tr}
	return c
}

// Close releases idle connections; the client must not be used afterwards.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
	if c.dirFd >= 0 {
		unix.Close(c.dirFd)
		c.dirFd = -1
	}
}

// Error is an error answered by the shim.
type Error struct {
	Msg      string
	NotFound bool
}

func (e *Error) Error() string { return e.Msg }

// Is makes errors.Is(err, os.ErrNotExist) true for an unknown container.
func (e *Error) Is(target error) bool { return e.NotFound && target == os.ErrNotExist }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://shim"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("shim %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var ae apiError
		if err := json.NewDecoder(resp.Body).Decode(&ae); err != nil || ae.Error == "" {
			ae.Error = fmt.Sprintf("shim %s %s: %s", method, path, resp.Status)
		}
		return &Error{Msg: ae.Error, NotFound: ae.NotFound}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Info describes the shim.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var i Info
	err := c.do(ctx, http.MethodGet, "/info", nil, &i)
	return i, err
}

// Create creates a container.
func (c *Client) Create(ctx context.Context, req *CreateRequest) (State, error) {
	var st State
	err := c.do(ctx, http.MethodPost, "/containers", req, &st)
	return st, err
}

// Start starts a created container.
func (c *Client) Start(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/containers/"+id+"/start", nil, nil)
}

// Stop asks a container to stop, with SIGKILL after grace.
func (c *Client) Stop(ctx context.Context, id string, req StopRequest) error {
	return c.do(ctx, http.MethodPost, "/containers/"+id+"/stop", req, nil)
}

// Signal sends a signal to a container's first process.
func (c *Client) Signal(ctx context.Context, id, sig string) error {
	return c.do(ctx, http.MethodPost, "/containers/"+id+"/signal", SignalRequest{Signal: sig}, nil)
}

// Remove removes a container, killing it first if it runs.
func (c *Client) Remove(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/containers/"+id, nil, nil)
}

// Get returns one container's state.
func (c *Client) Get(ctx context.Context, id string) (State, error) {
	var st State
	err := c.do(ctx, http.MethodGet, "/containers/"+id, nil, &st)
	return st, err
}

// List returns the containers in creation order.
func (c *Client) List(ctx context.Context) ([]State, error) {
	var st []State
	err := c.do(ctx, http.MethodGet, "/containers", nil, &st)
	return st, err
}

// Stats returns a container's resource usage.
func (c *Client) Stats(ctx context.Context, id string) (Stats, error) {
	var st Stats
	err := c.do(ctx, http.MethodGet, "/containers/"+id+"/stats", nil, &st)
	return st, err
}

// Shutdown removes every container; the shim then exits.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/shutdown", nil, nil)
}

// Events calls fn for each event until ctx ends or the stream breaks (the shim went away); it
// returns why it stopped.
func (c *Client) Events(ctx context.Context, fn func(Event)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://shim/events", nil)
	if err != nil {
		return err
	}
	// Not through c.http: that one's connections are short-lived.
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.socket)
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("shim events: %s", resp.Status)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev Event
		if err := dec.Decode(&ev); err != nil {
			return err
		}
		fn(ev)
	}
}

// ExecIO is the streams of an exec'd process. Stdin may be nil; with a terminal, Stderr is unused
// and Resize (if not nil) gives the terminal's new sizes until it is closed.
type ExecIO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Resize         <-chan [2]uint16 // width, height
}

// Exec runs a process in a running container and returns its exit code once it has exited and
// its output has been written. Cancelling ctx kills the process.
func (c *Client) Exec(ctx context.Context, id string, req ExecRequest, sio ExecIO) (int, error) {
	req.Stdin = sio.Stdin != nil
	return c.stream(ctx, "/containers/"+id+"/exec", req, sio)
}

// Attach connects sio to a running container's stdio (see AttachRequest: Stdin, Stdout and
// Stderr follow which of sio's are set) and returns the container's exit code once it has
// exited. Cancelling ctx detaches, leaving the container running.
func (c *Client) Attach(ctx context.Context, id string, sio ExecIO) (int, error) {
	req := AttachRequest{Stdin: sio.Stdin != nil, Stdout: sio.Stdout != nil, Stderr: sio.Stderr != nil}
	return c.stream(ctx, "/containers/"+id+"/attach", req, sio)
}

// stream makes an upgraded request to path with body req and exchanges exec frames with the
// shim until it sends an exit code or an error.
func (c *Client) stream(ctx context.Context, path string, req any, sio ExecIO) (int, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return 0, fmt.Errorf("shim %s: %w", c.socket, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	hreq, err := http.NewRequest(http.MethodPost, "http://shim"+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	hreq.Header.Set("Connection", "Upgrade")
	hreq.Header.Set("Upgrade", UpgradeProtocol)
	if err := hreq.Write(conn); err != nil {
		return 0, ctxErr(ctx, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, hreq)
	if err != nil {
		return 0, ctxErr(ctx, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		var ae apiError
		if err := json.NewDecoder(resp.Body).Decode(&ae); err != nil || ae.Error == "" {
			ae.Error = "shim " + path + ": " + resp.Status
		}
		return 0, &Error{Msg: ae.Error, NotFound: ae.NotFound}
	}

	fw := &frameWriter{w: conn}
	if sio.Stdin != nil {
		go func() {
			if _, err := io.Copy(streamWriter{fw, FrameStdin}, sio.Stdin); err == nil {
				fw.write(FrameStdinEOF, nil)
			}
		}()
	}
	if sio.Resize != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-done:
					return
				case sz, ok := <-sio.Resize:
					if !ok {
						return
					}
					var b [4]byte
					binary.BigEndian.PutUint16(b[0:2], sz[0])
					binary.BigEndian.PutUint16(b[2:4], sz[1])
					if fw.write(FrameResize, b[:]) != nil {
						return
					}
				}
			}
		}()
	}
	var buf []byte
	for {
		typ, payload, err := readFrame(br, buf)
		if err != nil {
			return 0, ctxErr(ctx, fmt.Errorf("%s stream: %w", path, err))
		}
		buf = payload[:0]
		switch typ {
		case FrameStdout:
			if sio.Stdout != nil {
				if _, err := sio.Stdout.Write(payload); err != nil {
					return 0, err
				}
			}
		case FrameStderr:
			if sio.Stderr != nil {
				if _, err := sio.Stderr.Write(payload); err != nil {
					return 0, err
				}
			}
		case FrameExit:
			if len(payload) != 4 {
				return 0, errors.New("bad exit frame")
			}
			return int(int32(binary.BigEndian.Uint32(payload))), nil
		case FrameError:
			return 0, errors.New(string(payload))
		}
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
