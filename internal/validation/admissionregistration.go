package validation

import (
	"fmt"
	"net/url"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	acceptedAdmissionReviewVersions = []string{"v1", "v1beta1"}
	supportedFailurePolicies        = sets.New(string(admissionregistrationv1.Fail), string(admissionregistrationv1.Ignore))
	supportedMatchPolicies          = sets.New(string(admissionregistrationv1.Exact), string(admissionregistrationv1.Equivalent))
	supportedSideEffectClasses      = sets.New(string(admissionregistrationv1.SideEffectClassNone), string(admissionregistrationv1.SideEffectClassNoneOnDryRun))
	supportedOperations             = sets.New(string(admissionregistrationv1.OperationAll), string(admissionregistrationv1.Create),
		string(admissionregistrationv1.Update), string(admissionregistrationv1.Delete), string(admissionregistrationv1.Connect))
	supportedScopes           = sets.New(string(admissionregistrationv1.AllScopes), string(admissionregistrationv1.ClusterScope), string(admissionregistrationv1.NamespacedScope))
	supportedValidationAction = sets.New(string(admissionregistrationv1.Deny), string(admissionregistrationv1.Warn), string(admissionregistrationv1.Audit))
)

// webhookCommon carries the fields validating and mutating webhooks share.
type webhookCommon struct {
	name              string
	clientConfig      admissionregistrationv1.WebhookClientConfig
	rules             []admissionregistrationv1.RuleWithOperations
	failurePolicy     *admissionregistrationv1.FailurePolicyType
	matchPolicy       *admissionregistrationv1.MatchPolicyType
	sideEffects       *admissionregistrationv1.SideEffectClass
	timeoutSeconds    *int32
	reviewVersions    []string
	namespaceSelector *metav1.LabelSelector
	objectSelector    *metav1.LabelSelector
}

// validateValidatingWebhookConfiguration validates the webhooks of a configuration.
func validateValidatingWebhookConfiguration(c *admissionregistrationv1.ValidatingWebhookConfiguration) field.ErrorList {
	hooks := make([]webhookCommon, len(c.Webhooks))
	for i, h := range c.Webhooks {
		hooks[i] = webhookCommon{h.Name, h.ClientConfig, h.Rules, h.FailurePolicy, h.MatchPolicy, h.SideEffects, h.TimeoutSeconds, h.AdmissionReviewVersions, h.NamespaceSelector, h.ObjectSelector}
	}
	return webhooks(hooks)
}

// validateMutatingWebhookConfiguration validates the webhooks of a configuration.
func validateMutatingWebhookConfiguration(c *admissionregistrationv1.MutatingWebhookConfiguration) field.ErrorList {
	hooks := make([]webhookCommon, len(c.Webhooks))
	var allErrs field.ErrorList
	for i, h := range c.Webhooks {
		hooks[i] = webhookCommon{h.Name, h.ClientConfig, h.Rules, h.FailurePolicy, h.MatchPolicy, h.SideEffects, h.TimeoutSeconds, h.AdmissionReviewVersions, h.NamespaceSelector, h.ObjectSelector}
		if h.ReinvocationPolicy != nil && *h.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy && *h.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy {
			allErrs = append(allErrs, field.NotSupported(field.NewPath("webhooks").Index(i).Child("reinvocationPolicy"), *h.ReinvocationPolicy,
				[]string{string(admissionregistrationv1.IfNeededReinvocationPolicy), string(admissionregistrationv1.NeverReinvocationPolicy)}))
		}
	}
	return append(webhooks(hooks), allErrs...)
}

// webhooks validates a list of webhooks, whose names must be unique.
func webhooks(hooks []webhookCommon) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, h := range hooks {
		p := field.NewPath("webhooks").Index(i)
		allErrs = append(allErrs, webhook(&h, p)...)
		allErrs = append(allErrs, admissionReviewVersions(h.reviewVersions, p.Child("admissionReviewVersions"))...)
		if len(h.name) > 0 {
			if names.Has(h.name) {
				allErrs = append(allErrs, field.Duplicate(p.Child("name"), h.name))
			} else {
				names.Insert(h.name)
			}
		}
	}
	return allErrs
}

