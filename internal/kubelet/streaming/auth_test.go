package streaming

import (
	"context"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

func TestSubjectAccessReviewer(t *testing.T) {
	cs := fake.NewClientset()
	var asked []authorizationv1.SubjectAccessReviewSpec
	cs.PrependReactor("create", "subjectaccessreviews", func(a clienttesting.Action) (bool, runtime.Object, error) {
		sar := a.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		asked = append(asked, sar.Spec)
		sar.Status.Allowed = sar.Spec.User == "admin"
		return true, sar, nil
	})
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	z := SubjectAccessReviewer(cs.AuthorizationV1().SubjectAccessReviews(), func() time.Time { return now })
	ctx := context.Background()
	admin := Attributes{User: User{Name: "admin", Groups: []string{"system:masters"}}, Verb: "create", Name: "n1", Subresource: "proxy"}
	bob := Attributes{User: User{Name: "bob"}, Verb: "get", Name: "n1", Subresource: "stats"}
	check := func(a Attributes, want bool, wantAsked int) {
		t.Helper()
		ok, _, err := z.Authorize(ctx, a)
		if err != nil || ok != want || len(asked) != wantAsked {
			t.Fatalf("%s: %v %v after %d reviews; want %v after %d", a.User.Name, ok, err, len(asked), want, wantAsked)
		}
	}
	check(admin, true, 1)
	check(bob, false, 2)
	got := asked[1]
	if got.User != "bob" || got.ResourceAttributes == nil || *got.ResourceAttributes != (authorizationv1.ResourceAttributes{Verb: "get", Resource: "nodes", Subresource: "stats", Name: "n1"}) {
		t.Errorf("review %+v", got)
	}
	// Answers are cached: allowed for 5 minutes, denied for 30 seconds.
	now = now.Add(time.Minute)
	check(admin, true, 2)
	check(bob, false, 3)
	now = now.Add(5 * time.Minute)
	check(admin, true, 4)
}
