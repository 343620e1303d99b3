package defaults

import (
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"
)

// This file follows apiextensions-apiserver's pkg/apis/apiextensions/v1/defaults.go and its
// zz_generated.defaults.go at v0.37.2 (read from the module cache).

// defaultCustomResourceDefinition follows SetObjectDefaults_CustomResourceDefinition: names
// (singular, listKind), conversion strategy None, the conversion webhook's service port 443,
// and status.storedVersions from the storage version.
func defaultCustomResourceDefinition(crd *apiextensionsv1.CustomResourceDefinition) {
	spec := &crd.Spec
	if spec.Names.Singular == "" {
		spec.Names.Singular = strings.ToLower(spec.Names.Kind)
	}
	if spec.Names.ListKind == "" && spec.Names.Kind != "" {
		spec.Names.ListKind = spec.Names.Kind + "List"
	}
	if spec.Conversion == nil {
		spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	}
	if len(crd.Status.StoredVersions) == 0 {
		for _, v := range spec.Versions {
			if v.Storage {
				crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
				break
			}
		}
	}
	if w := spec.Conversion.Webhook; w != nil && w.ClientConfig != nil && w.ClientConfig.Service != nil {
		if w.ClientConfig.Service.Port == nil {
			w.ClientConfig.Service.Port = ptr.To[int32](443)
		}
	}
}