// webhook validates one webhook.
func webhook(h *webhookCommon, fldPath *field.Path) field.ErrorList {
	allErrs := validation.IsFullyQualifiedName(fldPath.Child("name"), h.name)
	for i := range h.rules {
		allErrs = append(allErrs, ruleWithOperations(&h.rules[i], fldPath.Child("rules").Index(i))...)
	}
	if h.failurePolicy != nil && !supportedFailurePolicies.Has(string(*h.failurePolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("failurePolicy"), *h.failurePolicy, sets.List(supportedFailurePolicies)))
	}
	if h.matchPolicy != nil && !supportedMatchPolicies.Has(string(*h.matchPolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("matchPolicy"), *h.matchPolicy, sets.List(supportedMatchPolicies)))
	}
	if h.namespaceSelector != nil {
		allErrs = append(allErrs, labelSelector(h.namespaceSelector, fldPath.Child("namespaceSelector"))...)
	}
	if h.objectSelector != nil {
		allErrs = append(allErrs, labelSelector(h.objectSelector, fldPath.Child("objectSelector"))...)
	}
	if h.sideEffects == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("sideEffects"), fmt.Sprintf("must specify one of %v", strings.Join(sets.List(supportedSideEffectClasses), ", "))))
	} else if !supportedSideEffectClasses.Has(string(*h.sideEffects)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("sideEffects"), *h.sideEffects, sets.List(supportedSideEffectClasses)))
	}
	if h.timeoutSeconds != nil && (*h.timeoutSeconds > 30 || *h.timeoutSeconds < 1) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("timeoutSeconds"), *h.timeoutSeconds, "the timeout value must be between 1 and 30 seconds"))
	}
	cc := h.clientConfig
	cp := fldPath.Child("clientConfig")
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		allErrs = append(allErrs, field.Required(cp, "exactly one of url or service is required"))
	case cc.URL != nil:
		allErrs = append(allErrs, webhookURL(cp.Child("url"), *cc.URL)...)
	default:
		var port int32 = 443
		if cc.Service.Port != nil {
			port = *cc.Service.Port
		}
		allErrs = append(allErrs, webhookService(cp.Child("service"), cc.Service.Namespace, cc.Service.Name, cc.Service.Path, port)...)
	}
	return allErrs
}

// webhookURL validates an https webhook URL.
func webhookURL(fldPath *field.Path, raw string) field.ErrorList {
	const form = "; desired format: https://host[/path]"
	u, err := url.Parse(raw)
	if err != nil {
		return field.ErrorList{field.Required(fldPath, "url must be a valid URL: "+err.Error()+form)}
	}
	var allErrs field.ErrorList
	if u.Scheme != "https" {
		allErrs = append(allErrs, field.Invalid(fldPath, u.Scheme, "'https' is the only allowed URL scheme"+form))
	}
	if len(u.Host) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, u.Host, "host must be specified"+form))
	}
	if u.User != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, u.User.String(), "user information is not permitted in the URL"))
	}
	if len(u.Fragment) != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, u.Fragment, "fragments are not permitted in the URL"))
	}
	if len(u.RawQuery) != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, u.RawQuery, "query parameters are not permitted in the URL"))
	}
	return allErrs
}

// webhookService validates a webhook's service reference.
func webhookService(fldPath *field.Path, namespace, name string, path *string, port int32) field.ErrorList {
	var allErrs field.ErrorList
	if len(name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "service name is required"))
	}
	if len(namespace) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("namespace"), "service namespace is required"))
	}
	if errs := validation.IsValidPortNum(int(port)); errs != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port, "port is not valid: "+strings.Join(errs, ", ")))
	}
	if path == nil || *path == "/" || len(*path) == 0 {
		return allErrs
	}
	p := *path
	if p == "//" {
		return append(allErrs, field.Invalid(fldPath.Child("path"), p, "segment[0] may not be empty"))
	}
	if !strings.HasPrefix(p, "/") {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p, "must start with a '/'"))
	}
	check := strings.TrimSuffix(p[1:], "/")
	for i, step := range strings.Split(check, "/") {
		if len(step) == 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p, fmt.Sprintf("segment[%d] may not be empty", i)))
			continue
		}
		for _, f := range validation.IsDNS1123Subdomain(step) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p, fmt.Sprintf("segment[%d]: %v", i, f)))
		}
	}
	return allErrs
}

