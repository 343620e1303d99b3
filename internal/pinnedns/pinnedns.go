// Package pinnedns creates network namespaces pinned by a bind mount on a file, and runs code
// inside them, for tests and test harnesses that stand up machines as namespaces. (The
// runtime pins pods' namespaces itself, several kinds at once; see internal/runtime/linux.)
package pinnedns

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// errThreadTainted says a thread could not return to its network namespace; it is left
// locked, so that the Go runtime discards it.
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

// Create makes a new network namespace and pins it by a bind mount at path (a file it
// creates). Its loopback is down, as in any fresh namespace.
func Create(path string) error {
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

// Remove removes a pin and its file; the namespace goes when nothing else holds it.
func Remove(path string) {
	_ = unix.Unmount(path, unix.MNT_DETACH)
	_ = os.Remove(path)
}

// Do runs fn on a thread in the namespace pinned at path. Sockets fn opens stay in that
// namespace and may be used from any goroutine afterwards, and processes it starts
// (exec.Cmd.Start forks from the calling thread) are born in it.
func Do(path string, fn func() error) error {
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
