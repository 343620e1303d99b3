package printers

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(Printer{Columns: leaseColumns(), Cells: cellsOf(leaseCells)},
		schema.GroupKind{Group: coordinationv1.GroupName, Kind: "Lease"})
}

func leaseColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
		ageColumn(),
	}
}

func leaseCells(l *coordinationv1.Lease, now time.Time) ([]interface{}, error) {
	return []interface{}{l.Name, stringValue(l.Spec.HolderIdentity), age(l.CreationTimestamp, now)}, nil
}
