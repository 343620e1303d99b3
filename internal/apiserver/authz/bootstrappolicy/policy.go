// Package bootstrappolicy is the RBAC policy every cluster starts with: upstream's default
// ClusterRoles and ClusterRoleBindings (cluster-admin, admin, edit, view and their aggregated
// parts, discovery, public info, the system: roles of nodes, the scheduler and the controller
// manager, one role per controller), the Roles and RoleBindings of kube-system and kube-public,
// and skiff's own temporary binding for joining nodes. Reconcile writes it at start-up the way
// upstream's RBAC post-start hook does.
package bootstrappolicy

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// Well-known users and groups.
const (
	SystemPrivilegedGroup = "system:masters"
	AllAuthenticated      = "system:authenticated"
	AllUnauthenticated    = "system:unauthenticated"
	NodesGroup            = "system:nodes"
	BootstrappersGroup    = "system:bootstrappers"
	MonitoringGroup       = "system:monitoring"
	ServiceAccountsGroup  = "system:serviceaccounts"
	KubeProxy             = "system:kube-proxy"
	KubeControllerManager = "system:kube-controller-manager"
	KubeScheduler         = "system:kube-scheduler"
)

// Aggregation labels of the user-facing roles.
const (
	AggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	AggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	AggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

// SimulatedNodeRole names skiff's ClusterRole, bound to system:bootstrappers, under which
// `skiff simulate` runs its simulated nodes with the join token: the rules of system:node and
// system:node-proxier, without the reads of Secrets, ConfigMaps, volumes and service account
// tokens that only a node running real containers needs, and without dynamic resource
// allocation (ResourceClaims and ResourceSlices), which simulated nodes do not do and which the
// node authorizer would otherwise narrow to one node. A simulator acts for thousands of nodes
// through one shared client, so it cannot carry one node's identity; the join token already lets
// its holder obtain any node's credentials (see the node-client bindings), so this grants no more
// than joining does. Real agents use their own node credentials, which the node authorizer and
// NodeRestriction narrow to their own node.
const SimulatedNodeRole = "skiff:simulated-node"

// NodeProxierRole names skiff's ClusterRole, bound to system:nodes, with what an agent's service
// proxy and DNS read beyond a node's own rights: Services, Endpoints and EndpointSlices. It is
// system:node-proxier without its reads of every Node, which the node authorizer keeps from
// nodes.
const NodeProxierRole = "skiff:node-proxier"

// NodeNetworkRole names skiff's ClusterRole, bound to system:nodes, with what an agent's pod
// network reads beyond a node's own rights: every Node, for their podCIDRs and the network
// annotations through which the overlay reaches them (flannel's ClusterRole grants the same).
// The node authorizer otherwise lets a node read its own Node only.
const NodeNetworkRole = "skiff:node-network"

// SimulatedNodeRules are the rules of SimulatedNodeRole.
func SimulatedNodeRules() []rbacv1.PolicyRule {
	secret := map[string]bool{"secrets": true, "configmaps": true, "persistentvolumeclaims": true, "persistentvolumes": true, "serviceaccounts/token": true,
		"resourceclaims": true, "resourceslices": true}
	var rules []rbacv1.PolicyRule
	for _, r := range ClusterRoles() {
		if r.Name != "system:node" && r.Name != "system:node-proxier" {
			continue
		}
		for _, rule := range r.Rules {
			var keep []string
			for _, res := range rule.Resources {
				if !secret[res] {
					keep = append(keep, res)
				}
			}
			if len(rule.Resources) > 0 && len(keep) == 0 {
				continue
			}
			rule = *rule.DeepCopy()
			if len(rule.Resources) > 0 {
				rule.Resources = keep
			}
			rules = append(rules, rule)
		}
	}
	return rules
}

// NodeRules are the rules of system:node: what a kubelet needs. The node authorizer narrows
// them to a node's own objects.
func NodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Checking API access; these creates are non-mutating.
		newRule("create").groups(authenticationGroup).resources("tokenreviews").rule(),
		newRule("create").groups(authorizationGroup).resources("subjectaccessreviews", "localsubjectaccessreviews").rule(),
		// Services for the environment variables of containers.
		newRule(Read...).groups(legacyGroup).resources("services").rule(),
		// Registering the Node and reporting its status (NodeRestriction limits it to its own).
		newRule("create", "get", "list", "watch").groups(legacyGroup).resources("nodes").rule(),
		newRule("update", "patch").groups(legacyGroup).resources("nodes/status").rule(),
		newRule("update", "patch").groups(legacyGroup).resources("nodes").rule(),
		newRule("create", "update", "patch").groups(legacyGroup).resources("events").rule(),
		newRule(Read...).groups(legacyGroup).resources("pods").rule(),
		// Mirror pods, pod status, evictions (NodeRestriction limits them to its own pods).
		newRule("create", "delete").groups(legacyGroup).resources("pods").rule(),
		newRule("update", "patch").groups(legacyGroup).resources("pods/status").rule(),
		newRule("create").groups(legacyGroup).resources("pods/eviction").rule(),
		// Volumes and environment (the node authorizer limits them to what its pods use).
		newRule("get", "list", "watch").groups(legacyGroup).resources("secrets", "configmaps").rule(),
		newRule("get").groups(legacyGroup).resources("persistentvolumeclaims", "persistentvolumes").rule(),
		newRule("get").groups(legacyGroup).resources("endpoints").rule(),
		// Client certificate rotation.
		newRule("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests").rule(),
		// The node lease.
		newRule("get", "create", "update", "patch", "delete").groups(coordinationGroup).resources("leases").rule(),
		newRule("get").groups(storageGroup).resources("volumeattachments").rule(),
		newRule("create").groups(legacyGroup).resources("serviceaccounts/token").rule(),
		newRule("get", "update", "patch").groups(legacyGroup).resources("persistentvolumeclaims/status").rule(),
		newRule("get", "watch", "list").groups(storageGroup).resources("csidrivers").rule(),
		newRule("get", "create", "update", "patch", "delete").groups(storageGroup).resources("csinodes").rule(),
		newRule("get", "list", "watch").groups("node.k8s.io").resources("runtimeclasses").rule(),
		// Dynamic resource allocation: the claims of its pods, and its drivers' slices.
		newRule("get").groups(resourceGroup).resources("resourceclaims").rule(),
		newRule("deletecollection").groups(resourceGroup).resources("resourceslices").rule(),
	}
}

