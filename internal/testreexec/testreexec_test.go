package testreexec

import (
	"os"
	"syscall"
	"testing"
)

// The tests run this test binary again: the child runs TestHelper or TestExitHelper, which do
// what helperEnv says.
const (
	helperEnv = "TESTREEXEC_TEST_HELPER" // what the helper does
	exitEnv   = "TESTREEXEC_TEST_EXIT"   // marks the process that calls Exit
	childEnv  = "TESTREEXEC_TEST_CHILD"  // marks the child Exit runs
)

// helper does what helperEnv says: exit with 7, or be killed by SIGKILL; with any other
// value it returns and its test passes.
func helper() {
	switch os.Getenv(helperEnv) {
	case "exit7":
		os.Exit(7)
	case "kill":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}

// TestHelper is no test of its own: run by TestRun as a child.
func TestHelper(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("run by TestRun")
	}
	helper()
}

// TestExitHelper is no test of its own: run by TestExit as a child, it calls Exit, whose child
// (this test again, with the same arguments) is the helper.
func TestExitHelper(t *testing.T) {
	if os.Getenv(exitEnv) == "" {
		t.Skip("run by TestExit")
	}
	if os.Getenv(childEnv) != "" {
		helper()
		return
	}
	if err := Exit(Config{Env: []string{childEnv + "=1"}, Attr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}}); err != nil {
		t.Log(err)
		os.Exit(99)
	}
	os.Exit(98) // Exit returned nil outside its child
}

func TestRun(t *testing.T) {
	for value, want := range map[string]int{"exit7": 7, "kill": -1, "pass": 0} {
		code, err := Run(Config{Env: []string{helperEnv + "=" + value}, Args: []string{"-test.run=^TestHelper$"}})
		if err != nil || code != want {
			t.Errorf("%s: Run = %d, %v; want %d", value, code, err, want)
		}
	}
}

// TestExit checks that Exit runs the child with this process's arguments and the variables it
// adds, and that the process calling it exits with the child's code, at least 1 when the child
// failed.
func TestExit(t *testing.T) {
	for value, want := range map[string]int{"exit7": 7, "kill": 1, "pass": 0} {
		code, err := Run(Config{Env: []string{exitEnv + "=1", helperEnv + "=" + value}, Args: []string{"-test.run=^TestExitHelper$"}})
		if err != nil || code != want {
			t.Errorf("%s: the process calling Exit exited with %d, %v; want %d", value, code, err, want)
		}
	}
}

func TestExitInChild(t *testing.T) {
	t.Setenv(childEnv, "1")
	if err := Exit(Config{Env: []string{childEnv + "=1"}}); err != nil {
		t.Fatalf("Exit in the child: %v", err)
	}
}

func TestCannotStart(t *testing.T) {
	c := Config{Env: []string{childEnv + "=1"}, Args: []string{"-test.run=^$"}, Attr: &syscall.SysProcAttr{Chroot: "/nonexistent"}}
	if code, err := Run(c); err == nil {
		t.Errorf("Run with a chroot that does not exist: %d, no error", code)
	}
	if err := Exit(c); err == nil {
		t.Error("Exit with a chroot that does not exist: no error")
	}
}
