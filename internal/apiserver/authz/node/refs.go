package node

import (
	corev1 "k8s.io/api/core/v1"
)

// podRefs is what a pod refers to, by kind.
type podRefs struct {
	secrets, configMaps, claims map[string]bool
	// resourceClaims are the ResourceClaims the pod uses: named in its spec, or generated for
	// it from templates and extended resources (as its status records).
	resourceClaims map[string]bool
	serviceAccount string
}

// refsOf lists the objects pod uses: volumes, environment, image pull secrets.
func refsOf(pod *corev1.Pod) podRefs {
	r := podRefs{secrets: map[string]bool{}, configMaps: map[string]bool{}, claims: map[string]bool{}, resourceClaims: map[string]bool{},
		serviceAccount: pod.Spec.ServiceAccountName}
	for _, c := range pod.Spec.ResourceClaims {
		if c.ResourceClaimName != nil {
			r.resourceClaims[*c.ResourceClaimName] = true
		}
	}
	for _, c := range pod.Status.ResourceClaimStatuses {
		if c.ResourceClaimName != nil {
			r.resourceClaims[*c.ResourceClaimName] = true
		}
	}
	if e := pod.Status.ExtendedResourceClaimStatus; e != nil && e.ResourceClaimName != "" {
		r.resourceClaims[e.ResourceClaimName] = true
	}
	for _, s := range pod.Spec.ImagePullSecrets {
		r.secrets[s.Name] = true
	}
	for _, v := range pod.Spec.Volumes {
		r.addVolume(pod.Name, v)
	}
	visit := func(env []corev1.EnvVar, from []corev1.EnvFromSource) {
		for _, e := range from {
			if e.SecretRef != nil {
				r.secrets[e.SecretRef.Name] = true
			}
			if e.ConfigMapRef != nil {
				r.configMaps[e.ConfigMapRef.Name] = true
			}
		}
		for _, e := range env {
			if e.ValueFrom == nil {
				continue
			}
			if e.ValueFrom.SecretKeyRef != nil {
				r.secrets[e.ValueFrom.SecretKeyRef.Name] = true
			}
			if e.ValueFrom.ConfigMapKeyRef != nil {
				r.configMaps[e.ValueFrom.ConfigMapKeyRef.Name] = true
			}
		}
	}
	for _, c := range pod.Spec.InitContainers {
		visit(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.Containers {
		visit(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		visit(c.Env, c.EnvFrom)
	}
	return r
}

func (r podRefs) addVolume(podName string, v corev1.Volume) {
	s := v.VolumeSource
	secretRef := func(ref *corev1.LocalObjectReference) {
		if ref != nil {
			r.secrets[ref.Name] = true
		}
	}
	switch {
	case s.Secret != nil:
		r.secrets[s.Secret.SecretName] = true
	case s.ConfigMap != nil:
		r.configMaps[s.ConfigMap.Name] = true
	case s.Projected != nil:
		for _, src := range s.Projected.Sources {
			if src.Secret != nil {
				r.secrets[src.Secret.Name] = true
			}
			if src.ConfigMap != nil {
				r.configMaps[src.ConfigMap.Name] = true
			}
		}
	case s.PersistentVolumeClaim != nil:
		r.claims[s.PersistentVolumeClaim.ClaimName] = true
	case s.Ephemeral != nil:
		// A generic ephemeral volume's claim is named <pod>-<volume>.
		r.claims[podName+"-"+v.Name] = true
	case s.CSI != nil:
		secretRef(s.CSI.NodePublishSecretRef)
	case s.FlexVolume != nil:
		secretRef(s.FlexVolume.SecretRef)
	case s.CephFS != nil:
		secretRef(s.CephFS.SecretRef)
	case s.RBD != nil:
		secretRef(s.RBD.SecretRef)
	case s.ISCSI != nil:
		secretRef(s.ISCSI.SecretRef)
	case s.AzureFile != nil:
		r.secrets[s.AzureFile.SecretName] = true
	}
}
