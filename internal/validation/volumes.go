package validation

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	iscsiIqnRegex = regexp.MustCompile(`iqn\.\d{4}-\d{2}\.([[:alnum:]-.]+)(:[^,;*&$|\s]+)$`)
	iscsiEuiRegex = regexp.MustCompile(`^eui.[[:alnum:]]{16}$`)
	iscsiNaaRegex = regexp.MustCompile(`^naa.[[:alnum:]]{32}$`)
)

// validateVolumes validates a pod's volumes and returns the valid ones by name.
func validateVolumes(volumes []corev1.Volume, podMeta *metav1.ObjectMeta, fldPath *field.Path, opts podOptions) (map[string]corev1.VolumeSource, field.ErrorList) {
	var allErrs field.ErrorList
	names := sets.New[string]()
	createdPVCs := sets.New[string]()
	if podMeta != nil && podMeta.Name != "" {
		for _, v := range volumes {
			if v.Ephemeral != nil {
				createdPVCs.Insert(podMeta.Name + "-" + v.Name)
			}
		}
	}
	vols := map[string]corev1.VolumeSource{}
	for i, vol := range volumes {
		p := fldPath.Index(i)
		namePath := p.Child("name")
		el := volumeSource(&vol.VolumeSource, p, vol.Name, podMeta, opts)
		if len(vol.Name) == 0 {
			el = append(el, field.Required(namePath, ""))
		} else {
			el = append(el, dnsLabel(vol.Name, namePath)...)
		}
		if names.Has(vol.Name) {
			el = append(el, field.Duplicate(namePath, vol.Name))
		}
		if len(el) == 0 {
			names.Insert(vol.Name)
			vols[vol.Name] = vol.VolumeSource
		} else {
			allErrs = append(allErrs, el...)
		}
		if vol.PersistentVolumeClaim != nil && createdPVCs.Has(vol.PersistentVolumeClaim.ClaimName) {
			allErrs = append(allErrs, field.Invalid(p.Child("persistentVolumeClaim").Child("claimName"), vol.PersistentVolumeClaim.ClaimName,
				"must not reference a PVC that gets created for an ephemeral volume"))
		}
	}
	return vols, allErrs
}

