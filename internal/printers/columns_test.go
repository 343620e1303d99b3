package printers

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestColumns pins every printer's column names, in order, as upstream
// defines them; a trailing * marks a priority 1 (-o wide) column.
func TestColumns(t *testing.T) {
	want := map[schema.GroupKind]string{
		{Kind: "Namespace"}:             "Name,Status,Age",
		{Kind: "Pod"}:                   "Name,Ready,Status,Restarts,Age,IP*,Node*,Nominated Node*,Readiness Gates*",
		{Kind: "Service"}:               "Name,Type,Cluster-IP,External-IP,Port(s),Age,Selector*",
		{Kind: "Endpoints"}:             "Name,Endpoints,Age",
		{Kind: "ConfigMap"}:             "Name,Data,Age",
		{Kind: "Secret"}:                "Name,Type,Data,Age",
		{Kind: "ServiceAccount"}:        "Name,Age",
		{Kind: "Node"}:                  "Name,Status,Roles,Age,Version,Internal-IP*,External-IP*,OS-Image*,Kernel-Version*,Container-Runtime*",
		{Kind: "Event"}:                 "Last Seen,Type,Reason,Object,Subobject*,Source*,Message,First Seen*,Count*,Name*",
		{Kind: "PersistentVolume"}:      "Name,Capacity,Access Modes,Reclaim Policy,Status,Claim,StorageClass,VolumeAttributesClass,Reason,Age,VolumeMode*",
		{Kind: "PersistentVolumeClaim"}: "Name,Status,Volume,Capacity,Access Modes,StorageClass,VolumeAttributesClass,Age,VolumeMode*",
		{Kind: "ResourceQuota"}:         "Name,Request,Limit,Age",
		{Kind: "LimitRange"}:            "Name,Created At",
		{Kind: "PodTemplate"}:           "Name,Containers,Images,Pod Labels",
		{Kind: "ReplicationController"}: "Name,Desired,Current,Ready,Age,Containers*,Images*,Selector*",

		{Group: "apps", Kind: "Deployment"}:         "Name,Ready,Up-to-date,Available,Age,Containers*,Images*,Selector*",
		{Group: "apps", Kind: "ReplicaSet"}:         "Name,Desired,Current,Ready,Age,Containers*,Images*,Selector*",
		{Group: "apps", Kind: "StatefulSet"}:        "Name,Ready,Age,Containers*,Images*",
		{Group: "apps", Kind: "DaemonSet"}:          "Name,Desired,Current,Ready,Up-to-date,Available,Node Selector,Age,Containers*,Images*,Selector*",
		{Group: "apps", Kind: "ControllerRevision"}: "Name,Controller,Revision,Age",

		{Group: "batch", Kind: "Job"}:     "Name,Status,Completions,Duration,Age,Containers*,Images*,Selector*",
		{Group: "batch", Kind: "CronJob"}: "Name,Schedule,Timezone,Suspend,Active,Last Schedule,Age,Containers*,Images*,Selector*",

		{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}: "Name,Reference,Targets,MinPods,MaxPods,Replicas,Age",

		{Group: "networking.k8s.io", Kind: "Ingress"}:       "Name,Class,Hosts,Address,Ports,Age",
		{Group: "networking.k8s.io", Kind: "IngressClass"}:  "Name,Controller,Parameters,Age",
		{Group: "networking.k8s.io", Kind: "NetworkPolicy"}: "Name,Pod-Selector,Age",
		{Group: "networking.k8s.io", Kind: "ServiceCIDR"}:   "Name,CIDRs,Age",
		{Group: "networking.k8s.io", Kind: "IPAddress"}:     "Name,ParentRef",

		{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               "Name,Created At",
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        "Name,Created At",
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        "Name,Role,Age,Users*,Groups*,ServiceAccounts*",
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: "Name,Role,Age,Users*,Groups*,ServiceAccounts*",

		{Group: "storage.k8s.io", Kind: "StorageClass"}:       "Name,Provisioner,ReclaimPolicy,VolumeBindingMode,AllowVolumeExpansion,Age",
		{Group: "storage.k8s.io", Kind: "CSIDriver"}:          "Name,AttachRequired,PodInfoOnMount,StorageCapacity,TokenRequests,RequiresRepublish,Modes,Age",
		{Group: "storage.k8s.io", Kind: "CSINode"}:            "Name,Drivers,Age",
		{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:   "Name,Attacher,PV,Node,Attached,Age",
		{Group: "storage.k8s.io", Kind: "CSIStorageCapacity"}: "Name,Created At",

		{Group: "resource.k8s.io", Kind: "DeviceClass"}:           "Name,Age",
		{Group: "resource.k8s.io", Kind: "ResourceClaim"}:         "Name,State,Age",
		{Group: "resource.k8s.io", Kind: "ResourceClaimTemplate"}: "Name,Age",
		{Group: "resource.k8s.io", Kind: "ResourceSlice"}:         "Name,Node,Driver,Pool,Age",
		{Group: "resource.k8s.io", Kind: "DeviceTaintRule"}:       "Name,Key,Value,Effect,TimeAdded,Age",

		{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}: "Name,Age,SignerName,Requestor,RequestedDuration,Condition",
		{Group: "coordination.k8s.io", Kind: "Lease"}:                     "Name,Holder,Age",
		{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:                "Name,AddressType,Ports,Endpoints,Age",
		{Group: "events.k8s.io", Kind: "Event"}:                           "Last Seen,Type,Reason,Object,Subobject*,Source*,Message,First Seen*,Count*,Name*",
		{Group: "policy", Kind: "PodDisruptionBudget"}:                    "Name,Min Available,Max Unavailable,Allowed Disruptions,Age",
		{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:               "Name,Value,Global-Default,Age,PreemptionPolicy",
		{Group: "node.k8s.io", Kind: "RuntimeClass"}:                      "Name,Handler,Age",

		{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   "Name,Webhooks,Age",
		{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     "Name,Webhooks,Age",
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        "Name,Validations,ParamKind,Age",
		{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: "Name,PolicyName,ParamRef,Age",

		{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: "Name,Scope,Versions,Created At,Group*,Kind*,ShortNames*,Established*",
	}
	for gk, names := range want {
		p, ok := For(gk)
		if !ok {
			t.Errorf("%v: no printer", gk)
			continue
		}
		if got := columnNames(p.Columns); got != names {
			t.Errorf("%v:\n got  %s\n want %s", gk, got, names)
		}
	}
	if len(registry) != len(want) {
		t.Errorf("%d kinds registered, %d pinned here", len(registry), len(want))
	}
	if got := columnNames(Default.Columns); got != "Name,Age" {
		t.Errorf("Default: %s", got)
	}
}

// TestColumnDescriptions checks the descriptions come from the API's
// documentation, as upstream's do.
func TestColumnDescriptions(t *testing.T) {
	for gk, p := range registry {
		for _, c := range p.Columns {
			if c.Description == "" && !(gk.Kind == "RuntimeClass" && c.Name == "Handler") {
				t.Errorf("%v: column %q has no description", gk, c.Name)
			}
		}
		if first := p.Columns[0]; first.Name == "Name" && (first.Format != "name" || first.Description != metav1.ObjectMeta{}.SwaggerDoc()["name"]) {
			t.Errorf("%v: NAME column %+v", gk, first)
		}
	}
}

// columnNames joins column names with commas, marking wide columns with *.
func columnNames(cols []metav1.TableColumnDefinition) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
		if c.Priority == 1 {
			names[i] += "*"
		}
	}
	return strings.Join(names, ",")
}
