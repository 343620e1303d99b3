package apiserver

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The impersonation headers kubectl's --as, --as-group and --as-uid send.
const (
	impersonateUserHeader        = "Impersonate-User"
	impersonateGroupHeader       = "Impersonate-Group"
	impersonateUIDHeader         = "Impersonate-Uid"
	impersonateExtraHeaderPrefix = "Impersonate-Extra-"
)

// impersonate returns the user r asks to act as with its Impersonate-* headers, or nil if it
// asks for none. requestor must be allowed the impersonate verb on each requested user (or
// service account), group, uid and extra value; otherwise the error is upstream's 403 for the
// first refused one. The headers are removed from r.
func (s *Server) impersonate(r *http.Request, requestor User) (*User, error) {
	h := r.Header
	name := h.Get(impersonateUserHeader)
	groups := h.Values(impersonateGroupHeader)
	uid := h.Get(impersonateUIDHeader)
	extra := map[string][]string{}
	for k, v := range h {
		if strings.HasPrefix(k, impersonateExtraHeaderPrefix) {
			key := strings.ToLower(strings.TrimPrefix(k, impersonateExtraHeaderPrefix))
			if unescaped, err := url.PathUnescape(key); err == nil {
				key = unescaped
			}
			extra[key] = append(extra[key], v...)
		}
	}
	if name == "" && len(groups) == 0 && uid == "" && len(extra) == 0 {
		return nil, nil
	}
	if name == "" {
		return nil, apierrors.NewBadRequest("requested impersonation of groups, uid or extra values without impersonating a user")
	}
	for k := range h {
		if strings.HasPrefix(k, "Impersonate-") {
			h.Del(k)
		}
	}

	// What the requestor asks, in upstream's order: the user, its groups, extras, uid.
	var asks []Attributes
	ask := func(group, resource, subresource, namespace, name string) {
		asks = append(asks, Attributes{User: requestor, Verb: "impersonate", IsResourceRequest: true,
			APIGroup: group, Resource: resource, Subresource: subresource, Namespace: namespace, Name: name})
	}
	u := &User{Name: name, UID: uid, Groups: groups}
	if ns, sa, ok := splitServiceAccount(name); ok {
		ask("", "serviceaccounts", "", ns, sa)
		if len(groups) == 0 {
			u.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns}
		}
	} else {
		ask("", "users", "", "", name)
	}
	for _, g := range groups {
		ask("", "groups", "", "", g)
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range extra[k] {
			ask("authentication.k8s.io", "userextras", k, "", v)
		}
	}
	if uid != "" {
		ask("authentication.k8s.io", "uids", "", "", uid)
	}
	if s.cfg.Authorizer != nil {
		for _, a := range asks {
			ok, reason, err := s.cfg.Authorizer.Authorize(r.Context(), a)
			if err != nil && reason == "" {
				reason = err.Error()
			}
			if !ok {
				return nil, forbidden(a, reason)
			}
		}
	}
	if len(extra) > 0 {
		u.Extra = extra
	}
	// As upstream: the impersonated user is authenticated unless it is anonymous or says it
	// is not.
	if name != "system:anonymous" {
		if !contains(u.Groups, "system:authenticated") && !contains(u.Groups, "system:unauthenticated") {
			u.Groups = append(u.Groups, "system:authenticated")
		}
	} else if !contains(u.Groups, "system:unauthenticated") {
		u.Groups = append(u.Groups, "system:unauthenticated")
	}
	return u, nil
}

// splitServiceAccount splits system:serviceaccount:<namespace>:<name>.
func splitServiceAccount(user string) (namespace, name string, ok bool) {
	const prefix = "system:serviceaccount:"
	if !strings.HasPrefix(user, prefix) {
		return "", "", false
	}
	parts := strings.Split(strings.TrimPrefix(user, prefix), ":")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}
