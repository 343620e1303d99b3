// Package openapi generates and serves the API server's OpenAPI v3 documents.
//
// Build reflects over the Go types registered in a runtime.Scheme and produces
// one document per served group-version, shaped like the documents upstream
// kube-apiserver serves at /openapi/v3/<path>:
//
//   - component schemas named as upstream (OpenAPIModelName, else the
//     reverse-DNS Go package path and type name), with descriptions from the
//     types' SwaggerDoc methods, patch strategies from struct tags, required
//     fields from omitempty corrected by requiredOverrides, and openapi-gen's
//     enforced defaults;
//   - list types and keys, map and struct types, unions and +default values
//     from the structured-merge-diff schemas compiled into client-go's and
//     apiextensions-apiserver's apply configurations (smd.go);
//   - for the types apiextensions-apiserver ships generated definitions of
//     (apiextensions, meta, autoscaling/v1), descriptions, required fields,
//     defaults and extensions from those definitions (generated.go);
//   - REST paths with upstream's operation IDs, tags, x-kubernetes-action,
//     x-kubernetes-group-version-kind, inline query parameters derived from
//     the options types, request bodies and responses (paths.go, params.go).
//
// The documents are built and encoded once, and served by kube-openapi's
// handler3, so the index, hashes, ETags, caching headers and protobuf
// encoding are upstream's.
//
// Known differences from upstream: no enum values (and no "Possible enum
// values" description suffix) for k8s.io/api types, since +enum is not
// visible at run time; no +default values or list types for types outside the
// merge schemas and generated definitions (List kinds' items are unmarked
// upstream too); required fields of alpha and beta types follow the omitempty
// rule only; no connect paths (exec, attach, portforward, proxy) or log; the
// response media types are JSON, YAML and protobuf as in upstream's 1.2x
// documents.
package openapi
