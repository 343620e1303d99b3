package apiserver

import (
	"mime"
	"strings"
)

// Media types the server reads and writes.
const (
	mediaJSON           = "application/json"
	mediaYAML           = "application/yaml"
	mediaProtobuf       = "application/vnd.kubernetes.protobuf"
	mediaJSONPatch      = "application/json-patch+json"
	mediaMergePatch     = "application/merge-patch+json"
	mediaStrategicPatch = "application/strategic-merge-patch+json"
	mediaApplyPatch     = "application/apply-patch+yaml"
)

// Output is what a response should be encoded as.
type Output struct {
	// MediaType is application/json, application/yaml or application/vnd.kubernetes.protobuf.
	MediaType string
	// As is "", "Table", "PartialObjectMetadata" or "PartialObjectMetadataList".
	As string
	// Version of the meta.k8s.io kind requested with As (v1 or v1beta1).
	AsVersion string
}

// negotiateOutput picks the response encoding from an Accept header, upstream's way: the first
// acceptable clause wins; a clause with as=Table (or PartialObjectMetadata) asks for that
// transformation; unknown types are skipped; */* and no header mean JSON. ok is false when no
// clause is acceptable.
func negotiateOutput(accept string, allowTransform bool) (Output, bool) {
	if strings.TrimSpace(accept) == "" {
		return Output{MediaType: mediaJSON}, true
	}
	for _, clause := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(clause))
		if err != nil {
			continue
		}
		var out Output
		switch mt {
		case mediaJSON, "application/*", "*/*":
			out.MediaType = mediaJSON
		case mediaYAML:
			out.MediaType = mediaYAML
		case mediaProtobuf:
			out.MediaType = mediaProtobuf
		default:
			continue
		}
		if as := params["as"]; as != "" {
			if !allowTransform || params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table", "PartialObjectMetadata", "PartialObjectMetadataList":
			default:
				continue
			}
			out.As, out.AsVersion = as, params["v"]
		}
		return out, true
	}
	return Output{}, false
}

// requestMediaType returns the base media type of a request body.
func requestMediaType(contentType string) string {
	if contentType == "" {
		return mediaJSON
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return contentType
	}
	return mt
}