// ClusterRoles returns the default ClusterRoles.
func ClusterRoles() []rbacv1.ClusterRole {
	roles := []rbacv1.ClusterRole{
		// Anything at all.
		clusterRole("cluster-admin", nil,
			newRule("*").groups("*").resources("*").rule(),
			newRule("*").urls("*").rule()),
		// Enough to tell whether the server is ready and to discover its APIs.
		clusterRole("system:discovery", nil,
			newRule("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
				"/api", "/api/*", "/apis", "/apis/*").rule()),
		clusterRole("system:monitoring", nil,
			newRule("get").urls("/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*").rule()),
		// What a user needs to learn about itself.
		clusterRole("system:basic-user", nil,
			newRule("create").groups(authorizationGroup).resources("selfsubjectaccessreviews", "selfsubjectrulesreviews").rule(),
			newRule("create").groups(authenticationGroup).resources("selfsubjectreviews").rule()),
		// Insensitive cluster information, for anyone.
		clusterRole("system:public-info-viewer", nil,
			newRule("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/").rule()),

		// The user-facing roles are aggregated from the system:aggregate-to-* roles and any
		// ClusterRole labelled for them.
		aggregated("admin", nil, AggregateToAdmin),
		aggregated("edit", map[string]string{AggregateToAdmin: "true"}, AggregateToEdit),
		aggregated("view", map[string]string{AggregateToEdit: "true"}, AggregateToView),
		clusterRole("system:aggregate-to-admin", map[string]string{AggregateToAdmin: "true"},
			newRule("create").groups(authorizationGroup).resources("localsubjectaccessreviews").rule(),
			newRule(ReadWrite...).groups(rbacGroup).resources("roles", "rolebindings").rule()),
		clusterRole("system:aggregate-to-edit", map[string]string{AggregateToEdit: "true"}, editRules()...),
		clusterRole("system:aggregate-to-view", map[string]string{AggregateToView: "true"}, viewRules()...),

		clusterRole("system:heapster", nil,
			newRule(Read...).groups(legacyGroup).resources("events", "pods", "nodes", "namespaces").rule(),
			newRule(Read...).groups(extensionsGroup).resources("deployments").rule()),
		clusterRole("system:node", nil, NodeRules()...),
		clusterRole("system:node-problem-detector", nil,
			newRule("get").groups(legacyGroup).resources("nodes").rule(),
			newRule("patch").groups(legacyGroup).resources("nodes/status").rule(),
			eventsRule()),
		clusterRole("system:kubelet-api-admin", nil,
			newRule("get", "list", "watch").groups(legacyGroup).resources("nodes").rule(),
			newRule("proxy").groups(legacyGroup).resources("nodes").rule(),
			newRule("*").groups(legacyGroup).resources("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log").rule()),
		clusterRole("system:node-bootstrapper", nil,
			newRule("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests").rule()),
		clusterRole("system:auth-delegator", nil,
			newRule("create").groups(authenticationGroup).resources("tokenreviews").rule(),
			newRule("create").groups(authorizationGroup).resources("subjectaccessreviews").rule()),
		clusterRole("system:kube-aggregator", nil,
			newRule(Read...).groups(legacyGroup).resources("services", "endpoints").rule()),
		clusterRole("system:kube-controller-manager", nil,
			eventsRule(),
			newRule("create").groups(coordinationGroup).resources("leases").rule(),
			newRule("get", "update").groups(coordinationGroup).resources("leases").names("kube-controller-manager").rule(),
			newRule("create").groups(legacyGroup).resources("secrets", "serviceaccounts").rule(),
			newRule("delete").groups(legacyGroup).resources("secrets").rule(),
			newRule("get").groups(legacyGroup).resources("namespaces", "secrets", "serviceaccounts", "configmaps").rule(),
			newRule("update").groups(legacyGroup).resources("secrets", "serviceaccounts").rule(),
			newRule("create").groups(authenticationGroup).resources("tokenreviews").rule(),
			newRule("create").groups(authorizationGroup).resources("subjectaccessreviews").rule(),
			// Every shared informer.
			newRule("list", "watch").groups("*").resources("*").rule(),
			newRule("create").groups(legacyGroup).resources("serviceaccounts/token").rule()),
		clusterRole("system:kube-dns", nil,
			newRule("list", "watch").groups(legacyGroup).resources("endpoints", "services").rule()),
		clusterRole("system:persistent-volume-provisioner", nil,
			newRule("get", "list", "watch", "create", "delete").groups(legacyGroup).resources("persistentvolumes").rule(),
			newRule("get", "list", "watch", "update").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			newRule(Read...).groups(storageGroup).resources("storageclasses").rule(),
			newRule("watch").groups(legacyGroup).resources("events").rule(),
			eventsRule()),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient", nil,
			newRule("create").groups(certificatesGroup).resources("certificatesigningrequests/nodeclient").rule()),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", nil,
			newRule("create").groups(certificatesGroup).resources("certificatesigningrequests/selfnodeclient").rule()),
		clusterRole("system:volume-scheduler", nil,
			newRule(ReadUpdate...).groups(legacyGroup).resources("persistentvolumes").rule(),
			newRule(Read...).groups(storageGroup).resources("storageclasses").rule(),
			newRule(ReadUpdate...).groups(legacyGroup).resources("persistentvolumeclaims").rule()),
		signerApprover("system:certificates.k8s.io:legacy-unknown-approver", "kubernetes.io/legacy-unknown"),
		signerApprover("system:certificates.k8s.io:kubelet-serving-approver", "kubernetes.io/kubelet-serving"),
		signerApprover("system:certificates.k8s.io:kube-apiserver-client-approver", "kubernetes.io/kube-apiserver-client"),
		signerApprover("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", "kubernetes.io/kube-apiserver-client-kubelet"),
		clusterRole("system:service-account-issuer-discovery", nil,
			newRule("get").urls("/.well-known/openid-configuration", "/openid/v1/jwks").rule()),
		// kube-proxy; skiff's node agent runs the service proxy with it.
		clusterRole("system:node-proxier", nil,
			newRule("list", "watch").groups(legacyGroup).resources("services", "endpoints").rule(),
			newRule("get", "list", "watch").groups(legacyGroup).resources("nodes").rule(),
			eventsRule(),
			newRule("list", "watch").groups(discoveryGroup).resources("endpointslices").rule()),
		clusterRole("system:kube-scheduler", nil,
			eventsRule(),
			newRule("create").groups(coordinationGroup).resources("leases").rule(),
			newRule("get", "update", "list", "watch").groups(coordinationGroup).resources("leases").names("kube-scheduler").rule(),
			newRule(ReadWrite...).groups(coordinationGroup).resources("leasecandidates").rule(),
			newRule(Read...).groups(legacyGroup).resources("nodes").rule(),
			newRule("get", "list", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			newRule("create").groups(legacyGroup).resources("pods/binding", "bindings").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("pods/status").rule(),
			newRule(Read...).groups(legacyGroup).resources("services", "replicationcontrollers").rule(),
			newRule(Read...).groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
			newRule(Read...).groups(appsGroup).resources("statefulsets").rule(),
			newRule(Read...).groups(policyGroup).resources("poddisruptionbudgets").rule(),
			newRule(Read...).groups(legacyGroup).resources("persistentvolumeclaims", "persistentvolumes").rule(),
			newRule("create").groups(authenticationGroup).resources("tokenreviews").rule(),
			newRule("create").groups(authorizationGroup).resources("subjectaccessreviews").rule(),
			newRule(Read...).groups(storageGroup).resources("csinodes").rule(),
			newRule("get", "list", "watch").groups(storageGroup).resources("volumeattachments").rule(),
			newRule(Read...).groups(legacyGroup).resources("namespaces").rule(),
			newRule(Read...).groups(storageGroup).resources("csidrivers").rule(),
			newRule(Read...).groups(storageGroup).resources("csistoragecapacities").rule(),
			// Dynamic resource allocation (DRAExtendedResource, DRADeviceTaintRules and
			// DRAResourceClaimGranularStatusAuthorization are on).
			newRule(Read...).groups(resourceGroup).resources("deviceclasses").rule(),
			newRule(ReadUpdate...).groups(resourceGroup).resources("resourceclaims").rule(),
			newRule(ReadUpdate...).groups(resourceGroup).resources("resourceclaims/status").rule(),
			newRule("update").groups(legacyGroup).resources("pods/finalizers").rule(),
			newRule(Read...).groups(resourceGroup).resources("resourceslices").rule(),
			newRule("create", "delete").groups(resourceGroup).resources("resourceclaims").rule(),
			newRule(Read...).groups(resourceGroup).resources("devicetaintrules").rule(),
			newRule("update", "patch").groups(resourceGroup).resources("resourceclaims/binding").rule()),
	}
	return append(roles, controllerRoles()...)
}

