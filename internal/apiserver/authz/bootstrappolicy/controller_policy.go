package bootstrappolicy

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// ControllerRolePrefix starts the name of each controller's ClusterRole and binding; the
// subject is the controller's ServiceAccount in kube-system.
const ControllerRolePrefix = "system:controller:"

// controllerRoleRules lists the rules of each controller of the controller manager.
func controllerRoleRules() map[string][]rbacv1.PolicyRule {
	ev := eventsRule()
	return map[string][]rbacv1.PolicyRule{
		"attachdetach-controller": {
			newRule("list", "watch").groups(legacyGroup).resources("persistentvolumes", "persistentvolumeclaims").rule(),
			newRule("get", "list", "watch").groups(legacyGroup).resources("nodes").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("nodes/status").rule(),
			newRule("list", "watch").groups(legacyGroup).resources("pods").rule(),
			ev,
			newRule("get", "create", "delete", "list", "watch").groups(storageGroup).resources("volumeattachments").rule(),
			newRule("get", "watch", "list").groups(storageGroup).resources("csidrivers").rule(),
			newRule("get", "watch", "list").groups(storageGroup).resources("csinodes").rule(),
		},
		"certificate-controller": {
			newRule("get", "list", "watch", "delete").groups(certificatesGroup).resources("certificatesigningrequests").rule(),
			newRule("update").groups(certificatesGroup).resources("certificatesigningrequests/status", "certificatesigningrequests/approval").rule(),
			newRule("approve").groups(certificatesGroup).resources("signers").names("kubernetes.io/kube-apiserver-client-kubelet").rule(),
			newRule("sign").groups(certificatesGroup).resources("signers").names("kubernetes.io/legacy-unknown",
				"kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving").rule(),
			newRule("create").groups(authorizationGroup).resources("subjectaccessreviews").rule(),
			ev,
		},
		"clusterrole-aggregation-controller": {
			// Aggregating needs escalate: it writes rules it may not hold.
			newRule("escalate", "get", "list", "watch", "update", "patch").groups(rbacGroup).resources("clusterroles").rule(),
		},
		"cronjob-controller": {
			newRule("get", "list", "watch", "update").groups(batchGroup).resources("cronjobs").rule(),
			newRule("get", "list", "watch", "create", "update", "delete", "patch").groups(batchGroup).resources("jobs").rule(),
			newRule("update").groups(batchGroup).resources("cronjobs/status").rule(),
			newRule("update").groups(batchGroup).resources("cronjobs/finalizers").rule(),
			newRule("list", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			ev,
		},
		"daemon-set-controller": {
			newRule("get", "list", "watch").groups(extensionsGroup, appsGroup).resources("daemonsets").rule(),
			newRule("update").groups(extensionsGroup, appsGroup).resources("daemonsets/status").rule(),
			newRule("update").groups(extensionsGroup, appsGroup).resources("daemonsets/finalizers").rule(),
			newRule("list", "watch").groups(legacyGroup).resources("nodes").rule(),
			newRule("list", "watch", "create", "delete", "patch").groups(legacyGroup).resources("pods").rule(),
			newRule("create").groups(legacyGroup).resources("pods/binding").rule(),
			newRule("get", "list", "watch", "create", "delete", "update", "patch").groups(appsGroup).resources("controllerrevisions").rule(),
			ev,
		},
		"deployment-controller": {
			newRule("get", "list", "watch", "update").groups(extensionsGroup, appsGroup).resources("deployments").rule(),
			newRule("update").groups(extensionsGroup, appsGroup).resources("deployments/status").rule(),
			newRule("update").groups(extensionsGroup, appsGroup).resources("deployments/finalizers").rule(),
			newRule("get", "list", "watch", "create", "update", "patch", "delete").groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
			// Pods for rollback.
			newRule("get", "list", "watch", "update").groups(legacyGroup).resources("pods").rule(),
			ev,
		},
		"device-taint-eviction-controller": {
			newRule("get", "list", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			newRule("update", "patch").groups(legacyGroup).resources("pods/status").rule(),
			newRule("get", "list", "watch").groups(resourceGroup).resources("resourceclaims").rule(),
			newRule("get", "list", "watch").groups(resourceGroup).resources("resourceslices").rule(),
			newRule("get", "list", "watch").groups(resourceGroup).resources("deviceclasses").rule(),
			ev,
			newRule("update", "patch").groups(resourceGroup).resources("devicetaintrules/status").rule(),
			newRule("get", "list", "watch").groups(resourceGroup).resources("devicetaintrules").rule(),
		},
		"disruption-controller": {
			newRule("get", "list", "watch").groups(extensionsGroup, appsGroup).resources("deployments").rule(),
			newRule("get", "list", "watch").groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
			newRule("get", "list", "watch").groups(legacyGroup).resources("replicationcontrollers").rule(),
			newRule("get", "list", "watch").groups(policyGroup).resources("poddisruptionbudgets").rule(),
			newRule("get", "list", "watch").groups(appsGroup).resources("statefulsets").rule(),
			newRule("update").groups(policyGroup).resources("poddisruptionbudgets/status").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("pods/status").rule(),
			newRule("get").groups("*").resources("*/scale").rule(),
			ev,
		},
		"endpoint-controller": {
			newRule("get", "list", "watch").groups(legacyGroup).resources("services", "pods").rule(),
			newRule("get", "list", "create", "update", "delete", "watch").groups(legacyGroup).resources("endpoints").rule(),
			newRule("create").groups(legacyGroup).resources("endpoints/restricted").rule(),
			ev,
		},
		"endpointslice-controller": {
			newRule("get", "list", "watch").groups(legacyGroup).resources("services", "pods", "nodes").rule(),
			newRule("update").groups(legacyGroup).resources("services/finalizers").rule(),
			newRule("get", "list", "create", "update", "delete", "watch").groups(discoveryGroup).resources("endpointslices").rule(),
			ev,
		},
		"endpointslicemirroring-controller": {
			newRule("get", "list", "watch").groups(legacyGroup).resources("services", "endpoints").rule(),
			newRule("update").groups(legacyGroup).resources("services/finalizers").rule(),
			newRule("update").groups(legacyGroup).resources("endpoints/finalizers").rule(),
			newRule("get", "list", "create", "update", "delete", "watch").groups(discoveryGroup).resources("endpointslices").rule(),
			ev,
		},
		"ephemeral-volume-controller": {
			newRule("get", "list", "watch").groups(legacyGroup).resources("pods").rule(),
			newRule("update").groups(legacyGroup).resources("pods/finalizers").rule(),
			newRule("get", "list", "watch", "create").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			ev,
		},
		"expand-controller": {
			newRule("get", "list", "watch", "update", "patch").groups(legacyGroup).resources("persistentvolumes").rule(),
			newRule("update", "patch").groups(legacyGroup).resources("persistentvolumeclaims/status").rule(),
			newRule("get", "list", "watch").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			ev,
		},
		"generic-garbage-collector": {
			newRule("get", "list", "watch", "patch", "update", "delete").groups("*").resources("*").rule(),
			ev,
		},
		"horizontal-pod-autoscaler": {
			newRule("get", "list", "watch").groups(autoscalingGroup).resources("horizontalpodautoscalers").rule(),
			newRule("update").groups(autoscalingGroup).resources("horizontalpodautoscalers/status").rule(),
			newRule("get", "update").groups("*").resources("*/scale").rule(),
			newRule("list", "watch").groups(legacyGroup).resources("pods").rule(),
			newRule("list", "watch").groups("metrics.k8s.io").resources("pods").rule(),
			newRule("get", "list", "watch").groups("custom.metrics.k8s.io").resources("*").rule(),
			newRule("get", "list", "watch").groups("external.metrics.k8s.io").resources("*").rule(),
			ev,
		},
		"job-controller": {
			newRule("get", "list", "watch", "update", "patch").groups(batchGroup).resources("jobs").rule(),
			newRule("update").groups(batchGroup).resources("jobs/status").rule(),
			newRule("update").groups(batchGroup).resources("jobs/finalizers").rule(),
			newRule("list", "watch", "create", "delete", "patch").groups(legacyGroup).resources("pods").rule(),
			ev,
		},
		"legacy-service-account-token-cleaner": {
			newRule("get").groups(legacyGroup).resources("configmaps").names("kube-apiserver-legacy-service-account-token-tracking").rule(),
			newRule("patch", "delete").groups(legacyGroup).resources("secrets").rule(),
		},
		"namespace-controller": {
			newRule("get", "list", "watch", "delete").groups(legacyGroup).resources("namespaces").rule(),
			newRule("update").groups(legacyGroup).resources("namespaces/finalize", "namespaces/status").rule(),
			newRule("get", "list", "delete", "deletecollection").groups("*").resources("*").rule(),
		},
		"node-controller": {
			newRule("get", "list", "update", "delete", "patch").groups(legacyGroup).resources("nodes").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("nodes/status").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("pods/status").rule(),
			newRule("list", "delete").groups(legacyGroup).resources("pods").rule(),
			ev,
		},
		"persistent-volume-binder": {
			newRule("get", "list", "watch", "update", "create", "delete").groups(legacyGroup).resources("persistentvolumes").rule(),
			newRule("update").groups(legacyGroup).resources("persistentvolumes/status").rule(),
			newRule("get", "list", "watch", "update").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			newRule("update").groups(legacyGroup).resources("persistentvolumeclaims/status").rule(),
			newRule("list", "watch", "get", "create", "delete").groups(legacyGroup).resources("pods").rule(),
			newRule("get", "list", "watch").groups(storageGroup).resources("storageclasses").rule(),
			newRule("watch", "list").groups(legacyGroup).resources("nodes").rule(),
			ev,
			newRule("watch").groups(legacyGroup).resources("events").rule(),
		},
		"pod-garbage-collector": {
			newRule("list", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			newRule("get", "list", "watch").groups(legacyGroup).resources("nodes").rule(),
			newRule("patch").groups(legacyGroup).resources("pods/status").rule(),
		},
		"pv-protection-controller": {
			newRule("get", "list", "watch", "update").groups(legacyGroup).resources("persistentvolumes").rule(),
			ev,
		},
		"pvc-protection-controller": {
			newRule("get", "list", "watch", "update").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			newRule("update").groups(legacyGroup).resources("persistentvolumeclaims/status").rule(),
			newRule("list", "watch", "get").groups(legacyGroup).resources("pods").rule(),
			ev,
		},
		"replicaset-controller": {
			newRule("get", "list", "watch", "update").groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
			newRule("update").groups(appsGroup, extensionsGroup).resources("replicasets/status").rule(),
			newRule("update").groups(appsGroup, extensionsGroup).resources("replicasets/finalizers").rule(),
			newRule("list", "watch", "patch", "create", "delete").groups(legacyGroup).resources("pods").rule(),
			ev,
		},
		"replication-controller": {
			newRule("get", "list", "watch", "update").groups(legacyGroup).resources("replicationcontrollers").rule(),
			newRule("update").groups(legacyGroup).resources("replicationcontrollers/status").rule(),
			newRule("update").groups(legacyGroup).resources("replicationcontrollers/finalizers").rule(),
			newRule("list", "watch", "patch", "create", "delete").groups(legacyGroup).resources("pods").rule(),
			ev,
		},
		"resource-claim-controller": {
			newRule("get", "list", "watch").groups(legacyGroup).resources("pods").rule(),
			newRule("update").groups(legacyGroup).resources("pods/finalizers").rule(),
			newRule("get", "list", "watch", "create", "delete").groups(resourceGroup).resources("resourceclaims").rule(),
			newRule("update", "patch").groups(resourceGroup).resources("resourceclaims", "resourceclaims/status").rule(),
			newRule("update", "patch").groups(legacyGroup).resources("pods/status").rule(),
			ev,
			newRule("update", "patch").groups(resourceGroup).resources("resourceclaims/binding").rule(),
		},
		"resourcequota-controller": {
			newRule("list", "watch").groups("*").resources("*").rule(),
			newRule("update").groups(legacyGroup).resources("resourcequotas/status").rule(),
			ev,
		},
		"root-ca-cert-publisher": {
			newRule("create", "update").groups(legacyGroup).resources("configmaps").rule(),
			ev,
		},
		"route-controller": {
			newRule("list", "watch").groups(legacyGroup).resources("nodes").rule(),
			newRule("patch").groups(legacyGroup).resources("nodes/status").rule(),
			ev,
		},
		"service-account-controller": {
			newRule("create").groups(legacyGroup).resources("serviceaccounts").rule(),
			ev,
		},
		"service-cidrs-controller": {
			newRule("get", "list", "watch", "patch", "update").groups(networkingGroup).resources("servicecidrs").rule(),
			newRule("patch", "update").groups(networkingGroup).resources("servicecidrs/finalizers").rule(),
			newRule("patch", "update").groups(networkingGroup).resources("servicecidrs/status").rule(),
			newRule("get", "list", "watch").groups(networkingGroup).resources("ipaddresses").rule(),
			ev,
		},
		"service-controller": {
			newRule("get", "list", "watch").groups(legacyGroup).resources("services").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("services/status").rule(),
			newRule("list", "watch").groups(legacyGroup).resources("nodes").rule(),
			ev,
		},
		"statefulset-controller": {
			newRule("list", "watch").groups(legacyGroup).resources("pods").rule(),
			newRule("get", "list", "watch").groups(appsGroup).resources("statefulsets").rule(),
			newRule("update").groups(appsGroup).resources("statefulsets/status").rule(),
			newRule("update").groups(appsGroup).resources("statefulsets/finalizers").rule(),
			newRule("get", "create", "delete", "update", "patch").groups(legacyGroup).resources("pods").rule(),
			newRule("get", "create", "delete", "update", "patch", "list", "watch").groups(appsGroup).resources("controllerrevisions").rule(),
			newRule("get", "create").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			newRule("update", "delete").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			newRule("update").groups(legacyGroup).resources("pods/finalizers").rule(),
			ev,
		},
		"service-lb-controller": {
			newRule("get", "list", "watch").groups(legacyGroup).resources("services", "nodes").rule(),
			newRule("update", "patch").groups(legacyGroup).resources("services/status").rule(),
			ev,
		},
		"ttl-after-finished-controller": {
			newRule("get", "list", "watch", "delete").groups(batchGroup).resources("jobs").rule(),
			ev,
		},
		"ttl-controller": {
			newRule("update", "patch", "list", "watch").groups(legacyGroup).resources("nodes").rule(),
			ev,
		},
		"validatingadmissionpolicy-status-controller": {
			newRule("get", "list", "watch").groups(admissionGroup).resources("validatingadmissionpolicies").rule(),
			newRule("get", "patch", "update").groups(admissionGroup).resources("validatingadmissionpolicies/status").rule(),
			ev,
		},
		"volumeattributesclass-protection-controller": {
			newRule("get", "list", "watch").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			newRule("get", "list", "watch").groups(legacyGroup).resources("persistentvolumes").rule(),
			newRule("get", "list", "watch", "update").groups(storageGroup).resources("volumeattributesclasses").rule(),
			ev,
		},
	}
}

// controllerNames lists the controllers in a stable order.
func controllerNames() []string {
	var names []string
	for n := range controllerRoleRules() {
		names = append(names, n)
	}
	return sortedSet(names)
}

func controllerRoles() []rbacv1.ClusterRole {
	rules := controllerRoleRules()
	var roles []rbacv1.ClusterRole
	for _, n := range controllerNames() {
		roles = append(roles, clusterRole(ControllerRolePrefix+n, nil, rules[n]...))
	}
	return roles
}

func controllerRoleBindings() []rbacv1.ClusterRoleBinding {
	var bindings []rbacv1.ClusterRoleBinding
	for _, n := range controllerNames() {
		bindings = append(bindings, clusterBinding(ControllerRolePrefix+n, ControllerRolePrefix+n, serviceAccount("kube-system", n)))
	}
	return bindings
}
