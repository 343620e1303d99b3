package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Attributes describe what a request asks to do, for authorization.
type Attributes struct {
	User User
	// Verb is the resource verb (get, list, watch, create, update, patch, delete,
	// deletecollection, impersonate, ...) or, for non-resource requests, the lower-case
	// HTTP method.
	Verb string
	// IsResourceRequest tells resource requests from non-resource ones (Path).
	IsResourceRequest bool
	Namespace         string
	APIGroup          string
	APIVersion        string
	Resource          string
	Subresource       string
	Name              string
	Path              string
	// FieldSelector is a list, watch or deletecollection's field selector (for authorizers that
	// allow a scoped request, such as a node listing the pods bound to it).
	FieldSelector string
}

// Authorizer decides whether a request may proceed. reason explains a denial; an error means
// the decision could not be made (the request is denied).
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (allowed bool, reason string, err error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, a Attributes) (bool, string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, a Attributes) (bool, string, error) {
	return f(ctx, a)
}

// attributesOf returns the authorization attributes of a request.
func attributesOf(r *http.Request, ri *RequestInfo, u User) Attributes {
	if !ri.IsResourceRequest {
		return Attributes{User: u, Verb: strings.ToLower(r.Method), Path: r.URL.Path}
	}
	verb := ri.Verb
	if r.Method == http.MethodHead {
		verb = "get"
	}
	// exec, attach and portforward upgrade to WebSocket with a GET, authorized here as get; their
	// handler then checks create too (upstream's compound authorization of connect requests,
	// AuthorizePodWebsocketUpgradeCreatePermission), as a SPDY upgrade (a POST) is authorized.
	a := Attributes{User: u, Verb: verb, IsResourceRequest: true, Namespace: ri.Namespace, APIGroup: ri.Group,
		APIVersion: ri.Version, Resource: ri.Resource, Subresource: ri.Subresource, Name: ri.Name, Path: r.URL.Path}
	if verb == "list" || verb == "watch" || verb == "deletecollection" {
		a.FieldSelector = r.URL.Query().Get("fieldSelector")
	}
	return a
}

// forbidden builds upstream's 403 for a denied request.
func forbidden(a Attributes, reason string) error {
	username := a.User.Name
	if username == "" {
		username = "system:anonymous"
	}
	var msg string
	if !a.IsResourceRequest {
		msg = fmt.Sprintf("User %q cannot %s path %q", username, a.Verb, a.Path)
	} else {
		resource := a.Resource
		if a.Subresource != "" {
			resource += "/" + a.Subresource
		}
		msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q", username, a.Verb, resource, a.APIGroup)
		if a.Namespace != "" {
			msg += fmt.Sprintf(" in the namespace %q", a.Namespace)
		} else {
			msg += " at the cluster scope"
		}
	}
	if reason != "" {
		msg += ": " + reason
	}
	if !a.IsResourceRequest {
		return apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("%s", msg))
	}
	// The Status names the resource without its subresource, as upstream's:
	// pods "p" is forbidden: User "u" cannot create resource "pods/exec" ...
	return apierrors.NewForbidden(schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}, a.Name, fmt.Errorf("%s", msg))
}
