package openapi

import (
	"encoding/json"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/openapi/openapitest"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// components decodes the component schemas of the document at path.
func components(t *testing.T, d *Documents, path string) map[string]*spec.Schema {
	t.Helper()
	var doc spec3.OpenAPI
	if err := json.Unmarshal(get(d, "/openapi/v3/"+path).Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

// upstreamComponents decodes the component schemas of one of the upstream
// documents client-go embeds for its tests (from an older release than the
// k8s.io/api types in use, so only stable parts can be compared).
func upstreamComponents(t *testing.T, path string) map[string]*spec.Schema {
	t.Helper()
	paths, err := openapitest.NewEmbeddedFileClient().Paths()
	if err != nil {
		t.Fatal(err)
	}
	b, err := paths[path].Schema("application/json")
	if err != nil {
		t.Fatal(err)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

func TestDescriptionsAreUpstreams(t *testing.T) {
	d := testDocuments(t)
	apps, core := components(t, d, "apis/apps/v1"), components(t, d, "api/v1")
	upApps, upCore := upstreamComponents(t, "apis/apps/v1"), upstreamComponents(t, "api/v1")
	cases := []struct {
		ours, upstream map[string]*spec.Schema
		schema, field  string
		want           string
	}{
		{apps, upApps, "io.k8s.api.apps.v1.Deployment", "spec", "Specification of the desired behavior of the Deployment."},
		{core, upCore, "io.k8s.api.core.v1.Container", "image", "Container image name. More info: https://kubernetes.io/docs/concepts/containers/images This field is optional to allow higher level config management to default or override container images in workload controllers like Deployments and StatefulSets."},
		{core, upCore, "io.k8s.api.core.v1.Pod", "metadata", "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"},
	}
	for _, c := range cases {
		got := c.ours[c.schema].Properties[c.field].Description
		if got != c.want || got != c.upstream[c.schema].Properties[c.field].Description {
			t.Errorf("%s.%s description = %q, want upstream's %q", c.schema, c.field, got, c.want)
		}
	}
	for _, name := range []string{"io.k8s.api.apps.v1.Deployment", "io.k8s.api.core.v1.Container", "io.k8s.apimachinery.pkg.api.resource.Quantity", "io.k8s.apimachinery.pkg.apis.meta.v1.Time", "io.k8s.apimachinery.pkg.util.intstr.IntOrString"} {
		ours, up := apps[name], upApps[name]
		if ours == nil || up == nil || ours.Description != up.Description {
			t.Errorf("%s: type description differs from upstream's", name)
		}
	}
}

func TestSpecialTypesAsUpstream(t *testing.T) {
	d := testDocuments(t)
	ours, up := components(t, d, "api/v1"), upstreamComponents(t, "api/v1")
	for _, name := range []string{
		"io.k8s.apimachinery.pkg.api.resource.Quantity",
		"io.k8s.apimachinery.pkg.util.intstr.IntOrString",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Time",
		"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
		"io.k8s.apimachinery.pkg.runtime.RawExtension",
	} {
		a, _ := json.Marshal(ours[name])
		b, _ := json.Marshal(up[name])
		if name == "io.k8s.apimachinery.pkg.runtime.RawExtension" {
			// The description quotes a struct tag that changed since.
			a, b = []byte(ours[name].Type[0]), []byte(up[name].Type[0])
		}
		if string(a) != string(b) {
			t.Errorf("%s:\n ours     %s\n upstream %s", name, a, b)
		}
	}
}

func TestRequiredAndListSemantics(t *testing.T) {
	d := testDocuments(t)
	core, apps := components(t, d, "api/v1"), components(t, d, "apis/apps/v1")
	upCore := upstreamComponents(t, "api/v1")
	required := map[string][]string{
		"io.k8s.api.core.v1.Container":                        {"name"},
		"io.k8s.api.core.v1.ServicePort":                      {"port"},
		"io.k8s.api.core.v1.PodSpec":                          {"containers"},
		"io.k8s.api.core.v1.Pod":                              nil,
		"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta":     nil,
		"io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent":     {"type", "object"},
		"io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference": {"apiVersion", "kind", "name", "uid"},
	}
	for name, want := range required {
		if got := core[name].Required; !reflect.DeepEqual(got, want) {
			t.Errorf("%s required = %q, want %q", name, got, want)
		}
		if up := upCore[name].Required; !reflect.DeepEqual(up, want) {
			t.Errorf("%s: upstream's required is %q, test expects %q", name, up, want)
		}
	}
	if got := apps["io.k8s.api.apps.v1.DeploymentSpec"].Required; !reflect.DeepEqual(got, []string{"selector", "template"}) {
		t.Errorf("DeploymentSpec required = %q", got)
	}
	// +required in k8s.io/api v0.37.2, which the rule alone would miss.
	if got := apps["io.k8s.api.apps.v1.Deployment"].Required; !reflect.DeepEqual(got, []string{"spec"}) {
		t.Errorf("Deployment required = %q", got)
	}

	containers := core["io.k8s.api.core.v1.PodSpec"].Properties["containers"]
	wantExt := map[string]interface{}{
		"x-kubernetes-list-type":       "map",
		"x-kubernetes-list-map-keys":   []interface{}{"name"},
		"x-kubernetes-patch-strategy":  "merge",
		"x-kubernetes-patch-merge-key": "name",
	}
	if !reflect.DeepEqual(map[string]interface{}(containers.Extensions), wantExt) {
		t.Errorf("PodSpec.containers extensions = %v", containers.Extensions)
	}
	finalizers := core["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].Properties["finalizers"]
	if finalizers.Extensions["x-kubernetes-list-type"] != "set" || finalizers.Extensions["x-kubernetes-patch-strategy"] != "merge" {
		t.Errorf("ObjectMeta.finalizers extensions = %v", finalizers.Extensions)
	}
	ports := core["io.k8s.api.core.v1.Container"].Properties["ports"]
	if !reflect.DeepEqual(ports.Extensions["x-kubernetes-list-map-keys"], []interface{}{"containerPort", "protocol"}) {
		t.Errorf("Container.ports keys = %v", ports.Extensions)
	}
	if ns := core["io.k8s.api.core.v1.PodSpec"].Properties["nodeSelector"]; ns.Extensions["x-kubernetes-map-type"] != "atomic" {
		t.Errorf("PodSpec.nodeSelector extensions = %v", ns.Extensions)
	}
	if sks := core["io.k8s.api.core.v1.SecretKeySelector"]; sks.Extensions["x-kubernetes-map-type"] != "atomic" {
		t.Errorf("SecretKeySelector extensions = %v", sks.Extensions)
	}
	ours, _ := json.Marshal(core["io.k8s.api.core.v1.SeccompProfile"].Extensions)
	up, _ := json.Marshal(upCore["io.k8s.api.core.v1.SeccompProfile"].Extensions)
	if string(ours) != string(up) {
		t.Errorf("SeccompProfile extensions = %s, upstream %s", ours, up)
	}
}

func TestPropertyShapes(t *testing.T) {
	d := testDocuments(t)
	core := components(t, d, "api/v1")
	cases := []struct {
		schema, field, want string
	}{
		// A $ref with siblings is wrapped in allOf; defaults as upstream.
		{"io.k8s.api.core.v1.Pod", "spec", `{"description":"Specification of the desired behavior of the pod. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status","default":{},"allOf":[{"$ref":"#/components/schemas/io.k8s.api.core.v1.PodSpec"}]}`},
		{"io.k8s.api.core.v1.ServicePort", "targetPort", `{"description":"Number or name of the port to access on the pods targeted by the service. Number must be in the range 1 to 65535. Name must be an IANA_SVC_NAME. If this is a string, it will be looked up as a named port in the target Pod's container ports. If this is not specified, the value of the 'port' field is used (an identity map). This field is ignored for services with clusterIP=None, and should be omitted or set equal to the 'port' field. More info: https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service","allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]}`},
		{"io.k8s.api.core.v1.ServicePort", "protocol", `{"description":"The IP protocol for this port. Supports \"TCP\", \"UDP\", and \"SCTP\". Default is TCP.","type":"string","default":"TCP"}`},
		{"io.k8s.api.core.v1.ConfigMap", "binaryData", `{"description":"BinaryData contains the binary data. Each key must consist of alphanumeric characters, '-', '_' or '.'. BinaryData can contain byte sequences that are not in the UTF-8 range. The keys stored in BinaryData must not overlap with the ones in the Data field, this is enforced during validation process. Using this field will require 1.10+ apiserver and kubelet. Note: BinaryData keys are not currently propagated to container env vars via ConfigMapKeyRef or ConfigMapRef env sources; only Data keys are used.","type":"object","additionalProperties":{"type":"string","format":"byte"}}`},
		{"io.k8s.api.core.v1.ResourceRequirements", "limits", `{"description":"Limits describes the maximum amount of compute resources allowed. More info: https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/","type":"object","additionalProperties":{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}}`},
		{"io.k8s.api.core.v1.ContainerPort", "containerPort", `{"description":"Number of port to expose on the pod's IP address. This must be a valid port number, 0 \u003c x \u003c 65536.","type":"integer","format":"int32","default":0}`},
	}
	for _, c := range cases {
		b, _ := json.Marshal(core[c.schema].Properties[c.field])
		if string(b) != c.want {
			t.Errorf("%s.%s =\n %s\nwant\n %s", c.schema, c.field, b, c.want)
		}
	}
	gvks := core["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"].Extensions["x-kubernetes-group-version-kind"].([]interface{})
	if len(gvks) < 20 {
		t.Errorf("DeleteOptions lists %d group-versions, want every one of the scheme's", len(gvks))
	}
}

func TestTimeTypesWithoutResources(t *testing.T) {
	defs := newDefinitions(testScheme(t), nil)
	for v, want := range map[interface{}]string{
		metav1.MicroTime{}: `{"description":"MicroTime is version of Time with microsecond level precision.","type":"string","format":"date-time"}`,
		metav1.Duration{}:  `{"description":"Duration is a wrapper around time.Duration which supports correct marshaling to YAML and JSON. In particular, it marshals into strings, which can be used as map keys in json.","type":"string"}`,
	} {
		name, err := defs.define(reflect.TypeOf(v))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(defs.schemas[name]); string(b) != want {
			t.Errorf("%s = %s, want %s", name, b, want)
		}
	}
}
