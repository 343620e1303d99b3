package apiserver

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// RequestInfo is what the path and method of an API request address.
type RequestInfo struct {
	// IsResourceRequest is false for /version, /healthz, discovery and other non-resource paths.
	IsResourceRequest bool
	Verb              string // get list watch create update patch delete deletecollection
	APIPrefix         string // api or apis
	Group, Version    string
	Namespace         string
	Resource          string
	Subresource       string
	Name              string
	// Parts are the path segments after the group-version.
	Parts []string
}

// GroupVersionResource returns the addressed resource.
func (ri *RequestInfo) GroupVersionResource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: ri.Group, Version: ri.Version, Resource: ri.Resource}
}

// ParseRequestInfo reads r's path as upstream's request-info resolver does:
// /api/v1/namespaces/ns/pods/name/log, /apis/apps/v1/deployments, and so on.
func ParseRequestInfo(r *http.Request) *RequestInfo {
	ri := &RequestInfo{}
	p := strings.Trim(r.URL.Path, "/")
	parts := strings.Split(p, "/")
	if len(parts) < 2 {
		return ri
	}
	switch parts[0] {
	case "api":
		ri.APIPrefix = "api"
		ri.Version = parts[1]
		parts = parts[2:]
	case "apis":
		if len(parts) < 3 {
			return ri
		}
		ri.APIPrefix = "apis"
		ri.Group, ri.Version = parts[1], parts[2]
		parts = parts[3:]
	default:
		return ri
	}
	if len(parts) == 0 {
		return ri
	}
	ri.IsResourceRequest = true
	// namespaces/{ns}/{resource}... addresses a namespaced resource; namespaces and
	// namespaces/{name}[/sub] address the namespace itself.
	// namespaces/{ns}/status and namespaces/{ns}/finalize are the namespace's own subresources.
	if parts[0] == "namespaces" && len(parts) >= 3 && parts[2] != "status" && parts[2] != "finalize" {
		ri.Namespace = parts[1]
		parts = parts[2:]
	} else if parts[0] == "namespaces" && len(parts) >= 2 {
		ri.Namespace = parts[1]
	}
	ri.Parts = parts
	ri.Resource = parts[0]
	if len(parts) >= 2 {
		ri.Name = parts[1]
	}
	if len(parts) >= 3 {
		ri.Subresource = parts[2]
	}
	if ri.Resource == "namespaces" {
		ri.Namespace = ""
		if ri.Name != "" {
			ri.Namespace = ri.Name
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case ri.Name != "":
			ri.Verb = "get"
		case isWatch(r):
			ri.Verb = "watch"
		default:
			ri.Verb = "list"
		}
	case http.MethodPost:
		ri.Verb = "create"
	case http.MethodPut:
		ri.Verb = "update"
	case http.MethodPatch:
		ri.Verb = "patch"
	case http.MethodDelete:
		if ri.Name != "" {
			ri.Verb = "delete"
		} else {
			ri.Verb = "deletecollection"
		}
	default:
		ri.Verb = strings.ToLower(r.Method)
	}
	return ri
}

func isWatch(r *http.Request) bool {
	w := r.URL.Query().Get("watch")
	return w == "true" || w == "1"
}
