package defaults

import (
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// This file holds what upstream does on create in the registry strategies
// (pkg/registry/<group>/<resource>/strategy.go, PrepareForCreate and Canonicalize) and in
// the Service IP allocator (pkg/registry/core/service/storage/alloc.go), not in scheme
// defaulting. The registry calls these after scheme defaulting and before validation, with
// metadata.name resolved and metadata.uid set. Kinds whose strategy only drops fields of
// disabled feature gates (nothing to do with every gate at its v1.37 default) have no
// function here: ConfigMap, Secret, Endpoints, ServiceAccount, Event, LimitRange,
// ControllerRevision, Role, ClusterRole, RoleBinding, ClusterRoleBinding, StorageClass,
// CSIDriver, CSINode, CSIStorageCapacity, DeviceClass, Lease, RuntimeClass, IPAddress and
// events.k8s.io Event. The resource.k8s.io strategies are in resourcestrategy.go.

// DeprecatedTemplateGenerationAnnotation carries a DaemonSet's internal templateGeneration
// in apps/v1, where the field does not exist.
const DeprecatedTemplateGenerationAnnotation = "deprecated.daemonset.template.generation"

// The unprefixed Job labels that upstream still adds next to the batch.kubernetes.io/ ones.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
)

// PrepareForCreatePod follows the Pod strategy: metadata.generation 1, status reset to phase
// Pending with the computed qosClass, a PodScheduled=False/SchedulingGated condition when
// scheduling gates are present, and the matchLabelKeys/mismatchLabelKeys of pod
// (anti-)affinity terms and topology spread constraints merged into their label selectors
// (MatchLabelKeysInPodAffinity and MatchLabelKeysInPodTopologySpreadSelectorMerge are on).
// Call it after scheme defaulting: the QoS class reads the defaulted requests.
func PrepareForCreatePod(pod *corev1.Pod) {
	pod.Generation = 1
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: podQOSClass(pod)}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		})
	}
	if a := pod.Spec.Affinity; a != nil {
		if a.PodAffinity != nil {
			mergeAffinityLabelKeys(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, pod.Labels)
		}
		if a.PodAntiAffinity != nil {
			mergeAffinityLabelKeys(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, pod.Labels)
		}
	}
	for i := range pod.Spec.TopologySpreadConstraints {
		c := &pod.Spec.TopologySpreadConstraints[i]
		if len(c.MatchLabelKeys) > 0 && c.LabelSelector != nil {
			appendLabelKeys(c.LabelSelector, c.MatchLabelKeys, metav1.LabelSelectorOpIn, pod.Labels)
		}
	}
}

func mergeAffinityLabelKeys(required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm, labels map[string]string) {
	merge := func(t *corev1.PodAffinityTerm) {
		if (len(t.MatchLabelKeys) == 0 && len(t.MismatchLabelKeys) == 0) || t.LabelSelector == nil {
			return // A nil selector matches nothing; keys cannot widen it.
		}
		appendLabelKeys(t.LabelSelector, t.MatchLabelKeys, metav1.LabelSelectorOpIn, labels)
		appendLabelKeys(t.LabelSelector, t.MismatchLabelKeys, metav1.LabelSelectorOpNotIn, labels)
	}
	// Upstream handles preferred terms before required ones.
	for i := range preferred {
		merge(&preferred[i].PodAffinityTerm)
	}
	for i := range required {
		merge(&required[i])
	}
}

func appendLabelKeys(sel *metav1.LabelSelector, keys []string, op metav1.LabelSelectorOperator, labels map[string]string) {
	for _, key := range keys {
		if value, ok := labels[key]; ok {
			sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: []string{value}})
		}
	}
}

