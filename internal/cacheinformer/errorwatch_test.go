package cacheinformer

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/watch"
)

// TestErrorWatch checks that a too-old resourceVersion reaches the informer as the API server
// streams it: one ERROR event whose status is 410 Expired, then the end of the watch.
func TestErrorWatch(t *testing.T) {
	w := errorWatch(apierrors.NewResourceExpired("too old resource version: 1 (40)"))
	ev, ok := <-w.ResultChan()
	if !ok || ev.Type != watch.Error {
		t.Fatalf("first event: %v %v", ok, ev.Type)
	}
	if err := apierrors.FromObject(ev.Object); !apierrors.IsResourceExpired(err) || err.Error() != "too old resource version: 1 (40)" {
		t.Errorf("error: %v", err)
	}
	if _, ok := <-w.ResultChan(); ok {
		t.Error("the watch did not end after its error")
	}
}
