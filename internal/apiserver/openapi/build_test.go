package openapi

import (
	"testing"
	"time"
)

func TestBuildIsFast(t *testing.T) {
	s := testScheme(t)
	testDocuments(t) // pays the one-time parse of the merge schemas
	start := time.Now()
	if _, err := Build(s, testResources()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Build took %v", took)
	}
}

func BenchmarkBuild(b *testing.B) {
	s := testScheme(b)
	resources := testResources()
	for i := 0; i < b.N; i++ {
		if _, err := Build(s, resources); err != nil {
			b.Fatal(err)
		}
	}
}