// volumeSource validates that exactly one source is set, and that source.
func volumeSource(s *corev1.VolumeSource, fldPath *field.Path, volName string, podMeta *metav1.ObjectMeta, opts podOptions) field.ErrorList {
	var allErrs field.ErrorList
	n := 0
	// add counts a set source; it reports the extra ones upstream's way.
	add := func(set bool, name string, validate func() field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 volume type"))
			return
		}
		n++
		allErrs = append(allErrs, validate()...)
	}
	if s.EmptyDir != nil {
		n++
		if s.EmptyDir.SizeLimit != nil && s.EmptyDir.SizeLimit.Cmp(resource.Quantity{}) < 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("emptyDir").Child("sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
	}
	add(s.HostPath != nil, "hostPath", func() field.ErrorList { return hostPathSource(s.HostPath, fldPath.Child("hostPath")) })
	add(s.GitRepo != nil, "gitRepo", func() field.ErrorList {
		var errs field.ErrorList
		if len(s.GitRepo.Repository) == 0 {
			errs = append(errs, field.Required(fldPath.Child("gitRepo").Child("repository"), ""))
		}
		return append(errs, localDescendingPath(s.GitRepo.Directory, fldPath.Child("gitRepo").Child("directory"))...)
	})
	add(s.GCEPersistentDisk != nil, "gcePersistentDisk", func() field.ErrorList {
		return diskSource(s.GCEPersistentDisk.PDName, "pdName", s.GCEPersistentDisk.Partition, fldPath.Child("persistentDisk"))
	})
	add(s.AWSElasticBlockStore != nil, "awsElasticBlockStore", func() field.ErrorList {
		return diskSource(s.AWSElasticBlockStore.VolumeID, "volumeID", s.AWSElasticBlockStore.Partition, fldPath.Child("awsElasticBlockStore"))
	})
	add(s.Secret != nil, "secret", func() field.ErrorList {
		p := fldPath.Child("secret")
		var errs field.ErrorList
		if len(s.Secret.SecretName) == 0 {
			errs = append(errs, field.Required(p.Child("secretName"), ""))
		}
		return append(errs, keyToPathSource(s.Secret.DefaultMode, s.Secret.Items, p)...)
	})
	add(s.NFS != nil, "nfs", func() field.ErrorList {
		p := fldPath.Child("nfs")
		var errs field.ErrorList
		if len(s.NFS.Server) == 0 {
			errs = append(errs, field.Required(p.Child("server"), ""))
		}
		if len(s.NFS.Path) == 0 {
			errs = append(errs, field.Required(p.Child("path"), ""))
		}
		if !path.IsAbs(s.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), s.NFS.Path, "must be an absolute path"))
		}
		return errs
	})
	add(s.ISCSI != nil, "iscsi", func() field.ErrorList { return iscsiSource(s.ISCSI, fldPath.Child("iscsi")) })
	if s.ISCSI != nil && s.ISCSI.InitiatorName != nil && len(volName+":"+s.ISCSI.TargetPortal) > 64 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), volName, "Total length of <volume name>:<iscsi.targetPortal> must be under 64 characters if iscsi.initiatorName is specified."))
	}
	add(s.Glusterfs != nil, "glusterfs", func() field.ErrorList {
		return requiredStrings(fldPath.Child("glusterfs"), "endpoints", s.Glusterfs.EndpointsName, "path", s.Glusterfs.Path)
	})
	add(s.Flocker != nil, "flocker", func() field.ErrorList {
		p := fldPath.Child("flocker")
		var errs field.ErrorList
		if len(s.Flocker.DatasetName) == 0 && len(s.Flocker.DatasetUUID) == 0 {
			errs = append(errs, field.Required(p, "one of datasetName and datasetUUID is required"))
		}
		if len(s.Flocker.DatasetName) != 0 && len(s.Flocker.DatasetUUID) != 0 {
			errs = append(errs, field.Invalid(p, "resource", "datasetName and datasetUUID can not be specified simultaneously"))
		}
		if strings.Contains(s.Flocker.DatasetName, "/") {
			errs = append(errs, field.Invalid(p.Child("datasetName"), s.Flocker.DatasetName, "must not contain '/'"))
		}
		return errs
	})
	add(s.PersistentVolumeClaim != nil, "persistentVolumeClaim", func() field.ErrorList {
		return requiredStrings(fldPath.Child("persistentVolumeClaim"), "claimName", s.PersistentVolumeClaim.ClaimName)
	})
	add(s.RBD != nil, "rbd", func() field.ErrorList {
		p := fldPath.Child("rbd")
		var errs field.ErrorList
		if len(s.RBD.CephMonitors) == 0 {
			errs = append(errs, field.Required(p.Child("monitors"), ""))
		}
		return append(errs, requiredStrings(p, "image", s.RBD.RBDImage)...)
	})
	add(s.Cinder != nil, "cinder", func() field.ErrorList {
		p := fldPath.Child("cinder")
		errs := requiredStrings(p, "volumeID", s.Cinder.VolumeID)
		if s.Cinder.SecretRef != nil && len(s.Cinder.SecretRef.Name) == 0 {
			errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
		}
		return errs
	})
	add(s.CephFS != nil, "cephFS", func() field.ErrorList {
		if len(s.CephFS.Monitors) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("cephfs").Child("monitors"), "")}
		}
		return nil
	})
	add(s.Quobyte != nil, "quobyte", func() field.ErrorList { return quobyteSource(s.Quobyte, fldPath.Child("quobyte")) })
	add(s.DownwardAPI != nil, "downwarAPI", func() field.ErrorList {
		p := fldPath.Child("downwardAPI")
		errs := fileMode(s.DownwardAPI.DefaultMode, p.Child("defaultMode"))
		for _, f := range s.DownwardAPI.Items {
			errs = append(errs, downwardAPIVolumeFile(&f, p)...)
		}
		return errs
	})
	add(s.FC != nil, "fc", func() field.ErrorList { return fcSource(s.FC, fldPath.Child("fc")) })
	add(s.FlexVolume != nil, "flexVolume", func() field.ErrorList {
		p := fldPath.Child("flexVolume")
		errs := requiredStrings(p, "driver", s.FlexVolume.Driver)
		for _, k := range sortedKeys(s.FlexVolume.Options) {
			ns := k
			if parts := strings.SplitN(k, "/", 2); len(parts) == 2 {
				ns = parts[0]
			}
			normalized := "." + strings.ToLower(ns)
			if strings.HasSuffix(normalized, ".kubernetes.io") || strings.HasSuffix(normalized, ".k8s.io") {
				errs = append(errs, field.Invalid(p.Child("options").Key(k), k, "kubernetes.io and k8s.io namespaces are reserved"))
			}
		}
		return errs
	})
	add(s.ConfigMap != nil, "configMap", func() field.ErrorList {
		p := fldPath.Child("configMap")
		errs := requiredStrings(p, "name", s.ConfigMap.Name)
		return append(errs, keyToPathSource(s.ConfigMap.DefaultMode, s.ConfigMap.Items, p)...)
	})
	add(s.AzureFile != nil, "azureFile", func() field.ErrorList {
		return requiredStrings(fldPath.Child("azureFile"), "secretName", s.AzureFile.SecretName, "shareName", s.AzureFile.ShareName)
	})
	add(s.VsphereVolume != nil, "vsphereVolume", func() field.ErrorList {
		return requiredStrings(fldPath.Child("vsphereVolume"), "volumePath", s.VsphereVolume.VolumePath)
	})
	add(s.PhotonPersistentDisk != nil, "photonPersistentDisk", func() field.ErrorList {
		return requiredStrings(fldPath.Child("photonPersistentDisk"), "pdID", s.PhotonPersistentDisk.PdID)
	})
	add(s.PortworxVolume != nil, "portworxVolume", func() field.ErrorList {
		return requiredStrings(fldPath.Child("portworxVolume"), "volumeID", s.PortworxVolume.VolumeID)
	})
	add(s.AzureDisk != nil, "azureDisk", func() field.ErrorList { return azureDiskSource(s.AzureDisk, fldPath.Child("azureDisk")) })
	add(s.StorageOS != nil, "storageos", func() field.ErrorList {
		p := fldPath.Child("storageos")
		var errs field.ErrorList
		if len(s.StorageOS.VolumeName) == 0 {
			errs = append(errs, field.Required(p.Child("volumeName"), ""))
		} else {
			errs = append(errs, dnsLabel(s.StorageOS.VolumeName, p.Child("volumeName"))...)
		}
		if len(s.StorageOS.VolumeNamespace) > 0 {
			errs = append(errs, dnsLabel(s.StorageOS.VolumeNamespace, p.Child("volumeNamespace"))...)
		}
		if s.StorageOS.SecretRef != nil && len(s.StorageOS.SecretRef.Name) == 0 {
			errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
		}
		return errs
	})
	add(s.Projected != nil, "projected", func() field.ErrorList {
		p := fldPath.Child("projected")
		return append(fileMode(s.Projected.DefaultMode, p.Child("defaultMode")), projectionSources(s.Projected, p)...)
	})
	add(s.ScaleIO != nil, "scaleIO", func() field.ErrorList {
		return requiredStrings(fldPath.Child("scaleIO"), "gateway", s.ScaleIO.Gateway, "system", s.ScaleIO.System, "volumeName", s.ScaleIO.VolumeName)
	})
	add(s.CSI != nil, "csi", func() field.ErrorList {
		p := fldPath.Child("csi")
		errs := csiDriverName(s.CSI.Driver, p.Child("driver"))
		if ref := s.CSI.NodePublishSecretRef; ref != nil {
			if len(ref.Name) == 0 {
				errs = append(errs, field.Required(p.Child("nodePublishSecretRef", "name"), ""))
			} else {
				errs = append(errs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, ref.Name, p.Child("name"))...)
			}
		}
		return errs
	})
	add(s.Ephemeral != nil, "ephemeral", func() field.ErrorList {
		p := fldPath.Child("ephemeral")
		var errs field.ErrorList
		if s.Ephemeral.VolumeClaimTemplate == nil {
			errs = append(errs, field.Required(p.Child("volumeClaimTemplate"), ""))
		} else {
			tp := p.Child("volumeClaimTemplate")
			errs = append(errs, templateObjectMeta(&s.Ephemeral.VolumeClaimTemplate.ObjectMeta, tp.Child("metadata"))...)
			errs = append(errs, pvcSpec(&s.Ephemeral.VolumeClaimTemplate.Spec, tp.Child("spec"))...)
		}
		if podMeta != nil && podMeta.Name != "" && volName != "" {
			pvcName := podMeta.Name + "-" + volName
			for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(pvcName, false) {
				errs = append(errs, field.Invalid(fldPath.Child("name"), volName, fmt.Sprintf("PVC name %q: %v", pvcName, msg)))
			}
		}
		return errs
	})
	add(s.Image != nil, "image", func() field.ErrorList {
		p := fldPath.Child("image")
		var errs field.ErrorList
		if opts.resourceIsPod && len(s.Image.Reference) == 0 {
			errs = append(errs, field.Required(p.Child("reference"), ""))
		}
		return append(errs, pullPolicy(s.Image.PullPolicy, p.Child("pullPolicy"))...)
	})
	if n == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a volume type"))
	}
	return allErrs
}

