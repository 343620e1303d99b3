package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Annotations that mark the default StorageClass.
const (
	isDefaultStorageClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaIsDefaultStorageClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

func init() {
	storage := func(kind string) schema.GroupKind { return schema.GroupKind{Group: storagev1.GroupName, Kind: kind} }
	register(Printer{Columns: storageClassColumns(), Cells: cellsOf(storageClassCells)}, storage("StorageClass"))
	register(Printer{Columns: csiDriverColumns(), Cells: cellsOf(csiDriverCells)}, storage("CSIDriver"))
	register(Printer{Columns: csiNodeColumns(), Cells: cellsOf(csiNodeCells)}, storage("CSINode"))
	register(Printer{Columns: volumeAttachmentColumns(), Cells: cellsOf(volumeAttachmentCells)}, storage("VolumeAttachment"))
	// Upstream's CSIStorageCapacity storage does not use its printer: the default NAME, CREATED AT.
	register(createdAt, storage("CSIStorageCapacity"))
}

// StorageClass

func storageClassColumns() []metav1.TableColumnDefinition {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Provisioner", Type: "string", Description: doc["provisioner"]},
		{Name: "ReclaimPolicy", Type: "string", Description: doc["reclaimPolicy"]},
		{Name: "VolumeBindingMode", Type: "string", Description: doc["volumeBindingMode"]},
		{Name: "AllowVolumeExpansion", Type: "string", Description: doc["allowVolumeExpansion"]},
		ageColumn(),
	}
}

// storageClassCells marks the default class's NAME with " (default)" and
// shows unset policies with their defaults (Delete, Immediate, false).
func storageClassCells(sc *storagev1.StorageClass, now time.Time) ([]interface{}, error) {
	name := sc.Name
	if sc.Annotations[isDefaultStorageClassAnnotation] == "true" || sc.Annotations[betaIsDefaultStorageClassAnnotation] == "true" {
		name += " (default)"
	}
	reclaimPolicy := string(corev1.PersistentVolumeReclaimDelete)
	if sc.ReclaimPolicy != nil {
		reclaimPolicy = string(*sc.ReclaimPolicy)
	}
	bindingMode := string(storagev1.VolumeBindingImmediate)
	if sc.VolumeBindingMode != nil {
		bindingMode = string(*sc.VolumeBindingMode)
	}
	allowExpansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
	return []interface{}{name, sc.Provisioner, reclaimPolicy, bindingMode, allowExpansion, age(sc.CreationTimestamp, now)}, nil
}

// CSIDriver

func csiDriverColumns() []metav1.TableColumnDefinition {
	doc := storagev1.CSIDriverSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "AttachRequired", Type: "boolean", Description: doc["attachRequired"]},
		{Name: "PodInfoOnMount", Type: "boolean", Description: doc["podInfoOnMount"]},
		{Name: "StorageCapacity", Type: "boolean", Description: doc["storageCapacity"]},
		{Name: "TokenRequests", Type: "string", Description: doc["tokenRequests"]},
		{Name: "RequiresRepublish", Type: "boolean", Description: doc["requiresRepublish"]},
		{Name: "Modes", Type: "string", Description: doc["volumeLifecycleModes"]},
		ageColumn(),
	}
}

// csiDriverCells shows unset booleans with their defaults (attachRequired
// true, the others false), TOKENREQUESTS as the audiences ("<unset>" when
// nil) and MODES as the lifecycle modes ("<none>" when empty).
func csiDriverCells(d *storagev1.CSIDriver, now time.Time) ([]interface{}, error) {
	attachRequired := d.Spec.AttachRequired == nil || *d.Spec.AttachRequired
	podInfoOnMount := d.Spec.PodInfoOnMount != nil && *d.Spec.PodInfoOnMount
	storageCapacity := d.Spec.StorageCapacity != nil && *d.Spec.StorageCapacity
	requiresRepublish := d.Spec.RequiresRepublish != nil && *d.Spec.RequiresRepublish
	tokenRequests := "<unset>"
	if d.Spec.TokenRequests != nil {
		audiences := make([]string, len(d.Spec.TokenRequests))
		for i, t := range d.Spec.TokenRequests {
			audiences[i] = t.Audience
		}
		tokenRequests = strings.Join(audiences, ",")
	}
	modes := make([]string, len(d.Spec.VolumeLifecycleModes))
	for i, m := range d.Spec.VolumeLifecycleModes {
		modes[i] = string(m)
	}
	return []interface{}{
		d.Name, attachRequired, podInfoOnMount, storageCapacity, tokenRequests, requiresRepublish,
		orNone(strings.Join(modes, ",")), age(d.CreationTimestamp, now),
	}, nil
}

// CSINode

func csiNodeColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Drivers", Type: "integer", Description: "Drivers indicates the number of CSI drivers registered on the node"},
		ageColumn(),
	}
}

func csiNodeCells(n *storagev1.CSINode, now time.Time) ([]interface{}, error) {
	return []interface{}{n.Name, int64(len(n.Spec.Drivers)), age(n.CreationTimestamp, now)}, nil
}

// VolumeAttachment

func volumeAttachmentColumns() []metav1.TableColumnDefinition {
	spec := storagev1.VolumeAttachmentSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Attacher", Type: "string", Format: "name", Description: spec["attacher"]},
		{Name: "PV", Type: "string", Description: storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]},
		{Name: "Node", Type: "string", Description: spec["nodeName"]},
		{Name: "Attached", Type: "boolean", Description: storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]},
		ageColumn(),
	}
}

func volumeAttachmentCells(va *storagev1.VolumeAttachment, now time.Time) ([]interface{}, error) {
	return []interface{}{
		va.Name, va.Spec.Attacher, stringValue(va.Spec.Source.PersistentVolumeName), va.Spec.NodeName,
		va.Status.Attached, age(va.CreationTimestamp, now),
	}, nil
}
