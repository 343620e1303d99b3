// Package rbac authorizes requests with Kubernetes RBAC: Roles and ClusterRoles grant rules,
// RoleBindings and ClusterRoleBindings grant roles to users, groups and service accounts.
//
// An Authorizer decides from a snapshot of the four kinds of object, read from a Source (the
// registry's watch caches in the server). The snapshot indexes bindings by subject (user name,
// group name, service account user name) per namespace, with each binding's role already
// resolved, so a decision looks only at the bindings of the caller, never at every binding.
// A snapshot is rebuilt lazily, on the first request after the Source reports a change
// (Invalidate). A denial is re-checked once against a consistent read, so that a binding whose
// write has been acknowledged is always honoured, even if the watch has not delivered it yet.
//
// Rule matching is upstream's: verbs, API groups and resources match exactly or by "*";
// resources may name subresources ("pods/log") and "*/scale" matches any resource's scale;
// resourceNames narrow a rule to named objects; nonResourceURLs match exactly or by a trailing
// "*" prefix.
//
// Escalation is the admission check that keeps RBAC from being a way around itself: a user may
// only write a Role or ClusterRole whose rules it holds (or with the escalate verb on it), and
// only write a binding to a role whose rules it holds (or with the bind verb on it).
package rbac
