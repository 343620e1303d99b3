package printers

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// testPods are a running and a completed pod.
func testPods() []runtime.Object {
	created := metav1.NewTime(testNow.Add(-5 * time.Minute))
	return []runtime.Object{
		&corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1", ResourceVersion: "7", CreationTimestamp: created, Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		},
		&corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "job-1", Namespace: "default", CreationTimestamp: created},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "job", Image: "busybox"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodSucceeded},
		},
	}
}

func podPrinter(t *testing.T) Printer {
	t.Helper()
	p, ok := For(schema.GroupKind{Kind: "Pod"})
	if !ok {
		t.Fatal("no Pod printer")
	}
	return p
}

func TestTableIncludeObject(t *testing.T) {
	p := podPrinter(t)
	for _, include := range []string{"", "Metadata", "Object", "None"} {
		table, err := p.Table(testPods(), testNow, include, false)
		if err != nil {
			t.Fatalf("includeObject %q: %v", include, err)
		}
		if table.APIVersion != "meta.k8s.io/v1" || table.Kind != "Table" {
			t.Errorf("includeObject %q: TypeMeta %v", include, table.TypeMeta)
		}
		if !reflect.DeepEqual(table.ColumnDefinitions, p.Columns) {
			t.Errorf("includeObject %q: columns differ from the printer's", include)
		}
		if len(table.Rows) != 2 {
			t.Fatalf("includeObject %q: %d rows", include, len(table.Rows))
		}
		row := table.Rows[0]
		if want := []interface{}{"web", "0/1", "Running", "0", "5m", "<none>", "<none>", "<none>", "<none>"}; !reflect.DeepEqual(row.Cells, want) {
			t.Errorf("includeObject %q: cells %v, want %v", include, row.Cells, want)
		}
		switch include {
		case "", "Metadata":
			partial, ok := row.Object.Object.(*metav1.PartialObjectMetadata)
			if !ok {
				t.Fatalf("includeObject %q: row object is %T", include, row.Object.Object)
			}
			if partial.APIVersion != "meta.k8s.io/v1" || partial.Kind != "PartialObjectMetadata" {
				t.Errorf("includeObject %q: TypeMeta %v", include, partial.TypeMeta)
			}
			if partial.Name != "web" || partial.Namespace != "default" || partial.UID != "u1" || partial.ResourceVersion != "7" || partial.Labels["app"] != "web" {
				t.Errorf("includeObject %q: metadata %+v", include, partial.ObjectMeta)
			}
		case "Object":
			pod, ok := row.Object.Object.(*corev1.Pod)
			if !ok || pod.Name != "web" || pod.Spec.Containers[0].Image != "nginx" {
				t.Errorf("includeObject %q: row object %#v", include, row.Object.Object)
			}
		case "None":
			if row.Object.Object != nil || row.Object.Raw != nil {
				t.Errorf("includeObject %q: row object %#v", include, row.Object)
			}
		}
	}
}

func TestTableMetadataIsACopy(t *testing.T) {
	pods := testPods()
	table, err := podPrinter(t).Table(pods, testNow, "Metadata", false)
	if err != nil {
		t.Fatal(err)
	}
	table.Rows[0].Object.Object.(*metav1.PartialObjectMetadata).Labels["app"] = "changed"
	if got := pods[0].(*corev1.Pod).Labels["app"]; got != "web" {
		t.Errorf("changing the row's metadata changed the pod's label to %q", got)
	}
}

func TestTableNoHeaders(t *testing.T) {
	table, err := podPrinter(t).Table(testPods(), testNow, "None", true)
	if err != nil {
		t.Fatal(err)
	}
	if table.ColumnDefinitions != nil {
		t.Errorf("noHeaders: %d column definitions", len(table.ColumnDefinitions))
	}
	if len(table.Rows) != 2 || len(table.Rows[1].Cells) != len(podPrinter(t).Columns) {
		t.Errorf("noHeaders: rows %v", table.Rows)
	}
}

func TestTableEmpty(t *testing.T) {
	table, err := podPrinter(t).Table(nil, testNow, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if table.Rows == nil || len(table.Rows) != 0 {
		t.Errorf("rows %#v, want an empty list", table.Rows)
	}
}

func TestTableRowConditions(t *testing.T) {
	table, err := podPrinter(t).Table(testPods(), testNow, "None", false)
	if err != nil {
		t.Fatal(err)
	}
	if c := table.Rows[0].Conditions; c != nil {
		t.Errorf("running pod: conditions %v", c)
	}
	want := []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "The pod has completed successfully."}}
	if c := table.Rows[1].Conditions; !reflect.DeepEqual(c, want) {
		t.Errorf("succeeded pod: conditions %v, want %v", c, want)
	}
}

func TestTableInitialEventsEndBookmarkIsMetadata(t *testing.T) {
	bookmark := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		ResourceVersion: "42",
		Annotations:     map[string]string{metav1.InitialEventsAnnotationKey: "true"},
	}}
	for _, include := range []string{"Object", "None"} {
		table, err := podPrinter(t).Table([]runtime.Object{bookmark}, testNow, include, true)
		if err != nil {
			t.Fatal(err)
		}
		if partial, ok := table.Rows[0].Object.Object.(*metav1.PartialObjectMetadata); !ok || partial.ResourceVersion != "42" {
			t.Errorf("includeObject %q: bookmark row object %#v", include, table.Rows[0].Object.Object)
		}
	}
}

func TestTableErrors(t *testing.T) {
	p := podPrinter(t)
	if _, err := p.Table(testPods(), testNow, "Everything", false); err == nil || !strings.Contains(err.Error(), "includeObject") {
		t.Errorf("unknown includeObject: err %v", err)
	}
	if _, err := p.Table([]runtime.Object{&corev1.Node{}}, testNow, "", false); err == nil {
		t.Error("a Node in a Pod table: no error")
	}
	short := Printer{Columns: p.Columns, Cells: func(runtime.Object, time.Time) ([]interface{}, error) { return []interface{}{"x"}, nil }}
	if _, err := short.Table(testPods(), testNow, "", false); err == nil {
		t.Error("cells that do not line up with the columns: no error")
	}
}

func TestDefaultTable(t *testing.T) {
	widget := &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "example.com/v1", Kind: "Widget"},
		ObjectMeta: metav1.ObjectMeta{Name: "w1", CreationTimestamp: metav1.NewTime(testNow.Add(-26 * time.Hour))},
	}
	unborn := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "w2"}}
	table, err := Default.Table([]runtime.Object{widget, unborn}, testNow, "Object", false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "Name,Age" {
		t.Errorf("columns %s", got)
	}
	if want := []interface{}{"w1", "26h"}; !reflect.DeepEqual(table.Rows[0].Cells, want) {
		t.Errorf("cells %v, want %v", table.Rows[0].Cells, want)
	}
	if want := []interface{}{"w2", "<unknown>"}; !reflect.DeepEqual(table.Rows[1].Cells, want) {
		t.Errorf("cells %v, want %v", table.Rows[1].Cells, want)
	}
}
