package defaults

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// This file follows upstream's pkg/apis/rbac/v1/defaults.go. Role and ClusterRole have no
// scheme defaults.

// defaultRoleBinding follows SetDefaults_RoleBinding and SetDefaults_Subject.
func defaultRoleBinding(rb *rbacv1.RoleBinding) {
	defaultRoleRef(&rb.RoleRef)
	defaultSubjects(rb.Subjects)
}

// defaultClusterRoleBinding follows SetDefaults_ClusterRoleBinding and SetDefaults_Subject.
func defaultClusterRoleBinding(crb *rbacv1.ClusterRoleBinding) {
	defaultRoleRef(&crb.RoleRef)
	defaultSubjects(crb.Subjects)
}

func defaultRoleRef(ref *rbacv1.RoleRef) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
}

// defaultSubjects gives User and Group subjects the rbac.authorization.k8s.io group;
// ServiceAccount subjects keep the core group "".
func defaultSubjects(subjects []rbacv1.Subject) {
	for i := range subjects {
		s := &subjects[i]
		if s.APIGroup == "" && (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) {
			s.APIGroup = rbacv1.GroupName
		}
	}
}
