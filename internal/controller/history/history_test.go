package history

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

func set(image string) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "u",
		Annotations: map[string]string{ChangeCauseAnnotation: "kubectl set image"}}}
	s.Spec.Replicas = ptr.To[int32](3)
	s.Spec.Template.Labels = map[string]string{"app": "web"}
	s.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: image}}
	return s
}

func TestTemplatePatch(t *testing.T) {
	data, err := TemplatePatch(set("nginx:1"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx:1","name":"c","resources":{}}]}}}}`
	if string(data) != want {
		t.Errorf("patch\n%s\nwant\n%s", data, want)
	}
	tmpl, err := Template(&appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: data}})
	if err != nil || tmpl.Spec.Containers[0].Image != "nginx:1" || tmpl.Labels["app"] != "web" {
		t.Errorf("template %+v, %v", tmpl, err)
	}
	if _, err := TemplatePatch(map[string]any{"spec": map[string]any{}}); err == nil {
		t.Error("no error without a template")
	}
}

func TestNewAndHash(t *testing.T) {
	s := set("nginx:1")
	data, _ := TemplatePatch(s)
	r := New(s, appsv1.SchemeGroupVersion.WithKind("StatefulSet"), s.Spec.Template.Labels, data, 3, ptr.To[int32](0))
	hash := r.Labels[HashLabel]
	if r.Name != "web-"+hash || r.Revision != 3 || r.Labels["app"] != "web" || r.Annotations[ChangeCauseAnnotation] != "kubectl set image" ||
		metav1.GetControllerOf(r) == nil || r.Namespace != "ns" {
		t.Errorf("revision %+v", r.ObjectMeta)
	}
	if s.Spec.Template.Labels[HashLabel] != "" {
		t.Error("New changed the template's labels")
	}
	if Hash(data, ptr.To[int32](0)) != hash || Hash(data, ptr.To[int32](1)) == hash || Hash(data, nil) == Hash([]byte("x"), nil) {
		t.Error("hash not a function of data and collision count")
	}
	if n := Name(strings.Repeat("a", 300), "h"); len(n) != 225 {
		t.Errorf("long name has %d characters", len(n))
	}
}

func TestChoose(t *testing.T) {
	rev := func(name string, n int64, data string) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name}, Revision: n, Data: runtime.RawExtension{Raw: []byte(data)}}
	}
	revs := []*appsv1.ControllerRevision{rev("c", 3, "C"), rev("a", 1, "A"), rev("b", 2, "B")}
	Sort(revs)
	if revs[0].Name != "a" || revs[2].Name != "c" || MaxRevision(revs) != 3 {
		t.Fatalf("sorted %v", revs)
	}
	cases := []struct {
		data  string
		want  Choice
		equal string
	}{
		{"C", Latest, "c"},
		{"A", Renumber, "a"},
		{"D", Create, ""},
	}
	for _, c := range cases {
		got, eq := Choose(revs, rev("new", 4, c.data))
		name := ""
		if eq != nil {
			name = eq.Name
		}
		if got != c.want || name != c.equal {
			t.Errorf("data %s: %v %q, want %v %q", c.data, got, name, c.want, c.equal)
		}
	}
}
