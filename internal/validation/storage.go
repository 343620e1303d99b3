package validation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	maxProvisionerParameterSize = 256 * (1 << 10)
	maxProvisionerParameterLen  = 512
	maxCSINodeIDLength          = 256
)

var (
	supportedStorageClassReclaim = sets.New(string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain))
	supportedVolumeBindingModes  = sets.New(string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer))
	supportedFSGroupPolicies     = sets.New(string(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy), string(storagev1.FileFSGroupPolicy), string(storagev1.NoneFSGroupPolicy))
	supportedLifecycleModes      = sets.New(string(storagev1.VolumeLifecyclePersistent), string(storagev1.VolumeLifecycleEphemeral))
)

// validateStorageClass validates a storage class's provisioner, parameters,
// reclaim policy, binding mode and topologies.
func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	var allErrs field.ErrorList
	pp := field.NewPath("provisioner")
	if len(sc.Provisioner) == 0 {
		allErrs = append(allErrs, field.Required(pp, sc.Provisioner))
	} else {
		allErrs = append(allErrs, qualifiedName(strings.ToLower(sc.Provisioner), pp)...)
	}
	allErrs = append(allErrs, storageParameters(sc.Parameters, field.NewPath("parameters"))...)
	if sc.ReclaimPolicy != nil && len(*sc.ReclaimPolicy) > 0 && !supportedStorageClassReclaim.Has(string(*sc.ReclaimPolicy)) {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("reclaimPolicy"), sc.ReclaimPolicy, sets.List(supportedStorageClassReclaim)))
	}
	bp := field.NewPath("volumeBindingMode")
	if sc.VolumeBindingMode == nil {
		allErrs = append(allErrs, field.Required(bp, ""))
	} else if !supportedVolumeBindingModes.Has(string(*sc.VolumeBindingMode)) {
		allErrs = append(allErrs, field.NotSupported(bp, sc.VolumeBindingMode, sets.List(supportedVolumeBindingModes)))
	}
	tp := field.NewPath("allowedTopologies")
	for i, term := range sc.AllowedTopologies {
		keys := sets.New[string]()
		for j, req := range term.MatchLabelExpressions {
			p := tp.Index(i).Child("matchLabelExpressions").Index(j)
			if len(req.Values) == 0 {
				allErrs = append(allErrs, field.Required(p.Child("values"), ""))
			}
			vals := sets.New[string]()
			for k, v := range req.Values {
				if vals.Has(v) {
					allErrs = append(allErrs, field.Duplicate(p.Child("values").Index(k), v))
				}
				vals.Insert(v)
			}
			allErrs = append(allErrs, metavalidation.ValidateLabelName(req.Key, p.Child("key"))...)
			if keys.Has(req.Key) {
				allErrs = append(allErrs, field.Duplicate(p.Child("key"), req.Key))
			}
			keys.Insert(req.Key)
		}
	}
	return allErrs
}

// storageParameters validates a storage class's parameter count and size.
func storageParameters(params map[string]string, fldPath *field.Path) field.ErrorList {
	if len(params) > maxProvisionerParameterLen {
		return field.ErrorList{field.TooLong(fldPath, "Provisioner Parameters exceeded max allowed", maxProvisionerParameterLen)}
	}
	var allErrs field.ErrorList
	total := 0
	for _, k := range sortedKeys(params) {
		if len(k) < 1 {
			allErrs = append(allErrs, field.Invalid(fldPath, k, "field can not be empty."))
		}
		total += len(k) + len(params[k])
	}
	if total > maxProvisionerParameterSize {
		allErrs = append(allErrs, field.TooLong(fldPath, "", maxProvisionerParameterSize))
	}
	return allErrs
}

