package apiserver

import (
	"net/http/httptest"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// FuzzDecodeBody feeds arbitrary bytes to the request decoder in every media type and
// validation mode: it may refuse them, never crash.
func FuzzDecodeBody(f *testing.F) {
	s := testServer(f)
	for _, seed := range []string{
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replicas":1}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"b"},"foo":1}`,
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
		"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap\x12\x00",
		`{"metadata":{"name":"x","labels":{"a":1}}}`, `[]`, `null`, "",
	} {
		f.Add([]byte(seed), uint8(0), uint8(0))
	}
	gvks := []schema.GroupVersionKind{appsv1.SchemeGroupVersion.WithKind("Deployment"), {Version: "v1", Kind: "ConfigMap"}, {Version: "v1", Kind: "Pod"}}
	media := []string{mediaJSON, mediaYAML, mediaProtobuf}
	validation := []string{"Strict", "Warn", "Ignore"}
	f.Fuzz(func(t *testing.T, data []byte, m, v uint8) {
		for _, gvk := range gvks {
			r := httptest.NewRequest("POST", "/x?fieldValidation="+validation[int(v)%3], nil)
			_, _ = s.decodeBody(httptest.NewRecorder(), r, data, media[int(m)%3], gvk)
		}
	})
}

// FuzzPatch applies arbitrary patches of the three patch types to a Deployment: a patch may be
// refused, never crash the server.
func FuzzPatch(f *testing.F) {
	s := testServer(f)
	original := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"a":"b"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"img:1","env":[{"name":"A","value":"1"}]}]}}}}`)
	for _, seed := range []string{
		`{"spec":{"replicas":3}}`,
		`[{"op":"replace","path":"/spec/replicas","value":2}]`,
		`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],"containers":[{"name":"web","image":"img:2"}]}}}}`,
		`{"spec":{"template":{"spec":{"containers":[{"name":"web","$patch":"delete"}]}}}}`,
		`{"metadata":{"$retainKeys":["name"]}}`,
		`{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"$patch":"replace"}]}]}}}}`,
		`{"$deleteFromPrimitiveList/finalizers":["x"]}`,
		`[{"op":"test","path":"/spec/replicas","value":5}]`, `[{"op":"move","from":"/spec","path":"/spec/x"}]`, `{`, `null`,
	} {
		f.Add([]byte(seed), uint8(0))
	}
	types := []string{mediaJSONPatch, mediaMergePatch, mediaStrategicPatch}
	gvk := appsv1.SchemeGroupVersion.WithKind("Deployment")
	f.Fuzz(func(t *testing.T, patch []byte, kind uint8) {
		out, err := applyPatch(types[int(kind)%3], original, patch, s.reg.New(gvk))
		if err != nil {
			return
		}
		r := httptest.NewRequest("PATCH", "/x", nil)
		_, _ = s.decodeBody(httptest.NewRecorder(), r, out, mediaJSON, gvk)
	})
}
