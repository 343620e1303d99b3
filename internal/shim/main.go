package shim

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File names in the pod directory.
const (
	PidFile      = "shim.pid"
	PidnsPidFile = "pidns.pid"
	LogFile      = "shim.log"
)

// Main runs the shim binary's commands (after "init", which libcontainer handles):
//
//	serve --dir DIR [--share-pid]   serve the API of the pod at DIR on DIR/shim.sock
//	pidns-init                      be PID 1 of a PID namespace: reap orphans, nothing else
//
// It returns the exit code.
func Main(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: skiff-shim serve --dir DIR [--share-pid] | pidns-init")
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:])
	case "pidns-init":
		return pidnsInit()
	}
	fmt.Fprintf(os.Stderr, "skiff-shim: unknown command %q\n", args[0])
	return 2
}

func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dir := fs.String("dir", "", "the pod directory")
	sharePid := fs.Bool("share-pid", false, "hold a PID namespace shared by the pod's containers")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("pod", filepath.Base(*dir))
	if err := run(*dir, *sharePid, log); err != nil {
		log.Error("shim failed", "err", err)
		return 1
	}
	return 0
}

func run(dir string, sharePid bool, log *slog.Logger) error {
	if dir == "" {
		return errors.New("--dir is required")
	}
	// The socket is bound by a relative name, so that a long pod directory is no problem here.
	if err := os.Chdir(dir); err != nil {
		return err
	}
	pidnsPid := 0
	if sharePid {
		var err error
		if pidnsPid, err = ensurePidns(dir); err != nil {
			return fmt.Errorf("shared PID namespace: %w", err)
		}
	}
	s, err := NewServer(ServerConfig{Dir: dir, PidnsPid: pidnsPid, Log: log})
	if err != nil {
		return err
	}
	os.Remove(SocketName)
	l, err := net.Listen("unix", SocketName)
	if err != nil {
		return err
	}
	if err := os.WriteFile(PidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	// The agent's signals are no concern of the shim; only a shutdown request ends it.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	log.Info("shim serving", "socket", filepath.Join(dir, SocketName), "pid", os.Getpid(), "pidnsPid", pidnsPid)
	err = s.Serve(l)
	os.Remove(SocketName)
	os.Remove(PidFile)
	os.Remove(PidnsPidFile)
	log.Info("shim shut down")
	return err
}

// ensurePidns returns the PID of the pod's PID namespace holder, starting one unless a previous
// shim's is still alive.
func ensurePidns(dir string) (int, error) {
	if b, err := os.ReadFile(filepath.Join(dir, PidnsPidFile)); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid > 0 {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if strings.Contains(string(cmdline), "pidns-init") {
				return pid, nil
			}
		}
	}
	cmd := exec.Command("/proc/self/exe", "pidns-init")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID, Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait()
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, PidnsPidFile), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return 0, err
	}
	return pid, nil
}

// pidnsInit is PID 1 of a pod's shared PID namespace: it reaps the orphans reparented to it.
func pidnsInit() int {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, unix.SIGCHLD)
	signal.Ignore(unix.SIGHUP, unix.SIGINT, unix.SIGTERM, unix.SIGPIPE)
	for {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
		<-ch
	}
}
