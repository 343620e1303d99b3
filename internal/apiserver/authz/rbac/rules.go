package rbac

import (
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/skiff-project/skiff/internal/apiserver"
)

// RuleAllows reports whether rule grants the request described by a.
func RuleAllows(a apiserver.Attributes, rule *rbacv1.PolicyRule) bool {
	if !a.IsResourceRequest {
		return verbMatches(rule, a.Verb) && nonResourceURLMatches(rule, a.Path)
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	return verbMatches(rule, a.Verb) && apiGroupMatches(rule, a.APIGroup) &&
		resourceMatches(rule, resource, a.Subresource) && resourceNameMatches(rule, a.Name)
}

// RulesAllow reports whether any of rules grants a.
func RulesAllow(a apiserver.Attributes, rules ...rbacv1.PolicyRule) bool {
	for i := range rules {
		if RuleAllows(a, &rules[i]) {
			return true
		}
	}
	return false
}

func verbMatches(rule *rbacv1.PolicyRule, verb string) bool {
	for _, v := range rule.Verbs {
		if v == rbacv1.VerbAll || v == verb {
			return true
		}
	}
	return false
}

func apiGroupMatches(rule *rbacv1.PolicyRule, group string) bool {
	for _, g := range rule.APIGroups {
		if g == rbacv1.APIGroupAll || g == group {
			return true
		}
	}
	return false
}

// resourceMatches matches "resource" or "resource/subresource" against the rule's resources:
// "*" matches everything, and "*/sub" matches any resource's sub subresource.
func resourceMatches(rule *rbacv1.PolicyRule, combined, subresource string) bool {
	for _, r := range rule.Resources {
		if r == rbacv1.ResourceAll || r == combined {
			return true
		}
		if subresource != "" && len(r) == len(subresource)+2 && strings.HasPrefix(r, "*/") && strings.HasSuffix(r, subresource) {
			return true
		}
	}
	return false
}

// resourceNameMatches: a rule without resourceNames matches every name (and requests without
// one, such as list and create); a rule with some matches only those names.
func resourceNameMatches(rule *rbacv1.PolicyRule, name string) bool {
	if len(rule.ResourceNames) == 0 {
		return true
	}
	for _, n := range rule.ResourceNames {
		if n == name {
			return true
		}
	}
	return false
}

func nonResourceURLMatches(rule *rbacv1.PolicyRule, path string) bool {
	for _, u := range rule.NonResourceURLs {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}

// CompactString renders a rule as upstream's escalation messages do:
// {APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list"]}.
func CompactString(r rbacv1.PolicyRule) string {
	var parts []string
	if len(r.APIGroups) > 0 {
		parts = append(parts, fmt.Sprintf("APIGroups:%q", r.APIGroups))
	}
	if len(r.Resources) > 0 {
		parts = append(parts, fmt.Sprintf("Resources:%q", r.Resources))
	}
	if len(r.NonResourceURLs) > 0 {
		parts = append(parts, fmt.Sprintf("NonResourceURLs:%q", r.NonResourceURLs))
	}
	if len(r.ResourceNames) > 0 {
		parts = append(parts, fmt.Sprintf("ResourceNames:%q", r.ResourceNames))
	}
	if len(r.Verbs) > 0 {
		parts = append(parts, fmt.Sprintf("Verbs:%q", r.Verbs))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// simpleResource is what a rule for one group, one resource and at most one name is about.
type simpleResource struct {
	group, resource, name string
	hasName               bool
}

// compactRules merges rules that differ only in their verbs, for readable messages, as
// upstream's CompactRules does: rules for one group, one resource and at most one name.
func compactRules(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	simple := map[simpleResource]*rbacv1.PolicyRule{}
	var order []simpleResource
	for _, r := range rules {
		if len(r.APIGroups) != 1 || len(r.Resources) != 1 || len(r.ResourceNames) > 1 || len(r.NonResourceURLs) > 0 {
			out = append(out, r)
			continue
		}
		k := simpleResource{group: r.APIGroups[0], resource: r.Resources[0]}
		if len(r.ResourceNames) == 1 {
			k.name, k.hasName = r.ResourceNames[0], true
		}
		cur, ok := simple[k]
		if !ok {
			simple[k] = r.DeepCopy()
			order = append(order, k)
			continue
		}
		for _, v := range r.Verbs {
			if !contains(cur.Verbs, v) {
				cur.Verbs = append(cur.Verbs, v)
			}
		}
	}
	for _, k := range order {
		out = append(out, *simple[k])
	}
	return out
}

// describeRules lists rules as sorted compact strings, one per line.
func describeRules(rules []rbacv1.PolicyRule) string {
	var lines []string
	seen := map[string]bool{}
	for _, r := range compactRules(rules) {
		s := CompactString(r)
		if !seen[s] {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
