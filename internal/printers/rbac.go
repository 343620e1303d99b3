package printers

import (
	"fmt"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func init() {
	rbac := func(kind string) schema.GroupKind { return schema.GroupKind{Group: rbacv1.GroupName, Kind: kind} }
	register(Printer{Columns: roleBindingColumns("roleBinding", rbacv1beta1.RoleBinding{}.SwaggerDoc()), Cells: cellsOf(roleBindingCells)}, rbac("RoleBinding"))
	register(Printer{Columns: roleBindingColumns("clusterRoleBinding", rbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()), Cells: cellsOf(clusterRoleBindingCells)}, rbac("ClusterRoleBinding"))
	// Upstream has no Role or ClusterRole printer: kube-apiserver's default table applies.
	register(createdAt, rbac("Role"), rbac("ClusterRole"))
}

// roleBindingColumns returns the columns of RoleBinding and
// ClusterRoleBinding, whose descriptions name the kind as noun.
func roleBindingColumns(noun string, doc map[string]string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Role", Type: "string", Description: doc["roleRef"]},
		ageColumn(),
		{Name: "Users", Type: "string", Priority: 1, Description: "Users in the " + noun},
		{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the " + noun},
		{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the " + noun},
	}
}

func roleBindingCells(rb *rbacv1.RoleBinding, now time.Time) ([]interface{}, error) {
	return bindingCells(rb.Name, rb.RoleRef, rb.Subjects, rb.CreationTimestamp, now), nil
}

func clusterRoleBindingCells(crb *rbacv1.ClusterRoleBinding, now time.Time) ([]interface{}, error) {
	return bindingCells(crb.Name, crb.RoleRef, crb.Subjects, crb.CreationTimestamp, now), nil
}

// bindingCells shows ROLE as Kind/name and the subjects split into users,
// groups and namespace/name service accounts, each joined by ", ".
func bindingCells(name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, created metav1.Time, now time.Time) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			sas = append(sas, fmt.Sprintf("%s/%s", s.Namespace, s.Name))
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		}
	}
	return []interface{}{
		name,
		ref.Kind + "/" + ref.Name,
		age(created, now),
		strings.Join(users, ", "),
		strings.Join(groups, ", "),
		strings.Join(sas, ", "),
	}
}
