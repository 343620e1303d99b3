package clusterroleaggregation

import (
	"reflect"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAggregate(t *testing.T) {
	r := func(verb, resource string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: []string{verb}, APIGroups: []string{""}, Resources: []string{resource}}
	}
	role := func(name string, labels map[string]string, agg *rbacv1.AggregationRule, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, AggregationRule: agg, Rules: rules}
	}
	sel := func(ls ...metav1.LabelSelector) *rbacv1.AggregationRule {
		return &rbacv1.AggregationRule{ClusterRoleSelectors: ls}
	}
	view := metav1.LabelSelector{MatchLabels: map[string]string{"view": "true"}}
	extra := metav1.LabelSelector{MatchLabels: map[string]string{"extra": "true"}}
	bad := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Bogus"}}}
	all := []*rbacv1.ClusterRole{
		role("b-pods", map[string]string{"view": "true"}, nil, r("get", "pods"), r("list", "pods")),
		role("a-services", map[string]string{"view": "true", "extra": "true"}, nil, r("get", "services"), r("get", "pods")),
		role("c-unlabelled", nil, nil, r("get", "secrets")),
	}
	tests := []struct {
		name    string
		role    *rbacv1.ClusterRole
		want    []rbacv1.PolicyRule
		wantOK  bool
		wantErr bool
	}{
		{"not aggregated", role("plain", nil, nil, r("get", "x")), nil, false, false},
		{"sorted by name, duplicates dropped", role("view", nil, sel(view)), []rbacv1.PolicyRule{r("get", "services"), r("get", "pods"), r("list", "pods")}, true, false},
		{"selectors in order", role("v2", nil, sel(extra, view)), []rbacv1.PolicyRule{r("get", "services"), r("get", "pods"), r("list", "pods")}, true, false},
		{"nothing matches", role("none", nil, sel(metav1.LabelSelector{MatchLabels: map[string]string{"no": "x"}}), r("stale", "x")), []rbacv1.PolicyRule{}, true, false},
		{"not itself", role("a-services", map[string]string{"view": "true"}, sel(view)), []rbacv1.PolicyRule{r("get", "pods"), r("list", "pods")}, true, false},
		{"invalid selector", role("bad", nil, sel(bad)), nil, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := Aggregate(tc.role, append(all, tc.role))
			if (err != nil) != tc.wantErr || ok != tc.wantOK {
				t.Fatalf("Aggregate: ok %v err %v", ok, err)
			}
			if !tc.wantErr && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("rules\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
