package apiserver

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/registry"
)

// aggregatedMediaType is the Content-Type clients check to accept aggregated discovery.
const aggregatedMediaType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// discovery serves legacy and aggregated discovery, both built once from the registry table so
// that they always say the same thing.
type discovery struct {
	apiVersions []byte
	groupList   []byte
	groups      map[string][]byte // group name -> APIGroup
	resources   map[string][]byte // "api/v1", "apis/apps/v1" -> APIResourceList
	aggregated  map[string][]byte // "api", "apis" -> APIGroupDiscoveryList
	etags       map[string]string
}

// SubresourceKind gives the request/response kind and verbs of each subresource.
func SubresourceKind(res *registry.Resource, sub string) (schema.GroupVersionKind, []string) {
	own := res.GVK
	switch sub {
	case "status":
		return own, []string{"get", "patch", "update"}
	case "scale":
		return schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, []string{"get", "patch", "update"}
	case "binding":
		return schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, []string{"create"}
	case "eviction":
		return schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}, []string{"create"}
	case "log":
		return own, []string{"get"}
	case "exec":
		return schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}, []string{"create", "get"}
	case "attach":
		return schema.GroupVersionKind{Version: "v1", Kind: "PodAttachOptions"}, []string{"create", "get"}
	case "portforward":
		return schema.GroupVersionKind{Version: "v1", Kind: "PodPortForwardOptions"}, []string{"create", "get"}
	case "proxy":
		return schema.GroupVersionKind{Version: "v1", Kind: own.Kind + "ProxyOptions"}, []string{"create", "delete", "get", "patch", "update"}
	case "finalize":
		return own, []string{"update"}
	case "approval":
		return own, []string{"get", "patch", "update"}
	case "token":
		return schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}, []string{"create"}
	}
	return own, []string{"get"}
}

// Subresources returns every subresource of res, in discovery order.
func Subresources(res *registry.Resource) []string {
	var subs []string
	if res.Status {
		subs = append(subs, "status")
	}
	if res.Scale != nil {
		subs = append(subs, "scale")
	}
	subs = append(subs, res.Subresources...)
	sort.Strings(subs)
	return subs
}

// kindRef names gvk as discovery does from the group-version gv: with its group and version
// only when they differ from gv's (pods/eviction is policy/v1 Eviction, pods/status a Pod).
func kindRef(gv schema.GroupVersion, gvk schema.GroupVersionKind) *metav1.GroupVersionKind {
	if gvk.GroupVersion() == gv {
		return &metav1.GroupVersionKind{Kind: gvk.Kind}
	}
	return &metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind}
}

