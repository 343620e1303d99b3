// Package openapi generates and serves the API server's OpenAPI v3 documents.
//
// Build reflects over the Go types registered in a runtime.Scheme (the
// k8s.io/api types and any others) and produces one document per served
// group-version, shaped like the documents upstream kube-apiserver serves at
// /openapi/v3/<path>: component schemas named by reverse-DNS Go package path,
// descriptions from the types' SwaggerDoc methods, list and map semantics from
// the structured-merge-diff schemas compiled into client-go's apply
// configurations, patch strategies from struct tags, and REST paths with
// upstream's operation IDs, actions and query parameters. The documents are
// built once and served through kube-openapi's handler3, so the index, hashes,
// ETags, cache headers and protobuf encoding are exactly upstream's.
//
// Known, deliberate gaps against upstream are listed in gaps.go.
package openapi
