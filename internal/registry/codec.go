package registry

import (
	"bytes"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/skiff-project/skiff/internal/defaults"
)

// protoCodec stores built-in kinds as protobuf in upstream's k8s\0 envelope.
type protoCodec struct {
	gvk        schema.GroupVersionKind
	serializer *protobuf.Serializer
}

func newProtoCodec(scheme *runtime.Scheme, gvk schema.GroupVersionKind) *protoCodec {
	return &protoCodec{gvk: gvk, serializer: protobuf.NewSerializer(scheme, scheme)}
}

func (c *protoCodec) Encode(obj runtime.Object) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(c.gvk)
	var buf bytes.Buffer
	if err := c.serializer.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c *protoCodec) Decode(data []byte) (runtime.Object, error) {
	obj, gvk, err := c.serializer.Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	if gvk == nil || *gvk != c.gvk {
		return nil, fmt.Errorf("stored object is %v, want %v", gvk, c.gvk)
	}
	obj.GetObjectKind().SetGroupVersionKind(c.gvk)
	if ss, ok := obj.(*appsv1.StatefulSet); ok {
		defaults.SetVolumeClaimTemplateTypes(ss)
	}
	return obj, nil
}