// requiredStrings takes pairs of child name and value and requires each value.
func requiredStrings(fldPath *field.Path, pairs ...string) field.ErrorList {
	var allErrs field.ErrorList
	for i := 0; i+1 < len(pairs); i += 2 {
		if len(pairs[i+1]) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child(pairs[i]), ""))
		}
	}
	return allErrs
}

// hostPathSource validates a hostPath volume.
func hostPathSource(h *corev1.HostPathVolumeSource, fldPath *field.Path) field.ErrorList {
	if len(h.Path) == 0 {
		return field.ErrorList{field.Required(fldPath.Child("path"), "")}
	}
	allErrs := pathNoBacksteps(h.Path, fldPath.Child("path"))
	if h.Type != nil && !supportedHostPathTypes.Has(*h.Type) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("type"), h.Type, sets.List(supportedHostPathTypes)))
	}
	return allErrs
}

// diskSource validates a cloud disk volume: id required, partition in range.
func diskSource(id, idField string, partition int32, fldPath *field.Path) field.ErrorList {
	allErrs := requiredStrings(fldPath, idField, id)
	if partition < 0 || partition > 255 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("partition"), partition, validation.InclusiveRangeError(1, 255)))
	}
	return allErrs
}

// fileMode validates a file mode is within 0 and 0777.
func fileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

