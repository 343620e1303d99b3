package openapi

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"k8s.io/kube-openapi/pkg/spec3"
)

// get serves one request through d.
func get(d *Documents, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, req)
	return rec
}

// index fetches and decodes the /openapi/v3 index.
func index(t *testing.T, d *Documents) map[string]string {
	t.Helper()
	rec := get(d, "/openapi/v3")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi/v3: %d", rec.Code)
	}
	var idx struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &idx); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for p, v := range idx.Paths {
		out[p] = v.ServerRelativeURL
	}
	return out
}

func TestIndexListsEveryPathWithItsHash(t *testing.T) {
	d := testDocuments(t)
	want := []string{"api/v1", "apis/apiextensions.k8s.io/v1", "apis/apps/v1", "apis/batch/v1"}
	if got := d.Paths(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Paths() = %v, want %v", got, want)
	}
	idx := index(t, d)
	if len(idx) != len(want) {
		t.Fatalf("index has %d paths, want %d: %v", len(idx), len(want), idx)
	}
	for _, p := range want {
		u, err := url.Parse(idx[p])
		if err != nil || u.Path != "/openapi/v3/"+p {
			t.Fatalf("index URL of %s = %q", p, idx[p])
		}
		rec := get(d, u.Path)
		sum := fmt.Sprintf("%X", sha512.Sum512(rec.Body.Bytes()))
		if hash := u.Query().Get("hash"); hash != sum {
			t.Errorf("%s: index hash %s, document SHA-512 %s", p, hash, sum)
		}
		if etag := rec.Header().Get("Etag"); etag != strconv.Quote(sum) {
			t.Errorf("%s: ETag %s, want %q", p, etag, sum)
		}
	}
}

func TestDocumentsAreValidAndSelfContained(t *testing.T) {
	d := testDocuments(t)
	for _, p := range d.Paths() {
		rec := get(d, "/openapi/v3/"+p)
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		var doc spec3.OpenAPI
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("%s: not a spec3.OpenAPI: %v", p, err)
		}
		if doc.Version != "3.0.0" || doc.Paths == nil || doc.Components == nil || len(doc.Components.Schemas) == 0 {
			t.Fatalf("%s: incomplete document", p)
		}
		var raw interface{}
		if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		refs := 0
		walkRefs(raw, func(ref string) {
			refs++
			name, ok := strings.CutPrefix(ref, schemaRefPrefix)
			if !ok || doc.Components.Schemas[name] == nil {
				t.Errorf("%s: dangling $ref %q", p, ref)
			}
		})
		if refs == 0 {
			t.Errorf("%s: no $ref at all", p)
		}
		for name, s := range doc.Components.Schemas {
			if s.Description == "" {
				t.Errorf("%s: schema %s has no description", p, name)
			}
		}
	}
}

// walkRefs calls f with every "$ref" value in a decoded JSON document.
func walkRefs(v interface{}, f func(string)) {
	switch x := v.(type) {
	case map[string]interface{}:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				f(s)
				continue
			}
			walkRefs(e, f)
		}
	case []interface{}:
		for _, e := range x {
			walkRefs(e, f)
		}
	}
}

func TestServeHTTPCachingFollowsHandler3(t *testing.T) {
	d := testDocuments(t)
	u, _ := url.Parse(index(t, d)["apis/apps/v1"])
	hash := u.Query().Get("hash")

	fresh := get(d, u.String())
	if fresh.Code != http.StatusOK {
		t.Fatalf("GET %s: %d", u, fresh.Code)
	}
	if cc := fresh.Header().Get("Cache-Control"); cc != "public, immutable" {
		t.Errorf("Cache-Control with current hash = %q", cc)
	}
	if fresh.Header().Get("Expires") == "" {
		t.Errorf("no Expires with current hash")
	}

	stale := get(d, "/openapi/v3/apis/apps/v1?hash=0123")
	if stale.Code != http.StatusMovedPermanently || stale.Header().Get("Location") != u.String() {
		t.Errorf("stale hash: %d to %q, want 301 to %q", stale.Code, stale.Header().Get("Location"), u)
	}

	plain := get(d, "/openapi/v3/apis/apps/v1")
	if plain.Code != http.StatusOK || plain.Header().Get("Cache-Control") != "" {
		t.Errorf("no hash: %d, Cache-Control %q", plain.Code, plain.Header().Get("Cache-Control"))
	}
	if plain.Header().Get("Etag") != strconv.Quote(hash) {
		t.Errorf("ETag %q, want %q", plain.Header().Get("Etag"), hash)
	}

	notModified := get(d, "/openapi/v3/apis/apps/v1", "If-None-Match", strconv.Quote(hash))
	if notModified.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %d, want 304", notModified.Code)
	}

	pb := get(d, "/openapi/v3/apis/apps/v1", "Accept", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf")
	if pb.Code != http.StatusOK || pb.Header().Get("Content-Type") != "application/com.github.proto-openapi.spec.v3.v1.0+protobuf" || pb.Body.Len() == 0 {
		t.Errorf("protobuf: %d %q, %d bytes", pb.Code, pb.Header().Get("Content-Type"), pb.Body.Len())
	}

	if rec := get(d, "/openapi/v3/apis/nope/v1"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown group-version: %d, want 404", rec.Code)
	}
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/openapi/v3", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
}

func TestBuildRejectsUnknownKinds(t *testing.T) {
	_, err := Build(testScheme(t), []Resource{{
		GVK:    testResources()[0].GVK.GroupVersion().WithKind("NoSuchKind"),
		Plural: "nosuchkinds",
		Verbs:  []string{"get"},
	}})
	if err == nil {
		t.Fatal("Build accepted a kind the scheme does not know")
	}
}
