package openapi

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDump writes every document to $OPENAPI_DUMP_DIR, for comparing them
// with upstream's by hand; it is skipped when the variable is unset.
func TestDump(t *testing.T) {
	dir := os.Getenv("OPENAPI_DUMP_DIR")
	if dir == "" {
		t.Skip("OPENAPI_DUMP_DIR not set")
	}
	d := testDocuments(t)
	for _, p := range d.Paths() {
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi/v3/"+p, nil))
		b, _ := io.ReadAll(rec.Body)
		name := strings.ReplaceAll(p, "/", "__") + "_openapi.json"
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
