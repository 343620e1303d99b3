package server

import (
	"context"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/registry"
)

// reviews answers the create-only review APIs (kubectl auth can-i and whoami, webhooks'
// TokenReview) from the server's authenticator and authorizer.
type reviews struct {
	// authz decides; nil allows every authenticated request.
	authz apiserver.Authorizer
	// token authenticates a bearer token for one of audiences (nil: the API server's).
	token func(ctx context.Context, token string, audiences []string) (apiserver.User, bool)
	// audiences are the API server's, what a review without audiences is answered for.
	audiences []string
}

func (rv *reviews) install(reg *registry.Registry) {
	set := func(group, resource string, fn func(context.Context, runtime.Object) (runtime.Object, error)) {
		for _, v := range []string{"v1"} {
			if res, _, ok := reg.Lookup(schema.GroupVersionResource{Group: group, Version: v, Resource: resource}); ok {
				res.Virtual = fn
			}
		}
	}
	set("authentication.k8s.io", "selfsubjectreviews", rv.selfSubjectReview)
	set("authentication.k8s.io", "tokenreviews", rv.tokenReview)
	set("authorization.k8s.io", "selfsubjectaccessreviews", rv.selfSubjectAccessReview)
	set("authorization.k8s.io", "subjectaccessreviews", rv.subjectAccessReview)
	set("authorization.k8s.io", "localsubjectaccessreviews", rv.localSubjectAccessReview)
	set("authorization.k8s.io", "selfsubjectrulesreviews", rv.selfSubjectRulesReview)
}

func userOf(ctx context.Context) apiserver.User {
	u, _ := registry.UserFrom(ctx)
	return apiserver.User{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
}

func (rv *reviews) selfSubjectReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authenticationv1.SelfSubjectReview)
	u := userOf(ctx)
	r.Status.UserInfo = authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	for k, v := range u.Extra {
		if r.Status.UserInfo.Extra == nil {
			r.Status.UserInfo.Extra = map[string]authenticationv1.ExtraValue{}
		}
		r.Status.UserInfo.Extra[k] = v
	}
	return r, nil
}

func (rv *reviews) tokenReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authenticationv1.TokenReview)
	if rv.token == nil {
		r.Status = authenticationv1.TokenReviewStatus{Error: "token authentication is not available"}
		return r, nil
	}
	u, ok := rv.token(ctx, r.Spec.Token, r.Spec.Audiences)
	r.Status = authenticationv1.TokenReviewStatus{Authenticated: ok, Audiences: r.Spec.Audiences}
	if ok {
		if len(r.Status.Audiences) == 0 {
			r.Status.Audiences = rv.audiences
		}
		r.Status.User = authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
		for k, v := range u.Extra {
			if r.Status.User.Extra == nil {
				r.Status.User.Extra = map[string]authenticationv1.ExtraValue{}
			}
			r.Status.User.Extra[k] = v
		}
	}
	return r, nil
}

// decide runs the authorizer on spec's attributes for u.
func (rv *reviews) decide(ctx context.Context, u apiserver.User, spec authorizationv1.SubjectAccessReviewSpec) authorizationv1.SubjectAccessReviewStatus {
	a := apiserver.Attributes{User: u}
	if ra := spec.ResourceAttributes; ra != nil {
		a.IsResourceRequest, a.Verb, a.Namespace, a.APIGroup, a.APIVersion = true, ra.Verb, ra.Namespace, ra.Group, ra.Version
		a.Resource, a.Subresource, a.Name = ra.Resource, ra.Subresource, ra.Name
		if fs := ra.FieldSelector; fs != nil {
			a.FieldSelector = fs.RawSelector
		}
	} else if nr := spec.NonResourceAttributes; nr != nil {
		a.Verb, a.Path = nr.Verb, nr.Path
	}
	if rv.authz == nil {
		return authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "every authenticated request is allowed"}
	}
	allowed, reason, err := rv.authz.Authorize(ctx, a)
	st := authorizationv1.SubjectAccessReviewStatus{Allowed: allowed, Reason: reason}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

func (rv *reviews) selfSubjectAccessReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authorizationv1.SelfSubjectAccessReview)
	r.Status = rv.decide(ctx, userOf(ctx), authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: r.Spec.ResourceAttributes, NonResourceAttributes: r.Spec.NonResourceAttributes})
	return r, nil
}

func specUser(spec authorizationv1.SubjectAccessReviewSpec) apiserver.User {
	u := apiserver.User{Name: spec.User, UID: spec.UID, Groups: spec.Groups}
	for k, v := range spec.Extra {
		if u.Extra == nil {
			u.Extra = map[string][]string{}
		}
		u.Extra[k] = v
	}
	return u
}

func (rv *reviews) subjectAccessReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authorizationv1.SubjectAccessReview)
	r.Status = rv.decide(ctx, specUser(r.Spec), r.Spec)
	return r, nil
}

func (rv *reviews) localSubjectAccessReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authorizationv1.LocalSubjectAccessReview)
	if r.Spec.ResourceAttributes != nil {
		r.Spec.ResourceAttributes.Namespace = r.Namespace
	}
	r.Status = rv.decide(ctx, specUser(r.Spec), r.Spec)
	return r, nil
}

// RulesResolver lists what a user may do in a namespace (for SelfSubjectRulesReview).
type RulesResolver interface {
	RulesFor(ctx context.Context, u apiserver.User, namespace string) ([]authorizationv1.ResourceRule, []authorizationv1.NonResourceRule, bool, error)
}

func (rv *reviews) selfSubjectRulesReview(ctx context.Context, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authorizationv1.SelfSubjectRulesReview)
	if res, ok := rv.authz.(RulesResolver); ok {
		rr, nr, incomplete, err := res.RulesFor(ctx, userOf(ctx), r.Spec.Namespace)
		r.Status = authorizationv1.SubjectRulesReviewStatus{ResourceRules: rr, NonResourceRules: nr, Incomplete: incomplete}
		if err != nil {
			r.Status.EvaluationError = err.Error()
		}
		return r, nil
	}
	r.Status = authorizationv1.SubjectRulesReviewStatus{
		ResourceRules:    []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
		NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
	}
	return r, nil
}
