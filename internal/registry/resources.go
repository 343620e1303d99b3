package registry

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/conversion"
)

func gvk(group, version, kind string) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: group, Version: version, Kind: kind}
}

var all = []string{"all"}

// podSubresources are served by the node agent through the API server.
var podSubresources = []string{"binding", "eviction", "log", "exec", "attach", "portforward", "proxy"}

// BuiltinResources returns the resources of Kubernetes' built-in API groups that skiff serves.
func BuiltinResources() []*Resource {
	return withStrategies([]*Resource{
		// core/v1
		{GVK: gvk("", "v1", "Pod"), Plural: "pods", Singular: "pod", Namespaced: true, ShortNames: []string{"po"}, Categories: all,
			Status: true, Generation: true, ReturnDeletedObject: true, Subresources: podSubresources,
			Fields: podFields, FieldLabels: podFieldLabels, IndexField: "spec.nodeName", GracePeriod: podGracePeriod},
		{GVK: gvk("", "v1", "Service"), Plural: "services", Singular: "service", Namespaced: true, ShortNames: []string{"svc"}, Categories: all,
			Status: true, ReturnDeletedObject: true, EtcdPrefix: "/registry/services/specs/", NameValidation: apivalidation.NameIsDNSLabel,
			Subresources: []string{"proxy"}},
		{GVK: gvk("", "v1", "Endpoints"), Plural: "endpoints", Singular: "endpoints", Namespaced: true, ShortNames: []string{"ep"},
			EtcdPrefix: "/registry/services/endpoints/", CreateOnUpdate: true},
		{GVK: gvk("", "v1", "ConfigMap"), Plural: "configmaps", Singular: "configmap", Namespaced: true, ShortNames: []string{"cm"}},
		{GVK: gvk("", "v1", "Secret"), Plural: "secrets", Singular: "secret", Namespaced: true,
			Fields: func(o runtime.Object) fields.Set { return fields.Set{"type": string(o.(*corev1.Secret).Type)} }, FieldLabels: []string{"type"}},
		{GVK: gvk("", "v1", "ServiceAccount"), Plural: "serviceaccounts", Singular: "serviceaccount", Namespaced: true, ShortNames: []string{"sa"},
			ReturnDeletedObject: true, Subresources: []string{"token"}},
		{GVK: gvk("", "v1", "Namespace"), Plural: "namespaces", Singular: "namespace", ShortNames: []string{"ns"},
			Status: true, ReturnDeletedObject: true, NameValidation: apivalidation.NameIsDNSLabel, Subresources: []string{"finalize"},
			Fields: func(o runtime.Object) fields.Set {
				return fields.Set{"status.phase": string(o.(*corev1.Namespace).Status.Phase)}
			},
			FieldLabels:  []string{"status.phase"},
			Finalizing:   func(o runtime.Object) bool { return len(o.(*corev1.Namespace).Spec.Finalizers) > 0 },
			MarkDeleting: func(o runtime.Object) { o.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating }},
		{GVK: gvk("", "v1", "Node"), Plural: "nodes", Singular: "node", ShortNames: []string{"no"}, Status: true,
			EtcdPrefix: "/registry/minions/", Subresources: []string{"proxy"},
			Fields: func(o runtime.Object) fields.Set {
				return fields.Set{"spec.unschedulable": strconv.FormatBool(o.(*corev1.Node).Spec.Unschedulable)}
			}, FieldLabels: []string{"spec.unschedulable"}},
		{GVK: gvk("", "v1", "Event"), Plural: "events", Singular: "event", Namespaced: true, ShortNames: []string{"ev"},
			CreateOnUpdate: true, EtcdPrefix: "/registry/events/", Fields: eventFields, FieldLabels: eventFieldLabels,
			TTL: func(runtime.Object) time.Duration { return time.Hour }},
		{GVK: gvk("", "v1", "PersistentVolume"), Plural: "persistentvolumes", Singular: "persistentvolume", ShortNames: []string{"pv"},
			Status: true, ReturnDeletedObject: true},
		{GVK: gvk("", "v1", "PersistentVolumeClaim"), Plural: "persistentvolumeclaims", Singular: "persistentvolumeclaim", Namespaced: true,
			ShortNames: []string{"pvc"}, Status: true, ReturnDeletedObject: true},
		{GVK: gvk("", "v1", "ResourceQuota"), Plural: "resourcequotas", Singular: "resourcequota", Namespaced: true, ShortNames: []string{"quota"}, Status: true},
		{GVK: gvk("", "v1", "LimitRange"), Plural: "limitranges", Singular: "limitrange", Namespaced: true, ShortNames: []string{"limits"}, CreateOnUpdate: true},
		{GVK: gvk("", "v1", "PodTemplate"), Plural: "podtemplates", Singular: "podtemplate", Namespaced: true},
		{GVK: gvk("", "v1", "ReplicationController"), Plural: "replicationcontrollers", Singular: "replicationcontroller", Namespaced: true,
			ShortNames: []string{"rc"}, Categories: all, Status: true, Generation: true, EtcdPrefix: "/registry/controllers/",
			Scale: rcScale, Fields: func(o runtime.Object) fields.Set {
				return fields.Set{"status.replicas": strconv.Itoa(int(o.(*corev1.ReplicationController).Status.Replicas))}
			}, FieldLabels: []string{"status.replicas"}},

		// apps/v1
		{GVK: gvk("apps", "v1", "Deployment"), Plural: "deployments", Singular: "deployment", Namespaced: true, ShortNames: []string{"deploy"},
			Categories: all, Status: true, Generation: true, Scale: deploymentScale},
		{GVK: gvk("apps", "v1", "ReplicaSet"), Plural: "replicasets", Singular: "replicaset", Namespaced: true, ShortNames: []string{"rs"},
			Categories: all, Status: true, Generation: true, Scale: replicaSetScale, Fields: func(o runtime.Object) fields.Set {
				return fields.Set{"status.replicas": strconv.Itoa(int(o.(*appsv1.ReplicaSet).Status.Replicas))}
			}, FieldLabels: []string{"status.replicas"}},
		{GVK: gvk("apps", "v1", "StatefulSet"), Plural: "statefulsets", Singular: "statefulset", Namespaced: true, ShortNames: []string{"sts"},
			Categories: all, Status: true, Generation: true, Scale: statefulSetScale},
		{GVK: gvk("apps", "v1", "DaemonSet"), Plural: "daemonsets", Singular: "daemonset", Namespaced: true, ShortNames: []string{"ds"},
			Categories: all, Status: true, Generation: true},
		{GVK: gvk("apps", "v1", "ControllerRevision"), Plural: "controllerrevisions", Singular: "controllerrevision", Namespaced: true},

		// batch/v1
		{GVK: gvk("batch", "v1", "Job"), Plural: "jobs", Singular: "job", Namespaced: true, Categories: all, Status: true, Generation: true,
			Fields: func(o runtime.Object) fields.Set {
				return fields.Set{"status.successful": strconv.Itoa(int(o.(*batchv1.Job).Status.Succeeded))}
			}, FieldLabels: []string{"status.successful"}},
		{GVK: gvk("batch", "v1", "CronJob"), Plural: "cronjobs", Singular: "cronjob", Namespaced: true, ShortNames: []string{"cj"},
			Categories: all, Status: true, Generation: true},

		// autoscaling/v2 (stored as v2, as upstream does)
		{GVK: gvk("autoscaling", "v2", "HorizontalPodAutoscaler"), Plural: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler",
			Namespaced: true, ShortNames: []string{"hpa"}, Categories: all, Status: true, Generation: true, EtcdPrefix: "/registry/horizontalpodautoscalers/"},
		{GVK: gvk("autoscaling", "v1", "HorizontalPodAutoscaler"), StorageGVK: gvk("autoscaling", "v2", "HorizontalPodAutoscaler"),
			Plural: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler", Namespaced: true, ShortNames: []string{"hpa"},
			Categories: all, Status: true, Generation: true, EtcdPrefix: "/registry/horizontalpodautoscalers/"},

		// networking.k8s.io/v1
		{GVK: gvk("networking.k8s.io", "v1", "Ingress"), Plural: "ingresses", Singular: "ingress", Namespaced: true, ShortNames: []string{"ing"},
			Status: true, Generation: true, EtcdPrefix: "/registry/ingress/"},
		{GVK: gvk("networking.k8s.io", "v1", "IngressClass"), Plural: "ingressclasses", Singular: "ingressclass"},
		{GVK: gvk("networking.k8s.io", "v1", "NetworkPolicy"), Plural: "networkpolicies", Singular: "networkpolicy", Namespaced: true,
			ShortNames: []string{"netpol"}, Generation: true},
		{GVK: gvk("networking.k8s.io", "v1", "ServiceCIDR"), Plural: "servicecidrs", Singular: "servicecidr", Status: true},
		{GVK: gvk("networking.k8s.io", "v1", "IPAddress"), Plural: "ipaddresses", Singular: "ipaddress", ShortNames: []string{"ip"},
			NameValidation: func(string, bool) []string { return nil }},

		// rbac.authorization.k8s.io/v1
		{GVK: gvk("rbac.authorization.k8s.io", "v1", "Role"), Plural: "roles", Singular: "role", Namespaced: true,
			CreateOnUpdate: true, NameValidation: path.ValidatePathSegmentName},
		{GVK: gvk("rbac.authorization.k8s.io", "v1", "RoleBinding"), Plural: "rolebindings", Singular: "rolebinding", Namespaced: true,
			CreateOnUpdate: true, NameValidation: path.ValidatePathSegmentName},
		{GVK: gvk("rbac.authorization.k8s.io", "v1", "ClusterRole"), Plural: "clusterroles", Singular: "clusterrole",
			CreateOnUpdate: true, NameValidation: path.ValidatePathSegmentName},
		{GVK: gvk("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"), Plural: "clusterrolebindings", Singular: "clusterrolebinding",
			CreateOnUpdate: true, NameValidation: path.ValidatePathSegmentName},

		// storage.k8s.io/v1
		{GVK: gvk("storage.k8s.io", "v1", "StorageClass"), Plural: "storageclasses", Singular: "storageclass", ShortNames: []string{"sc"}},
		{GVK: gvk("storage.k8s.io", "v1", "CSIDriver"), Plural: "csidrivers", Singular: "csidriver"},
		{GVK: gvk("storage.k8s.io", "v1", "CSINode"), Plural: "csinodes", Singular: "csinode"},
		{GVK: gvk("storage.k8s.io", "v1", "VolumeAttachment"), Plural: "volumeattachments", Singular: "volumeattachment", Status: true},
		{GVK: gvk("storage.k8s.io", "v1", "CSIStorageCapacity"), Plural: "csistoragecapacities", Singular: "csistoragecapacity",
			Namespaced: true, RequireResourceVersion: true},

		// resource.k8s.io/v1 (dynamic resource allocation)
		{GVK: gvk("resource.k8s.io", "v1", "DeviceClass"), Plural: "deviceclasses", Singular: "deviceclass", Generation: true},
		{GVK: gvk("resource.k8s.io", "v1", "ResourceClaim"), Plural: "resourceclaims", Singular: "resourceclaim", Namespaced: true,
			Status: true},
		{GVK: gvk("resource.k8s.io", "v1", "ResourceClaimTemplate"), Plural: "resourceclaimtemplates", Singular: "resourceclaimtemplate",
			Namespaced: true},
		{GVK: gvk("resource.k8s.io", "v1", "ResourceSlice"), Plural: "resourceslices", Singular: "resourceslice", Generation: true,
			Fields: resourceSliceFields, FieldLabels: resourceSliceFieldLabels, IndexField: resourcev1.ResourceSliceSelectorNodeName},
		{GVK: gvk("resource.k8s.io", "v1", "DeviceTaintRule"), Plural: "devicetaintrules", Singular: "devicetaintrule", Status: true,
			Generation: true, RequireResourceVersion: true},

		// the rest
		{GVK: gvk("certificates.k8s.io", "v1", "CertificateSigningRequest"), Plural: "certificatesigningrequests", Singular: "certificatesigningrequest",
			ShortNames: []string{"csr"}, Status: true, Subresources: []string{"approval"},
			Fields: func(o runtime.Object) fields.Set {
				return fields.Set{"spec.signerName": o.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
			}, FieldLabels: []string{"spec.signerName"}},
		{GVK: gvk("coordination.k8s.io", "v1", "Lease"), Plural: "leases", Singular: "lease", Namespaced: true, CreateOnUpdate: true},
		{GVK: gvk("events.k8s.io", "v1", "Event"), StorageGVK: gvk("", "v1", "Event"), Plural: "events", Singular: "event",
			Namespaced: true, ShortNames: []string{"ev"}, EtcdPrefix: "/registry/events/", FieldLabels: eventFieldLabels,
			FieldLabelConversion: conversion.EventFieldLabels},
		{GVK: gvk("discovery.k8s.io", "v1", "EndpointSlice"), Plural: "endpointslices", Singular: "endpointslice", Namespaced: true,
			Generation: true, CreateOnUpdate: true},
		{GVK: gvk("policy", "v1", "PodDisruptionBudget"), Plural: "poddisruptionbudgets", Singular: "poddisruptionbudget", Namespaced: true,
			ShortNames: []string{"pdb"}, Status: true, Generation: true},
		{GVK: gvk("scheduling.k8s.io", "v1", "PriorityClass"), Plural: "priorityclasses", Singular: "priorityclass", ShortNames: []string{"pc"}},
		{GVK: gvk("node.k8s.io", "v1", "RuntimeClass"), Plural: "runtimeclasses", Singular: "runtimeclass"},
		{GVK: gvk("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"), Plural: "validatingwebhookconfigurations",
			Singular: "validatingwebhookconfiguration", Generation: true},
		{GVK: gvk("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration"), Plural: "mutatingwebhookconfigurations",
			Singular: "mutatingwebhookconfiguration", Generation: true},
		{GVK: gvk("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy"), Plural: "validatingadmissionpolicies",
			Singular: "validatingadmissionpolicy", Status: true, Generation: true},
		{GVK: gvk("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding"), Plural: "validatingadmissionpolicybindings",
			Singular: "validatingadmissionpolicybinding", Generation: true},
		// create-only reviews; their Virtual handlers are set by the server
		{GVK: gvk("authentication.k8s.io", "v1", "TokenReview"), Plural: "tokenreviews", Singular: "tokenreview", Verbs: []string{"create"}},
		{GVK: gvk("authentication.k8s.io", "v1", "SelfSubjectReview"), Plural: "selfsubjectreviews", Singular: "selfsubjectreview", Verbs: []string{"create"}},
		{GVK: gvk("authorization.k8s.io", "v1", "SubjectAccessReview"), Plural: "subjectaccessreviews", Singular: "subjectaccessreview", Verbs: []string{"create"}},
		{GVK: gvk("authorization.k8s.io", "v1", "SelfSubjectAccessReview"), Plural: "selfsubjectaccessreviews", Singular: "selfsubjectaccessreview", Verbs: []string{"create"}},
		{GVK: gvk("authorization.k8s.io", "v1", "LocalSubjectAccessReview"), Plural: "localsubjectaccessreviews", Singular: "localsubjectaccessreview",
			Namespaced: true, Verbs: []string{"create"}},
		{GVK: gvk("authorization.k8s.io", "v1", "SelfSubjectRulesReview"), Plural: "selfsubjectrulesreviews", Singular: "selfsubjectrulesreview", Verbs: []string{"create"}},
		{GVK: gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"), Plural: "customresourcedefinitions", Singular: "customresourcedefinition",
			ShortNames: []string{"crd", "crds"}, Status: true, Generation: true, EtcdPrefix: "/registry/apiextensions.k8s.io/customresourcedefinitions/"},
	})
}

var podFieldLabels = []string{"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
	"spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}

func podFields(o runtime.Object) fields.Set {
	p := o.(*corev1.Pod)
	podIP := ""
	if len(p.Status.PodIPs) > 0 {
		podIP = p.Status.PodIPs[0].IP
	}
	return fields.Set{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

// podGracePeriod follows upstream's pod strategy: the requested period, else the pod's
// terminationGracePeriodSeconds; zero for pods never scheduled or already finished.
func podGracePeriod(o runtime.Object, requested *int64) int64 {
	p := o.(*corev1.Pod)
	if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return 0
	}
	period := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if p.Spec.TerminationGracePeriodSeconds != nil {
		period = *p.Spec.TerminationGracePeriodSeconds
	}
	if requested != nil {
		period = *requested
		if period < 0 {
			period = 1
		}
	}
	return period
}

var resourceSliceFieldLabels = []string{resourcev1.ResourceSliceSelectorNodeName, resourcev1.ResourceSliceSelectorDriver,
	resourcev1.ResourceSliceSelectorPoolName}

// resourceSliceFields are a ResourceSlice's selectable fields; an unset nodeName selects as "".
func resourceSliceFields(o runtime.Object) fields.Set {
	s := o.(*resourcev1.ResourceSlice)
	node := ""
	if s.Spec.NodeName != nil {
		node = *s.Spec.NodeName
	}
	return fields.Set{
		resourcev1.ResourceSliceSelectorNodeName: node,
		resourcev1.ResourceSliceSelectorDriver:   s.Spec.Driver,
		resourcev1.ResourceSliceSelectorPoolName: s.Spec.Pool.Name,
	}
}

var eventFieldLabels = []string{"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
	"involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}

func eventFields(o runtime.Object) fields.Set {
	e := o.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

func selectorString(s *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return ""
	}
	return sel.String()
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

var deploymentScale = &ScaleSpec{
	Get: func(o runtime.Object) (int32, int32, string) {
		d := o.(*appsv1.Deployment)
		return replicas(d.Spec.Replicas), d.Status.Replicas, selectorString(d.Spec.Selector)
	},
	Set: func(o runtime.Object, n int32) { o.(*appsv1.Deployment).Spec.Replicas = &n },
}

var replicaSetScale = &ScaleSpec{
	Get: func(o runtime.Object) (int32, int32, string) {
		r := o.(*appsv1.ReplicaSet)
		return replicas(r.Spec.Replicas), r.Status.Replicas, selectorString(r.Spec.Selector)
	},
	Set: func(o runtime.Object, n int32) { o.(*appsv1.ReplicaSet).Spec.Replicas = &n },
}

var statefulSetScale = &ScaleSpec{
	Get: func(o runtime.Object) (int32, int32, string) {
		s := o.(*appsv1.StatefulSet)
		return replicas(s.Spec.Replicas), s.Status.Replicas, selectorString(s.Spec.Selector)
	},
	Set: func(o runtime.Object, n int32) { o.(*appsv1.StatefulSet).Spec.Replicas = &n },
}

var rcScale = &ScaleSpec{
	Get: func(o runtime.Object) (int32, int32, string) {
		r := o.(*corev1.ReplicationController)
		return replicas(r.Spec.Replicas), r.Status.Replicas, labels.SelectorFromSet(r.Spec.Selector).String()
	},
	Set: func(o runtime.Object, n int32) { o.(*corev1.ReplicationController).Spec.Replicas = &n },
}
