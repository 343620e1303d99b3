package scheduler_test

import (
	"testing"

	"github.com/skiff-project/skiff/internal/testserver"
)

// TestMain runs with client-go's cache mutation detector: the scheduler here shares the API
// server's cached pods and nodes, which it may not change.
func TestMain(m *testing.M) { testserver.MainWithMutationDetector(m) }
