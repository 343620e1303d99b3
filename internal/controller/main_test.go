package controller_test

import (
	"testing"

	"github.com/skiff-project/skiff/internal/testserver"
)

// TestMain runs with client-go's cache mutation detector: the managers here share the API
// server's cached objects, which no controller may change.
func TestMain(m *testing.M) { testserver.MainWithMutationDetector(m) }
