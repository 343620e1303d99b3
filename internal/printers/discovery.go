package printers

import (
	"strconv"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	register(Printer{Columns: endpointSliceColumns(), Cells: cellsOf(endpointSliceCells)},
		schema.GroupKind{Group: discoveryv1.GroupName, Kind: "EndpointSlice"})
}

func endpointSliceColumns() []metav1.TableColumnDefinition {
	doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "AddressType", Type: "string", Description: doc["addressType"]},
		{Name: "Ports", Type: "string", Description: doc["ports"]},
		{Name: "Endpoints", Type: "string", Description: doc["endpoints"]},
		ageColumn(),
	}
}

// endpointSliceCells lists up to three ports (number, else name, else "*")
// and up to three addresses, each followed by " + N more..." for the rest
// and "<unset>" when empty.
func endpointSliceCells(es *discoveryv1.EndpointSlice, now time.Time) ([]interface{}, error) {
	const max = 3
	ports := make([]string, 0, len(es.Ports))
	for _, p := range es.Ports {
		switch {
		case p.Port != nil:
			ports = append(ports, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			ports = append(ports, *p.Name)
		default:
			ports = append(ports, "*")
		}
	}
	var addresses []string
	for _, ep := range es.Endpoints {
		addresses = append(addresses, ep.Addresses...)
	}
	return []interface{}{
		es.Name, string(es.AddressType),
		listWithMore(ports, len(ports), max), listWithMore(addresses, len(addresses), max),
		age(es.CreationTimestamp, now),
	}, nil
}
