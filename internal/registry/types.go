package registry

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

type typesUID = types.UID

func schemaGK(kind string) schema.GroupKind {
	return schema.GroupKind{Group: "meta.k8s.io", Kind: kind}
}
