package integration

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestBadPatches sends each kind of bad patch: every one gets upstream's status, and the
// object is untouched.
func TestBadPatches(t *testing.T) {
	ctx, ns := ctxT(t), namespace(t)
	d, err := client().AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "img:1"}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := "/apis/apps/v1/namespaces/" + ns + "/deployments/web"
	cases := []struct {
		name, contentType, query, body string
		code                           int
		message                        string
	}{
		{"malformed merge patch", "application/merge-patch+json", "", `{"spec":`, 400, ""},
		{"malformed JSON patch", "application/json-patch+json", "", `[{"op":"replace","path":`, 400, ""},
		{"malformed strategic patch", "application/strategic-merge-patch+json", "", `{"spec":[}`, 400, ""},
		{"JSON patch test fails", "application/json-patch+json", "", `[{"op":"test","path":"/spec/replicas","value":7}]`, 422, ""},
		{"breaks validation", "application/strategic-merge-patch+json", "", `{"spec":{"replicas":-1}}`, 422,
			`Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`},
		{"selector no longer matches", "application/merge-patch+json", "", `{"spec":{"template":{"metadata":{"labels":{"app":"other"}}}}}`, 422,
			"`selector` does not match template `labels`"},
		{"unknown field, Strict", "application/merge-patch+json", "?fieldValidation=Strict", `{"spec":{"replicaz":3}}`, 400,
			`strict decoding error: unknown field "spec.replicaz"`},
		{"stale resourceVersion", "application/merge-patch+json", "", `{"metadata":{"resourceVersion":"1"},"spec":{"replicas":3}}`, 409,
			"the object has been modified"},
		{"oversized", "application/merge-patch+json", "", `{"metadata":{"annotations":{"a":"` + strings.Repeat("x", 3<<20) + `"}}}`, 413, ""},
		{"unsupported patch type", "application/x-yaml-patch", "", `{}`, 415, ""},
	}
	for _, c := range cases {
		code, _, b := do(t, "PATCH", path+c.query, c.contentType, "", []byte(c.body))
		if code != c.code {
			t.Errorf("%s: got %d, want %d: %s", c.name, code, c.code, b)
			continue
		}
		if st := status(t, b); c.message != "" && !strings.Contains(st.Message, c.message) {
			t.Errorf("%s: message %q lacks %q", c.name, st.Message, c.message)
		}
	}
	got, _ := client().AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if got.ResourceVersion != d.ResourceVersion || *got.Spec.Replicas != 1 {
		t.Fatalf("a bad patch changed the object: rv %s -> %s", d.ResourceVersion, got.ResourceVersion)
	}
	// Warn accepts the patch, drops the unknown field and says so.
	code, h, _ := do(t, "PATCH", path+"?fieldValidation=Warn", "application/merge-patch+json", "", []byte(`{"spec":{"replicaz":3,"replicas":2}}`))
	if code != 200 || !strings.Contains(h.Get("Warning"), `unknown field \"spec.replicaz\"`) {
		t.Fatalf("Warn: %d %q", code, h.Get("Warning"))
	}
}