// AllClusterRoles returns ClusterRoles and skiff's own.
func AllClusterRoles() []rbacv1.ClusterRole {
	return append(ClusterRoles(), clusterRole(SimulatedNodeRole, nil, SimulatedNodeRules()...),
		clusterRole(NodeProxierRole, nil,
			newRule("list", "watch").groups(legacyGroup).resources("services", "endpoints").rule(),
			newRule("list", "watch").groups(discoveryGroup).resources("endpointslices").rule()),
		clusterRole(NodeNetworkRole, nil,
			newRule("get", "list", "watch").groups(legacyGroup).resources("nodes").rule()))
}

func signerApprover(name, signer string) rbacv1.ClusterRole {
	return clusterRole(name, nil, newRule("approve").groups(certificatesGroup).resources("signers").names(signer).rule())
}

// editRules are the write powers of edit, on top of view.
func editRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Reading the escalating resources.
		newRule(Read...).groups(legacyGroup).resources("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy").rule(),
		newRule("impersonate").groups(legacyGroup).resources("serviceaccounts").rule(),
		newRule(Write...).groups(legacyGroup).resources("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward").rule(),
		newRule("create").groups(legacyGroup).resources("pods/eviction").rule(),
		newRule(Write...).groups(legacyGroup).resources("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events").rule(),
		newRule("create").groups(legacyGroup).resources("serviceaccounts/token").rule(),
		newRule(Write...).groups(appsGroup).resources("statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
			"deployments/rollback", "replicasets", "replicasets/scale").rule(),
		newRule(Write...).groups(autoscalingGroup).resources("horizontalpodautoscalers").rule(),
		newRule(Write...).groups(batchGroup).resources("jobs", "cronjobs").rule(),
		newRule(Write...).groups(extensionsGroup).resources("daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses",
			"replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies").rule(),
		newRule(Write...).groups(policyGroup).resources("poddisruptionbudgets").rule(),
		newRule(Write...).groups(networkingGroup).resources("networkpolicies", "ingresses").rule(),
		newRule(Write...).groups(resourceGroup).resources("resourceclaims", "resourceclaimtemplates").rule(),
	}
}

