package defaults

import (
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/utils/ptr"
)

// This file follows upstream's pkg/apis/storage/v1/defaults.go. CSINode has no scheme
// defaults. The CSIVolumeFSGroupPolicy and CSIInlineVolume gates of older stored versions are
// GA and removed; SELinuxMountReadWriteOncePod is on by default, so seLinuxMount defaults.

// defaultStorageClass follows SetDefaults_StorageClass.
func defaultStorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimDelete)
	}
	if sc.VolumeBindingMode == nil {
		sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingImmediate)
	}
}

// defaultCSIDriver follows SetDefaults_CSIDriver.
func defaultCSIDriver(d *storagev1.CSIDriver) {
	s := &d.Spec
	if s.AttachRequired == nil {
		s.AttachRequired = ptr.To(true)
	}
	if s.PodInfoOnMount == nil {
		s.PodInfoOnMount = ptr.To(false)
	}
	if s.StorageCapacity == nil {
		s.StorageCapacity = ptr.To(false)
	}
	if s.FSGroupPolicy == nil {
		s.FSGroupPolicy = ptr.To(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)
	}
	if len(s.VolumeLifecycleModes) == 0 {
		s.VolumeLifecycleModes = append(s.VolumeLifecycleModes, storagev1.VolumeLifecyclePersistent)
	}
	if s.RequiresRepublish == nil {
		s.RequiresRepublish = ptr.To(false)
	}
	if s.SELinuxMount == nil {
		s.SELinuxMount = ptr.To(false)
	}
	// The VolumeLimitScaling gate is beta and on by default since v1.37.
	if s.PreventPodSchedulingIfMissing == nil {
		s.PreventPodSchedulingIfMissing = ptr.To(false)
	}
}

// defaultVolumeAttachment applies the nested PersistentVolumeSpec defaulters to an inline
// volume spec (not the PersistentVolume-level reclaim policy or volume mode).
func defaultVolumeAttachment(va *storagev1.VolumeAttachment) {
	if va.Spec.Source.InlineVolumeSpec != nil {
		defaultPersistentVolumeSpec(va.Spec.Source.InlineVolumeSpec)
	}
}
