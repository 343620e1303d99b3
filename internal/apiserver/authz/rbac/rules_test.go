package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/skiff-project/skiff/internal/apiserver"
)

func res(verb, group, resource, sub, ns, name string) apiserver.Attributes {
	return apiserver.Attributes{Verb: verb, IsResourceRequest: true, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func nonRes(verb, path string) apiserver.Attributes {
	return apiserver.Attributes{Verb: verb, Path: path}
}

func TestRuleAllows(t *testing.T) {
	rule := func(verbs, groups, resources, names, urls []string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names, NonResourceURLs: urls}
	}
	s := func(xs ...string) []string { return xs }
	tests := []struct {
		name string
		rule rbacv1.PolicyRule
		a    apiserver.Attributes
		want bool
	}{
		{"exact", rule(s("get"), s(""), s("pods"), nil, nil), res("get", "", "pods", "", "ns", "p"), true},
		{"other verb", rule(s("get"), s(""), s("pods"), nil, nil), res("list", "", "pods", "", "ns", ""), false},
		{"other group", rule(s("get"), s("apps"), s("pods"), nil, nil), res("get", "", "pods", "", "ns", "p"), false},
		{"verb star", rule(s("*"), s(""), s("pods"), nil, nil), res("deletecollection", "", "pods", "", "ns", ""), true},
		{"group star", rule(s("get"), s("*"), s("deployments"), nil, nil), res("get", "apps", "deployments", "", "ns", "d"), true},
		{"resource star", rule(s("get"), s(""), s("*"), nil, nil), res("get", "", "secrets", "", "ns", "s"), true},
		{"resource star covers subresources", rule(s("get"), s(""), s("*"), nil, nil), res("get", "", "pods", "log", "ns", "p"), true},
		{"resource does not cover subresource", rule(s("get"), s(""), s("pods"), nil, nil), res("get", "", "pods", "log", "ns", "p"), false},
		{"subresource", rule(s("get"), s(""), s("pods/log"), nil, nil), res("get", "", "pods", "log", "ns", "p"), true},
		{"subresource does not cover resource", rule(s("get"), s(""), s("pods/log"), nil, nil), res("get", "", "pods", "", "ns", "p"), false},
		{"star slash subresource", rule(s("get"), s("*"), s("*/scale"), nil, nil), res("get", "apps", "deployments", "scale", "ns", "d"), true},
		{"star slash other subresource", rule(s("get"), s("*"), s("*/scale"), nil, nil), res("get", "apps", "deployments", "status", "ns", "d"), false},
		{"resource name", rule(s("get"), s(""), s("configmaps"), s("a"), nil), res("get", "", "configmaps", "", "ns", "a"), true},
		{"other resource name", rule(s("get"), s(""), s("configmaps"), s("a"), nil), res("get", "", "configmaps", "", "ns", "b"), false},
		{"resource name and list", rule(s("list"), s(""), s("configmaps"), s("a"), nil), res("list", "", "configmaps", "", "ns", ""), false},
		{"url exact", rule(s("get"), nil, nil, nil, s("/healthz")), nonRes("get", "/healthz"), true},
		{"url other", rule(s("get"), nil, nil, nil, s("/healthz")), nonRes("get", "/healthz/etcd"), false},
		{"url prefix star", rule(s("get"), nil, nil, nil, s("/healthz/*")), nonRes("get", "/healthz/etcd"), true},
		{"url star", rule(s("*"), nil, nil, nil, s("*")), nonRes("post", "/anything"), true},
		{"url rule does not grant resources", rule(s("*"), nil, nil, nil, s("*")), res("get", "", "pods", "", "", ""), false},
		{"resource rule does not grant urls", rule(s("*"), s("*"), s("*"), nil, nil), nonRes("get", "/api"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RuleAllows(tc.a, &tc.rule); got != tc.want {
				t.Errorf("RuleAllows = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompactString(t *testing.T) {
	got := describeRules([]rbacv1.PolicyRule{
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}},
		{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"secrets"}},
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}},
		{Verbs: []string{"get"}, APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"web"}},
	})
	want := `{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}
{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["web"], Verbs:["get"]}
{NonResourceURLs:["/metrics"], Verbs:["get"]}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
