package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// errThreadTainted says a thread could not return to its network namespace; it is left locked,
// so that the Go runtime discards it.
var errThreadTainted = errors.New("could not restore the thread's network namespace")

// onLockedThread runs fn on a goroutine locked to its OS thread and waits for it.
func onLockedThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := fn()
		if !errors.Is(err, errThreadTainted) {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// pinNewNetNS creates a network namespace and pins it by a bind mount at path.
func pinNewNetNS(path string) error {
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return err
	}
	return onLockedThread(func() error {
		orig, err := netns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		mountErr := unix.Mount(src, path, "", unix.MS_BIND, "")
		if err := netns.Set(orig); err != nil {
			return errThreadTainted
		}
		if mountErr != nil {
			return fmt.Errorf("pin network namespace at %s: %w", path, mountErr)
		}
		return nil
	})
}

// inNetNS runs fn on a thread in the network namespace pinned at path. Sockets fn opens stay
// in that namespace, and processes fn starts (exec.Cmd.Start forks from the calling thread)
// are born in it.
func inNetNS(path string, fn func() error) error {
	return onLockedThread(func() error {
		orig, err := netns.Get()
		if err != nil {
			return err
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			return err
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			return fmt.Errorf("enter %s: %w", path, err)
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			return errThreadTainted
		}
		return ferr
	})
}

// Dial connects from the node's network namespace, as a process on the node would.
func (n *Node) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetNS(n.NetNS, func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// HTTPClient returns an HTTP client whose connections start on the node (Dial), with the
// given timeout per request.
func (n *Node) HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: n.Dial, DisableKeepAlives: true}}
}