// storageVersionHash is upstream's hash of the version a resource is stored in: the first
// eight bytes of the SHA-256 of group/version/kind, in base64.
func storageVersionHash(res *registry.Resource) string {
	gvk := res.GVK
	if !res.StorageGVK.Empty() {
		gvk = res.StorageGVK
	}
	sum := sha256.Sum256([]byte(gvk.Group + "/" + gvk.Version + "/" + gvk.Kind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

func newDiscovery(reg *registry.Registry) *discovery {
	d := &discovery{groups: map[string][]byte{}, resources: map[string][]byte{}, aggregated: map[string][]byte{}, etags: map[string]string{}}
	byGV := map[schema.GroupVersion][]*registry.Resource{}
	for _, res := range reg.Resources() {
		gv := res.GVK.GroupVersion()
		byGV[gv] = append(byGV[gv], res)
	}
	gvs := reg.GroupVersions()
	var groupList metav1.APIGroupList
	groupList.TypeMeta = metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}
	var aggCore, aggGroups apidiscoveryv2.APIGroupDiscoveryList
	aggCore.TypeMeta = metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}
	aggGroups.TypeMeta = aggCore.TypeMeta
	groupIndex := map[string]int{}
	for _, gv := range gvs {
		list := metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
		var aggResources []apidiscoveryv2.APIResourceDiscovery
		for _, res := range byGV[gv] {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.Plural, SingularName: res.Singular, Namespaced: res.Namespaced, Kind: res.GVK.Kind,
				Verbs: res.VerbList(), ShortNames: res.ShortNames, Categories: res.Categories,
				StorageVersionHash: storageVersionHash(res),
			})
			scope := apidiscoveryv2.ScopeCluster
			if res.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			ar := apidiscoveryv2.APIResourceDiscovery{
				Resource: res.Plural, SingularResource: res.Singular, Scope: scope, Verbs: res.VerbList(),
				ShortNames: res.ShortNames, Categories: res.Categories,
				ResponseKind: kindRef(gv, res.GVK),
			}
			for _, sub := range Subresources(res) {
				kind, verbs := SubresourceKind(res, sub)
				ref := kindRef(gv, kind)
				list.APIResources = append(list.APIResources, metav1.APIResource{
					Name: res.Plural + "/" + sub, Namespaced: res.Namespaced, Kind: kind.Kind, Group: ref.Group, Version: ref.Version, Verbs: verbs,
				})
				ar.Subresources = append(ar.Subresources, apidiscoveryv2.APISubresourceDiscovery{
					Subresource: sub, ResponseKind: ref, Verbs: verbs,
				})
			}
			aggResources = append(aggResources, ar)
		}
		sort.Slice(list.APIResources, func(i, j int) bool { return list.APIResources[i].Name < list.APIResources[j].Name })
		sort.Slice(aggResources, func(i, j int) bool { return aggResources[i].Resource < aggResources[j].Resource })
		version := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Resources: aggResources, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		if gv.Group == "" {
			d.resources["api/"+gv.Version] = mustJSON(list)
			aggCore.Items = append(aggCore.Items, apidiscoveryv2.APIGroupDiscovery{Versions: []apidiscoveryv2.APIVersionDiscovery{version}})
			continue
		}
		d.resources["apis/"+gv.Group+"/"+gv.Version] = mustJSON(list)
		gvd := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		if i, ok := groupIndex[gv.Group]; ok {
			groupList.Groups[i].Versions = append(groupList.Groups[i].Versions, gvd)
			aggGroups.Items[i].Versions = append(aggGroups.Items[i].Versions, version)
			continue
		}
		groupIndex[gv.Group] = len(groupList.Groups)
		groupList.Groups = append(groupList.Groups, metav1.APIGroup{Name: gv.Group, Versions: []metav1.GroupVersionForDiscovery{gvd}, PreferredVersion: gvd})
		aggGroups.Items = append(aggGroups.Items, apidiscoveryv2.APIGroupDiscovery{
			ObjectMeta: metav1.ObjectMeta{Name: gv.Group}, Versions: []apidiscoveryv2.APIVersionDiscovery{version}})
	}
	for _, g := range groupList.Groups {
		g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
		d.groups[g.Name] = mustJSON(g)
	}
	d.apiVersions = mustJSON(metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0"}}})
	d.groupList = mustJSON(groupList)
	d.aggregated["api"] = mustJSON(aggCore)
	d.aggregated["apis"] = mustJSON(aggGroups)
	for k, v := range d.aggregated {
		sum := sha256.Sum256(v)
		d.etags[k] = fmt.Sprintf("%q", fmt.Sprintf("%X", sum[:]))
	}
	return d
}

func mustJSON(v interface{}) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// wantsAggregated reports whether an Accept header asks for aggregated discovery v2.
func wantsAggregated(accept string) bool {
	for _, clause := range strings.Split(accept, ",") {
		c := strings.ReplaceAll(clause, " ", "")
		if strings.Contains(c, "as=APIGroupDiscoveryList") && strings.Contains(c, "g=apidiscovery.k8s.io") && strings.Contains(c, "v=v2") && !strings.Contains(c, "v=v2beta1") {
			return true
		}
		if strings.HasPrefix(c, "application/json") && !strings.Contains(c, "as=") {
			return false
		}
	}
	return false
}

// serveRoot serves /api and /apis.
func (d *discovery) serveRoot(w http.ResponseWriter, r *http.Request, root string) {
	w.Header().Set("Vary", "Accept")
	if wantsAggregated(r.Header.Get("Accept")) {
		etag := d.etags[root]
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", aggregatedMediaType)
		_, _ = w.Write(d.aggregated[root])
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	if root == "api" {
		_, _ = w.Write(d.apiVersions)
		return
	}
	_, _ = w.Write(d.groupList)
}

// serveGroupOrVersion serves /apis/{group}, /api/v1 and /apis/{group}/{version}.
func (d *discovery) serveGroupOrVersion(w http.ResponseWriter, r *http.Request, ri *RequestInfo, p string) {
	if b, ok := d.resources[p]; ok {
		w.Header().Set("Content-Type", mediaJSON)
		_, _ = w.Write(b)
		return
	}
	if strings.HasPrefix(p, "apis/") && strings.Count(p, "/") == 1 {
		if b, ok := d.groups[strings.TrimPrefix(p, "apis/")]; ok {
			w.Header().Set("Content-Type", mediaJSON)
			_, _ = w.Write(b)
			return
		}
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(mustJSON(&metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Message: "the server could not find the requested resource", Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound}))
}

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(code)
	_, _ = w.Write(mustJSON(v))
}