// viewRules read the non-escalating resources of a namespace (not secrets).
func viewRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		newRule(Read...).groups(legacyGroup).resources("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps").rule(),
		newRule(Read...).groups(legacyGroup).resources("limitranges", "resourcequotas", "bindings", "events",
			"pods/status", "resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log").rule(),
		// Reading namespaces at namespace scope reads only that namespace.
		newRule(Read...).groups(legacyGroup).resources("namespaces").rule(),
		newRule(Read...).groups(discoveryGroup).resources("endpointslices").rule(),
		newRule(Read...).groups(appsGroup).resources("controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
			"daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale",
			"replicasets", "replicasets/status", "replicasets/scale").rule(),
		newRule(Read...).groups(autoscalingGroup).resources("horizontalpodautoscalers", "horizontalpodautoscalers/status").rule(),
		newRule(Read...).groups(batchGroup).resources("jobs", "cronjobs", "cronjobs/status", "jobs/status").rule(),
		newRule(Read...).groups(extensionsGroup).resources("daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
			"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
			"networkpolicies").rule(),
		newRule(Read...).groups(policyGroup).resources("poddisruptionbudgets", "poddisruptionbudgets/status").rule(),
		newRule(Read...).groups(networkingGroup).resources("networkpolicies", "ingresses", "ingresses/status").rule(),
		newRule(Read...).groups(resourceGroup).resources("resourceclaims", "resourceclaims/status", "resourceclaimtemplates").rule(),
	}
}

