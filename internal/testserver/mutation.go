package testserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// mutationDetectorEnv is client-go's switch for its cache mutation detector, read once when
// the process starts.
const mutationDetectorEnv = "KUBE_CACHE_MUTATION_DETECTOR"

// MainWithMutationDetector runs the tests with client-go's cache mutation detector on, for a
// TestMain: every informer then keeps a copy of what it caches and panics, failing the test
// binary, when an object in its cache changes. The in-process scheduler and controllers share
// the API server's own objects (package cacheinformer), so a controller that changed a cached
// object would change what the server serves. The detector reads its switch when the process
// starts, so the test binary runs itself again with it set.
func MainWithMutationDetector(m *testing.M) {
	if os.Getenv(mutationDetectorEnv) != "" {
		os.Exit(m.Run())
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), mutationDetectorEnv+"=true")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &exit):
		os.Exit(exit.ExitCode())
	default:
		fmt.Fprintln(os.Stderr, "run tests with the mutation detector:", err)
		os.Exit(1)
	}
}
