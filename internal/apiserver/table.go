package apiserver

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-project/skiff/internal/registry"
)

// defaultTable is upstream's table for kinds without a printer: NAME and AGE.
func defaultTable(items []runtime.Object, now time.Time, includeObject string, noHeaders bool) (*metav1.Table, error) {
	t := &metav1.Table{}
	if !noHeaders {
		t.ColumnDefinitions = []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
			{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
		}
	}
	for _, it := range items {
		a, err := meta.Accessor(it)
		if err != nil {
			return nil, err
		}
		row := metav1.TableRow{Cells: []interface{}{a.GetName(), a.GetCreationTimestamp().UTC().Format(time.RFC3339)}}
		switch includeObject {
		case "Object":
			row.Object.Object = it
		case "Metadata", "":
			row.Object.Object = registry.PartialMetadata(it, "v1")
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