// keyToPathSource validates a secret or config map volume's mode and items.
func keyToPathSource(defaultMode *int32, items []corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	allErrs := fileMode(defaultMode, fldPath.Child("defaultMode"))
	for i, kp := range items {
		allErrs = append(allErrs, keyToPath(&kp, fldPath.Child("items").Index(i))...)
	}
	return allErrs
}

// keyToPath validates one projected key.
func keyToPath(kp *corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	allErrs := requiredStrings(fldPath, "key", kp.Key, "path", kp.Path)
	allErrs = append(allErrs, localNonReservedPath(kp.Path, fldPath.Child("path"))...)
	return append(allErrs, fileMode(kp.Mode, fldPath.Child("mode"))...)
}

// iscsiInitiator validates an iSCSI qualified name.
func iscsiName(value string, fldPath *field.Path, prefixMsg string) field.ErrorList {
	switch {
	case !strings.HasPrefix(value, "iqn") && !strings.HasPrefix(value, "eui") && !strings.HasPrefix(value, "naa"):
		return field.ErrorList{field.Invalid(fldPath, value, prefixMsg)}
	case strings.HasPrefix(value, "iqn") && !iscsiIqnRegex.MatchString(value),
		strings.HasPrefix(value, "eui") && !iscsiEuiRegex.MatchString(value),
		strings.HasPrefix(value, "naa") && !iscsiNaaRegex.MatchString(value):
		return field.ErrorList{field.Invalid(fldPath, value, "must be valid format")}
	}
	return nil
}

// iscsiSource validates an iSCSI volume.
func iscsiSource(s *corev1.ISCSIVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := requiredStrings(fldPath, "targetPortal", s.TargetPortal)
	if len(s.IQN) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("iqn"), ""))
	} else {
		allErrs = append(allErrs, iscsiName(s.IQN, fldPath.Child("iqn"), "must be valid format starting with iqn, eui, or naa")...)
	}
	if s.Lun < 0 || s.Lun > 255 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("lun"), s.Lun, validation.InclusiveRangeError(0, 255)))
	}
	if (s.DiscoveryCHAPAuth || s.SessionCHAPAuth) && s.SecretRef == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("secretRef"), ""))
	}
	if s.InitiatorName != nil {
		initiator := *s.InitiatorName
		p := fldPath.Child("initiatorname")
		if !strings.HasPrefix(initiator, "iqn") && !strings.HasPrefix(initiator, "eui") && !strings.HasPrefix(initiator, "naa") {
			allErrs = append(allErrs, field.Invalid(p, initiator, "must be valid format starting with iqn, eui, or naa"))
		}
		if (strings.HasPrefix(initiator, "iqn") && !iscsiIqnRegex.MatchString(initiator)) ||
			(strings.HasPrefix(initiator, "eui") && !iscsiEuiRegex.MatchString(initiator)) ||
			(strings.HasPrefix(initiator, "naa") && !iscsiNaaRegex.MatchString(initiator)) {
			allErrs = append(allErrs, field.Invalid(p, initiator, "must be valid format"))
		}
	}
	return allErrs
}

