package printers

import (
	"strings"
	"time"

	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	resource := func(kind string) schema.GroupKind { return schema.GroupKind{Group: resourcev1.GroupName, Kind: kind} }
	nameAge := []metav1.TableColumnDefinition{nameColumn(), ageColumn()}
	register(Printer{Columns: nameAge, Cells: cellsOf(deviceClassCells)}, resource("DeviceClass"))
	register(Printer{Columns: nameAge, Cells: cellsOf(resourceClaimTemplateCells)}, resource("ResourceClaimTemplate"))
	register(Printer{Columns: resourceClaimColumns(), Cells: cellsOf(resourceClaimCells)}, resource("ResourceClaim"))
	register(Printer{Columns: resourceSliceColumns(), Cells: cellsOf(resourceSliceCells)}, resource("ResourceSlice"))
	register(Printer{Columns: deviceTaintRuleColumns(), Cells: cellsOf(deviceTaintRuleCells)}, resource("DeviceTaintRule"))
}

func deviceClassCells(c *resourcev1.DeviceClass, now time.Time) ([]interface{}, error) {
	return []interface{}{c.Name, age(c.CreationTimestamp, now)}, nil
}

func resourceClaimTemplateCells(t *resourcev1.ResourceClaimTemplate, now time.Time) ([]interface{}, error) {
	return []interface{}{t.Name, age(t.CreationTimestamp, now)}, nil
}

// ResourceClaim

func resourceClaimColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "State", Type: "string", Description: "A summary of the current state (allocated, pending, reserved, etc.)."},
		ageColumn(),
	}
}

func resourceClaimCells(c *resourcev1.ResourceClaim, now time.Time) ([]interface{}, error) {
	return []interface{}{c.Name, resourceClaimState(c), age(c.CreationTimestamp, now)}, nil
}

// resourceClaimState is upstream's STATE: deleted, then pending or allocated and reserved.
func resourceClaimState(c *resourcev1.ResourceClaim) string {
	var states []string
	if c.DeletionTimestamp != nil {
		states = append(states, "deleted")
	}
	if c.Status.Allocation == nil {
		if c.DeletionTimestamp == nil {
			states = append(states, "pending")
		}
	} else {
		states = append(states, "allocated")
		if len(c.Status.ReservedFor) > 0 {
			states = append(states, "reserved")
		}
	}
	return strings.Join(states, ",")
}

// ResourceSlice

func resourceSliceColumns() []metav1.TableColumnDefinition {
	spec := resourcev1.ResourceSliceSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Node", Type: "string", Description: spec["nodeName"]},
		{Name: "Driver", Type: "string", Description: spec["driver"]},
		{Name: "Pool", Type: "string", Description: resourcev1.ResourcePool{}.SwaggerDoc()["name"]},
		ageColumn(),
	}
}

func resourceSliceCells(s *resourcev1.ResourceSlice, now time.Time) ([]interface{}, error) {
	node := ""
	if s.Spec.NodeName != nil {
		node = *s.Spec.NodeName
	}
	return []interface{}{s.Name, node, s.Spec.Driver, s.Spec.Pool.Name, age(s.CreationTimestamp, now)}, nil
}

// DeviceTaintRule

// deviceTaintRuleColumns show the taint, not the device selector, as upstream does.
func deviceTaintRuleColumns() []metav1.TableColumnDefinition {
	doc := resourcev1.DeviceTaint{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Key", Type: "string", Description: doc["key"]},
		{Name: "Value", Type: "string", Description: doc["value"]},
		{Name: "Effect", Type: "string", Description: doc["effect"]},
		{Name: "TimeAdded", Type: "string", Description: doc["timeAdded"]},
		ageColumn(),
	}
}

func deviceTaintRuleCells(r *resourcev1.DeviceTaintRule, now time.Time) ([]interface{}, error) {
	added := ""
	if t := r.Spec.Taint.TimeAdded; t != nil {
		added = age(*t, now)
	}
	t := r.Spec.Taint
	return []interface{}{r.Name, t.Key, t.Value, string(t.Effect), added, age(r.CreationTimestamp, now)}, nil
}
