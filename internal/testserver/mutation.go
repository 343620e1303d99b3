package testserver

import (
	"fmt"
	"os"
	"testing"

	"github.com/skiff-project/skiff/internal/testreexec"
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
	code, err := testreexec.Run(testreexec.Config{Env: []string{mutationDetectorEnv + "=true"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "run tests with the mutation detector:", err)
		os.Exit(1)
	}
	os.Exit(code)
}