// PrepareForCreateService follows the Service strategy and the IP-family part of the
// allocator: status is reset, a lone spec.clusterIP is copied to spec.clusterIPs,
// ipFamilyPolicy defaults to SingleStack (RequireDualStack for a headless service without
// selector), and ipFamilies are inferred from the cluster IPs, then from serviceFamilies, the
// cluster's service IP families with the primary first. ExternalName services get none of the
// IP fields. Allocating cluster IPs, node ports and the health check node port is the
// allocator's job; inconsistent input is left to validation.
func PrepareForCreateService(svc *corev1.Service, serviceFamilies []corev1.IPFamily) {
	svc.Status = corev1.ServiceStatus{}
	spec := &svc.Spec
	if spec.ClusterIP != "" && len(spec.ClusterIPs) == 0 {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
	if spec.Type == corev1.ServiceTypeExternalName || len(serviceFamilies) == 0 {
		return
	}
	headlessWithoutSelector := spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0
	if spec.IPFamilyPolicy == nil {
		if headlessWithoutSelector {
			spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
		} else {
			spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
		}
	}
	for i, ip := range spec.ClusterIPs {
		if ip == corev1.ClusterIPNone {
			break
		}
		if i >= len(spec.IPFamilies) {
			spec.IPFamilies = append(spec.IPFamilies, familyOf(ip))
		}
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = []corev1.IPFamily{serviceFamilies[0]}
	}
	dual := *spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack
	// Headless services without selector may be dual-stack even on a single-stack cluster.
	if dual && len(spec.IPFamilies) == 1 && (headlessWithoutSelector || len(serviceFamilies) == 2) {
		spec.IPFamilies = append(spec.IPFamilies, otherFamily(spec.IPFamilies[0]))
	}
}

func familyOf(ip string) corev1.IPFamily {
	if strings.Contains(ip, ":") {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

func otherFamily(f corev1.IPFamily) corev1.IPFamily {
	if f == corev1.IPv4Protocol {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}

// PrepareForCreateNamespace follows the Namespace strategy: status phase Active, the
// "kubernetes" finalizer appended to spec.finalizers when missing, and (Canonicalize) the
// kubernetes.io/metadata.name label, also for names generated from generateName.
func PrepareForCreateNamespace(ns *corev1.Namespace) {
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	found := false
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			found = true
			break
		}
	}
	if !found {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// PrepareForCreateNode follows the Node strategy: the removed dynamic kubelet configuration
// fields (spec.configSource, status.config) are dropped. The status is kept: kubelets
// register with it.
func PrepareForCreateNode(node *corev1.Node) {
	node.Spec.ConfigSource = nil
	node.Status.Config = nil
}

// PrepareForCreatePersistentVolume follows the PersistentVolume strategy: status reset to
// phase Pending with lastPhaseTransitionTime now.
func PrepareForCreatePersistentVolume(pv *corev1.PersistentVolume, now metav1.Time) {
	pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
}

// PrepareForCreatePersistentVolumeClaim follows the PersistentVolumeClaim strategy: the status
// is reset and dataSource and dataSourceRef are copied onto each other when only one is set
// (dataSourceRef only when it names no other namespace).
// Upstream stores the claim without a phase and every read defaults it to Pending; skiff
// stores phase Pending so stored and served objects agree.
func PrepareForCreatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) {
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	spec := &pvc.Spec
	if spec.DataSource != nil && spec.DataSourceRef == nil {
		spec.DataSourceRef = &corev1.TypedObjectReference{
			APIGroup: spec.DataSource.APIGroup, Kind: spec.DataSource.Kind, Name: spec.DataSource.Name,
		}
	} else if spec.DataSourceRef != nil && spec.DataSource == nil && ptr.Deref(spec.DataSourceRef.Namespace, "") == "" {
		spec.DataSource = &corev1.TypedLocalObjectReference{
			APIGroup: spec.DataSourceRef.APIGroup, Kind: spec.DataSourceRef.Kind, Name: spec.DataSourceRef.Name,
		}
	}
}

// PrepareForCreateResourceQuota follows the ResourceQuota strategy: the status is reset.
func PrepareForCreateResourceQuota(q *corev1.ResourceQuota) {
	q.Status = corev1.ResourceQuotaStatus{}
}

// PrepareForCreateReplicationController follows its strategy: status reset, generation 1.
func PrepareForCreateReplicationController(rc *corev1.ReplicationController) {
	rc.Status = corev1.ReplicationControllerStatus{}
	rc.Generation = 1
}

// PrepareForCreatePodTemplate follows the PodTemplate strategy: generation 1.
func PrepareForCreatePodTemplate(t *corev1.PodTemplate) {
	t.Generation = 1
}

// PrepareForCreateDeployment follows the Deployment strategy: status reset, generation 1.
func PrepareForCreateDeployment(d *appsv1.Deployment) {
	d.Status = appsv1.DeploymentStatus{}
	d.Generation = 1
}

// PrepareForCreateReplicaSet follows the ReplicaSet strategy: status reset, generation 1.
func PrepareForCreateReplicaSet(rs *appsv1.ReplicaSet) {
	rs.Status = appsv1.ReplicaSetStatus{}
	rs.Generation = 1
}

// PrepareForCreateStatefulSet follows the StatefulSet strategy: status reset, generation 1.
func PrepareForCreateStatefulSet(ss *appsv1.StatefulSet) {
	ss.Status = appsv1.StatefulSetStatus{}
	ss.Generation = 1
}

// PrepareForCreateDaemonSet follows the DaemonSet strategy: status reset, generation 1, and
// templateGeneration at least 1, which apps/v1 shows as the
// deprecated.daemonset.template.generation annotation.
func PrepareForCreateDaemonSet(ds *appsv1.DaemonSet) {
	ds.Status = appsv1.DaemonSetStatus{}
	ds.Generation = 1
	if g, err := strconv.ParseInt(ds.Annotations[DeprecatedTemplateGenerationAnnotation], 10, 64); err != nil || g < 1 {
		if ds.Annotations == nil {
			ds.Annotations = map[string]string{}
		}
		ds.Annotations[DeprecatedTemplateGenerationAnnotation] = "1"
	}
}

// PrepareForCreateJob follows the Job strategy: unless spec.manualSelector is true, the pod
// template gets the job-name and controller-uid labels (legacy and batch.kubernetes.io/
// forms, user values kept) and the selector matches batch.kubernetes.io/controller-uid; the
// status is reset and the generation is 1. Upstream's defaulting aliases the Job's labels to
// the template's labels, so every read shows the generated labels on the Job too when it had
// none: skiff stores them. metadata.uid must be set.
func PrepareForCreateJob(job *batchv1.Job) {
	if job.Spec.ManualSelector == nil || !*job.Spec.ManualSelector {
		generateJobSelector(job)
	}
	job.Status = batchv1.JobStatus{}
	job.Generation = 1
	if len(job.Labels) == 0 && job.Spec.Template.Labels != nil {
		job.Labels = copyStringMap(job.Spec.Template.Labels)
	}
}

func generateJobSelector(job *batchv1.Job) {
	labels := job.Spec.Template.Labels
	if labels == nil {
		labels = map[string]string{}
		job.Spec.Template.Labels = labels
	}
	for key, value := range map[string]string{
		legacyJobNameLabel:         job.Name,
		batchv1.JobNameLabel:       job.Name,
		legacyControllerUIDLabel:   string(job.UID),
		batchv1.ControllerUidLabel: string(job.UID),
	} {
		if _, ok := labels[key]; !ok {
			labels[key] = value
		}
	}
	if job.Spec.Selector == nil {
		job.Spec.Selector = &metav1.LabelSelector{}
	}
	if job.Spec.Selector.MatchLabels == nil {
		job.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		job.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(job.UID)
	}
}

// PrepareForCreateCronJob follows the CronJob strategy: status reset, generation 1.
func PrepareForCreateCronJob(cj *batchv1.CronJob) {
	cj.Status = batchv1.CronJobStatus{}
	cj.Generation = 1
}

// PrepareForCreateHorizontalPodAutoscaler follows the HPA strategy: the status is reset. The
// autoscaling/v2 type is the storage version; an autoscaling/v1 object is converted first.
func PrepareForCreateHorizontalPodAutoscaler(hpa *autoscalingv2.HorizontalPodAutoscaler) {
	hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
}

// PrepareForCreatePriorityClass follows the PriorityClass strategy: generation 1 (and kept
// as it is on update).
func PrepareForCreatePriorityClass(pc *schedulingv1.PriorityClass) {
	pc.Generation = 1
}

// PrepareForCreateIngress follows the Ingress strategy: status reset, generation 1.
func PrepareForCreateIngress(ing *networkingv1.Ingress) {
	ing.Status = networkingv1.IngressStatus{}
	ing.Generation = 1
}

// PrepareForCreateIngressClass follows the IngressClass strategy: generation 1.
func PrepareForCreateIngressClass(ic *networkingv1.IngressClass) {
	ic.Generation = 1
}

// PrepareForCreateNetworkPolicy follows the NetworkPolicy strategy: generation 1.
func PrepareForCreateNetworkPolicy(np *networkingv1.NetworkPolicy) {
	np.Generation = 1
}

// PrepareForCreateServiceCIDR follows the ServiceCIDR strategy: the status is reset.
func PrepareForCreateServiceCIDR(sc *networkingv1.ServiceCIDR) {
	sc.Status = networkingv1.ServiceCIDRStatus{}
}

// PrepareForCreateEndpointSlice follows the EndpointSlice strategy: generation 1.
func PrepareForCreateEndpointSlice(es *discoveryv1.EndpointSlice) {
	es.Generation = 1
}

// PrepareForCreatePodDisruptionBudget follows the PDB strategy: status reset, generation 1.
func PrepareForCreatePodDisruptionBudget(pdb *policyv1.PodDisruptionBudget) {
	pdb.Status = policyv1.PodDisruptionBudgetStatus{}
	pdb.Generation = 1
}

// PrepareForCreateVolumeAttachment follows the VolumeAttachment strategy: the status is reset.
func PrepareForCreateVolumeAttachment(va *storagev1.VolumeAttachment) {
	va.Status = storagev1.VolumeAttachmentStatus{}
}

// PrepareForCreateCertificateSigningRequest follows the CSR strategy: the status is reset
// and the requester's identity, from the authenticated user of the request, overwrites
// spec.username, uid, groups and extra.
func PrepareForCreateCertificateSigningRequest(csr *certificatesv1.CertificateSigningRequest, username, uid string, groups []string, extra map[string][]string) {
	csr.Status = certificatesv1.CertificateSigningRequestStatus{}
	csr.Spec.Username = username
	csr.Spec.UID = uid
	csr.Spec.Groups = groups
	csr.Spec.Extra = nil
	for k, v := range extra {
		if csr.Spec.Extra == nil {
			csr.Spec.Extra = map[string]certificatesv1.ExtraValue{}
		}
		csr.Spec.Extra[k] = v
	}
}

// PrepareForCreateValidatingWebhookConfiguration follows its strategy: generation 1.
func PrepareForCreateValidatingWebhookConfiguration(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
	c.Generation = 1
}

// PrepareForCreateMutatingWebhookConfiguration follows its strategy: generation 1.
func PrepareForCreateMutatingWebhookConfiguration(c *admissionregistrationv1.MutatingWebhookConfiguration) {
	c.Generation = 1
}

// PrepareForCreateValidatingAdmissionPolicy follows its strategy: status reset, generation 1.
func PrepareForCreateValidatingAdmissionPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
	p.Status = admissionregistrationv1.ValidatingAdmissionPolicyStatus{}
	p.Generation = 1
}

// PrepareForCreateValidatingAdmissionPolicyBinding follows its strategy: generation 1.
func PrepareForCreateValidatingAdmissionPolicyBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	b.Generation = 1
}

// PrepareForCreateCustomResourceDefinition follows the CRD strategy: status reset,
// generation 1, and status.storedVersions holding the storage version.
func PrepareForCreateCustomResourceDefinition(crd *apiextensionsv1.CustomResourceDefinition) {
	crd.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
	crd.Generation = 1
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
			break
		}
	}
}

// MergeSecretStringData moves a Secret's stringData into data, stringData winning on
// conflicts, as upstream's v1-to-internal conversion does on every write (create, update,
// patch): stored Secrets never have stringData.
func MergeSecretStringData(s *corev1.Secret) {
	if len(s.StringData) > 0 && s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}