// ClusterRoleBindings returns the default ClusterRoleBindings.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	bindings := []rbacv1.ClusterRoleBinding{
		clusterBinding("cluster-admin", "cluster-admin", groups(SystemPrivilegedGroup)...),
		clusterBinding("system:monitoring", "system:monitoring", groups(MonitoringGroup)...),
		clusterBinding("system:discovery", "system:discovery", groups(AllAuthenticated)...),
		clusterBinding("system:basic-user", "system:basic-user", groups(AllAuthenticated)...),
		clusterBinding("system:public-info-viewer", "system:public-info-viewer", groups(AllAuthenticated, AllUnauthenticated)...),
		clusterBinding("system:node-proxier", "system:node-proxier", users(KubeProxy)...),
		clusterBinding("system:kube-controller-manager", "system:kube-controller-manager", users(KubeControllerManager)...),
		clusterBinding("system:kube-dns", "system:kube-dns", serviceAccount("kube-system", "kube-dns")),
		clusterBinding("system:kube-scheduler", "system:kube-scheduler", users(KubeScheduler)...),
		clusterBinding("system:volume-scheduler", "system:volume-scheduler", users(KubeScheduler)...),
		// Kept without subjects, as upstream: the node authorizer grants nodes what they need.
		clusterBinding("system:node", "system:node"),
		clusterBinding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", groups(ServiceAccountsGroup)...),
	}
	// Joining nodes (skiff's equivalents of kubeadm's bootstrap bindings): the join token may
	// request node client certificates, which the approver signs off; nodes may renew theirs;
	// a node's agent runs the service proxy and the pod network's overlay; simulators run
	// under SimulatedNodeRole.
	bindings = append(bindings,
		clusterBinding("skiff:kubelet-bootstrap", "system:node-bootstrapper", groups(BootstrappersGroup)...),
		clusterBinding("skiff:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", groups(BootstrappersGroup)...),
		clusterBinding("skiff:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", groups(NodesGroup)...),
		clusterBinding(NodeProxierRole, NodeProxierRole, groups(NodesGroup)...),
		clusterBinding(NodeNetworkRole, NodeNetworkRole, groups(NodesGroup)...),
		clusterBinding(SimulatedNodeRole, SimulatedNodeRole, groups(BootstrappersGroup)...),
	)
	return append(bindings, controllerRoleBindings()...)
}