// admissionReviewVersions validates the review versions a webhook accepts.
func admissionReviewVersions(versions []string, fldPath *field.Path) field.ErrorList {
	if len(versions) < 1 {
		return field.ErrorList{field.Required(fldPath, fmt.Sprintf("must specify one of %v", strings.Join(acceptedAdmissionReviewVersions, ", ")))}
	}
	var allErrs field.ErrorList
	seen := map[string]bool{}
	accepted := false
	for i, v := range versions {
		if seen[v] {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), v, "duplicate version"))
			continue
		}
		seen[v] = true
		for _, e := range validation.IsDNS1035Label(v) {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), v, e))
		}
		accepted = accepted || v == "v1" || v == "v1beta1"
	}
	if !accepted {
		allErrs = append(allErrs, field.Invalid(fldPath, versions, fmt.Sprintf("must include at least one of %v", strings.Join(acceptedAdmissionReviewVersions, ", "))))
	}
	return allErrs
}

// hasWildcard reports whether a list contains "*".
func hasWildcard(list []string) bool {
	for _, s := range list {
		if s == "*" {
			return true
		}
	}
	return false
}

// ruleWithOperations validates a webhook rule and its operations.
func ruleWithOperations(r *admissionregistrationv1.RuleWithOperations, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(r.Operations) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("operations"), ""))
	}
	ops := make([]string, len(r.Operations))
	for i, o := range r.Operations {
		ops[i] = string(o)
	}
	if len(ops) > 1 && hasWildcard(ops) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("operations"), r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, o := range r.Operations {
		if !supportedOperations.Has(string(o)) {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("operations").Index(i), o, sets.List(supportedOperations)))
		}
	}
	return append(allErrs, admissionRule(&r.Rule, fldPath)...)
}

// admissionRule validates the groups, versions, resources and scope of a rule.
func admissionRule(r *admissionregistrationv1.Rule, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(r.APIGroups) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("apiGroups"), ""))
	}
	if len(r.APIGroups) > 1 && hasWildcard(r.APIGroups) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("apiGroups"), r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	if len(r.APIVersions) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("apiVersions"), ""))
	}
	if len(r.APIVersions) > 1 && hasWildcard(r.APIVersions) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("apiVersions"), r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range r.APIVersions {
		if len(v) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("apiVersions").Index(i), ""))
		}
	}
	if len(r.Resources) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("resources"), ""))
	}
	if r.Scope != nil && !supportedScopes.Has(string(*r.Scope)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("scope"), *r.Scope, sets.List(supportedScopes)))
	}
	return allErrs
}

// validateValidatingAdmissionPolicy validates a policy's required parts
// (CEL expressions are not compiled).
func validateValidatingAdmissionPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	fldPath := field.NewPath("spec")
	spec := &p.Spec
	var allErrs field.ErrorList
	if spec.FailurePolicy == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("failurePolicy"), ""))
	} else if !supportedFailurePolicies.Has(string(*spec.FailurePolicy)) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("failurePolicy"), *spec.FailurePolicy, sets.List(supportedFailurePolicies)))
	}
	if spec.MatchConstraints == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("matchConstraints"), ""))
	} else if len(spec.MatchConstraints.ResourceRules) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("matchConstraints", "resourceRules"), ""))
	}
	if len(spec.Validations) == 0 && len(spec.AuditAnnotations) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("validations"), "validations or auditAnnotations must contain at least one item"))
		allErrs = append(allErrs, field.Required(fldPath.Child("auditAnnotations"), "validations or auditAnnotations must contain at least one item"))
	}
	for i, v := range spec.Validations {
		if len(strings.TrimSpace(v.Expression)) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("validations").Index(i).Child("expression"), "expression is not specified"))
		}
	}
	return allErrs
}

// validateValidatingAdmissionPolicyBinding validates a binding's policy
// name and validation actions.
func validateValidatingAdmissionPolicyBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	fldPath := field.NewPath("spec")
	var allErrs field.ErrorList
	if len(b.Spec.PolicyName) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("policyName"), ""))
	} else {
		allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, b.Spec.PolicyName, fldPath.Child("policyName"))...)
	}
	ap := fldPath.Child("validationActions")
	actions := sets.New[string]()
	for i, a := range b.Spec.ValidationActions {
		if !supportedValidationAction.Has(string(a)) {
			allErrs = append(allErrs, field.NotSupported(ap.Index(i), a, sets.List(supportedValidationAction)))
		}
		if actions.Has(string(a)) {
			allErrs = append(allErrs, field.Duplicate(ap.Index(i), a))
		}
		actions.Insert(string(a))
	}
	if actions.Has(string(admissionregistrationv1.Deny)) && actions.Has(string(admissionregistrationv1.Warn)) {
		allErrs = append(allErrs, field.Invalid(ap, b.Spec.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	if len(actions) == 0 {
		allErrs = append(allErrs, field.Required(ap, "at least one validation action is required"))
	}
	return allErrs
}
