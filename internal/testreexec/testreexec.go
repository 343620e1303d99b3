// Package testreexec runs a test binary again as a child process, for what can only be set
// when a process starts: new namespaces (so that root tests never touch the machine's own), or
// an environment variable a library reads once at init.
//
// The child is the running binary (/proc/self/exe) with this process's standard input, output
// and error, its environment plus the variables the caller adds, and the process attributes
// the caller gives. The first added variable marks the child: a TestMain checks it to tell
// the child, which runs the tests, from the parent, which only waits. What the child prepares
// in its namespaces (private mounts, lo up, routes) is each package's own business.
package testreexec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Config says how to run the child.
type Config struct {
	// Env is added to the child's environment, each NAME=value. The first names the variable
	// that marks the child; its value must not be empty.
	Env []string
	// Args are the child's arguments; nil means this process's own (os.Args[1:]).
	Args []string
	// Attr, if set, are the child's process attributes: Cloneflags for new namespaces, a
	// Pdeathsig so that the child does not outlive the parent.
	Attr *syscall.SysProcAttr
	// Name, if set, is what Exit prints, followed by a colon and the error, when it started
	// the child but could not wait for it.
	Name string
}

// NetMountNamespaces returns the attributes of a child in new network and mount namespaces
// (which stand for the machine, so that links, routes, nftables tables and mounts never touch
// the machine's own), killed if its parent dies. It is new each time, for the caller to change.
func NetMountNamespaces() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
}

// marker returns the name of the variable that marks the child.
func (c Config) marker() string {
	name, _, _ := strings.Cut(c.Env[0], "=")
	return name
}

func (c Config) command() *exec.Cmd {
	args := c.Args
	if args == nil {
		args = os.Args[1:]
	}
	cmd := exec.Command("/proc/self/exe", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.SysProcAttr = c.Attr
	return cmd
}

// status turns the error of the child's Wait into its exit status: 0, its exit code, or -1
// if a signal ended it; an error that is not the child's exit is returned.
func status(err error) (int, error) {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}

// Run runs the child and waits for it. It returns the child's exit status: 0, its exit code,
// or -1 if a signal ended it; err is set only if the child could not be started or waited for.
func Run(c Config) (int, error) {
	return status(c.command().Run())
}

// Exit is Run for a TestMain: it ends this process as the child ended, with 0 if the child
// succeeded and else with the child's exit code but at least 1, so that a child killed by a
// signal fails the run. If it started the child but could not wait for it, it prints why
// (after c.Name, if set) and exits with 1.
//
// It returns only in the child (the variable of c.Env[0] is set here), with nil, and when the
// child could not be started, with the reason: the caller runs the tests without what the child
// would have had, or gives up.
func Exit(c Config) error {
	if os.Getenv(c.marker()) != "" {
		return nil
	}
	cmd := c.command()
	if err := cmd.Start(); err != nil {
		return err
	}
	code, err := status(cmd.Wait())
	if err != nil {
		if c.Name != "" {
			fmt.Fprintln(os.Stderr, c.Name+":", err)
		}
		os.Exit(1)
	}
	if code != 0 {
		code = max(code, 1) // -1: a signal ended the child
	}
	os.Exit(code)
	return nil
}
