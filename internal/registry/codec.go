package registry

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// Transformer transforms stored bytes, for encryption at rest. The zero value of a Resource's
// codec uses none.
type Transformer interface {
	TransformToStorage(data []byte) ([]byte, error)
	TransformFromStorage(data []byte) ([]byte, error)
}

// protoCodec stores built-in kinds as protobuf in upstream's k8s\0 envelope.
type protoCodec struct {
	gvk         schema.GroupVersionKind
	serializer  *protobuf.Serializer
	transformer Transformer
}

func newProtoCodec(scheme *runtime.Scheme, gvk schema.GroupVersionKind, t Transformer) *protoCodec {
	return &protoCodec{gvk: gvk, serializer: protobuf.NewSerializer(scheme, scheme), transformer: t}
}

func (c *protoCodec) Encode(obj runtime.Object) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(c.gvk)
	var buf bytes.Buffer
	if err := c.serializer.Encode(obj, &buf); err != nil {
		return nil, err
	}
	if c.transformer != nil {
		return c.transformer.TransformToStorage(buf.Bytes())
	}
	return buf.Bytes(), nil
}

func (c *protoCodec) Decode(data []byte) (runtime.Object, error) {
	if c.transformer != nil {
		var err error
		if data, err = c.transformer.TransformFromStorage(data); err != nil {
			return nil, err
		}
	}
	obj, gvk, err := c.serializer.Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	if gvk == nil || *gvk != c.gvk {
		return nil, fmt.Errorf("stored object is %v, want %v", gvk, c.gvk)
	}
	obj.GetObjectKind().SetGroupVersionKind(c.gvk)
	return obj, nil
}