// validateStorageClassUpdate forbids changing parameters, provisioner,
// reclaim policy and binding mode.
func validateStorageClassUpdate(sc, old *storagev1.StorageClass) field.ErrorList {
	var allErrs field.ErrorList
	if !apiequality.Semantic.DeepEqual(old.Parameters, sc.Parameters) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
	}
	if sc.Provisioner != old.Provisioner {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
	}
	if !apiequality.Semantic.DeepEqual(sc.ReclaimPolicy, old.ReclaimPolicy) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
	}
	return append(allErrs, immutable(sc.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
}

// validateCSIDriver validates a CSI driver's spec.
func validateCSIDriver(d *storagev1.CSIDriver) field.ErrorList {
	fldPath := field.NewPath("spec")
	var allErrs field.ErrorList
	if d.Spec.AttachRequired == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("attachedRequired"), ""))
	}
	if d.Spec.PodInfoOnMount == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("podInfoOnMount"), ""))
	}
	if d.Spec.StorageCapacity == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("storageCapacity"), ""))
	}
	if p := d.Spec.FSGroupPolicy; p != nil && !supportedFSGroupPolicies.Has(string(*p)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("fsGroupPolicy"), *p, sets.List(supportedFSGroupPolicies)))
	}
	audiences := sets.New[string]()
	for i, tr := range d.Spec.TokenRequests {
		p := fldPath.Child("tokenRequests").Index(i)
		if audiences.Has(tr.Audience) {
			allErrs = append(allErrs, field.Duplicate(p.Child("audience"), tr.Audience))
		}
		audiences.Insert(tr.Audience)
		if tr.ExpirationSeconds != nil {
			if *tr.ExpirationSeconds < 600 {
				allErrs = append(allErrs, field.Invalid(p.Child("expirationSeconds"), *tr.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
			} else if *tr.ExpirationSeconds > 1<<32 {
				allErrs = append(allErrs, field.Invalid(p.Child("expirationSeconds"), *tr.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
			}
		}
	}
	for _, m := range d.Spec.VolumeLifecycleModes {
		if !supportedLifecycleModes.Has(string(m)) {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeLifecycleModes"), m, sets.List(supportedLifecycleModes)))
		}
	}
	return allErrs
}

// validateCSIDriverUpdate validates an update; attachRequired,
// fsGroupPolicy and volumeLifecycleModes are immutable.
func validateCSIDriverUpdate(d, old *storagev1.CSIDriver) field.ErrorList {
	allErrs := validateCSIDriver(d)
	p := field.NewPath("spec")
	allErrs = append(allErrs, immutable(d.Spec.AttachRequired, old.Spec.AttachRequired, p.Child("attachRequired"))...)
	allErrs = append(allErrs, immutable(d.Spec.FSGroupPolicy, old.Spec.FSGroupPolicy, p.Child("fsGroupPolicy"))...)
	return append(allErrs, immutable(d.Spec.VolumeLifecycleModes, old.Spec.VolumeLifecycleModes, p.Child("volumeLifecycleModes"))...)
}

// validateCSINode validates the drivers of a CSI node.
func validateCSINode(n *storagev1.CSINode) field.ErrorList {
	var allErrs field.ErrorList
	fldPath := field.NewPath("spec", "drivers")
	names := sets.New[string]()
	for i, d := range n.Spec.Drivers {
		p := fldPath.Index(i)
		allErrs = append(allErrs, csiDriverName(d.Name, p.Child("name"))...)
		if len(d.NodeID) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("nodeID"), ""))
		} else if len(d.NodeID) > maxCSINodeIDLength {
			allErrs = append(allErrs, field.Invalid(p.Child("nodeID"), d.NodeID, "must be 256 characters or less"))
		}
		if d.Allocatable != nil && d.Allocatable.Count != nil && *d.Allocatable.Count < 0 {
			allErrs = append(allErrs, nonNegative(int64(*d.Allocatable.Count), p.Child("allocatable", "count"))...)
		}
		keys := sets.New[string]()
		for j, k := range d.TopologyKeys {
			if len(k) == 0 {
				allErrs = append(allErrs, field.Required(p.Child("topologyKeys"), k))
			}
			if keys.Has(k) {
				allErrs = append(allErrs, field.Duplicate(p.Child("topologyKeys").Index(j), k))
			}
			keys.Insert(k)
			allErrs = append(allErrs, metavalidation.ValidateLabelName(k, p.Child("topologyKeys"))...)
		}
		if names.Has(d.Name) {
			allErrs = append(allErrs, field.Duplicate(p.Child("name"), d.Name))
		}
		names.Insert(d.Name)
	}
	return allErrs
}

