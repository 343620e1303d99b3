package printers

import (
	"sort"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(Printer{Columns: customResourceDefinitionColumns(), Cells: cellsOf(customResourceDefinitionCells)},
		schema.GroupKind{Group: apiextensionsv1.GroupName, Kind: "CustomResourceDefinition"})
}

// customResourceDefinitionColumns are apiextensions-apiserver v1.37's
// columns for CRDs: CREATED AT as an RFC 3339 time, and the group, kind,
// short names and Established condition in wide output.
func customResourceDefinitionColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Scope", Type: "string", Description: "Cluster/Namespaced"},
		{Name: "Versions", Type: "string", Description: "Served versions"},
		{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
		{Name: "Group", Type: "string", Priority: 1, Description: "API group"},
		{Name: "Kind", Type: "string", Priority: 1, Description: "CustomResource kind"},
		{Name: "ShortNames", Type: "string", Priority: 1, Description: "Short names"},
		{Name: "Established", Type: "boolean", Priority: 1, Description: "Established status"},
	}
}

// customResourceDefinitionCells lists the served versions, sorted, the
// storage version marked "(storage)".
func customResourceDefinitionCells(crd *apiextensionsv1.CustomResourceDefinition, _ time.Time) ([]interface{}, error) {
	var versions []string
	for _, v := range crd.Spec.Versions {
		if v.Served {
			label := v.Name
			if v.Storage {
				label += "(storage)"
			}
			versions = append(versions, label)
		}
	}
	sort.Strings(versions)
	established := false
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			established = true
		}
	}
	return []interface{}{
		crd.Name,
		string(crd.Spec.Scope),
		strings.Join(versions, ","),
		createdAtCell(crd.CreationTimestamp),
		crd.Spec.Group,
		crd.Spec.Names.Kind,
		strings.Join(crd.Spec.Names.ShortNames, ","),
		established,
	}, nil
}