// quobyteSource validates a Quobyte volume.
func quobyteSource(q *corev1.QuobyteVolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	const hostPortMsg = "must be a host:port pair or multiple pairs separated by commas"
	switch {
	case len(q.Registry) == 0:
		allErrs = append(allErrs, field.Required(fldPath.Child("registry"), hostPortMsg))
	case len(q.Tenant) >= 65:
		allErrs = append(allErrs, field.Required(fldPath.Child("tenant"), "must be a UUID and may not exceed a length of 64 characters"))
	default:
		for _, hp := range strings.Split(q.Registry, ",") {
			if _, _, err := net.SplitHostPort(hp); err != nil {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("registry"), q.Registry, hostPortMsg))
			}
		}
	}
	return append(allErrs, requiredStrings(fldPath, "volume", q.Volume)...)
}

// fcSource validates a fibre channel volume.
func fcSource(fc *corev1.FCVolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(fc.TargetWWNs) < 1 && len(fc.WWIDs) < 1 {
		allErrs = append(allErrs, field.Required(fldPath.Child("targetWWNs"), "must specify either targetWWNs or wwids, but not both"))
	}
	if len(fc.TargetWWNs) != 0 && len(fc.WWIDs) != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("targetWWNs"), fc.TargetWWNs, "targetWWNs and wwids can not be specified simultaneously"))
	}
	if len(fc.TargetWWNs) != 0 {
		if fc.Lun == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("lun"), "lun is required if targetWWNs is specified"))
		} else if *fc.Lun < 0 || *fc.Lun > 255 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("lun"), fc.Lun, validation.InclusiveRangeError(0, 255)))
		}
	}
	return allErrs
}

// azureDiskSource validates an Azure disk volume.
func azureDiskSource(a *corev1.AzureDiskVolumeSource, fldPath *field.Path) field.ErrorList {
	modes := []corev1.AzureDataDiskCachingMode{corev1.AzureDataDiskCachingNone, corev1.AzureDataDiskCachingReadOnly, corev1.AzureDataDiskCachingReadWrite}
	kinds := []corev1.AzureDataDiskKind{corev1.AzureDedicatedBlobDisk, corev1.AzureManagedDisk, corev1.AzureSharedBlobDisk}
	allErrs := requiredStrings(fldPath, "diskName", a.DiskName, "diskURI", a.DataDiskURI)
	if a.CachingMode != nil && !sets.New(modes...).Has(*a.CachingMode) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("cachingMode"), *a.CachingMode, modes))
	}
	if a.Kind != nil && !sets.New(kinds...).Has(*a.Kind) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("kind"), *a.Kind, kinds))
	}
	if a.Kind != nil && *a.Kind == corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "/subscriptions/") {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("diskURI"), a.DataDiskURI, []string{"/subscriptions/{sub-id}/resourcegroups/{group-name}/providers/microsoft.compute/disks/{disk-id}"}))
	}
	if a.Kind != nil && *a.Kind != corev1.AzureManagedDisk && !strings.HasPrefix(a.DataDiskURI, "https://") {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("diskURI"), a.DataDiskURI, []string{"https://{account-name}.blob.core.windows.net/{container-name}/{disk-name}.vhd"}))
	}
	return allErrs
}

// csiDriverName validates a CSI driver name.
func csiDriverName(name string, fldPath *field.Path) field.ErrorList {
	if len(name) == 0 {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	var allErrs field.ErrorList
	if len(name) > 63 {
		allErrs = append(allErrs, field.TooLong(fldPath, "", 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg))
	}
	return allErrs
}

// downwardAPIVolumeFile validates one downward API volume file.
func downwardAPIVolumeFile(f *corev1.DownwardAPIVolumeFile, fldPath *field.Path) field.ErrorList {
	allErrs := requiredStrings(fldPath, "path", f.Path)
	allErrs = append(allErrs, localNonReservedPath(f.Path, fldPath.Child("path"))...)
	switch {
	case f.FieldRef != nil:
		allErrs = append(allErrs, objectFieldSelector(f.FieldRef, validVolumeDownwardAPIFieldPaths, fldPath.Child("fieldRef"))...)
		if f.ResourceFieldRef != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		}
	case f.ResourceFieldRef != nil:
		allErrs = append(allErrs, resourceFieldSelector(f.ResourceFieldRef, fldPath.Child("resourceFieldRef"), true)...)
	default:
		allErrs = append(allErrs, field.Required(fldPath, "one of fieldRef and resourceFieldRef is required"))
	}
	return append(allErrs, fileMode(f.Mode, fldPath.Child("mode"))...)
}

