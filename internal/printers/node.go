package printers

import (
	"time"

	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(Printer{Columns: runtimeClassColumns(), Cells: cellsOf(runtimeClassCells)},
		schema.GroupKind{Group: nodev1.GroupName, Kind: "RuntimeClass"})
}

// runtimeClassColumns describes HANDLER with ObjectMeta's (empty) "handler"
// description, as upstream does.
func runtimeClassColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Handler", Type: "string", Description: objectMetaDoc["handler"]},
		ageColumn(),
	}
}

func runtimeClassCells(rc *nodev1.RuntimeClass, now time.Time) ([]interface{}, error) {
	return []interface{}{rc.Name, rc.Handler, age(rc.CreationTimestamp, now)}, nil
}
