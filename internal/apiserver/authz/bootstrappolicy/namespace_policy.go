package bootstrappolicy

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func role(namespace, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
	m := defaultMeta(name, nil)
	m.Namespace = namespace
	return rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: m, Rules: rules}
}

func roleBinding(namespace, name, roleName string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
	m := defaultMeta(name, nil)
	m.Namespace = namespace
	return rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: m,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: roleName}, Subjects: subjects}
}

// NamespaceRoles returns the default Roles of kube-system and kube-public.
func NamespaceRoles() []rbacv1.Role {
	return []rbacv1.Role{
		role("kube-system", "extension-apiserver-authentication-reader",
			newRule("get", "list", "watch").groups(legacyGroup).resources("configmaps").names("extension-apiserver-authentication").rule()),
		role("kube-system", "system::leader-locking-kube-controller-manager",
			newRule("watch").groups(legacyGroup).resources("configmaps").rule(),
			newRule("get", "update").groups(legacyGroup).resources("configmaps").names("kube-controller-manager").rule()),
		role("kube-system", "system::leader-locking-kube-scheduler",
			newRule("watch").groups(legacyGroup).resources("configmaps").rule(),
			newRule("get", "update").groups(legacyGroup).resources("configmaps").names("kube-scheduler").rule()),
		role("kube-system", ControllerRolePrefix+"bootstrap-signer",
			newRule("get", "list", "watch").groups(legacyGroup).resources("secrets").rule()),
		role("kube-system", ControllerRolePrefix+"cloud-provider",
			newRule("create", "get", "list", "watch").groups(legacyGroup).resources("configmaps").rule()),
		role("kube-system", ControllerRolePrefix+"token-cleaner",
			newRule("delete", "get", "list", "watch").groups(legacyGroup).resources("secrets").rule(),
			eventsRule()),
		role("kube-public", ControllerRolePrefix+"bootstrap-signer",
			newRule("get", "list", "watch").groups(legacyGroup).resources("configmaps").rule(),
			newRule("update").groups(legacyGroup).resources("configmaps").names("cluster-info").rule(),
			eventsRule()),
	}
}

// NamespaceRoleBindings returns the default RoleBindings of kube-system and kube-public.
func NamespaceRoleBindings() []rbacv1.RoleBinding {
	return []rbacv1.RoleBinding{
		roleBinding("kube-system", "system::extension-apiserver-authentication-reader", "extension-apiserver-authentication-reader",
			users(KubeControllerManager, KubeScheduler)...),
		roleBinding("kube-system", "system::leader-locking-kube-controller-manager", "system::leader-locking-kube-controller-manager",
			append(users(KubeControllerManager), serviceAccount("kube-system", "kube-controller-manager"))...),
		roleBinding("kube-system", "system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler",
			append(users(KubeScheduler), serviceAccount("kube-system", "kube-scheduler"))...),
		roleBinding("kube-system", ControllerRolePrefix+"bootstrap-signer", ControllerRolePrefix+"bootstrap-signer",
			serviceAccount("kube-system", "bootstrap-signer")),
		roleBinding("kube-system", ControllerRolePrefix+"cloud-provider", ControllerRolePrefix+"cloud-provider",
			serviceAccount("kube-system", "cloud-provider")),
		roleBinding("kube-system", ControllerRolePrefix+"token-cleaner", ControllerRolePrefix+"token-cleaner",
			serviceAccount("kube-system", "token-cleaner")),
		roleBinding("kube-public", ControllerRolePrefix+"bootstrap-signer", ControllerRolePrefix+"bootstrap-signer",
			serviceAccount("kube-system", "bootstrap-signer")),
	}
}