// projectionSources validates the sources of a projected volume.
func projectionSources(proj *corev1.ProjectedVolumeSource, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	paths := sets.New[string]()
	track := func(p, bad string) {
		if paths.Has(p) {
			allErrs = append(allErrs, field.Invalid(fldPath, bad, "conflicting duplicate paths"))
		} else {
			paths.Insert(p)
		}
	}
	for i, src := range proj.Sources {
		n := 0
		sp := fldPath.Child("sources").Index(i)
		if src.Secret != nil {
			n++
			p := sp.Child("secret")
			allErrs = append(allErrs, requiredStrings(p, "name", src.Secret.Name)...)
			for j, kp := range src.Secret.Items {
				allErrs = append(allErrs, keyToPath(&kp, p.Child("items").Index(j))...)
				if len(kp.Path) > 0 {
					track(kp.Path, src.Secret.Name)
				}
			}
		}
		if src.ConfigMap != nil {
			n++
			p := sp.Child("configMap")
			allErrs = append(allErrs, requiredStrings(p, "name", src.ConfigMap.Name)...)
			for j, kp := range src.ConfigMap.Items {
				allErrs = append(allErrs, keyToPath(&kp, p.Child("items").Index(j))...)
				if len(kp.Path) > 0 {
					track(kp.Path, src.ConfigMap.Name)
				}
			}
		}
		if src.DownwardAPI != nil {
			n++
			p := sp.Child("downwardAPI")
			for _, f := range src.DownwardAPI.Items {
				allErrs = append(allErrs, downwardAPIVolumeFile(&f, p)...)
				if len(f.Path) > 0 {
					track(f.Path, f.Path)
				}
			}
		}
		if sat := src.ServiceAccountToken; sat != nil {
			n++
			p := sp.Child("serviceAccountToken")
			var exp int64 // a nil value converts to 0 upstream
			if sat.ExpirationSeconds != nil {
				exp = *sat.ExpirationSeconds
			}
			if exp < 10*60 {
				allErrs = append(allErrs, field.Invalid(p.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
			}
			if exp > 1<<32 {
				allErrs = append(allErrs, field.Invalid(p.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
			}
			if sat.Path == "" {
				allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
			} else {
				allErrs = append(allErrs, localNonReservedPath(sat.Path, fldPath.Child("path"))...)
			}
		}
		if ctb := src.ClusterTrustBundle; ctb != nil {
			n++
			p := sp.Child("clusterTrustBundle")
			switch {
			case ctb.Name != nil && ctb.SignerName != nil:
				allErrs = append(allErrs, field.Invalid(p, ctb, "only one of name and signerName may be used"))
			case ctb.Name != nil:
				if *ctb.Name == "" {
					allErrs = append(allErrs, field.Required(p.Child("name"), "must be a valid object name"))
				}
				if ctb.LabelSelector != nil {
					allErrs = append(allErrs, field.Invalid(p.Child("labelSelector"), ctb.LabelSelector, "labelSelector must be unset if name is specified"))
				}
			case ctb.SignerName != nil:
				if *ctb.SignerName == "" {
					allErrs = append(allErrs, field.Required(p.Child("signerName"), "must be a valid signer name"))
				}
				allErrs = append(allErrs, labelSelector(ctb.LabelSelector, p.Child("labelSelector"))...)
			default:
				allErrs = append(allErrs, field.Required(p, "either name or signerName must be specified"))
			}
			if ctb.Path == "" {
				allErrs = append(allErrs, field.Required(p.Child("path"), ""))
			}
			allErrs = append(allErrs, localNonReservedPath(ctb.Path, p.Child("path"))...)
			track(ctb.Path, ctb.Path)
		}
		if src.PodCertificate != nil {
			n++
		}
		if n > 1 {
			allErrs = append(allErrs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
	}
	return allErrs
}