// validateCSINodeUpdate validates an update; existing drivers keep their
// node ID and topology keys.
func validateCSINodeUpdate(n, old *storagev1.CSINode) field.ErrorList {
	allErrs := validateCSINode(n)
	for _, od := range old.Spec.Drivers {
		for i, nd := range n.Spec.Drivers {
			if od.Name != nd.Name {
				continue
			}
			p := field.NewPath("spec", "drivers").Index(i)
			allErrs = append(allErrs, immutable(nd.NodeID, od.NodeID, p.Child("nodeID"))...)
			allErrs = append(allErrs, immutable(nd.TopologyKeys, od.TopologyKeys, p.Child("topologyKeys"))...)
		}
	}
	return allErrs
}

// validateVolumeAttachment validates a volume attachment's spec.
func validateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	fldPath := field.NewPath("spec")
	allErrs := csiDriverName(va.Spec.Attacher, fldPath.Child("attacher"))
	sp := fldPath.Child("source")
	src := va.Spec.Source
	const msg = "must specify exactly one of inlineVolumeSpec and persistentVolumeName"
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		allErrs = append(allErrs, field.Required(sp, msg))
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		allErrs = append(allErrs, field.Forbidden(sp, msg))
	case src.PersistentVolumeName != nil && len(*src.PersistentVolumeName) == 0:
		allErrs = append(allErrs, field.Required(sp.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
	}
	np := fldPath.Child("nodeName")
	if len(va.Spec.NodeName) == 0 {
		allErrs = append(allErrs, field.Required(np, ""))
	} else {
		allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, va.Spec.NodeName, np)...)
	}
	return allErrs
}

// validateVolumeAttachmentUpdate validates an update; the spec is immutable.
func validateVolumeAttachmentUpdate(va, old *storagev1.VolumeAttachment) field.ErrorList {
	allErrs := validateVolumeAttachment(va)
	if !apiequality.Semantic.DeepEqual(va.Spec, old.Spec) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("spec"), va.Spec, "field is immutable"))
	}
	return allErrs
}

// validateCSIStorageCapacity validates a storage capacity's node topology,
// storage class name and capacity.
func validateCSIStorageCapacity(c *storagev1.CSIStorageCapacity) field.ErrorList {
	allErrs := labelSelector(c.NodeTopology, field.NewPath("nodeTopology"))
	allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, c.StorageClassName, field.NewPath("storageClassName"))...)
	if c.Capacity != nil {
		allErrs = append(allErrs, nonNegativeQuantity(*c.Capacity, field.NewPath("capacity"))...)
	}
	return allErrs
}

// validateCSIStorageCapacityUpdate validates an update; the node topology
// and storage class name are the inputs of the driver's GetCapacity call and
// immutable.
func validateCSIStorageCapacityUpdate(c, old *storagev1.CSIStorageCapacity) field.ErrorList {
	var allErrs field.ErrorList
	if !apiequality.Semantic.DeepEqual(c.NodeTopology, old.NodeTopology) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("nodeTopology"), c.NodeTopology, "field is immutable"))
	}
	if c.StorageClassName != old.StorageClassName {
		allErrs = append(allErrs, field.Invalid(field.NewPath("storageClassName"), c.StorageClassName, "field is immutable"))
	}
	return allErrs
}
